"""probes.subspace_experiment: the config, its predeclared criteria, per-seed debates, criterion layers and checks.
(`run` end to end on the tiny model is in tests/experiments/test_agent_subspaces.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import ConfigError
from probes.heldout import QuestionTally
from probes.selectivity import TallyTable
from probes.subspace_experiment import (
    CLAIM,
    ROLES,
    Config,
    checks,
    criteria,
    criterion_layers,
    seed_debates,
)
from probes.subspace_report import CHECKS

SITES = ("blocks.0.hook_resid_post", "blocks.1.hook_resid_post")


def _tally(right: int, n: int = 8) -> QuestionTally:
    """`right` of 6 rows correct on each of `n` questions at both layers; chance 1/3."""
    return QuestionTally(tuple(f"q{i}" for i in range(n)), SITES, np.full((n, 2), right), np.full(n, 6), 1 / 3)


def test_the_criteria_come_from_config_fields_in_the_predeclared_order():
    crit = criteria(Config(criterion_layer=1, threshold=0.05, fewshot_threshold=0.02, floor_margin=0.2,
                           curve_sizes=(1, 3), n_debates=6))
    assert tuple(crit) == CHECKS
    assert crit["distilled_minus_base_selectivity"].claim_text == CLAIM
    assert (crit["distilled_minus_base_selectivity"].claim, crit["distilled_minus_base_selectivity"].threshold) == (
        "above", 0.05)
    assert crit["distilled_minus_base_fewshot"].threshold == 0.02 and "1/3 questions" in crit[
        "distilled_minus_base_fewshot"].metric
    assert all(crit[k].claim == "within" and crit[k].threshold == 0.2 for k in CHECKS[2:])
    assert all("layer 1" in c.metric for c in crit.values())
    assert "mean over every layer" in criteria(Config())["untrained_floor"].metric


def test_checkpoints_follow_the_roles_and_the_floor_defaults_to_the_twin():
    cfg = Config(base="smollm2-135m-instruct", distilled="smollm2-sft")
    assert list(cfg.checkpoints) == list(ROLES)
    assert cfg.checkpoints == {"base": "smollm2-135m-instruct", "distilled": "smollm2-sft",
                               "untrained": "smollm2-random"}


def test_criterion_layers_share_the_common_layers_or_refuse_one_beyond_a_model():
    n = {"base": 4, "distilled": 3, "untrained": 2}
    assert criterion_layers(Config(), n) == {"base": [0, 1, 2], "distilled": [0, 1, 2], "untrained": [0, 1]}
    assert criterion_layers(Config(criterion_layer=1), n) == {"base": [1], "distilled": [1], "untrained": [1]}
    with pytest.raises(ConfigError, match=r"--criterion-layer 2 is beyond the last block of untrained \(2 layers\)"):
        criterion_layers(Config(criterion_layer=2), n)


def test_each_seed_generates_its_own_debates():
    debates = seed_debates(Config(n_debates=3, template="a*b", seeds=(0, 1), curve_sizes=(1,)))
    assert list(debates) == [0, 1] and all(len(d) == 3 for d in debates.values())
    assert [d.question for d in debates[0]] != [d.question for d in debates[1]]


def test_checks_decide_each_criterion_from_its_measure():
    tallies = {"base": _tally(6), "base_shuffled": _tally(2), "distilled": _tally(6), "distilled_shuffled": _tally(2),
               "untrained": _tally(5), "untrained_shuffled": _tally(2), "base@1": _tally(4), "distilled@1": _tally(4),
               "untrained@1": _tally(3)}
    table = TallyTable.pool({0: tallies, 1: tallies})
    cfg = Config(curve_sizes=(1,), n_debates=3)
    layers = {"base": [0, 1], "distilled": [0, 1], "untrained": [0, 1]}
    out = checks(table, criteria(cfg), layers, cfg.curve_sizes, resamples=100)
    assert tuple(out) == CHECKS
    verdicts = {k: c["verdict"] for k, c in out.items()}
    assert verdicts == {"distilled_minus_base_selectivity": "inconclusive",  # identical: a zero-wide interval at 0
                        "distilled_minus_base_fewshot": "inconclusive", "untrained_floor": "refuted",
                        "base_shuffled_floor": "confirmed", "distilled_shuffled_floor": "confirmed"}
    untrained = out["untrained_floor"]["measure"]
    assert untrained["value"] == pytest.approx(5 / 6 - 1 / 3) and untrained["offset"] == pytest.approx(1 / 3)
    assert out["untrained_floor"]["line"].startswith("REFUTED: an untrained model cannot tell the agents apart")
    assert out["base_shuffled_floor"]["criterion"].metric == out["base_shuffled_floor"]["measure"]["name"]
