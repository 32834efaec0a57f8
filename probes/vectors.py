"""`Direction` and `Subspace`: the residual-stream vectors probes produce and steering applies, and their files.

A `Direction` is a vector that describes itself, a `Subspace` several of them. Directions add, negate,
scale, normalise and compare, and carry where they were read (site, read position), how (method,
normalisation) and from what (model, checkpoint fingerprint, data hash). They save as
``<stem>.safetensors`` + ``<stem>.json``.

A vector file steers a model, so a bad one must never load: NaN/inf values are refused on save and
on load, and the sidecar is checked field by field (types, ``d_model``, ``layer`` against the site,
``norm`` and ``sha256`` against the tensor, so a sidecar paired with another save's tensors is
caught). Every failure is a `DirectionError` naming the file and the field.

This module is the leaf of `probes`: the builders (`probes.directions`, `probes.linear`, `probes.pca`)
import these types, and nothing here imports a builder, so the package has no import cycle.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from models.errors import FileFormatError, SiteError
from models.files import load_tensors, read_object, write_json, write_tensors
from models.sites import site_layer
from probes.activations import ActivationSet
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
    checkpoint: str = ""  # models.identity.model_fingerprint of the model it was read from
    read_position: str = ""  # where the activations were read: a probes.activations.ReadPosition, "-2", ...; "" unknown
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
        return site_layer(self.site)

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
        meta.update(d_model=self.d_model, format=DIRECTION_FORMAT, norm=float(self.vector.float().norm()),
                    sha256=_digest(self.vector))
        if _site_layer(self.site) is not None:
            meta["layer"] = _site_layer(self.site)
        return meta

    def save(self, stem: str | Path) -> Path:
        """Write ``stem.safetensors`` and ``stem.json`` (each atomically); returns the JSON path."""
        return _write_pair(Path(stem), {"vector": self.vector}, self.metadata())

    @classmethod
    def load(cls, stem: str | Path) -> "Direction":
        """Read a direction written by `save` (pass the stem, or either file)."""
        sidecar, vector, meta = _read_pair(Path(stem), "vector", DIRECTION_FORMAT, _DIRECTION_FIELDS)
        if vector.ndim != 1:
            raise DirectionError(f"{_with(_stem(Path(stem)), '.safetensors')} tensor 'vector' has shape "
                                 f"{tuple(vector.shape)}; a direction is one [d_model] vector")
        _check_width(sidecar, meta, vector.shape[0])
        _check_norm(sidecar, meta, vector)
        known = {k: meta[k] for k in cls.__dataclass_fields__ if k in meta and k != "vector"}
        return cls(vector=vector, **known)


DIRECTION_FORMAT = "latent-agents-direction/1"
SUBSPACE_FORMAT = "latent-agents-subspace/1"

# Sidecar fields and the JSON types they must have (the dataclass fields, plus the checks written by `metadata`).
_COMMON_FIELDS: dict[str, tuple[type, ...]] = {
    "site": (str,), "method": (str,), "model": (str,), "checkpoint": (str,), "read_position": (str,),
    "data_hash": (str,), "label": (str,), "params": (dict,), "d_model": (int,), "format": (str,),
    "layer": (int,), "sha256": (str,),
}
_DIRECTION_FIELDS = {**_COMMON_FIELDS, "normalized": (bool,), "norm": (int, float)}
_SUBSPACE_FIELDS = {**_COMMON_FIELDS, "k": (int,), "explained_variance": (list,)}


def _site_layer(site: str) -> int | None:
    """The block index of a site name, or None for a name that is not a block site."""
    try:
        return site_layer(site)
    except SiteError:
        return None


def _digest(tensor: Tensor) -> str:
    """Hash of the float32 values, so a sidecar can tell whether the tensor file is the one saved with it."""
    data = tensor.detach().float().cpu().contiguous()
    return hashlib.sha256(data.view(torch.uint8).numpy().tobytes()).hexdigest()


def _check_width(sidecar: Path, meta: dict[str, Any], width: int) -> None:
    if meta.get("d_model", width) != width:
        raise DirectionError(f"{sidecar} field 'd_model' says {meta['d_model']} but the tensor has width {width}")


def _check_norm(sidecar: Path, meta: dict[str, Any], vector: Tensor) -> None:
    norm = meta.get("norm")
    if norm is None:
        return
    if not math.isfinite(norm) or norm < 0:
        raise DirectionError(f"{sidecar} field 'norm' is {norm}, not a finite non-negative length")
    actual = float(vector.float().norm())
    if not math.isclose(norm, actual, rel_tol=1e-4, abs_tol=1e-6):
        raise DirectionError(f"{sidecar} field 'norm' says {norm:.6g} but the vector has norm {actual:.6g}: the "
                             "two files come from different saves")


def _stem(stem: Path) -> Path:
    return stem.with_suffix("") if stem.suffix in (".json", ".safetensors") else stem


def _with(stem: Path, suffix: str) -> Path:
    """``stem`` + suffix; unlike `Path.with_suffix`, a dotted stem such as ``blocks.2.agent1`` stays whole."""
    return stem.with_name(stem.name + suffix)


def _write_pair(stem: Path, tensors: dict[str, Tensor], meta: dict[str, Any]) -> Path:
    """Write ``stem.safetensors`` then ``stem.json`` atomically (via `models.files`); non-finite values are refused.

    The sidecar records the tensor's hash, so if a crash falls between the two renames the new
    tensors next to the old sidecar are refused on load rather than read with the wrong provenance.
    """
    stem = _stem(stem)
    path, sidecar = _with(stem, ".safetensors"), _with(stem, ".json")
    for name, t in tensors.items():
        if not bool(torch.isfinite(t).all()):
            raise DirectionError(f"{path}: refusing to save tensor {name!r} with NaN or infinite values")
    try:
        json.dumps(meta, allow_nan=False, default=str)  # refuse a bad sidecar before either file is replaced
    except ValueError as e:
        raise DirectionError(f"{sidecar}: refusing to save a non-finite number in the metadata ({e})") from None
    try:
        write_tensors(path, {k: v.detach().float() for k, v in tensors.items()})
        write_json(sidecar, meta)
    except FileFormatError as e:
        raise DirectionError(str(e)) from None
    return sidecar


def _read_pair(stem: Path, tensor_name: str, fmt: str, spec: dict[str, tuple[type, ...]]
               ) -> tuple[Path, Tensor, dict[str, Any]]:
    """The sidecar path, the checked tensor and the checked sidecar fields of a saved pair."""
    stem = _stem(stem)
    sidecar, tensors = _with(stem, ".json"), _with(stem, ".safetensors")
    what = "direction" if fmt == DIRECTION_FORMAT else "subspace"
    try:
        meta = read_object(sidecar, f"{what} sidecar (.json)")
        loaded = load_tensors(tensors, f"{what} tensor file", finite=True)
    except FileFormatError as e:
        raise DirectionError(f"{e}; a {what} is a .safetensors + .json pair") from None
    _check_fields(sidecar, meta, fmt, spec)
    tensor = loaded.get(tensor_name)
    if tensor is None:
        raise DirectionError(f"{tensors} has no tensor named {tensor_name!r} (it holds {sorted(loaded)})")
    if not tensor.is_floating_point():
        raise DirectionError(f"{tensors} tensor {tensor_name!r} is {tensor.dtype}, not floating point")
    if "sha256" in meta and meta["sha256"] != _digest(tensor):
        raise DirectionError(f"{sidecar} field 'sha256' does not match {tensors.name}: the two files come from "
                             f"different saves (an interrupted save or a copied file); save the {what} again")
    return sidecar, tensor, meta


def _check_fields(sidecar: Path, meta: dict[str, Any], fmt: str, spec: dict[str, tuple[type, ...]]) -> None:
    """Each known sidecar field has its JSON type; the format and the site's layer agree."""
    if "site" not in meta:
        raise DirectionError(f"{sidecar} has no field 'site'")
    for name, kinds in spec.items():
        if name not in meta:
            continue
        value = meta[name]
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join({str: "a string", int: "an integer", float: "a number", bool: "true/false",
                                 dict: "an object", list: "a list"}[k] for k in kinds)
            raise DirectionError(f"{sidecar} field {name!r} is {value!r}, expected {names}")
    if meta.get("format", fmt) != fmt:
        raise DirectionError(f"{sidecar} field 'format' is {meta['format']!r}, expected {fmt!r}")
    if not meta["site"]:
        raise DirectionError(f"{sidecar} field 'site' is empty")
    if "layer" in meta and meta["layer"] != _site_layer(meta["site"]):
        raise DirectionError(f"{sidecar} field 'layer' is {meta['layer']} but field 'site' is {meta['site']!r}")


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
    read_position: str = ""
    data_hash: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.basis, Tensor) or self.basis.ndim != 2:
            raise DirectionError(f"Subspace.basis must be [k, d_model], got {getattr(self.basis, 'shape', self.basis)}")
        object.__setattr__(self, "explained_variance", tuple(float(v) for v in self.explained_variance))

    @property
    def d_model(self) -> int:
        return int(self.basis.shape[1])

    def metadata(self) -> dict[str, Any]:
        meta = {k: v for k, v in asdict(self).items() if k != "basis"}
        meta.update(k=self.k, d_model=self.d_model, format=SUBSPACE_FORMAT, sha256=_digest(self.basis))
        if _site_layer(self.site) is not None:
            meta["layer"] = _site_layer(self.site)
        return meta

    def save(self, stem: str | Path) -> Path:
        """Write ``stem.safetensors`` (tensor ``basis``) and ``stem.json``, like `Direction.save`."""
        return _write_pair(Path(stem), {"basis": self.basis}, self.metadata())

    @classmethod
    def load(cls, stem: str | Path) -> "Subspace":
        """Read a subspace written by `save`."""
        sidecar, basis, meta = _read_pair(Path(stem), "basis", SUBSPACE_FORMAT, _SUBSPACE_FIELDS)
        if basis.ndim != 2:
            raise DirectionError(f"{_with(_stem(Path(stem)), '.safetensors')} tensor 'basis' has shape "
                                 f"{tuple(basis.shape)}; a subspace basis is [k, d_model]")
        _check_width(sidecar, meta, basis.shape[1])
        if meta.get("k", basis.shape[0]) != basis.shape[0]:
            raise DirectionError(f"{sidecar} field 'k' says {meta['k']} but the basis has {basis.shape[0]} rows")
        variance = meta.get("explained_variance", [])
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in variance):
            raise DirectionError(f"{sidecar} field 'explained_variance' must be finite numbers, got {variance!r}")
        known = {k: meta[k] for k in cls.__dataclass_fields__ if k in meta and k != "basis"}
        return cls(basis=basis, **known)

    @property
    def k(self) -> int:
        return int(self.basis.shape[0])

    def direction(self, i: int = 0) -> Direction:
        """The i-th basis vector as a unit Direction."""
        return Direction(self.basis[i], self.site, method=f"{self.method}[{i}]", normalized=True, label=self.label,
                         model=self.model, checkpoint=self.checkpoint, read_position=self.read_position,
                         data_hash=self.data_hash)


def to_direction(acts: ActivationSet, site: str, vector: Tensor, *, method: str, label: str, normalize: bool,
                 params: Mapping[str, Any] | None = None) -> Direction:
    """Wrap a vector read from `acts` at `site` as a `Direction` carrying the set's provenance."""
    info = acts.model_info
    stamp = {k: info[k] for k in ("n_layers", "vocab_size", "backend") if k in info}
    d = Direction(vector.detach().float().clone(), site, method=method, label=label,
                  params={**stamp, **dict(params or {})}, **acts.provenance())
    return d.normalize() if normalize else d
