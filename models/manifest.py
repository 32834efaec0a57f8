"""The manifest every checkpoint folder carries: what it is, where it came from, how it scored.

Later stages (SFT, GRPO) fill in `parent`, `stage`, `data_hash`, `config_hash` and `metrics`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"


@dataclass
class Manifest:
    """Provenance of one checkpoint folder."""

    name: str
    stage: str  # "pretrained", "base", "sft", "grpo", "converted", ...
    parent: str | None = None
    data_hash: str | None = None
    config_hash: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))

    def save(self, folder: str | Path) -> Path:
        """Write ``manifest.json`` atomically (temp name, then rename)."""
        path = Path(folder) / MANIFEST_NAME
        write_text_atomic(path, json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "Manifest | None":
        """Read the folder's manifest, or None when it has none."""
        path = Path(folder) / MANIFEST_NAME
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never a half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def hash_json(obj: Any) -> str:
    """Short stable hash of a JSON-serialisable object (configs, settings)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def fingerprint(folder: str | Path) -> str:
    """Hash of a checkpoint folder's config and weight files, so caches notice a changed model."""
    h = hashlib.sha256()
    root = Path(folder)
    for path in sorted(root.glob("*.json")) + sorted(root.glob("*.safetensors")):
        if path.name == MANIFEST_NAME:
            continue
        h.update(path.name.encode())
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()[:16]
