"""steering.suppression_experiment: the loop on the tiny checkpoint returns rows, metrics, split manifests and vectors
without writing anything, and refuses before any generation when the held-out status is unproven."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.debate.splits import LeakError, Use
from steering import suppression_experiment
from steering.suppression import BASE_PERSONA, BASE_PLAIN, DISTILLED
from steering.suppression_config import SuppressConfig


def _cfg(tiny_dir: Path, **kw) -> SuppressConfig:
    t = str(tiny_dir)
    return SuppressConfig(**{"traits": ["evil"], "base": t, "distilled": t, "sft": t, "alphas": [-2.0, 0.0],
                             "n_questions": 2, "n_extract": 2, "n_capability": 2, "n_random": 1, "seeds": [0, 1],
                             "max_new_tokens": 3, "answer_tokens": 3, "capability_tokens": 3, "n_validation": 2,
                             "layer": -1, "progress": False, **kw})


def _unknown_lineage(folder: Path, trait: str) -> list[Use]:
    return [Use(f"{folder.name}: no trainer manifest (training data unknown)", (), trait, False)]


def test_one_trait_gives_rows_for_every_arm_controls_on_the_judged_arms_and_extra_seed_rows(tiny_dir):
    result = suppression_experiment.run(_cfg(tiny_dir, allow_unverified=True), _unknown_lineage)
    settings = {(r["arm"], r["direction"], r["alpha"]) for r in result.rows}
    assert {(arm, "agent", a) for arm in (BASE_PERSONA, BASE_PLAIN, DISTILLED) for a in (-2.0, 0.0)} <= settings
    assert {(arm, d, -2.0) for arm in (BASE_PERSONA, DISTILLED) for d in ("sign_flip", "shuffled", "random0")} \
        <= settings
    assert not any(d != "agent" for arm, d, _ in settings if arm == BASE_PLAIN)  # the reference runs no controls
    assert set(result.seed_rows) == {("evil", BASE_PERSONA), ("evil", DISTILLED)}
    assert all(set(by_seed) == {1} and {r["alpha"] for r in by_seed[1]} == {-2.0}
               for by_seed in result.seed_rows.values())
    assert {(c["arm"], c["alpha"]) for c in result.capability_rows} == {
        (arm, a) for arm in (BASE_PERSONA, DISTILLED) for a in (-2.0, 0.0)}
    assert set(result.vectors) == {"evil_base", "evil_distilled"}
    assert result.splits["evil"]["evaluation"][0]["use"] == "evaluation questions (seed 0)"
    metrics = json.loads(json.dumps(result.metrics))  # what metrics.json holds
    assert metrics["site"] == "blocks.3.hook_resid_post" and metrics["seconds"] >= 0
    assert [s["arm"] for s in metrics["scales"]] == [BASE_PERSONA, BASE_PLAIN, DISTILLED]
    assert metrics["judges"]["evil"]["disjointness"]["unverified"] == [
        f"{tiny_dir.name}: no trainer manifest (training data unknown)"]
    assert [p["arm"] for p in metrics["points"]] == [BASE_PERSONA, DISTILLED]


def test_an_unproven_split_stops_the_run_before_any_generation(tiny_dir, monkeypatch):
    def no_generation(*args, **kwargs):
        raise AssertionError("generated before the split check")

    monkeypatch.setattr(suppression_experiment, "steered_rows", no_generation)
    with pytest.raises(LeakError, match="unproven"):
        suppression_experiment.run(_cfg(tiny_dir, seeds=[0]), _unknown_lineage)
