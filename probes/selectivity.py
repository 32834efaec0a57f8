"""Probe accuracy against its baselines, with paired-bootstrap intervals over questions and a spread over seeds.

A probe curve alone cannot say whether a model separates agents: a flat line at 1.0 can come from a
lexical giveaway that an untrained model reads as well. This module puts every curve beside its
controls and gives each number an interval:

* `condition_tallies` -- per model role, the real-label probe and the shuffled-label control
  (``<role>_shuffled``, `probes.control_task`), same folds, same fits;
* `TallyTable.pool` -- the tallies of every seed in one table whose rows are (seed, question) units;
* `Measure` / `measure` -- any weighted sum of accuracies (an accuracy, a selectivity = real - shuffled,
  a difference of selectivities, each possibly averaged over layers), with a percentile CI from
  `models.stats.paired_bootstrap` over units (all conditions resampled together, so they stay paired)
  and its value at each seed;
* `layer_measures` -- the per-layer table of an experiment; `learning_curve` -- few-shot accuracy per
  training size (`fewshot_tallies`); `decide` -- a predeclared `Criterion`'s verdict.

With folds grouped by question, a held-out question's shuffled labels are independent of everything the
probe saw, so the control's expected accuracy is the per-question chance whatever the probe learns: it
checks the pipeline (no leak across folds), and its noise is carried into every selectivity's interval.

Example:
    >>> by_seed = {s: condition_tallies({"base": acts_b[s], "distilled": acts_d[s]}, seed=s) for s in (0, 1, 2)}
    >>> table = TallyTable.pool(by_seed)
    >>> m = measure(table, "distilled - base selectivity", difference_terms(table, "distilled", "base"))
    >>> decide(Criterion("distilled separates agents better", m.name, "above", 0.0), m)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from models.stats import (
    DEFAULT_RESAMPLES,
    Criterion,
    Estimate,
    Verdict,
    paired_bootstrap,
    seed_spread,
)
from probes.activations import ActivationSet
from probes.control_task import control_labels
from probes.errors import ProbeError
from probes.heldout import QuestionTally, fewshot_tally, heldout_tally

Term = tuple[str, int, float]  # (condition, layer, weight): a measure is the sum of weight * accuracy


def shuffled(role: str) -> str:
    """The condition name of `role`'s shuffled-label control."""
    return f"{role}_shuffled"


def condition_tallies(acts: Mapping[str, ActivationSet], target: str = "agent", folds: int = 5, seed: int = 0,
                      C: float = 1.0) -> dict[str, QuestionTally]:
    """For each role's activations: the real-label tally and its shuffled-label control, both seeded by `seed`."""
    out: dict[str, QuestionTally] = {}
    for role, a in acts.items():
        out[role] = heldout_tally(a, target=target, folds=folds, seed=seed, C=C)
        out[shuffled(role)] = heldout_tally(a, control_labels(a, target, seed), target, folds, seed, C)
    return out


def fewshot(role: str, n_train: int) -> str:
    """The condition name of `role`'s probe trained on `n_train` questions (a learning-curve point)."""
    return f"{role}@{n_train}"


def fewshot_tallies(acts: Mapping[str, ActivationSet], sizes: Sequence[int], draws: int = 10, seed: int = 0,
                    target: str = "agent", C: float = 1.0) -> dict[str, QuestionTally]:
    """For each role and training size: the few-shot tally (`probes.heldout.fewshot_tally`), same draws for all roles."""
    return {fewshot(role, k): fewshot_tally(a, k, draws, seed, target, C) for role, a in acts.items() for k in sizes}


