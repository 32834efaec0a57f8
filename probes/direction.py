"""`Direction`: a residual-stream vector that describes itself, and `Subspace`, several of them.

Directions are values: they add, negate, scale, normalise and compare, and they carry where they were
read (site, positions), how (method, normalisation), and from what (model, checkpoint fingerprint,
data hash). They save as ``<stem>.safetensors`` + ``<stem>.json``, and `steering` applies them directly.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor


class DirectionError(ValueError):
    """A direction file that is malformed or does not fit what it is combined with."""


@dataclass(frozen=True)
class Direction:
    """A vector ``[d_model]`` at one site, with its provenance."""

    vector: Tensor
    site: str  # TL site name, e.g. "blocks.6.hook_resid_post"
    method: str = "diff_of_means"
    model: str = ""  # registry name or folder
    checkpoint: str = ""  # models.manifest.fingerprint of the checkpoint folder
    positions: str = "last"  # how activations were selected: "last", "turn_mean", "agent_tag", "-2", ...
    normalized: bool = False
    data_hash: str = ""
    label: str = ""  # what the direction points to, e.g. "agent2_vs_others"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.vector, Tensor) or self.vector.ndim != 1:
            raise DirectionError(f"Direction.vector must be a 1-D tensor, got {getattr(self.vector, 'shape', self.vector)}")

    # ------------------------------------------------------------- arithmetic
    @property
    def d_model(self) -> int:
        return int(self.vector.shape[0])

    @property
    def layer(self) -> int:
        return int(self.site.split(".")[1])

    def _check(self, other: "Direction") -> None:
        if other.site != self.site or other.d_model != self.d_model:
            raise DirectionError(f"cannot combine a direction at {self.site} (d={self.d_model}) "
                                 f"with one at {other.site} (d={other.d_model})")

    def __neg__(self) -> "Direction":
        return replace(self, vector=-self.vector)

    def __mul__(self, k: float) -> "Direction":
        return replace(self, vector=self.vector * float(k), normalized=self.normalized and abs(k) == 1)

    __rmul__ = __mul__

    def __add__(self, other: "Direction") -> "Direction":
        self._check(other)
        return replace(self, vector=self.vector + other.vector, normalized=False, method=f"{self.method}+{other.method}")

    def __sub__(self, other: "Direction") -> "Direction":
        return self + (-other)

    def normalize(self) -> "Direction":
        """Unit-norm copy (alpha then means 'units of a unit vector', as in the paper's code)."""
        norm = float(self.vector.norm())
        if norm == 0.0:
            raise DirectionError(f"cannot normalise the zero direction {self.label or self.site}")
        return replace(self, vector=self.vector / norm, normalized=True)

    def cosine(self, other: "Direction") -> float:
        self._check(other)
        return float(torch.nn.functional.cosine_similarity(self.vector, other.vector, dim=0))

    # ------------------------------------------------------------- files
    def metadata(self) -> dict[str, Any]:
        meta = {k: v for k, v in asdict(self).items() if k != "vector"}
        meta["d_model"] = self.d_model
        meta["format"] = "latent-agents-direction/1"
        return meta

    def save(self, stem: str | Path) -> Path:
        """Write ``stem.safetensors`` and ``stem.json`` (each atomically); returns the JSON path."""
        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        tensors = stem.with_suffix(".safetensors")
        tmp = tensors.with_name(f".{tensors.name}.tmp-{os.getpid()}")
        save_file({"vector": self.vector.detach().float().cpu().contiguous()}, str(tmp))
        os.replace(tmp, tensors)
        sidecar = stem.with_suffix(".json")
        tmp_json = sidecar.with_name(f".{sidecar.name}.tmp-{os.getpid()}")
        tmp_json.write_text(json.dumps(self.metadata(), indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp_json, sidecar)
        return sidecar

    @classmethod
    def load(cls, stem: str | Path) -> "Direction":
        """Read a direction written by `save` (pass the stem, or either file)."""
        stem = Path(stem)
        if stem.suffix in (".json", ".safetensors"):
            stem = stem.with_suffix("")
        sidecar, tensors = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
        for path in (sidecar, tensors):
            if not path.exists():
                raise DirectionError(f"{path} does not exist; a direction is a .safetensors + .json pair")
        try:
            meta = json.loads(sidecar.read_text())
        except json.JSONDecodeError as e:
            raise DirectionError(f"{sidecar} is not valid JSON: {e}") from e
        vector = load_file(str(tensors)).get("vector")
        if vector is None:
            raise DirectionError(f"{tensors} has no tensor named 'vector'")
        if meta.get("d_model") not in (None, vector.shape[0]):
            raise DirectionError(f"{sidecar} field 'd_model' says {meta['d_model']} but the vector has {vector.shape[0]}")
        if "site" not in meta:
            raise DirectionError(f"{sidecar} has no field 'site'")
        known = {k: meta[k] for k in cls.__dataclass_fields__ if k in meta and k != "vector"}
        return cls(vector=vector, **known)


@dataclass(frozen=True)
class Subspace:
    """An orthonormal basis ``[k, d_model]`` at one site (PCA components, several agent directions)."""

    basis: Tensor
    site: str
    method: str = "pca"
    label: str = ""
    explained_variance: tuple[float, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.basis, Tensor) or self.basis.ndim != 2:
            raise DirectionError(f"Subspace.basis must be [k, d_model], got {getattr(self.basis, 'shape', self.basis)}")

    @property
    def k(self) -> int:
        return int(self.basis.shape[0])

    def direction(self, i: int = 0) -> Direction:
        """The i-th basis vector as a unit Direction."""
        return Direction(self.basis[i], self.site, method=f"{self.method}[{i}]", normalized=True, label=self.label)
