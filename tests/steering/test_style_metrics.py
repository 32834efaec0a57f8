"""steering.style_metrics: ROUGE, trapezoid AUC and relative improvement on hand-made numbers."""

import pytest

from steering import auc_trapezoid, relative_improvement, rouge


def test_rouge_and_auc_on_hand_made_curves():
    assert rouge(["a b c d"], ["a b c d"])["rougeL"] == pytest.approx(1.0)
    assert rouge(["x y"], ["a b"])["rouge1"] == 0.0
    assert auc_trapezoid([0, 1, 2], [0, 1, 1]) == pytest.approx(1.5)
    assert auc_trapezoid([2, 0, 1], [1, 0, 1]) == pytest.approx(1.5)  # sorted by x first
    assert relative_improvement(0.802, 0.903) == pytest.approx(12.59, abs=0.01)
    with pytest.raises(ValueError, match="at least two"):
        auc_trapezoid([0], [1])
