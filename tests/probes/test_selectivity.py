"""probes.selectivity: curves beside their controls, paired intervals over (seed, question) units, verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from models.stats import Criterion
from probes import ProbeError
from probes.heldout import QuestionTally
from probes.selectivity import (
    TallyTable,
    accuracy_terms,
    condition_tallies,
    decide,
    difference_terms,
    layer_measures,
    learning_curve,
    measure,
    selectivity_terms,
    shuffled,
)
from tests.probes._data import planted_set

SITES = ("blocks.0.hook_resid_post", "blocks.1.hook_resid_post")
BETTER = Criterion("a separates agents better than b", "a - b selectivity", "above", 0.0)


def _tally(correct: list[list[int]], total: list[int], questions: list[str] | None = None) -> QuestionTally:
    qs = questions or [f"q{i}" for i in range(len(total))]
    return QuestionTally(tuple(qs), SITES, np.array(correct), np.array(total), 1 / 3)


def _table(rates: dict[str, float], seeds: tuple[int, ...] = (0, 1, 2), n: int = 30, jitter: int = 0) -> TallyTable:
    """Each condition right on about `rate` of 6 rows per question, at both layers (seeded)."""
    rng = np.random.default_rng(jitter)
    out = {}
    for s in seeds:
        out[s] = {c: _tally([[int(rng.binomial(6, r))] * 2 for _ in range(n)], [6] * n) for c, r in rates.items()}
    return TallyTable.pool(out)


def test_pooled_units_and_the_accuracy_of_a_condition():
    a = _tally([[5, 6], [3, 3]], [6, 6])
    b = _tally([[2, 2], [1, 0]], [6, 6])
    table = TallyTable.pool({0: {"a": a, "b": b}, 7: {"a": a, "b": b}})
    assert table.units == ("0:q0", "0:q1", "7:q0", "7:q1") and table.all_layers == (0, 1)
    m = measure(table, "a at layer 1", accuracy_terms("a", [1]), resamples=200)
    assert m.estimate.value == pytest.approx(9 / 12) and m.per_seed == {0: 9 / 12, 7: 9 / 12}
    assert m.estimate.low <= m.estimate.value <= m.estimate.high and m.estimate.n == 4
    mean = measure(table, "a over layers", accuracy_terms("a", [0, 1]), resamples=200)
    assert mean.estimate.value == pytest.approx((8 / 12 + 9 / 12) / 2)
    sel = measure(table, "a - b", [("a", 0, 1.0), ("b", 0, -1.0)], offset=0.1, resamples=200)
    assert sel.estimate.value == pytest.approx(8 / 12 - 3 / 12 - 0.1) and sel.spread["sd"] == 0.0


def test_a_condition_missing_a_question_is_compared_on_the_common_ones():
    full = _tally([[6, 6], [0, 0], [3, 3]], [6, 6, 6])
    partial = _tally([[6, 6], [2, 2]], [6, 3], questions=["q0", "q2"])  # q1's turns were beyond its context
    table = TallyTable.pool({0: {"a": full, "b": partial}})
    assert measure(table, "a", accuracy_terms("a", [0]), resamples=200).estimate.value == pytest.approx(9 / 18)
    both = measure(table, "a - b", [("a", 0, 1.0), ("b", 0, -1.0)], resamples=200)
    assert both.estimate.n == 2 and both.estimate.value == pytest.approx(9 / 12 - 8 / 9)


def test_a_planted_signal_is_selective_and_its_shuffled_control_sits_at_chance():
    acts, _ = planted_set(n_per_agent=60, d=16, scale=3.0)
    noise, _ = planted_set(n_per_agent=60, d=16, scale=0.0, seed=1)
    table = TallyTable.pool({s: condition_tallies({"signal": acts, "noise": noise}, folds=4, seed=s) for s in (0, 1, 2)})
    assert table.conditions == ("signal", "signal_shuffled", "noise", "noise_shuffled")
    sel = measure(table, "signal selectivity", selectivity_terms("signal", [0]), resamples=300)
    assert sel.estimate.low > 0.4 and len(sel.per_seed) == 3
    floor = measure(table, "shuffled - chance", accuracy_terms(shuffled("signal"), [0]),
                    offset=table.chance["signal_shuffled"], resamples=300)
    assert decide(Criterion("shuffled at chance", floor.name, "within", 0.1), floor) == "confirmed"
    gap = measure(table, "signal - noise", difference_terms("signal", "noise", [0]), resamples=300)
    assert decide(BETTER, gap) == "confirmed"


def test_identical_models_are_not_confirmed_even_though_the_interval_is_zero_wide():
    table = _table({"a": 1.0, "a_shuffled": 0.33, "b": 1.0, "b_shuffled": 0.33})
    # the same tallies under other names: what two identical checkpoints give
    same = TallyTable(table.units, table.seeds, table.conditions, table.layers,
                      table.correct[:, [0, 1, 0, 1]], table.total, table.chance)
    m = measure(same, "a - b selectivity", difference_terms("a", "b", [0, 1]), resamples=200)
    assert (m.estimate.value, m.estimate.low, m.estimate.high) == (0.0, 0.0, 0.0)
    assert BETTER.decide(m.estimate) == decide(BETTER, m) == "inconclusive"  # an interval touching 0 decides nothing


@pytest.mark.parametrize("a, b, expected", [(0.9, 0.5, "confirmed"), (0.5, 0.9, "refuted"), (0.7, 0.7, "inconclusive")])
def test_the_verdict_follows_the_interval(a, b, expected):
    table = _table({"a": a, "a_shuffled": 0.33, "b": b, "b_shuffled": 0.33}, jitter=4)
    assert decide(BETTER, measure(table, "a - b", difference_terms("a", "b", [0, 1]), resamples=300)) == expected


def test_a_claim_that_flips_with_the_seed_is_inconclusive():
    up = {"a": _tally([[6, 6]] * 40, [6] * 40), "b": _tally([[3, 3]] * 40, [6] * 40)}
    down = {"a": _tally([[3, 3]] * 10, [6] * 10), "b": _tally([[4, 4]] * 10, [6] * 10)}
    table = TallyTable.pool({0: up, 1: down})
    m = measure(table, "a - b", [("a", 0, 1.0), ("b", 0, -1.0)], resamples=300)
    assert BETTER.decide(m.estimate) == "confirmed" and m.per_seed[1] < 0
    assert decide(BETTER, m) == "inconclusive"


def test_layer_measures_name_every_curve_and_control():
    table = _table({"a": 0.9, "a_shuffled": 0.33, "b": 0.8, "b_shuffled": 0.33})
    rows = layer_measures(table, ["a", "b"], compare=("a", "b"), resamples=100)
    assert list(rows) == [0, 1]
    assert set(rows[0]) == {"a", "a_shuffled", "a_selectivity", "b", "b_shuffled", "b_selectivity",
                            "a_minus_b_selectivity"}
    assert rows[1]["a_selectivity"].estimate.value == pytest.approx(
        rows[1]["a"].estimate.value - rows[1]["a_shuffled"].estimate.value)


def test_learning_curve_reads_each_training_size_and_the_difference():
    table = _table({"a@1": 0.5, "b@1": 0.5, "a@2": 1.0, "b@2": 0.5})
    curve = learning_curve(table, ["a", "b"], [1, 2], {"a": [0, 1], "b": [1]}, compare=("a", "b"), resamples=100)
    assert list(curve) == ["a", "b", "a_minus_b"] and all(list(c) == [1, 2] for c in curve.values())
    assert curve["a"][2].estimate.value == 1.0 and curve["a"][2].name == "a accuracy, 2 training questions"
    # the difference averages over b's layers only: layer 1 here
    at_1 = measure(table, "x", [("a@2", 1, 1.0), ("b@2", 1, -1.0)], resamples=100).estimate.value
    assert curve["a_minus_b"][2].estimate.value == pytest.approx(at_1) and at_1 > 0.3
    assert curve["a_minus_b"][2].name == "a - b accuracy, 2 training questions"
    assert list(learning_curve(table, ["a"], [1], {"a": [0]}, resamples=100)) == ["a"]


def test_bad_tables_and_terms_are_named():
    t = _tally([[1, 1]], [6])
    with pytest.raises(ProbeError, match="expected"):
        TallyTable.pool({0: {"a": t, "b": t}, 1: {"a": t}})
    with pytest.raises(ProbeError, match="no tallies"):
        TallyTable.pool({})
    table = TallyTable.pool({0: {"a": t}})
    with pytest.raises(ProbeError, match="no condition 'z'"):
        measure(table, "z", accuracy_terms("z", [0]))
    with pytest.raises(ProbeError, match="not probed at layer 5"):
        measure(table, "a", accuracy_terms("a", [5]))
    with pytest.raises(ProbeError, match="at least one layer"):
        accuracy_terms("a", [])
    with pytest.raises(ProbeError, match="needs correct"):
        QuestionTally(("q0",), SITES, np.zeros((2, 2)), np.ones(1), 0.5)
