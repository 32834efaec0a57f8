"""models.train.config: stage configs check their fields when built, naming the field."""

from __future__ import annotations

import pytest

from models.errors import ConfigError
from models.train.config import GRPOStageConfig, PipelineConfig, PretrainConfig, SFTStageConfig


def test_batch_not_divisible_by_num_generations() -> None:
    with pytest.raises(ConfigError, match=r"batch_size x grad_accum \(3 x 2 = 6\) must be divisible by num_generations \(4\)"):
        GRPOStageConfig(batch_size=3, grad_accum=2, num_generations=4)
    GRPOStageConfig(batch_size=2, grad_accum=2, num_generations=4)

def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match="finetune must be one of 'lora', 'full', got 'qlora'"):
        SFTStageConfig(finetune="qlora")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"clip_end \(500\) must be <= clip_start \(100\)"):
        GRPOStageConfig(clip_start=100, clip_end=500)
    with pytest.raises(ConfigError, match="tier must be one of 'easy', 'medium', 'paper', got 'huge'"):
        SFTStageConfig(tier="huge")
    with pytest.raises(ConfigError, match="variants item 0 must be one of"):
        PipelineConfig(variants=("good",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"d_model \(130\) must divide by n_heads \(4\)"):
        PretrainConfig(d_model=130)

@pytest.mark.parametrize("cls, field, value", [
    (SFTStageConfig, "max_steps", -2), (GRPOStageConfig, "max_steps", -3), (PretrainConfig, "max_steps", 0),
    (SFTStageConfig, "n", -1), (GRPOStageConfig, "n_prompts", 0), (PretrainConfig, "n_debates", -5),
    (SFTStageConfig, "save_steps", -1), (SFTStageConfig, "eval_n", -1), (GRPOStageConfig, "iterations", 0),
    (PretrainConfig, "vocab_size", 10**12), (SFTStageConfig, "seed", 2**40), (SFTStageConfig, "seed", 1.5),
    (SFTStageConfig, "lora_dropout", 1.0), (GRPOStageConfig, "top_p", 0.0), (GRPOStageConfig, "loss_type", "ppo"),
    (SFTStageConfig, "out", ""), (SFTStageConfig, "threads", 0), (SFTStageConfig, "progress", "yes"),
])
def test_negative_counts_and_absurd_sizes_are_refused(cls: type, field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"^{field} must"):
        cls(**{field: value})

def test_configs_built_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"seed must be an integer, got 1.5 \(SFTStageConfig\)"):
        SFTStageConfig(seed=1.5)  # type: ignore[arg-type]
    assert SFTStageConfig(target_modules=["q_proj"]).target_modules == ("q_proj",)  # type: ignore[arg-type]

@pytest.mark.parametrize("stage", [SFTStageConfig, GRPOStageConfig])
def test_warmup_share_must_stay_below_one(stage) -> None:
    # transformers 5 reads warmup_steps=1.0 as one step, not the whole run: a silent change of meaning
    with pytest.raises(ConfigError, match="warmup_ratio must be < 1.0"):
        stage(warmup_ratio=1.0)
    assert stage(warmup_ratio=0.99).warmup_ratio == 0.99
