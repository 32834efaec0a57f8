"""The manifest every checkpoint folder carries: what it is, where it came from, how it scored.

Later stages (SFT, GRPO) fill in `parent`, `stage`, `data_hash`, `config_hash` and `metrics`.
Checkpoint identity lives in `models.identity`; `fingerprint` here is that module's `folder_fingerprint`,
kept under its old name for existing callers.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.errors import FileFormatError
from models.files import read_object, write_json
from models.identity import MANIFEST_NAME

__all__ = ["MANIFEST_NAME", "Manifest", "hash_json"]


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
        """Write ``manifest.json`` atomically (unique temp name, then rename); NaN metrics are refused."""
        return write_json(Path(folder) / MANIFEST_NAME, asdict(self))

    @classmethod
    def load(cls, folder: str | Path) -> "Manifest | None":
        """Read the folder's manifest, or None when it has none; a damaged one is a `FileFormatError` naming it."""
        path = Path(folder) / MANIFEST_NAME
        if not path.exists():
            return None
        data = read_object(path, "manifest")
        for key in ("name", "stage"):
            if not isinstance(data.get(key), str):
                raise FileFormatError(f"{path}: manifest field {key!r} must be a string, found {data.get(key)!r}")
        for key in ("config", "metrics"):
            if not isinstance(data.get(key, {}), dict):
                raise FileFormatError(f"{path}: manifest field {key!r} must be an object")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})



def hash_json(obj: Any) -> str:
    """Short stable hash of a JSON-serialisable object (configs, settings)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]

