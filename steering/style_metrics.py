"""Agent-style fidelity (paper §3): ROUGE of steered outputs against held-out turns of a persona,
summarised as the area under the ROUGE-vs-alpha curve (trapezoid rule over the alphas swept).

Scores equal the `rouge_score` package's F-measures (its tokenizer, with stemming), computed here
because a controlled style sweep scores tens of thousands of pairs: tokens are cached per text and the
longest common subsequence runs bit-parallel on Python integers (Hyyrö 2004) instead of a Python DP
table, which makes ROUGE-L about an order of magnitude cheaper. Tests compare with `rouge_score`.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Sequence

from rouge_score.tokenizers import DefaultTokenizer

ROUGE_TYPES: tuple[str, ...] = ("rouge1", "rouge2", "rougeL")
_TOKENIZER = DefaultTokenizer(use_stemmer=True)


@functools.lru_cache(maxsize=100_000)
def rouge_tokens(text: str) -> tuple[str, ...]:
    """`rouge_score`'s tokens of `text` (lower case, alphanumeric, Porter stems); cached, as references repeat."""
    return tuple(_TOKENIZER.tokenize(text))


def lcs_length(reference: Sequence[str], prediction: Sequence[str]) -> int:
    """Length of the longest common subsequence, bit-parallel over the reference (one big-int step per token)."""
    if not reference or not prediction:
        return 0
    masks: dict[str, int] = {}
    for i, token in enumerate(reference):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(reference)) - 1
    v = full
    for token in prediction:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return len(reference) - v.bit_count()


def _f1(overlap: int, n_prediction: int, n_reference: int) -> float:
    precision, recall = overlap / max(n_prediction, 1), overlap / max(n_reference, 1)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _ngram_f1(reference: Sequence[str], prediction: Sequence[str], n: int) -> float:
    ref = Counter(tuple(reference[i:i + n]) for i in range(len(reference) - n + 1))
    pred = Counter(tuple(prediction[i:i + n]) for i in range(len(prediction) - n + 1))
    return _f1(sum((ref & pred).values()), sum(pred.values()), sum(ref.values()))


def rouge_pair(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1/2/L F-measure of one prediction against one reference (equal to `rouge_score`'s)."""
    pred, ref = rouge_tokens(prediction), rouge_tokens(reference)
    lcs = lcs_length(ref, pred)
    return {"rouge1": _ngram_f1(ref, pred, 1), "rouge2": _ngram_f1(ref, pred, 2),
            "rougeL": _f1(lcs, len(pred), len(ref)) if pred and ref else 0.0}


def rouge(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F-measure of each prediction against its reference."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("rouge needs at least one prediction")
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for pred, ref in zip(predictions, references):
        for key, value in rouge_pair(pred, ref).items():
            totals[key] += value
    return {key: totals[key] / len(predictions) for key in ROUGE_TYPES}


def auc_trapezoid(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Area under y(x) by the trapezoid rule, after sorting by x (the paper does not state its rule)."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"need at least two (x, y) points of equal count, got {len(xs)} and {len(ys)}")
    points = sorted(zip(xs, ys))
    return float(sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(points)))


def relative_improvement(base: float, other: float) -> float:
    """(other - base) / base, in percent."""
    if base == 0:
        raise ValueError("relative improvement over a zero baseline is undefined")
    return 100.0 * (other - base) / base
