"""probes.control_task: the shuffled-label control task keeps every question's labels, only in another order."""

from __future__ import annotations

from collections import Counter

import pytest

from probes import ProbeError
from probes.control_task import control_labels, shuffle_within
from tests.probes._data import planted_set


def test_labels_stay_within_their_question_and_keep_the_counts():
    acts, _ = planted_set(n_per_agent=60)
    real, questions = acts.column("agent"), acts.column("question_id")
    shuffled = control_labels(acts, "agent", seed=3)
    assert Counter(shuffled) == Counter(real)
    for q in set(questions):
        rows = [i for i, g in enumerate(questions) if g == q]
        assert Counter(shuffled[i] for i in rows) == Counter(real[i] for i in rows), q
    assert shuffled != real  # permuted, not copied
    assert sum(a == b for a, b in zip(shuffled, real, strict=True)) < 0.6 * len(real)


def test_one_seed_is_one_control_task():
    labels, groups = [1, 2, 3] * 20, [i // 6 for i in range(60)]
    assert shuffle_within(labels, groups, 0) == shuffle_within(labels, groups, 0)
    assert shuffle_within(labels, groups, 0) != shuffle_within(labels, groups, 1)
    # the permutation depends on the seed, not on the order the groups are listed in
    order = sorted(range(60), key=lambda i: -groups[i])
    reordered = shuffle_within([labels[i] for i in order], [groups[i] for i in order], 0)
    assert Counter(zip(reordered, [groups[i] for i in order], strict=True)) == Counter(
        zip(shuffle_within(labels, groups, 0), groups, strict=True))


def test_a_group_of_one_keeps_its_label_and_lengths_must_match():
    assert shuffle_within(["a", "b"], ["x", "y"], 5) == ["a", "b"]
    with pytest.raises(ProbeError, match="one group per label"):
        shuffle_within([1, 2, 3], ["q"], 0)
