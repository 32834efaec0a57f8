"""Uncertainty for every reported number: paired bootstrap CIs, paired tests and computed verdicts.

Every experiment evaluates all its conditions on the same questions, so resampling *question indices*
(rows) keeps the pairing: base vs distilled, or steered vs unsteered, differ far less than their
separate intervals suggest. A verdict is computed from an interval against a predeclared threshold,
never chosen: ``confirmed`` when the whole interval is on the claim's side, ``refuted`` when it is
wholly on the other side, ``inconclusive`` otherwise.

It lives in `models` (the lowest layer) because probes, steering, the trainer's evaluation and the
experiments all report with it.

Example:
    >>> est = bootstrap_mean(scores)                                  # Estimate(value, low, high, n)
    >>> diff = bootstrap_paired_difference(distilled, base)           # same questions, paired
    >>> verdict(est, threshold=2.5, claim="below")                    # "confirmed" | "refuted" | "inconclusive"
    >>> mcnemar(sft_correct, single_correct).p_value
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from models.errors import ModelsError

Verdict = Literal["confirmed", "refuted", "inconclusive"]
Claim = Literal["below", "above", "within"]
Interval = Literal["percentile", "bca"]
DEFAULT_RESAMPLES = 2000


def _bca_quantiles(x: np.ndarray, means: np.ndarray, tail: float) -> list[float]:
    """The two resample quantiles a BCa interval reads (the percentile ones when x is constant)."""
    from scipy.stats import norm

    n, theta = x.shape[0], float(x.mean())
    jack = (x.sum() - x) / (n - 1) if n > 1 else x.astype(float)
    spread = jack.mean() - jack
    denominator = 6.0 * float((spread ** 2).sum()) ** 1.5
    if denominator == 0.0:
        return [tail, 1.0 - tail]
    accel = float((spread ** 3).sum()) / denominator
    below = (np.sum(means < theta) + 0.5 * np.sum(means == theta)) / means.shape[0]
    z0 = float(norm.ppf(np.clip(below, 1e-6, 1 - 1e-6)))

    def adjusted(z: float) -> float:
        return float(norm.cdf(z0 + (z0 + z) / (1.0 - accel * (z0 + z))))

    return [adjusted(float(norm.ppf(tail))), adjusted(float(norm.ppf(1.0 - tail)))]


class StatsError(ModelsError, ValueError):
    """Data a statistic cannot be computed on (empty, ragged, non-finite, unpaired)."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its percentile-bootstrap interval over `n` questions."""

    value: float
    low: float
    high: float
    n: int
    level: float = 0.95

    def __str__(self) -> str:
        return f"{self.value:.3g} [{self.low:.3g}, {self.high:.3g}]"

    def to_json(self) -> dict[str, float | int]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "level": self.level}


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test of two systems on the same items: discordant counts and the two-sided p-value."""

    only_a: int  # items system A got right and B wrong
    only_b: int
    p_value: float


def _table(rows: Sequence[Sequence[float]] | Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    """``[n_questions, n_conditions]`` float array, refused when empty or non-finite."""
    try:
        data = np.asarray(rows, dtype=float)
    except (TypeError, ValueError) as e:
        raise StatsError(f"{what} must be numbers per question (a 1-D or 2-D array), got {e}") from None
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] == 0:
        raise StatsError(f"{what} needs at least one question, got shape {data.shape}")
    if not np.isfinite(data).all():
        raise StatsError(f"{what} holds NaN or infinite values; score every question before estimating")
    return data


def _check_options(resamples: int, level: float) -> None:
    if resamples < 100:
        raise StatsError(f"resamples must be >= 100 for a percentile interval, got {resamples}")
    if not 0.5 <= level < 1.0:
        raise StatsError(f"level must be in [0.5, 1), got {level}")


def paired_bootstrap(
    rows: Sequence[Sequence[float]] | np.ndarray,
    statistic: Callable[[np.ndarray], float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Percentile bootstrap of ``statistic(rows)`` resampling whole rows (questions) with replacement.

    Args:
        rows: ``[n_questions, n_conditions]`` (or ``[n_questions]``); row i holds question i in every condition.
        statistic: maps a ``[n, n_conditions]`` array to one number (a mean, a difference, an AUC, ...).
    """
    _check_options(resamples, level)
    data = _table(rows, "rows")
    rng = np.random.default_rng(seed)
    n = data.shape[0]
    picks = rng.integers(0, n, size=(resamples, n))
    values = np.array([statistic(data[p]) for p in picks], dtype=float)
    tail = (1.0 - level) / 2
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return Estimate(float(statistic(data)), float(low), float(high), n, level)


def bootstrap_mean(values: Sequence[float] | np.ndarray, **options: float | int | str) -> Estimate:
    """Mean over questions with its bootstrap interval."""
    data = _table(values, "values")
    if data.shape[1] != 1:
        raise StatsError(f"bootstrap_mean takes one value per question, got {data.shape[1]} columns")
    return _fast_mean(data[:, 0], **options)


def bootstrap_paired_difference(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                                **options: float | int | str) -> Estimate:
    """mean(a - b) over the same questions, with its paired bootstrap interval."""
    x, y = _table(a, "a"), _table(b, "b")
    if x.shape != y.shape or x.shape[1] != 1:
        raise StatsError(f"a and b must hold one value per question for the same questions; got {x.shape[0]} "
                         f"and {y.shape[0]} values")
    return _fast_mean(x[:, 0] - y[:, 0], **options)


