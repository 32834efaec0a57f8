"""The run-folder writer every experiment uses: one folder per run, complete or absent.

``results/<experiment>/<YYYYmmdd-HHMMSS>-<config-hash8>/`` is written under a ``.tmp`` name and
renamed when the run finishes, so a crashed or interrupted run never leaves a folder that looks done.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from models.manifest import hash_json

_PACKAGES = ("torch", "transformers", "transformer-lens", "nnsight", "peft", "trl", "scikit-learn")


def env_info(seed: int | None = None) -> dict[str, Any]:
    """Versions, git commit and machine facts, so a result can be traced to what produced it."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False,
                             cwd=Path(__file__).parent).stdout.strip() or None
    except OSError:
        sha = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": versions,
            "git_sha": sha, "seed": seed, "command": " ".join(sys.argv)}


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and obj != obj:  # NaN is not JSON
        return None
    return obj


class RunFolder:
    """A run's output folder while it is being written (``path`` ends in ``.tmp``)."""

    def __init__(self, path: Path):
        self.path = path
        (path / "figures").mkdir(parents=True, exist_ok=True)

    def json(self, name: str, obj: Any) -> Path:
        target = self.path / name
        target.write_text(json.dumps(to_jsonable(obj), indent=2, sort_keys=True) + "\n")
        return target

    def text(self, name: str, content: str) -> Path:
        target = self.path / name
        target.write_text(content)
        return target

    def jsonl(self, name: str, rows: Sequence[Mapping[str, Any]]) -> Path:
        target = self.path / name
        target.write_text("".join(json.dumps(to_jsonable(r), sort_keys=True) + "\n" for r in rows))
        return target

    def csv(self, name: str, rows: Sequence[Mapping[str, Any]]) -> Path:
        target = self.path / name
        fields = list(dict.fromkeys(k for r in rows for k in r))
        with target.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows([to_jsonable(r) for r in rows])
        return target

    def figure(self, fig: Any, stem: str) -> Path:
        """Interactive HTML (plotly bundled inline, works offline); PNG too when a renderer exists."""
        html = self.path / "figures" / f"{stem}.html"
        fig.write_html(str(html), include_plotlyjs=True, full_html=True)
        try:
            fig.write_image(str(html.with_suffix(".png")))
        except Exception:  # noqa: BLE001 -- kaleido/Chrome are optional; HTML is the deliverable
            pass
        return html


def _final_path(tmp: Path) -> Path:
    return tmp.with_name(tmp.name.removesuffix(".tmp"))


@contextmanager
def run_folder(experiment: str, config: Any, root: str | Path = "results", seed: int | None = None) -> Iterator[RunFolder]:
    """Create the run folder, write config.json and env.json, and publish it only if the body succeeds."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tmp = Path(root) / experiment / f"{stamp}-{hash_json(to_jsonable(config))[:8]}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    run = RunFolder(tmp)
    run.json("config.json", config)
    run.json("env.json", env_info(seed))
    try:
        yield run
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = _final_path(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    run.path = final