@dataclass(frozen=True)
class TallyTable:
    """Tallies of every condition pooled over seeds; a unit is one question of one seed's sample.

    A condition without rows for a unit (its turns were beyond that model's context) has total 0 there;
    a measure uses only the units every condition it names has rows for.
    """

    units: tuple[str, ...]  # "<seed>:<question id>"
    seeds: np.ndarray  # [unit] the seed each unit was sampled under
    conditions: tuple[str, ...]
    layers: dict[str, tuple[int, ...]]  # condition -> layers it was probed at
    correct: np.ndarray  # [unit, condition, layer index in `all_layers`]
    total: np.ndarray  # [unit, condition]
    chance: dict[str, float]  # condition -> majority-class share, averaged over seeds

    @property
    def all_layers(self) -> tuple[int, ...]:
        return tuple(sorted({la for ls in self.layers.values() for la in ls}))

    @classmethod
    def pool(cls, by_seed: Mapping[int, Mapping[str, QuestionTally]]) -> TallyTable:
        """One table from ``{seed: {condition: tally}}``; every seed must hold the same conditions."""
        if not by_seed:
            raise ProbeError("no tallies to pool: give at least one seed")
        conditions = tuple(next(iter(by_seed.values())))
        for seed, tallies in by_seed.items():
            if tuple(tallies) != conditions:
                raise ProbeError(f"seed {seed} has conditions {list(tallies)}, expected {list(conditions)}")
        layers = {c: tuple(next(iter(by_seed.values()))[c].layers) for c in conditions}
        all_layers = sorted({la for ls in layers.values() for la in ls})
        units = [(s, q) for s, tallies in by_seed.items()
                 for q in sorted({q for t in tallies.values() for q in t.questions})]
        row = {u: i for i, u in enumerate(units)}
        correct = np.zeros((len(units), len(conditions), len(all_layers)), dtype=np.int64)
        total = np.zeros((len(units), len(conditions)), dtype=np.int64)
        for seed, tallies in by_seed.items():
            for c, cond in enumerate(conditions):
                t = tallies[cond]
                if tuple(t.layers) != layers[cond]:
                    raise ProbeError(f"{cond} was probed at layers {t.layers} under seed {seed}, {layers[cond]} before")
                idx = [row[(seed, q)] for q in t.questions]
                cols = [all_layers.index(la) for la in t.layers]
                correct[np.ix_(idx, [c], cols)] = t.correct[:, None, :]
                total[idx, c] = t.total
        chance = {c: float(np.mean([by_seed[s][c].chance for s in by_seed])) for c in conditions}
        return cls(tuple(f"{s}:{q}" for s, q in units), np.array([s for s, _ in units]), conditions, layers,
                   correct, total, chance)

    def columns(self, terms: Sequence[Term], seed: int | None = None) -> np.ndarray:
        """``[unit, 2 * len(terms)]``: each term's correct counts, then its totals, over the usable units."""
        if not terms:
            raise ProbeError("a measure needs at least one (condition, layer, weight) term")
        for cond, layer, _ in terms:
            if cond not in self.conditions:
                raise ProbeError(f"no condition {cond!r}; the table has {', '.join(self.conditions)}")
            if layer not in self.layers[cond]:
                raise ProbeError(f"{cond} was not probed at layer {layer}; it has layers {list(self.layers[cond])}")
        cond_idx = [self.conditions.index(c) for c, _, _ in terms]
        keep = (self.total[:, sorted(set(cond_idx))] > 0).all(axis=1)
        if seed is not None:
            keep &= self.seeds == seed
        if not keep.any():
            raise ProbeError(f"no question has rows in every condition of {sorted({c for c, _, _ in terms})}"
                             + (f" under seed {seed}" if seed is not None else ""))
        layer_idx = [self.all_layers.index(la) for _, la, _ in terms]
        correct = self.correct[keep][:, cond_idx, layer_idx]
        return np.concatenate([correct, self.total[keep][:, cond_idx]], axis=1).astype(float)


def _statistic(weights: np.ndarray) -> Callable[[np.ndarray], float]:
    """``sum(weight * sum(correct) / sum(total))`` over the rows of `columns`' layout."""
    k = len(weights)

    def value(d: np.ndarray) -> float:
        # fsum is exact, so identical conditions on both sides cancel to exactly 0 (a dot product leaves ~1e-16)
        return math.fsum((d[:, :k].sum(axis=0) / d[:, k:].sum(axis=0) * weights).tolist())

    return value


@dataclass(frozen=True)
class Measure:
    """One reported number: pooled over seeds with its 95 % CI, and its value under each seed alone."""

    name: str
    estimate: Estimate
    per_seed: dict[int, float]
    offset: float = 0.0  # subtracted from every value (e.g. chance), already applied

    @property
    def spread(self) -> dict[str, float | int]:
        return seed_spread(list(self.per_seed.values()))

    def __str__(self) -> str:
        return str(self.estimate)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.estimate.to_json(), "per_seed": {str(s): v for s, v in self.per_seed.items()},
                "seed_spread": self.spread, "offset": self.offset}


