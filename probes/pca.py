"""PCA of activations: per agent and jointly, with explained variance and the top-k subspace.

Example:
    >>> fits = agent_pca(acts, "blocks.2.hook_resid_post", k=3)
    >>> fits["joint"].explained_variance_ratio, fits["agent2"].subspace("blocks.2.hook_resid_post")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from probes.activations import ActivationSet
from probes.vectors import Subspace
from probes.errors import ProbeError

if TYPE_CHECKING:
    from jaxtyping import Float


@dataclass(frozen=True)
class PCAResult:
    """Top-k principal axes ``[k, d_model]`` (orthonormal rows), their explained variance ratios and the mean."""

    components: Tensor
    explained_variance_ratio: Tensor  # [k], share of the total variance
    mean: Tensor  # [d_model]
    n_rows: int

    @property
    def k(self) -> int:
        return int(self.components.shape[0])

    def project(self, X: Float[Tensor, "n d_model"]) -> Float[Tensor, "n k"]:
        """Coordinates of rows on the principal axes (after removing the fitted mean)."""
        return (X - self.mean) @ self.components.T

    def subspace(self, site: str, label: str = "", provenance: Mapping[str, str] | None = None) -> Subspace:
        """The components as a `Subspace`; `provenance` is `ActivationSet.provenance()` of the fitted rows."""
        return Subspace(self.components.clone(), site, method="pca", label=label,
                        explained_variance=tuple(float(v) for v in self.explained_variance_ratio),
                        params={"n_rows": self.n_rows}, **dict(provenance or {}))


def fit_pca(X: Float[Tensor, "n d_model"], k: int) -> PCAResult:
    """Top-`k` principal components (k is capped at min(n - 1, d_model)).

    Each component's sign is fixed so that its largest-magnitude entry is positive, which makes the
    result deterministic across runs and backends.
    """
    n, d = X.shape
    if n < 2:
        raise ProbeError(f"PCA needs at least two rows, got {n}")
    if k < 1:
        raise ProbeError(f"k must be >= 1, got {k}")
    k = min(k, n - 1, d)
    Xd = X.double()
    mean = Xd.mean(0)
    _, s, vh = torch.linalg.svd(Xd - mean, full_matrices=False)
    comps = vh[:k]
    signs = torch.sign(comps.gather(1, comps.abs().argmax(1, keepdim=True)))
    comps = comps * signs
    var = s**2
    ratio = var[:k] / var.sum() if float(var.sum()) > 0 else torch.zeros(k, dtype=torch.float64)
    return PCAResult(comps.float(), ratio.float(), mean.float(), n)


def pca_direction(pos: Float[Tensor, "n d_model"], neg: Float[Tensor, "m d_model"]) -> Float[Tensor, "d_model"]:
    """First principal component of the pooled rows, signed so that `pos` projects higher (unit norm).

    The sign is otherwise arbitrary; aligning it with the class-mean difference makes "positive
    projects higher" hold as for the other direction methods.
    """
    pc = fit_pca(torch.cat([pos, neg]), 1).components[0]
    return pc if float(pc @ (pos.mean(0) - neg.mean(0))) >= 0 else -pc


def agent_pca(acts: ActivationSet, site: str, k: int = 3) -> dict[str, PCAResult]:
    """PCA of all rows (``"joint"``) and of each agent's rows (``"agent1"``, ...)."""
    out = {"joint": fit_pca(acts.at(site), k)}
    for agent in sorted(set(acts.column("agent"))):
        part = acts.where(agent=agent)
        if len(part) < 2:
            raise ProbeError(f"agent {agent} has {len(part)} row(s) at {site}; PCA needs at least two")
        out[f"agent{agent}"] = fit_pca(part.at(site), k)
    return out
