"""steering.frontier: the sweep table and the first clean suppression point."""

import pytest


def _answers(arm, alpha, scores, degenerate=False):
    return [{"trait": "evil", "arm": arm, "alpha": alpha, "score": s, "degenerate": degenerate, "perplexity": 5.0}
            for s in scores]


def test_first_suppression_uses_the_trait_rate_and_skips_degenerate_settings():
    from steering import first_suppression, summarize_sweep

    rows = (_answers("base", 0.0, [80, 70, 3]) + _answers("base", -1.0, [60, 4, 3])
            + _answers("base", -2.0, [2, 3, 1], degenerate=True) + _answers("base", -3.0, [4, 2, 3])
            + [{"kind": "capability", "trait": "evil", "arm": "base", "alpha": a, "accuracy": acc}
               for a, acc in ((0.0, 0.6), (-1.0, 0.5), (-2.0, 0.1), (-3.0, 0.3))])
    table = summarize_sweep(rows)
    assert [r["trait_rate"] for r in sorted(table, key=lambda r: -r["alpha"])] == [0.667, 0.333, 0.0, 0.0]
    (point,) = first_suppression(table, zero_threshold=3.5)
    # -2 has no trait-expressing answer but is degenerate; -3 is the first clean full suppression
    assert (point["alpha"], point["capability"], point["trait_rate_at_0"]) == (-3.0, 0.3, 0.667)
    assert point["trait_score"] == pytest.approx(3.0)  # a probabilistic judge's mean stays above 0
    assert (point["best_clean_alpha"], point["best_clean_capability"]) == (-3.0, 0.3)
    (strict,) = first_suppression(table, zero_threshold=2.5)
    assert strict["alpha"] is None and strict["best_clean_alpha"] == -3.0
    (lenient,) = first_suppression(table, zero_threshold=30.0, max_trait_rate=0.34)
    assert lenient["alpha"] == -1.0