def measure(table: TallyTable, name: str, terms: Sequence[Term], offset: float = 0.0,
            resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Measure:
    """``sum(weight * accuracy) - offset`` with a paired bootstrap CI over units, and its value per seed."""
    weights = np.array([w for _, _, w in terms], dtype=float)
    stat = _statistic(weights)
    est = paired_bootstrap(table.columns(terms), stat, resamples=resamples, seed=seed)
    est = replace(est, value=est.value - offset, low=est.low - offset, high=est.high - offset)
    per_seed = {int(s): stat(table.columns(terms, seed=int(s))) - offset for s in np.unique(table.seeds)}
    return Measure(name, est, per_seed, offset)


# ------------------------------------------------------------------------------------------------ terms
def accuracy_terms(condition: str, layers: Sequence[int]) -> list[Term]:
    """Accuracy of `condition`, averaged over `layers`."""
    if not layers:
        raise ProbeError("give at least one layer to average over")
    return [(condition, la, 1.0 / len(layers)) for la in layers]


def selectivity_terms(role: str, layers: Sequence[int]) -> list[Term]:
    """Real minus shuffled-label accuracy of `role` (Hewitt & Liang's selectivity), averaged over `layers`."""
    return accuracy_terms(role, layers) + [(c, la, -w) for c, la, w in accuracy_terms(shuffled(role), layers)]


def difference_terms(a: str, b: str, layers: Sequence[int]) -> list[Term]:
    """Selectivity of `a` minus selectivity of `b`, averaged over `layers`."""
    return selectivity_terms(a, layers) + [(c, la, -w) for c, la, w in selectivity_terms(b, layers)]


def fewshot_terms(a: str, b: str, sizes: Sequence[int], layers: Sequence[int]) -> list[Term]:
    """Few-shot accuracy of `a` minus `b`, averaged over training `sizes` and `layers` (the area between
    their learning curves, on an even grid of sizes)."""
    if not sizes:
        raise ProbeError("give at least one training size")
    terms: list[Term] = []
    for k in sizes:
        terms += [(c, la, w / len(sizes)) for c, la, w in accuracy_terms(fewshot(a, k), layers)]
        terms += [(c, la, -w / len(sizes)) for c, la, w in accuracy_terms(fewshot(b, k), layers)]
    return terms


def layer_measures(table: TallyTable, roles: Sequence[str], compare: tuple[str, str] | None = None,
                   resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict[int, dict[str, Measure]]:
    """Per layer: each role's accuracy, its shuffled control and selectivity, and ``a - b`` selectivity.

    Keys are the role, ``<role>_shuffled``, ``<role>_selectivity`` and ``<a>_minus_<b>_selectivity``; a role
    not probed at a layer is left out of that layer.
    """
    out: dict[int, dict[str, Measure]] = {}
    for layer in table.all_layers:
        row: dict[str, Measure] = {}
        for role in roles:
            if layer not in table.layers.get(role, ()):
                continue
            for cond in (role, shuffled(role)):
                row[cond] = measure(table, f"{cond} accuracy, layer {layer}", accuracy_terms(cond, [layer]),
                                    resamples=resamples, seed=seed)
            row[f"{role}_selectivity"] = measure(table, f"{role} selectivity, layer {layer}",
                                                 selectivity_terms(role, [layer]), resamples=resamples, seed=seed)
        if compare and all(layer in table.layers.get(r, ()) for r in compare):
            a, b = compare
            row[f"{a}_minus_{b}_selectivity"] = measure(table, f"{a} - {b} selectivity, layer {layer}",
                                                        difference_terms(a, b, [layer]), resamples=resamples, seed=seed)
        out[layer] = row
    return out


def learning_curve(table: TallyTable, roles: Sequence[str], sizes: Sequence[int], layers: Mapping[str, Sequence[int]],
                   compare: tuple[str, str] | None = None, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
                   ) -> dict[str, dict[int, Measure]]:
    """Per role, few-shot accuracy at each training size (`fewshot_tallies`' conditions), averaged over that
    role's `layers`; with `compare` ``(a, b)`` also ``<a>_minus_<b>``, averaged over ``layers[b]``."""
    keys = [*roles, *([f"{compare[0]}_minus_{compare[1]}"] if compare else [])]
    out: dict[str, dict[int, Measure]] = {key: {} for key in keys}
    for k in sizes:
        for role in roles:
            out[role][k] = measure(table, f"{role} accuracy, {k} training questions",
                                   accuracy_terms(fewshot(role, k), layers[role]), resamples=resamples, seed=seed)
        if compare:
            a, b = compare
            out[f"{a}_minus_{b}"][k] = measure(table, f"{a} - {b} accuracy, {k} training questions",
                                               fewshot_terms(a, b, (k,), layers[b]), resamples=resamples, seed=seed)
    return out


# ------------------------------------------------------------------------------------------------ verdicts
def decide(criterion: Criterion, m: Measure) -> Verdict:
    """`criterion.decide` on the pooled CI (an interval touching the threshold is already inconclusive there),
    and inconclusive when the per-seed values fall on different sides of the threshold: the claim flips
    with the seed."""
    outcome = criterion.decide(m.estimate)
    if outcome == "inconclusive":
        return outcome
    sides = {criterion.decide(Estimate(v, v, v, 1)) for v in m.per_seed.values()}
    return "inconclusive" if len(sides) > 1 else outcome
