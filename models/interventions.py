"""Interventions on a site: add, replace or project out a vector at chosen positions.

The arithmetic lives here once; backends only decide *where* to call `apply_intervention`.
Every kind is the identity at ``alpha=0``:

* ``add``:          h <- h + alpha * v
* ``replace``:      h <- (1 - alpha) * h + alpha * v   (alpha=1 sets the activation to v)
* ``project_out``:  h <- h - alpha * (h . u) u, with u = v / |v|   (alpha=1 removes the direction)

``alpha`` may also be a 1-D tensor with one value per batch row, so an alpha sweep runs as one batch.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from models.errors import InterventionError
from models.positions import Positions, validate_positions
from models.sites import Site, SiteLike, parse_site

Kind = Literal["add", "replace", "project_out"]
KINDS: tuple[str, ...] = ("add", "replace", "project_out")


@dataclass
class CallCount:
    """How often an intervention's hook ran and over how many tokens: bounded, unlike a per-call log."""

    calls: int = 0
    tokens: int = 0

    def record(self, chunk_len: int) -> None:
        self.calls += 1
        self.tokens += chunk_len


@dataclass(frozen=True, eq=False)
class Intervention:
    """A vector applied at one site. Build with `Intervention(site, vector, kind, alpha, positions)`.

    Equality is identity (``eq=False``): comparing tensor fields with ``==`` is ambiguous, and two
    installs of equal-looking interventions are still two installs.
    """

    site: SiteLike
    vector: Tensor
    kind: Kind = "add"
    alpha: float | Tensor = 1.0  # a [batch] tensor gives each row its own alpha
    positions: Positions = "all"
    count: CallCount = field(default_factory=CallCount, init=False, repr=False)  # hook calls, for tests

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InterventionError(f"kind={self.kind!r} is not known; use one of {', '.join(KINDS)}")
        check_vector(self.vector)
        if self.kind == "project_out" and float(self.vector.norm()) == 0.0:
            raise InterventionError("project_out needs a non-zero vector (it is normalised to unit length)")
        check_alpha(self.alpha)
        largest = float(self.alpha.abs().max()) if isinstance(self.alpha, Tensor) else abs(float(self.alpha))
        v_max = float(self.vector.abs().max())
        if largest * v_max > torch.finfo(self.vector.dtype).max:
            raise InterventionError(
                f"alpha * vector overflows {self.vector.dtype} (|alpha| up to {largest:g}, |vector| up to {v_max:g}); "
                "scale the vector or alpha down"
            )
        validate_positions(self.positions)

    @property
    def n_calls(self) -> int:
        """Hook calls so far (a forward pass is one; generation is one per decode step)."""
        return self.count.calls

    @property
    def n_tokens(self) -> int:
        """Positions the hook was handed so far, summed over calls (selected or not)."""
        return self.count.tokens

    def resolve(self, n_layers: int, d_model: int) -> "ResolvedIntervention":
        """Check the site and width against a model; returns the form backends consume."""
        site = parse_site(self.site, n_layers)
        if self.vector.shape[0] != d_model:
            raise InterventionError(
                f"vector for {site} has width {self.vector.shape[0]} but the model's d_model is {d_model}"
            )
        return ResolvedIntervention(site, self)

    def check_batch(self, n_rows: int) -> None:
        """A per-row alpha must have one value per batch row; checked before the forward, not inside a hook."""
        if isinstance(self.alpha, Tensor) and self.alpha.shape[0] != n_rows:
            raise InterventionError(
                f"alpha has {self.alpha.shape[0]} values (one per row) but the batch has {n_rows} rows"
            )


def check_vector(vector: object) -> None:
    """The vector must be a finite 1-D floating tensor: a NaN would silently poison every later activation."""
    if not isinstance(vector, Tensor):
        raise InterventionError(f"vector must be a 1-D float tensor [d_model], got {type(vector).__name__}")
    if vector.ndim != 1 or vector.shape[0] == 0:
        raise InterventionError(f"vector must be a 1-D float tensor [d_model], got shape {tuple(vector.shape)}")
    if not vector.dtype.is_floating_point:
        raise InterventionError(f"vector must have a floating dtype, got {vector.dtype}; convert with vector.float()")
    bad = ~torch.isfinite(vector)
    if bool(bad.any()):
        n_nan, n_inf = int(torch.isnan(vector).sum()), int(torch.isinf(vector).sum())
        first = int(bad.nonzero()[0])
        raise InterventionError(
            f"vector has {n_nan} NaN and {n_inf} inf entries (first at index {first}); every entry must be finite"
        )


def check_alpha(alpha: object) -> None:
    """Alpha is a finite real number, or a finite non-empty 1-D real tensor with one value per batch row."""
    if isinstance(alpha, Tensor):
        if alpha.ndim != 1 or alpha.shape[0] == 0:
            raise InterventionError(
                f"a tensor alpha must be 1-D [batch] with one value per row, got shape {tuple(alpha.shape)}; "
                "for one value for every row pass a float"
            )
        if alpha.dtype == torch.bool or alpha.is_complex():
            raise InterventionError(f"a tensor alpha must hold real numbers, got dtype {alpha.dtype}")
        if alpha.is_floating_point() and not bool(torch.isfinite(alpha).all()):
            raise InterventionError(f"alpha must be finite in every row, got {alpha.tolist()}")
        return
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise InterventionError(
            f"alpha must be a finite real number or a 1-D tensor [batch], got {type(alpha).__name__} {alpha!r}"
        )
    if not math.isfinite(alpha):
        raise InterventionError(f"alpha must be finite, got {alpha!r}")


@dataclass(frozen=True, eq=False)
class ResolvedIntervention:
    """An intervention whose site has been checked against a model."""

    site: Site
    spec: Intervention


def apply_intervention(h: Tensor, iv: Intervention, mask: Tensor | None) -> Tensor:
    """Return a new ``[batch, pos, d_model]`` tensor with `iv` applied where ``mask [batch, pos]`` is set.

    ``mask=None`` means every position (the decode-step fast path).
    """
    alpha: float | Tensor
    if isinstance(iv.alpha, Tensor):
        iv.check_batch(h.shape[0])  # already checked per call; a direct call on the HF module lands here
        alpha = iv.alpha.to(device=h.device, dtype=h.dtype).view(-1, 1, 1)
    elif iv.alpha == 0.0:
        return h
    else:
        alpha = float(iv.alpha)
    v = iv.vector.to(device=h.device, dtype=h.dtype)
    if mask is None:
        if iv.kind == "add":
            return h + alpha * v
        mask = torch.ones(h.shape[:2], dtype=torch.bool, device=h.device)
    elif not bool(mask.any()):
        return h
    m = mask.to(h.device).unsqueeze(-1)  # [batch, pos, 1]
    if iv.kind == "add":
        return torch.where(m, h + alpha * v, h)
    if iv.kind == "replace":
        return torch.where(m, (1.0 - alpha) * h + alpha * v, h)
    u = v / v.norm()
    return torch.where(m, h - alpha * (h @ u).unsqueeze(-1) * u, h)
