"""probes.heldout: every row predicted once from a fold that held its question out, tallied per question."""

from __future__ import annotations

import numpy as np
import pytest

from probes import ProbeError
from probes.control_task import control_labels
from probes.heldout import grouped_splits, heldout_tally
from probes.linear import probe_accuracy
from tests.probes._data import planted_set

SITE = "blocks.0.hook_resid_post"


def test_a_planted_signal_beats_its_shuffled_control_by_far():
    acts, _ = planted_set(n_per_agent=90, d=16, scale=3.0)
    real = heldout_tally(acts, folds=4, seed=0)
    control = heldout_tally(acts, control_labels(acts, "agent", 0), folds=4, seed=0)
    assert real.accuracy(SITE) > 0.9
    assert abs(control.accuracy(SITE) - 1 / 3) < 0.12
    assert real.chance == pytest.approx(1 / 3)


def test_the_tally_counts_each_row_once_per_question():
    acts, _ = planted_set(n_per_agent=45, d=8, scale=2.0)
    tally = heldout_tally(acts, folds=3, seed=1)
    questions = acts.column("question_id")
    assert tally.questions == tuple(sorted(set(questions)))
    assert tally.total.tolist() == [questions.count(q) for q in tally.questions]
    assert (tally.correct <= tally.total[:, None]).all() and tally.correct.shape == (len(tally.questions), 1)
    # the same probe and folds as probe_accuracy: pooled rows vs mean over folds differ only by fold sizes
    assert tally.accuracy(SITE) == pytest.approx(probe_accuracy(acts, SITE, folds=3, seed=1).accuracy, abs=0.05)


def test_folds_never_split_a_question_and_shuffled_labels_get_the_same_folds():
    acts, _ = planted_set(n_per_agent=60, d=4)
    y, groups = np.array(acts.column("agent")), np.array(acts.column("question_id"))
    splits = grouped_splits(y, groups, folds=5, seed=2)
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    assert sorted(np.concatenate([t for _, t in splits]).tolist()) == list(range(len(y)))
    shuffled = grouped_splits(np.array(control_labels(acts, "agent", 9)), groups, folds=5, seed=2)
    assert all((a == c).all() and (b == d).all() for (a, b), (c, d) in zip(splits, shuffled, strict=True))


def test_bad_input_is_named():
    acts, _ = planted_set(n_per_agent=12, d=4)
    with pytest.raises(ProbeError, match="one value per row"):
        heldout_tally(acts, labels=[1, 2])
    with pytest.raises(ProbeError, match="at least two classes"):
        heldout_tally(acts, labels=[1] * len(acts))
    with pytest.raises(ProbeError, match="at least two questions"):
        heldout_tally(acts.where(question_id="q0"))
    with pytest.raises(ProbeError, match="was not tallied"):
        heldout_tally(acts, folds=2).accuracy("blocks.9.hook_resid_post")


def test_fewshot_tally_holds_out_every_training_question_and_pairs_the_draws():
    from probes.heldout import fewshot_tally

    acts = planted_set(n_per_agent=12, d=8, scale=3.0)[0]
    t = fewshot_tally(acts, n_train=2, draws=5, seed=3)
    # each draw trains on 2 questions and predicts the other 10 (rows of 3 agents each)
    assert t.total.sum() == 5 * 10 * 3 and t.correct.shape == (12, len(acts.sites))
    assert (t.correct <= t.total[:, None]).all()
    again = fewshot_tally(acts, n_train=2, draws=5, seed=3)
    assert (again.total == t.total).all() and (again.correct == t.correct).all()  # same seed, same draws
    other = fewshot_tally(planted_set(n_per_agent=12, d=8, scale=0.0)[0], n_train=2, draws=5, seed=3)
    assert (other.total == t.total).all()  # another model on the same questions: the same training sets
    assert t.accuracy(acts.sites[0]) > other.accuracy(acts.sites[0])


@pytest.mark.parametrize("kw, message", [({"n_train": 0}, "n_train must be between 1 and 11"),
                                         ({"n_train": 12}, "n_train must be between 1 and 11"),
                                         ({"n_train": 2, "draws": 0}, "draws must be >= 1")])
def test_fewshot_tally_refuses_impossible_sizes(kw, message):
    from probes.heldout import fewshot_tally

    with pytest.raises(ProbeError, match=message):
        fewshot_tally(planted_set(n_per_agent=12, d=8, scale=1.0)[0], **kw)
