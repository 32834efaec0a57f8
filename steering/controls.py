"""Control directions: what a steering effect must beat before it counts.

A steering result is read against baselines at the same site, norm, α grid and positions: random
directions of the same norm in absolute residual units (Gaussian, then rescaled), the sign-flipped
vector, the same contrast with its labels shuffled within each question, and the spread of the
controls' outcomes as a percentile band. An effect counts when it leaves that band (Tan et al. 2024;
Turner et al.).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from probes.activations import ActivationSet
from probes.directions import Direction
from steering.prepare import SteeringError


def _rescaled(v: torch.Tensor, norm: float, like: Direction) -> torch.Tensor:
    """`v` rescaled (in float64) to exactly `norm`, in `like`'s dtype: every control has the vector's length."""
    if not norm > 0.0:
        raise SteeringError(f"{like.label or like.site}: a zero vector has no norm to match")
    v = v.double()
    return (v * (norm / float(v.norm().clamp_min(1e-12)))).to(like.vector.dtype)


def random_directions(direction: Direction, n: int, seed: int = 0) -> list[Direction]:
    """`n` Gaussian directions at `direction`'s site, each rescaled to exactly its norm (seeded)."""
    if n < 1:
        raise SteeringError(f"random_directions needs n >= 1, got {n}")
    norm = float(direction.vector.float().norm())
    generator = torch.Generator().manual_seed(seed)
    out = []
    for k in range(n):
        v = _rescaled(torch.randn(direction.d_model, generator=generator, dtype=torch.float64), norm, direction)
        out.append(replace(direction, vector=v, method="random_control", label=f"random{k}",
                           params={**direction.params, "control": "random", "seed": seed, "index": k}))
    return out


def sign_flipped(direction: Direction) -> Direction:
    """The negated vector: a real effect of the direction reverses (or vanishes) under it."""
    return replace(-direction, method="sign_flip_control", label=f"-{direction.label}" if direction.label else "-",
                   params={**direction.params, "control": "sign_flip"})


def shuffled_label_direction(acts: ActivationSet, site: str, like: Direction, agent: int | None = None,
                             seed: int = 0) -> Direction:
    """`like`'s contrast recomputed with its labels permuted across all rows (class counts kept), at `like`'s norm.

    System-prompt sets: which rows count as "malicious prompt" is permuted; Eq. 3 sets: among the rows
    read in `agent`'s contexts, which count as the agent's own response. (Shuffling *within* a question
    pair only flips the pair's sign, which leaves the same axis; the permutation must cross questions.)
    A direction that any labelling of these activations would give -- their main axes of variance --
    survives the shuffle; a persona or agent direction should not.
    """
    values = acts.at(site).float()
    if acts.kind == "system_prompt":
        idx = list(range(len(acts.rows)))
        labels = [acts.rows[i].malicious for i in idx]
    elif acts.kind == "eq3":
        if agent is None:
            raise SteeringError("shuffled_label_direction needs agent=... for an Eq. 3 activation set")
        idx = [i for i, r in enumerate(acts.rows) if r.agent == agent]
        labels = [acts.rows[i].response_agent == agent for i in idx]
    else:
        raise SteeringError(f"shuffled_label_direction reads system_prompt or eq3 sets, not {acts.kind!r}")
    if not any(labels) or all(labels):
        raise SteeringError(f"no rows of both labels at {site} to shuffle")
    permuted = np.random.default_rng(seed).permutation(np.asarray(labels, dtype=bool))
    chosen = torch.tensor(idx)
    pos, neg = values[chosen[torch.from_numpy(permuted)]], values[chosen[torch.from_numpy(~permuted)]]
    v = _rescaled(pos.mean(0) - neg.mean(0), float(like.vector.double().norm()), like)
    return replace(like, vector=v, method="shuffled_label_control",
                   label=f"shuffled({like.label})" if like.label else "shuffled",
                   params={**like.params, "control": "shuffled_labels", "seed": seed})


@dataclass(frozen=True)
class Band:
    """Percentile band of the controls' outcomes at one setting (e.g. one α)."""

    low: float
    high: float
    n: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def control_band(outcomes: Sequence[float], low: float = 5.0, high: float = 95.0) -> Band:
    """The `low`-`high` percentile band of control outcomes (finite values only)."""
    values = np.asarray(outcomes, dtype=float)
    if values.size == 0 or not np.isfinite(values).all():
        raise SteeringError(f"control_band needs finite control outcomes, got {list(outcomes)[:5]}")
    if not 0.0 <= low < high <= 100.0:
        raise SteeringError(f"control_band needs 0 <= low < high <= 100, got {low}, {high}")
    lo, hi = np.percentile(values, [low, high])
    return Band(float(lo), float(hi), int(values.size))
