"""Interventions on a site: add, replace or project out a vector at chosen positions.

The arithmetic lives here once; backends only decide *where* to call `apply_intervention`.
Every kind is the identity at ``alpha=0``:

* ``add``:          h <- h + alpha * v
* ``replace``:      h <- (1 - alpha) * h + alpha * v   (alpha=1 sets the activation to v)
* ``project_out``:  h <- h - alpha * (h . u) u, with u = v / |v|   (alpha=1 removes the direction)

``alpha`` may also be a 1-D tensor with one value per batch row, so an alpha sweep runs as one batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from models.errors import InterventionError
from models.positions import Positions, validate_positions
from models.sites import Site, SiteLike, parse_site

Kind = Literal["add", "replace", "project_out"]
KINDS: tuple[str, ...] = ("add", "replace", "project_out")


@dataclass(frozen=True)
class Intervention:
    """A vector applied at one site. Build with `Intervention(site, vector, kind, alpha, positions)`."""

    site: SiteLike
    vector: Tensor
    kind: Kind = "add"
    alpha: float | Tensor = 1.0  # a [batch] tensor gives each row its own alpha
    positions: Positions = "all"
    fired: list[int] = field(default_factory=list, compare=False, repr=False)  # calls seen, for tests

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InterventionError(f"kind={self.kind!r} is not known; use one of {', '.join(KINDS)}")
        if not isinstance(self.vector, Tensor) or self.vector.ndim != 1:
            shape = tuple(self.vector.shape) if isinstance(self.vector, Tensor) else type(self.vector).__name__
            raise InterventionError(f"vector must be a 1-D tensor [d_model], got {shape}")
        if self.kind == "project_out" and float(self.vector.norm()) == 0.0:
            raise InterventionError("project_out needs a non-zero vector (it is normalised to unit length)")
        validate_positions(self.positions)
        if isinstance(self.alpha, Tensor) and self.alpha.ndim != 1:
            raise InterventionError(f"a tensor alpha must be 1-D [batch], got shape {tuple(self.alpha.shape)}")

    def resolve(self, n_layers: int, d_model: int) -> "ResolvedIntervention":
        """Check the site and width against a model; returns the form backends consume."""
        site = parse_site(self.site, n_layers)
        if self.vector.shape[0] != d_model:
            raise InterventionError(
                f"vector for {site} has width {self.vector.shape[0]} but the model's d_model is {d_model}"
            )
        return ResolvedIntervention(site, self)


@dataclass(frozen=True)
class ResolvedIntervention:
    """An intervention whose site has been checked against a model."""

    site: Site
    spec: Intervention


def apply_intervention(h: Tensor, iv: Intervention, mask: Tensor | None) -> Tensor:
    """Return a new ``[batch, pos, d_model]`` tensor with `iv` applied where ``mask [batch, pos]`` is set.

    ``mask=None`` means every position (the decode-step fast path).
    """
    iv.fired.append(h.shape[1])
    alpha: float | Tensor
    if isinstance(iv.alpha, Tensor):
        if iv.alpha.shape[0] != h.shape[0]:
            raise InterventionError(f"alpha has {iv.alpha.shape[0]} values but the batch has {h.shape[0]} rows")
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
