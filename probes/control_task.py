"""The shuffled-label control task for probes: labels permuted within each question.

Hewitt & Liang (2019) read a probe against a control task, labels that carry no information about the
representation, trained and tested the same way; selectivity is the real accuracy minus the control's.
Here the control permutes the agent labels among the rows of one question, so every question keeps its
own label counts (and the whole set its class balance), and the question-grouped folds are unchanged.
A probe that beats this control reads something the labels are tied to, not the data's shape.

Example:
    >>> shuffled = control_labels(acts, "agent", seed=0)   # same counts per question, order permuted
    >>> heldout_tally(acts, labels=shuffled)               # probes.heldout: the control curve
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

import numpy as np

from probes.activations import ActivationSet
from probes.errors import ProbeError

T = TypeVar("T")


def shuffle_within(labels: Sequence[T], groups: Sequence[Hashable], seed: int) -> list[T]:
    """`labels` permuted among the positions of each group; counts per group are kept exactly.

    Seeded, and independent of the order groups first appear in, so one seed is one control task.
    """
    if len(labels) != len(groups):
        raise ProbeError(f"shuffle_within needs one group per label; got {len(labels)} labels and {len(groups)} groups")
    rng = np.random.default_rng(seed)
    out = list(labels)
    by_group: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    for key in sorted(by_group, key=str):  # a fixed visiting order: the permutation depends on the seed only
        idx = by_group[key]
        for i, j in zip(idx, rng.permutation(idx), strict=True):
            out[i] = labels[int(j)]
    return out


def control_labels(acts: ActivationSet, target: str = "agent", seed: int = 0) -> list[Any]:
    """The rows' `target` values shuffled within each question (the rows' ``question_id``)."""
    return shuffle_within(acts.column(target), acts.column("question_id"), seed)
