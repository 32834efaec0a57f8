"""Held-out probe predictions tallied per question: the unit every confidence interval resamples.

`probes.linear.probe_accuracy` gives one accuracy per site (a mean over folds). An interval over
questions needs more: which rows each question got right when it was held out. `heldout_tally` fits
the same probe (`probes.linear.fit_probe`: standardised features, logistic regression) on folds grouped
by question, predicts every row once from the fold that held its question out, and counts the correct
rows per question and site. Labels can be given explicitly, so a control task (`probes.control_task`)
runs through exactly the same folds and fits as the real labels.

Example:
    >>> tally = heldout_tally(acts, target="agent", folds=5, seed=0)
    >>> tally.accuracy("blocks.2.hook_resid_post"), tally.chance
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from models.sites import site_layer
from probes.activations import ActivationSet
from probes.errors import ProbeError
from probes.linear import LinearProbe, fit_probe


@dataclass(frozen=True)
class QuestionTally:
    """Correct held-out predictions per question and site, with each question's row count and chance."""

    questions: tuple[str, ...]
    sites: tuple[str, ...]
    correct: np.ndarray  # [question, site] rows predicted right while their question was held out
    total: np.ndarray  # [question] rows of that question
    chance: float  # share of the majority class: the accuracy of always guessing it

    def __post_init__(self) -> None:
        if self.correct.shape != (len(self.questions), len(self.sites)) or self.total.shape != (len(self.questions),):
            raise ProbeError(f"a tally of {len(self.questions)} questions at {len(self.sites)} sites needs correct "
                             f"{(len(self.questions), len(self.sites))} and total ({len(self.questions)},); got "
                             f"{self.correct.shape} and {self.total.shape}")

    @property
    def layers(self) -> list[int]:
        return [site_layer(s) for s in self.sites]

    def accuracy(self, site: str) -> float:
        """Held-out accuracy over every row at `site` (rows, not questions, weigh equally)."""
        if site not in self.sites:
            raise ProbeError(f"site {site!r} was not tallied; this tally has {', '.join(self.sites)}")
        return float(self.correct[:, self.sites.index(site)].sum() / self.total.sum())

    def to_json(self) -> dict[str, Any]:
        return {"questions": list(self.questions), "sites": list(self.sites), "correct": self.correct.tolist(),
                "total": self.total.tolist(), "chance": self.chance}


def grouped_splits(y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that never split a question (`probes.linear.probe_accuracy`'s splitter).

    The splitter sees only each question's label counts, so labels permuted within questions get the same folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    n_splits = min(folds, len(set(groups.tolist())))
    if n_splits < 2:
        raise ProbeError(f"held-out predictions need rows from at least two questions; got {n_splits}")
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class has fewer members than n_splits"
        return list(splitter.split(np.zeros(len(y)), y, groups))


def predict(probe: LinearProbe, X: np.ndarray) -> np.ndarray:
    """The class each row of `X` (activation units) is assigned by `probe`."""
    logits = torch.from_numpy(X).float() @ probe.coef.T + probe.intercept
    classes = np.array(probe.classes)
    if logits.shape[1] == 1:  # two classes: positive logit = classes[1]
        return classes[(logits[:, 0] > 0).long().numpy()]
    return classes[logits.argmax(dim=1).numpy()]


def heldout_predictions(X: np.ndarray, y: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                        C: float = 1.0, seed: int = 0) -> np.ndarray:
    """Each row's label as predicted by the probe fitted on the folds that exclude it."""
    pred = np.empty(len(y), dtype=y.dtype)
    for train, test in splits:
        if len(set(y[train].tolist())) < 2:
            raise ProbeError(f"a training fold holds one class only ({y[train][0]!r}); add questions or lower folds")
        probe = fit_probe(torch.from_numpy(X[train]), y[train].tolist(), C=C, seed=seed)
        pred[test] = predict(probe, X[test])
    return pred


def heldout_tally(acts: ActivationSet, labels: Sequence[Any] | None = None, target: str = "agent", folds: int = 5,
                  seed: int = 0, C: float = 1.0, sites: Sequence[str] | None = None) -> QuestionTally:
    """Held-out correct rows per question at every (or each given) site; `labels` replaces the `target` column."""
    y = np.asarray(acts.column(target) if labels is None else list(labels))
    if len(y) != len(acts):
        raise ProbeError(f"labels must hold one value per row: {len(y)} labels for {len(acts)} rows")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ProbeError(f"a probe for {target!r} needs at least two classes; every row has {classes.tolist()}")
    groups = np.asarray(acts.column("question_id"))
    questions, unit = np.unique(groups, return_inverse=True)
    splits = grouped_splits(y, groups, folds, seed)
    chosen = list(sites or acts.sites)
    correct = np.zeros((len(questions), len(chosen)), dtype=np.int64)
    for j, site in enumerate(chosen):
        right = heldout_predictions(acts.at(site).double().numpy(), y, splits, C=C, seed=seed) == y
        correct[:, j] = np.bincount(unit, weights=right, minlength=len(questions)).astype(np.int64)
    return QuestionTally(tuple(questions.tolist()), tuple(chosen), correct,
                         np.bincount(unit, minlength=len(questions)).astype(np.int64),
                         float(counts.max() / counts.sum()))


def fewshot_tally(acts: ActivationSet, n_train: int, draws: int = 10, seed: int = 0, target: str = "agent",
                  C: float = 1.0, sites: Sequence[str] | None = None) -> QuestionTally:
    """Held-out accuracy with only `n_train` training questions: a point of the probe's learning curve.

    `draws` times, `n_train` questions are drawn at random (a generator seeded by `seed`, over the sorted
    question ids, so two models read on the same debates get the same draws: the comparison is paired);
    the probe is fitted on their rows and predicts every other question's rows. Per question, correct and
    total rows are summed over the draws that held it out. Two models both near 1.0 with every question
    to learn from can still differ in how few examples they need.
    """
    y = np.asarray(acts.column(target))
    groups = np.asarray(acts.column("question_id"))
    questions, unit = np.unique(groups, return_inverse=True)
    if not 1 <= n_train < len(questions):
        raise ProbeError(f"n_train must be between 1 and {len(questions) - 1} (one question fewer than the "
                         f"{len(questions)} collected), got {n_train}")
    if draws < 1:
        raise ProbeError(f"draws must be >= 1, got {draws}")
    rng = np.random.default_rng([seed, n_train])
    chosen = list(sites or acts.sites)
    X = {site: acts.at(site).double().numpy() for site in chosen}
    correct = np.zeros((len(questions), len(chosen)), dtype=np.int64)
    total = np.zeros(len(questions), dtype=np.int64)
    for _ in range(draws):
        train_q = rng.choice(len(questions), size=n_train, replace=False)
        train = np.isin(unit, train_q)
        if len(set(y[train].tolist())) < 2:
            raise ProbeError(f"{n_train} training question(s) hold one {target} only; every question must hold "
                             "several classes (a debate's three agents) for a few-shot probe")
        test = ~train
        for j, site in enumerate(chosen):
            probe = fit_probe(torch.from_numpy(X[site][train]), y[train].tolist(), C=C, seed=seed)
            right = predict(probe, X[site][test]) == y[test]
            correct[:, j] += np.bincount(unit[test], weights=right, minlength=len(questions)).astype(np.int64)
        total += np.bincount(unit[test], minlength=len(questions)).astype(np.int64)
    _, counts = np.unique(y, return_counts=True)
    return QuestionTally(tuple(questions.tolist()), tuple(chosen), correct, total, float(counts.max() / counts.sum()))

