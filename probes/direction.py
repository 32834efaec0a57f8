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

from probes.errors import ProbeError


class DirectionError(ProbeError):
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
        return _write_pair(Path(stem), {"vector": self.vector}, self.metadata())

    @classmethod
    def load(cls, stem: str | Path) -> "Direction":
        """Read a direction written by `save` (pass the stem, or either file)."""
        meta, vector = _read_pair(Path(stem), "vector", "a direction")
        if meta.get("d_model") not in (None, vector.shape[0]):
            raise DirectionError(f"{_with(_stem(Path(stem)), '.json')} field 'd_model' says {meta['d_model']} "
                                 f"but the vector has {vector.shape[0]}")
        known = {k: meta[k] for k in cls.__dataclass_fields__ if k in meta and k != "vector"}
        return cls(vector=vector, **known)


def _stem(stem: Path) -> Path:
    return stem.with_suffix("") if stem.suffix in (".json", ".safetensors") else stem


def _with(stem: Path, suffix: str) -> Path:
    """``stem`` + suffix; unlike `Path.with_suffix`, a dotted stem such as ``blocks.2.agent1`` stays whole."""
    return stem.with_name(stem.name + suffix)


def _write_pair(stem: Path, tensors: dict[str, Tensor], meta: dict[str, Any]) -> Path:
    """Write ``stem.safetensors`` then ``stem.json``, each under a temporary name and renamed."""
    stem = _stem(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    path = _with(stem, ".safetensors")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    save_file({k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path)
    sidecar = _with(stem, ".json")
    tmp_json = sidecar.with_name(f".{sidecar.name}.tmp-{os.getpid()}")
    tmp_json.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp_json, sidecar)
    return sidecar


def _read_pair(stem: Path, tensor_name: str, what: str) -> tuple[dict[str, Any], Tensor]:
    stem = _stem(stem)
    sidecar, tensors = _with(stem, ".json"), _with(stem, ".safetensors")
    for path in (sidecar, tensors):
        if not path.exists():
            raise DirectionError(f"{path} does not exist; {what} is a .safetensors + .json pair")
    try:
        meta = json.loads(sidecar.read_text())
    except json.JSONDecodeError as e:
        raise DirectionError(f"{sidecar} is not valid JSON: {e}") from e
    tensor = load_file(str(tensors)).get(tensor_name)
    if tensor is None:
        raise DirectionError(f"{tensors} has no tensor named {tensor_name!r}")
    if "site" not in meta:
        raise DirectionError(f"{sidecar} has no field 'site'")
    return meta, tensor


@dataclass(frozen=True)
class Subspace:
    """An orthonormal basis ``[k, d_model]`` at one site (PCA components, several agent directions)."""

    basis: Tensor
    site: str
    method: str = "pca"
    label: str = ""
    explained_variance: tuple[float, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    checkpoint: str = ""
    positions: str = ""
    data_hash: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.basis, Tensor) or self.basis.ndim != 2:
            raise DirectionError(f"Subspace.basis must be [k, d_model], got {getattr(self.basis, 'shape', self.basis)}")
        object.__setattr__(self, "explained_variance", tuple(float(v) for v in self.explained_variance))

    @property
    def d_model(self) -> int:
        return int(self.basis.shape[1])

    def project(self, x: Tensor) -> Tensor:
        """Coordinates ``[..., k]`` of `x` ``[..., d_model]`` in this basis."""
        return x @ self.basis.T.to(x.dtype)

    def metadata(self) -> dict[str, Any]:
        meta = {k: v for k, v in asdict(self).items() if k != "basis"}
        meta.update(k=self.k, d_model=self.d_model, format="latent-agents-subspace/1")
        return meta

    def save(self, stem: str | Path) -> Path:
        """Write ``stem.safetensors`` (tensor ``basis``) and ``stem.json``, like `Direction.save`."""
        return _write_pair(Path(stem), {"basis": self.basis}, self.metadata())

    @classmethod
    def load(cls, stem: str | Path) -> "Subspace":
        """Read a subspace written by `save`."""
        meta, basis = _read_pair(Path(stem), "basis", "a subspace")
        if basis.ndim != 2 or meta.get("d_model") not in (None, basis.shape[1]):
            raise DirectionError(f"{Path(stem)} basis has shape {tuple(basis.shape)} but the sidecar says "
                                 f"d_model={meta.get('d_model')}")
        known = {k: meta[k] for k in cls.__dataclass_fields__ if k in meta and k != "basis"}
        return cls(basis=basis, **known)

    @property
    def k(self) -> int:
        return int(self.basis.shape[0])

    def direction(self, i: int = 0) -> Direction:
        """The i-th basis vector as a unit Direction."""
        return Direction(self.basis[i], self.site, method=f"{self.method}[{i}]", normalized=True, label=self.label,
                         model=self.model, checkpoint=self.checkpoint, positions=self.positions or "last",
                         data_hash=self.data_hash)
