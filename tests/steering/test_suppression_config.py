"""steering.suppression_config: the model sets fill the checkpoints (with each debate model's clean reference), the grid
must hold 0 and a suppressing alpha, GSM8K sizes must nest, and the predeclared rule and judge minimums come from the
flags."""

from __future__ import annotations

import pytest

from models.errors import ConfigError
from models.judges.validation import JudgeValidationRule
from steering.suppression_config import MODEL_SETS, SuppressConfig
from steering.suppression_rule import SuppressionRule


def test_the_model_set_fills_unset_checkpoints_and_trait_names_fill_their_placeholder():
    cfg = SuppressConfig()
    assert (cfg.base, cfg.distilled, cfg.sft, cfg.clean) == MODEL_SETS["tiny"] and not cfg.allow_unverified
    assert cfg.trait_checkpoint("distilled", "hallucination") == "tiny-hallu-imad"
    assert cfg.trait_checkpoint("sft", "evil") == "tiny-evil-sft"
    assert cfg.clean == "none"  # the clean Stage 2 twins are not shipped yet
    assert SuppressConfig(clean="tiny-{trait}-clean-imad").trait_checkpoint("clean", "evil") == "tiny-evil-clean-imad"
    assert cfg.debate_arm == "distilled"  # the tiny chain's debate model is a Stage 2 model
    mine = SuppressConfig(base="my-base", distilled="/ckpt/{trait}-d", clean="none")
    assert mine.base == "my-base" and mine.trait_checkpoint("distilled", "evil") == "/ckpt/evil-d"
    assert mine.sft == "tiny-{trait}-sft" and mine.clean == "none"


def test_smollm2_implies_unverified_data_and_names_its_debate_arm_stage_1():
    cfg = SuppressConfig(model_set="smollm2")
    assert cfg.allow_unverified and cfg.base == "smollm2-135m-instruct" and cfg.distilled == cfg.sft
    assert cfg.clean == "none" and cfg.debate_arm == "Stage 1"  # one word per thing: no "distilled" Stage 1 adapter


def test_the_defaults_are_the_issues_minimums():
    cfg = SuppressConfig()
    assert cfg.n_random >= 20 and cfg.n_gsm8k >= 100 and cfg.n_gsm8k_exact <= cfg.n_gsm8k
    assert 0 < cfg.target_fraction <= 1 and cfg.n_judge_validation >= 2


def test_the_rule_and_the_judge_minimums_come_from_the_flags():
    cfg = SuppressConfig(margin=3.0, trait_margin=12.0, threshold=5.0, max_silenced=0.05, max_degenerate=0.2,
                         max_judge_failure=0.15, max_truncated=0.25, judge_min_auc=0.7, judge_min_clean_below=0.6,
                         alphas=[-3.0, 1.0, 0.0, -1.0])
    assert cfg.rule == SuppressionRule(margin=3.0, trait_margin=12.0, threshold=5.0, max_silenced=0.05,
                                       max_degenerate=0.2, max_judge_failure=0.15, max_truncated=0.25)
    # blank and garbage text are the outcome filter's to catch (silenced, degenerate), not the judge's
    assert cfg.judge_rule == JudgeValidationRule(min_auc_low=0.7, min_negatives_below_low=0.6, max_blank_clean=None,
                                                 max_garbage_clean=None)
    assert cfg.negative_alphas == [-3.0, -1.0]  # in the order given


def test_gsm8k_exact_match_runs_on_a_subset_of_the_loglik_problems():
    assert SuppressConfig(n_gsm8k=5, n_gsm8k_exact=5).n_gsm8k_exact == 5
    assert SuppressConfig(n_gsm8k=5, n_gsm8k_exact=0).n_gsm8k_exact == 0  # accuracy can be left out
    with pytest.raises(ConfigError, match=r"--n-gsm8k-exact \(6\) cannot exceed --n-gsm8k \(5\)"):
        SuppressConfig(n_gsm8k=5, n_gsm8k_exact=6)


@pytest.mark.parametrize("kwargs, message", [
    ({"alphas": [1.0, 2.0]}, "alphas must include 0"),
    ({"alphas": [0.0, 2.0]}, "a negative value"),
    ({"seeds": [3, 3]}, "seeds must be distinct"),
    ({"n_gsm8k": 1320}, "n_gsm8k must be <= 1319"),  # the test split has 1,319 problems
    ({"target_fraction": 0.0}, "target_fraction must be >= 0.01"),
    ({"margin": -1.0}, "margin must be >= 0.0"),
    ({"max_silenced": 1.5}, "max_silenced must be <= 1.0"),
])
def test_bad_grids_sizes_and_rule_values_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SuppressConfig(**kwargs)


def test_a_debate_model_that_is_its_own_stage_1_checkpoint_is_called_stage_1():
    from steering.suppression_config import SuppressConfig

    assert SuppressConfig().debate_arm == "distilled"
    assert SuppressConfig(distilled="tiny-{trait}-sft", clean="tiny-{trait}-clean-sft").debate_arm == "Stage 1"
