"""Where a result came from: package versions, git commit, machine, seed and command, as one ``env.json`` record.

Experiment run folders and trained checkpoints write the same record, so any artifact can be traced
to the code and environment that produced it.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "transformers", "transformer-lens", "nnsight", "peft", "trl", "accelerate", "scikit-learn")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (None when absent), read from metadata without importing it."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_sha(cwd: str | Path | None = None) -> str | None:
    """The checkout's commit, or None outside a git checkout (an installed wheel) or without git."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=10,
                             cwd=cwd or Path(__file__).parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def git_dirty(cwd: str | Path | None = None) -> bool | None:
    """Whether tracked files differ from the commit (a result from uncommitted code cannot be traced to
    `git_sha` alone); None outside a git checkout or without git."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                             check=False, timeout=30, cwd=cwd or Path(__file__).parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def env_info(seed: int | None = None) -> dict[str, Any]:
    """Versions, git commit (and whether the tree was dirty), machine facts, seed and command line."""
    torch = sys.modules.get("torch")  # threads only if torch is already in use; never import it just for this
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": package_versions(),
            "torch_threads": torch.get_num_threads() if torch is not None else None,
            "git_sha": git_sha(), "git_dirty": git_dirty(), "seed": seed, "command": " ".join(sys.argv)}
