"""Agent directions: how `Direction`s are derived from an `ActivationSet`.

The value types (`Direction`, `Subspace`, `DirectionError`) live in the leaf module `probes.vectors` and
are re-exported here. A direction method is a plain function ``(pos [n, d_model], neg [m, d_model]) -> [d_model]``
whose result points from the negative rows to the positive ones (positive rows project higher). Methods
sit in `DIRECTION_METHODS` by name, so a CLI flag can pick one; `contrast_direction` and
`agent_directions` apply one to an `ActivationSet`.

Example:
    >>> dirs = agent_directions(acts, "blocks.2.hook_resid_post", normalize=True)   # agent i vs the others
    >>> dirs["agent2"].save(run / "vectors" / "agent2")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from torch import Tensor

from probes.activations import ActivationSet, Filter
from probes.errors import ProbeError
from probes.vectors import (  # re-exported: the value types' historical home
    DIRECTION_FORMAT, SUBSPACE_FORMAT, Direction, DirectionError, Subspace, to_direction,
)

if TYPE_CHECKING:
    from jaxtyping import Float

__all__ = ["DIRECTION_FORMAT", "DIRECTION_METHODS", "SUBSPACE_FORMAT", "Direction", "DirectionError", "DirectionFn",
           "Subspace", "agent_directions", "contrast_direction", "diff_of_means", "to_direction"]


DirectionFn = Callable[[Tensor, Tensor], Tensor]


def diff_of_means(pos: Float[Tensor, "n d_model"], neg: Float[Tensor, "m d_model"]) -> Float[Tensor, "d_model"]:
    """``mean(pos) - mean(neg)``; not normalised (its norm is the distance between the class means)."""
    return pos.mean(0) - neg.mean(0)


def _logistic(pos: Tensor, neg: Tensor) -> Tensor:
    """Logistic-regression weight in activation units (see `probes.linear.logistic_direction`)."""
    from probes.linear import logistic_direction  # scikit-learn is imported only when used

    return logistic_direction(pos, neg)


def _pca(pos: Tensor, neg: Tensor) -> Tensor:
    """First principal component of the pooled rows, signed toward `pos` (see `probes.pca.pca_direction`)."""
    from probes.pca import pca_direction

    return pca_direction(pos, neg)


DIRECTION_METHODS: dict[str, DirectionFn] = {"diff_of_means": diff_of_means, "logistic": _logistic, "pca": _pca}


def _require_rows(acts: ActivationSet, mask: Tensor, filters: Mapping[str, Filter] | None, what: str,
                  site: str) -> Tensor:
    if not bool(mask.any()):
        shown = dict(filters) if filters is not None else "all rows not in the positive group"
        present = {name: sorted(set(acts.column(name))) for name in (filters or {})}
        have = f"values {present}" if present else f"{len(acts)} rows, all in the positive group"
        raise ProbeError(f"the {what} group {shown} is empty at {site}; the set has {have}")
    return acts.take(mask).at(site)


def contrast_direction(
    acts: ActivationSet,
    site: str,
    positive: Mapping[str, Filter],
    negative: Mapping[str, Filter] | None = None,
    method: str = "diff_of_means",
    normalize: bool = False,
    label: str = "",
) -> Direction:
    """Direction from the rows matching `positive` to those matching `negative` (default: all other rows).

    Example:
        >>> contrast_direction(acts, site, {"trait": "evil"}, {"trait": "ethical"}, normalize=True)
    """
    if method not in DIRECTION_METHODS:
        raise ProbeError(f"method={method!r} is not known; use one of {', '.join(DIRECTION_METHODS)}")
    acts.at(site)
    pos_mask = acts.mask(**positive)
    neg_mask = acts.mask(**negative) if negative is not None else ~pos_mask
    pos = _require_rows(acts, pos_mask, positive, "positive", site)
    neg = _require_rows(acts, neg_mask, negative, "negative", site)
    vector = DIRECTION_METHODS[method](pos, neg)
    params = {"positive": _jsonable(positive), "negative": _jsonable(negative) if negative else "rest",
              "n_positive": int(pos.shape[0]), "n_negative": int(neg.shape[0])}
    return to_direction(acts, site, vector, method=method, label=label, normalize=normalize, params=params)


def agent_directions(
    acts: ActivationSet,
    site: str,
    method: str = "diff_of_means",
    normalize: bool = True,
    by_round: bool = False,
) -> dict[str, Direction]:
    """Each agent vs the other agents: ``{"agent1": ..., "agent2": ..., "agent3": ...}``.

    With ``by_round=True`` the contrast is taken within each round instead, keyed ``"agent1_round2"``;
    rounds with fewer than two agents (turns lost to truncation) are left out.
    """
    agents = sorted(set(acts.column("agent")))
    if len(agents) < 2:
        raise ProbeError(f"agent directions need at least two agents; the set has agents {agents}")
    out: dict[str, Direction] = {}
    parts = [(f"_round{r}", acts.where(round=r)) for r in sorted(set(acts.column("round")))] if by_round else [("", acts)]
    for suffix, part in parts:
        present = sorted(set(part.column("agent")))
        if by_round and len(present) < 2:  # e.g. only agent 1 of round 2 fitted in the context
            continue
        for agent in present:
            others = [a for a in present if a != agent]
            out[f"agent{agent}{suffix}"] = contrast_direction(
                part, site, {"agent": agent}, {"agent": others}, method=method, normalize=normalize,
                label=f"agent{agent}{suffix}_vs_others",
            )
    return out


def _jsonable(filters: Mapping[str, Filter]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (str, int, float, bool, list, tuple)) else repr(v)) for k, v in filters.items()}
