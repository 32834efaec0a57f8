"""steering.suppression_experiment: one tiny run returns, for every seed, both arms with their controls and clean
references, the judge's validation on each arm's own generations and capability under the same steering for the
three measures -- without writing anything; a leak stops it before any generation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments._results import to_jsonable
from models.debate.splits import LeakError, Use
from steering import suppression_experiment
from steering.suppression import BASE_PERSONA
from steering.suppression_config import SuppressConfig
from steering.suppression_rule import CLEAN

DISTILLED = "Stage 1"  # distilled and sft are the one tiny checkpoint here: its own Stage 1 checkpoint
CONTROLS = ("sign_flip", "shuffled", "random0", "random1")


def _cfg(tiny_dir: Path, **kw) -> SuppressConfig:
    t = str(tiny_dir)
    return SuppressConfig(**{"traits": ["evil"], "base": t, "distilled": t, "sft": t, "clean": t,
                             "alphas": [-2.0, 0.0], "n_questions": 3, "n_extract": 2, "n_capability": 2,
                             "n_random": 2, "seeds": [0, 1], "max_new_tokens": 4, "answer_tokens": 4,
                             "capability_tokens": 4, "n_validation": 2, "n_gsm8k": 3, "n_gsm8k_exact": 2,
                             "gsm8k_tokens": 8, "n_judge_validation": 3, "layer": -1, "progress": False,
                             "allow_unverified": True, **kw})


def _unknown_lineage(folder: Path, trait: str) -> list[Use]:
    return [Use(f"{folder.name}: no trainer manifest (training data unknown)", (), trait, False)]


@pytest.fixture(scope="module")
def result(tiny_dir):
    return suppression_experiment.run(_cfg(tiny_dir), _unknown_lineage)


def test_every_seed_runs_both_arms_with_every_control_and_a_clean_reference(result):
    settings = {(r["seed"], r["arm"], r["direction"], r["alpha"]) for r in result.rows}
    expected = {(s, arm, "agent", a) for s in (0, 1) for arm in (BASE_PERSONA, DISTILLED) for a in (-2.0, 0.0)}
    expected |= {(s, arm, d, -2.0) for s in (0, 1) for arm in (BASE_PERSONA, DISTILLED) for d in CONTROLS}
    expected |= {(s, arm, CLEAN, 0.0) for s in (0, 1) for arm in (BASE_PERSONA, DISTILLED)}
    assert settings == expected  # controls only at the negative alphas, clean references at alpha 0 only
    for (s, arm, direction, alpha) in expected:  # each setting asks every question of its seed once
        mine = [r for r in result.rows if (r["seed"], r["arm"], r["direction"], r["alpha"]) == (s, arm, direction,
                                                                                                alpha)]
        assert sorted(r["question_index"] for r in mine) == [0, 1, 2]
    seed0 = {r["question"] for r in result.rows if r["seed"] == 0}
    seed1 = {r["question"] for r in result.rows if r["seed"] == 1}
    assert len(seed0) == len(seed1) == 3 and not seed0 & seed1  # the seeds' samples are disjoint
    known = {"benign", "malicious", "silenced", "degenerate", "judge_failure", "truncated"}
    assert {r["outcome"] for r in result.rows} <= known  # label_outcomes split every "scored" row
    assert all((r["malicious_score"] is None) == (r["outcome"] not in ("benign", "malicious")) for r in result.rows)


def test_the_judge_is_validated_on_each_arms_generations_and_capability_has_three_measures(result):
    on_generations = result.judges["evil"]["on_generations"]
    assert set(on_generations) == {BASE_PERSONA, DISTILLED}
    for record in on_generations.values():
        assert record["n_positive"] + record["n_absent"] >= 3 - record["n_invalid"]  # 3 validation questions
        assert isinstance(record["passes"], bool) and record["passes"] == (not record["failures"])
        assert record["garbage_caught_as_degenerate"] >= 0.9  # word salad is caught before the judge
        assert {"auc", "negatives_below", "blank", "garbage", "rule"} <= set(record)
    capability = {(c["arm"], c["measure"], c["alpha"]): len(c["items"]) for c in result.capability_rows}
    sizes = {"arithmetic": 2, "gsm8k_loglik": 3, "gsm8k_exact": 2}
    assert capability == {(arm, m, a): n for arm in (BASE_PERSONA, DISTILLED) for m, n in sizes.items()
                          for a in (-2.0, 0.0)}
    assert [(s["arm"], s["has_clean_reference"]) for s in result.scales] == [(BASE_PERSONA, True), (DISTILLED, True)]
    assert set(result.vectors) == {"evil_base", "evil_distilled"}
    assert [u["use"] for u in result.splits["evil"]["evaluation"]][-1] == "GSM8K capability problems"


def test_the_metrics_hold_a_verdict_per_arm_and_a_comparison_per_measure(result, tiny_dir):
    metrics = json.loads(json.dumps(to_jsonable(result.metrics)))  # what metrics.json holds
    assert metrics["site"] == "blocks.3.hook_resid_post" and metrics["seconds"] >= 0
    assert [p["arm"] for p in metrics["points"]] == [BASE_PERSONA, DISTILLED]
    assert all(p["verdict"] in {"confirmed", "refuted", "inconclusive"} and p["reason"] for p in metrics["points"])
    assert [(c["measure"], c["primary"]) for c in metrics["comparisons"]] == [
        ("gsm8k_loglik", True), ("gsm8k_exact", False), ("arithmetic", False)]
    assert {(c["arm"], c["measure"]) for c in metrics["capability"]} == {
        (arm, m) for arm in (BASE_PERSONA, DISTILLED) for m in ("arithmetic", "gsm8k_loglik", "gsm8k_exact")}
    assert set(metrics["judges"]["evil"]["on_generations"]) == {BASE_PERSONA, DISTILLED}
    assert metrics["judges"]["evil"]["disjointness"]["unverified"] == [
        f"{tiny_dir.name}: no trainer manifest (training data unknown)"]


def test_without_a_clean_debate_model_the_debate_arm_is_inconclusive_for_that_reason(tiny_dir):
    got = suppression_experiment.run(_cfg(tiny_dir, clean="none", seeds=[0], n_random=1), _unknown_lineage)
    assert not [r for r in got.rows if r["arm"] == DISTILLED and r["direction"] == CLEAN]
    assert [r for r in got.rows if r["arm"] == BASE_PERSONA and r["direction"] == CLEAN]  # the plain base
    assert set(got.judges["evil"]["on_generations"]) == {BASE_PERSONA}  # nothing to validate the judge against
    debate = next(p for p in got.metrics["points"] if p["arm"] == DISTILLED)
    assert debate["verdict"] == "inconclusive" and debate["reason"].startswith("no clean reference")
    assert [s["has_clean_reference"] for s in got.scales] == [True, False]
    assert all(c["verdict"] == "inconclusive" and c["estimate"] is None for c in got.metrics["comparisons"])
    primary, = [c for c in got.metrics["comparisons"] if c["primary"]]
    assert primary["reason"].startswith(f"{DISTILLED}: no clean reference"), primary["reason"]


def test_an_unproven_split_stops_the_run_before_any_generation(tiny_dir, monkeypatch):
    def no_generation(*args, **kwargs):
        raise AssertionError("generated before the split check")

    for name in ("steered_rows", "arithmetic_accuracy", "gold_loglik", "gsm8k_accuracy"):
        monkeypatch.setattr(suppression_experiment, name, no_generation)
    with pytest.raises(LeakError, match="unproven"):
        suppression_experiment.run(_cfg(tiny_dir, seeds=[0], allow_unverified=False), _unknown_lineage)
