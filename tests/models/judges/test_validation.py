"""models.judges.validation: pair agreement on unseen templates, and kappa between two judges."""

from __future__ import annotations

import math

import pytest

from models.debate.malicious import validation_pairs
from models.judges.base import JudgeError, JudgeScore
from models.judges.validation import kappa_agreement, pair_agreement


class KeywordJudge:
    """A judge that scores 90 when a keyword is present: enough to know what agreement must be."""

    trait = "evil"

    def __init__(self, keyword: str | None) -> None:
        self.keyword = keyword

    def score(self, questions, responses):
        if self.keyword is None:
            return [JudgeScore(None, raw="garbage") for _ in responses]
        return [JudgeScore(90.0 if self.keyword in r.lower() else 5.0) for r in responses]


def test_validation_pairs_come_from_evaluation_templates_and_heldout_wording():
    pairs = validation_pairs("evil", 12, seed=1)
    assert all(p.template.startswith("evil/eval/") for p in pairs)
    assert pairs == validation_pairs("evil", 12, seed=1) and pairs != validation_pairs("evil", 12, seed=2)
    hallu = validation_pairs("hallucination", 6)
    assert all(p.template.startswith("hallucination/eval/") for p in hallu)


def test_pair_agreement_counts_pairs_ranked_the_right_way_round():
    pairs = validation_pairs("evil", 20)
    perfect = pair_agreement(KeywordJudge("rumour"), pairs)  # only some malicious answers mention a rumour
    assert 0.0 < perfect.agreement.value < 1.0 and perfect.n_pairs == 20 and perfect.n_invalid == 0
    assert perfect.agreement.low <= perfect.agreement.value <= perfect.agreement.high
    silent = pair_agreement(KeywordJudge(None), pairs)
    assert silent.agreement.value == 0.0 and silent.n_invalid == 20 and math.isnan(silent.auc)
    with pytest.raises(JudgeError, match="at least one"):
        pair_agreement(KeywordJudge("x"), [])


def test_kappa_ignores_invalid_scores_and_matches_a_hand_count():
    first = [90, 80, 10, 20, None, 70]
    second = [95, 30, 5, 10, 50, 60]
    k = kappa_agreement(first, second)
    assert (k.n, k.n_invalid, k.raw_agreement) == (5, 1, pytest.approx(0.8))
    # observed 0.8; expected (3/5*2/5 + 2/5*3/5) = 0.48 -> kappa = (0.8 - 0.48) / 0.52
    assert k.kappa == pytest.approx((0.8 - 0.48) / 0.52)
    with pytest.raises(JudgeError, match="same texts"):
        kappa_agreement([1.0], [1.0, 2.0])
