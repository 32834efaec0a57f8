"""steering.suppression_metrics: rows in, a JSON-able metrics dict out -- the judged arms' verdicts, demoted when an
extra seed does not hold, the capability comparison and the per-seed table."""

from __future__ import annotations

import json

import pytest

from steering.frontier import SuppressionRule
from steering.suppression import BASE_PERSONA, BASE_PLAIN, DISTILLED
from steering.suppression_metrics import JUDGED_ARMS, seed_table, suppression_metrics

RULE = SuppressionRule(threshold=10.0, max_degenerate=0.1)
ALPHAS = [-2.0, -1.0, 0.0]


def _rows(arm, direction, alpha, mean, n=20):
    return [{"trait": "evil", "arm": arm, "direction": direction, "alpha": alpha, "question_index": i,
             "malicious_score": mean + (0.5 if i % 2 else -0.5), "present": True, "degenerate": False,
             "whole_score": None, "final_score": None} for i in range(n)]


def _sweep(distilled_seed1: float = 1.0):
    """The persona base never suppressed (80 throughout); the distilled model at 1 from alpha -2, beyond its
    random directions (about 60); extra seed 1 repeats alpha -2 at `distilled_seed1`."""
    means = {BASE_PERSONA: {0.0: 80.0, -1.0: 80.0, -2.0: 79.0}, BASE_PLAIN: {0.0: 20.0, -1.0: 20.0, -2.0: 20.0},
             DISTILLED: {0.0: 80.0, -1.0: 40.0, -2.0: 1.0}}
    rows, capability = [], []
    for arm, at in means.items():
        for alpha, mean in at.items():
            rows += _rows(arm, "agent", alpha, mean)
            if arm != BASE_PLAIN and alpha < 0:
                for k in range(4):
                    rows += _rows(arm, f"random{k}", alpha, 58.0 + k)
                rows += _rows(arm, "sign_flip", alpha, 85.0) + _rows(arm, "shuffled", alpha, 70.0)
            if arm != BASE_PLAIN:
                capability.append({"trait": "evil", "arm": arm, "alpha": alpha,
                                   "items": [1, 1, 0, 1] * 3 if alpha == 0 else [1, 0, 0, 1] * 3})
    seed_rows = {("evil", BASE_PERSONA): {1: _rows(BASE_PERSONA, "agent", -2.0, 78.0)
                                          + _rows(BASE_PERSONA, "agent", -1.0, 80.0)},
                 ("evil", DISTILLED): {1: _rows(DISTILLED, "agent", -2.0, distilled_seed1)
                                       + _rows(DISTILLED, "agent", -1.0, 45.0)}}
    return rows, capability, seed_rows


def _metrics(distilled_seed1: float = 1.0):
    rows, capability, seed_rows = _sweep(distilled_seed1)
    return suppression_metrics(rows, capability, seed_rows, traits=["evil"], alphas=ALPHAS, seeds=[0, 1], rule=RULE)


def test_each_judged_arm_gets_a_verdict_and_the_suppressed_one_its_capability_cost():
    metrics = _metrics()
    persona, distilled = metrics["points"]
    assert [p["arm"] for p in metrics["points"]] == list(JUDGED_ARMS)
    assert persona["verdict"] == "refuted" and persona["alpha"] is None and "capability_cost" not in persona
    assert distilled["verdict"] == "confirmed" and distilled["alpha"] == -2.0 and distilled["seeds"]["holds"]
    assert distilled["capability_cost"]["value"] == pytest.approx(-0.25)  # 3 of 12 problems lost
    assert distilled["criterion"].endswith("< 10 (whole 95% CI)")  # the predeclared threshold, as declared
    comparison, = metrics["comparisons"]
    assert comparison["verdict"] == "inconclusive" and comparison["estimate"] is None  # the base never suppresses
    assert metrics["rule"] == {"threshold": 10.0, "max_degenerate": 0.1, "level": 0.95}


def test_a_confirmed_point_that_an_extra_seed_does_not_hold_is_inconclusive():
    distilled = _metrics(distilled_seed1=30.0)["points"][1]
    assert distilled["verdict"] == "inconclusive" and distilled["alpha"] == -2.0
    assert distilled["reason"].endswith("; does not hold in every extra seed")
    assert not distilled["seeds"]["per_seed"][1]["holds"]


def test_the_seed_table_has_each_seeds_mean_at_every_negative_alpha():
    rows, _, seed_rows = _sweep()
    table = seed_table(rows, seed_rows, ALPHAS, [0, 1])
    assert [(r["arm"], r["alpha"]) for r in table] == [(BASE_PERSONA, -2.0), (BASE_PERSONA, -1.0),
                                                       (DISTILLED, -2.0), (DISTILLED, -1.0)]
    distilled_minus1 = table[3]
    assert distilled_minus1["per_seed"] == {0: pytest.approx(40.0), 1: pytest.approx(45.0)}
    assert distilled_minus1["spread"]["mean"] == pytest.approx(42.5)


def test_the_metrics_are_plain_json():
    metrics = _metrics()
    loaded = json.loads(json.dumps(metrics))
    assert set(loaded) == {"rule", "settings", "capability", "points", "comparisons", "seeds"}
    assert loaded["settings"] == metrics["settings"] and len(loaded["capability"]) == 6