def _fast_mean(x: np.ndarray, resamples: int = DEFAULT_RESAMPLES, level: float = 0.95, seed: int = 0,
               interval: Interval = "percentile") -> Estimate:
    """`paired_bootstrap` of the mean, vectorised (the same resampling, without a Python loop).

    ``interval="bca"``: the bias-corrected and accelerated interval (Efron 1987) from the same resamples,
    which covers better than the percentile interval on small, skewed samples (32 questions of 0-100
    judge scores bunched near 0); the acceleration is the jackknife's.
    """
    _check_options(resamples, level)
    if interval not in ("percentile", "bca"):
        raise StatsError(f"interval must be 'percentile' or 'bca', got {interval!r}")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, x.shape[0], size=(int(resamples), x.shape[0]))
    means = x[picks].mean(axis=1)
    tail = (1.0 - level) / 2
    quantiles = [tail, 1.0 - tail] if interval == "percentile" else _bca_quantiles(x, means, tail)
    low, high = np.quantile(means, quantiles)
    return Estimate(float(x.mean()), float(low), float(high), int(x.shape[0]), float(level))


def verdict(estimate: Estimate, threshold: float, claim: Claim) -> Verdict:
    """Confirmed when the whole interval lies strictly on the claim's side of `threshold` (``below``: high < it);
    refuted when it lies wholly on the other side; an interval that reaches the threshold is inconclusive
    (identical systems, 0 [0, 0], do not confirm "better than").

    ``within`` is an equivalence claim (|value| <= threshold, e.g. "matches accuracy within 5 pp"): confirmed
    when the whole interval lies inside ``[-threshold, threshold]``, refuted when it lies wholly outside.
    """
    if claim == "within":
        if threshold < 0:
            raise StatsError(f"an equivalence margin must be >= 0, got {threshold}")
        if -threshold <= estimate.low and estimate.high <= threshold:
            return "confirmed"
        return "refuted" if estimate.low > threshold or estimate.high < -threshold else "inconclusive"
    if claim == "below":
        return "confirmed" if estimate.high < threshold else "refuted" if estimate.low > threshold else "inconclusive"
    if claim == "above":
        return "confirmed" if estimate.low > threshold else "refuted" if estimate.high < threshold else "inconclusive"
    raise StatsError(f"claim must be 'below', 'above' or 'within', got {claim!r}")


@dataclass(frozen=True)
class Criterion:
    """A predeclared success criterion: what is measured, which side of which threshold counts as success.

    Experiments hold one per claim in their config (so ``config.json`` records it before any generation)
    and decide with `decide`, never by picking the favourable point afterwards.
    """

    claim_text: str  # the sentence being tested, e.g. "the distilled model fully suppresses the evil agent"
    metric: str  # what the estimate is, e.g. "mean malicious-agent turn score (0-100) at the best clean alpha"
    claim: Claim
    threshold: float

    def __post_init__(self) -> None:
        if self.claim not in ("below", "above", "within"):
            raise StatsError(f"Criterion.claim must be 'below', 'above' or 'within', got {self.claim!r}")
        if not np.isfinite(self.threshold):
            raise StatsError(f"Criterion.threshold must be finite, got {self.threshold}")

    def decide(self, estimate: Estimate) -> Verdict:
        return verdict(estimate, self.threshold, self.claim)

    def describe(self) -> str:
        side = {"below": "<", "above": ">", "within": "within +/-"}[self.claim]
        return f"{self.metric} {side} {self.threshold:g} (whole 95% CI)"


def verdict_line(criterion: Criterion, estimate: Estimate | None, decided: Verdict | None = None) -> str:
    """``CONFIRMED: <claim> -- <metric> = v [lo, hi] (criterion: ...)``: the sentence a summary opens with."""
    if estimate is None:
        return f"INCONCLUSIVE: {criterion.claim_text} -- no estimate (criterion: {criterion.describe()})"
    outcome = decided or criterion.decide(estimate)
    return (f"{outcome.upper()}: {criterion.claim_text} -- {criterion.metric} = {estimate} "
            f"(criterion: {criterion.describe()})")


def seed_spread(values: Sequence[float]) -> dict[str, float | int]:
    """Mean, standard deviation (ddof 1), min and max of one statistic over seeds."""
    data = np.asarray(values, dtype=float)
    if data.ndim != 1 or data.size == 0 or not np.isfinite(data).all():
        raise StatsError(f"seed_spread needs finite values, one per seed; got {list(values)}")
    sd = float(data.std(ddof=1)) if data.size > 1 else 0.0
    return {"mean": float(data.mean()), "sd": sd, "min": float(data.min()), "max": float(data.max()),
            "n_seeds": int(data.size)}


def mcnemar(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> McNemar:
    """Exact two-sided McNemar test (a binomial test on the discordant items) for paired accuracies."""
    from scipy.stats import binomtest

    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise StatsError(f"mcnemar needs two equal-length, non-empty lists of per-item correctness; got "
                         f"{a.shape} and {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    p = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return McNemar(only_a, only_b, p)
