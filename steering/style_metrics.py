"""Agent-style fidelity (paper §3): ROUGE of steered outputs against held-out turns of a persona,
summarised as the area under the ROUGE-vs-alpha curve (trapezoid rule over the alphas swept)."""

from __future__ import annotations

from collections.abc import Sequence

from rouge_score import rouge_scorer

ROUGE_TYPES: tuple[str, ...] = ("rouge1", "rouge2", "rougeL")


def rouge(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F-measure of each prediction against its reference."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("rouge needs at least one prediction")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for pred, ref in zip(predictions, references):
        scores = scorer.score(ref, pred)
        for key in ROUGE_TYPES:
            totals[key] += scores[key].fmeasure
    return {key: totals[key] / len(predictions) for key in ROUGE_TYPES}


def auc_trapezoid(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Area under y(x) by the trapezoid rule, after sorting by x (the paper does not state its rule)."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"need at least two (x, y) points of equal count, got {len(xs)} and {len(ys)}")
    points = sorted(zip(xs, ys))
    return float(sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(points, points[1:])))


def relative_improvement(base: float, other: float) -> float:
    """(other - base) / base, in percent."""
    if base == 0:
        raise ValueError("relative improvement over a zero baseline is undefined")
    return 100.0 * (other - base) / base
