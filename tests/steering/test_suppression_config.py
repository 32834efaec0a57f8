"""steering.suppression_config: the model sets fill the checkpoints, the grid must hold 0 and a suppressing alpha,
and the predeclared rule comes from the flags."""

from __future__ import annotations

import pytest

from models.errors import ConfigError
from steering.frontier import SuppressionRule
from steering.suppression_config import MODEL_SETS, SuppressConfig


def test_the_model_set_fills_unset_checkpoints_and_trait_names_fill_their_placeholder():
    cfg = SuppressConfig()
    assert (cfg.base, cfg.distilled, cfg.sft) == MODEL_SETS["tiny"] and not cfg.allow_unverified
    assert cfg.trait_checkpoint("distilled", "hallucination") == "tiny-hallu-imad"
    assert cfg.trait_checkpoint("sft", "evil") == "tiny-evil-sft"
    mine = SuppressConfig(base="my-base", distilled="/ckpt/{trait}-d")
    assert mine.base == "my-base" and mine.trait_checkpoint("distilled", "evil") == "/ckpt/evil-d"
    assert mine.sft == "tiny-{trait}-sft"


def test_smollm2_implies_unverified_data_because_its_pretraining_is_unknown():
    cfg = SuppressConfig(model_set="smollm2")
    assert cfg.allow_unverified and cfg.base == "smollm2-135m-instruct" and cfg.distilled == cfg.sft


def test_the_rule_and_the_suppressing_alphas_come_from_the_flags():
    cfg = SuppressConfig(threshold=5.0, max_degenerate=0.2, alphas=[-3.0, 1.0, 0.0, -1.0])
    assert cfg.rule == SuppressionRule(5.0, 0.2)
    assert cfg.negative_alphas == [-3.0, -1.0]  # in the order given


@pytest.mark.parametrize("kwargs, message", [
    ({"alphas": [1.0, 2.0]}, "alphas must include 0"),
    ({"alphas": [0.0, 2.0]}, "a negative value"),
    ({"seeds": [3, 3]}, "seeds must be distinct"),
])
def test_a_grid_without_reference_or_suppression_and_repeated_seeds_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SuppressConfig(**kwargs)
