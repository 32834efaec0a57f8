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


def test_rouge_pair_equals_the_rouge_score_package():
    from rouge_score import rouge_scorer

    from steering.style_metrics import rouge_pair

    texts = ["Step 1: Compute 9 * 6 = 54. Step 2: 9 + 54 = 63, so the answer is \\boxed{60}.",
             "// compute each multiplication\nproduct_1 = 9 * 6  // 54\nvalue = s1 - 3  // 60\n\\boxed{60}",
             "SELF-CRITIQUE: my confidence is high; the multiplications were computed first, computing 54 again.",
             "the the the the", "", "60"]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    for prediction in texts:
        for reference in texts:
            expected = {k: s.fmeasure for k, s in scorer.score(reference, prediction).items()}
            assert rouge_pair(prediction, reference) == pytest.approx(expected, abs=1e-12), (prediction, reference)


def test_lcs_length_by_hand():
    from steering.style_metrics import lcs_length

    assert lcs_length("abcbdab", "bdcaba") == 4
    assert lcs_length(["x"], []) == 0 and lcs_length([], ["x"]) == 0
    assert lcs_length(list("aaaa"), list("aa")) == 2
