"""models.debate.splits: evaluation questions that no training debate holds."""

from __future__ import annotations

import pytest

from models.debate.splits import heldout_questions


@pytest.mark.parametrize("trait", ["evil", "hallucination"])
def test_heldout_questions_are_fresh_distinct_and_seeded(trait):
    test, train = heldout_questions(trait, 6, seed=3, n_train=12)
    assert len(test) == 6 and len(train) == 12
    assert len(set(test)) == 6 and not set(test) & set(train)
    assert heldout_questions(trait, 6, seed=3, n_train=12) == (test, train)
    assert heldout_questions(trait, 6, seed=4, n_train=12)[0] != test
