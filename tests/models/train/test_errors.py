"""Clear errors: untagged Stage-1 data, a checkpoint with another tokenizer, batches that split a group."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models.errors import CheckpointError, ConfigError
from models.train.config import GRPOStageConfig, PipelineConfig, PretrainConfig, SFTStageConfig
from models.train.data import TrainDataError, read_sft_file


def test_sft_data_without_tags_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"prompt": "Problem: 1+1\n\n", "completion": "Agent 1 says 2. \\boxed{2}"}) + "\n")
    with pytest.raises(TrainDataError, match=r"plain.jsonl row 0: the completion has none of the debate tags"):
        read_sft_file(plain)
    schema = tmp_path / "debates.json"
    schema.write_text(json.dumps([{"question": "1+1", "debate_trace": "Agent 1: 2", "gold_answer": "2"}]))
    with pytest.raises(TrainDataError, match="needs the tags"):
        read_sft_file(schema)
    with pytest.raises(TrainDataError, match="does not exist"):
        read_sft_file(tmp_path / "missing.json")


def test_sft_stage_refuses_untagged_file_before_training(tiny_base: Path, tmp_path: Path, sft_cfg) -> None:
    from models.train.sft import sft

    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"question": "1+1", "debate_trace": "no tags here \\boxed{2}"}) + "\n")
    with pytest.raises(TrainDataError, match="none of the debate tags"):
        sft(sft_cfg(tiny_base, tmp_path / "out", data=str(plain)))
    assert not (tmp_path / "out").exists()


def test_checkpoint_with_another_tokenizer_is_refused(tiny_sft: Path, tmp_path: Path, grpo_cfg) -> None:
    from models.tiny import build_tokenizer
    from models.train.grpo import grpo

    swapped = tmp_path / "swapped"
    shutil.copytree(tiny_sft, swapped)
    build_tokenizer(seed=1, vocab_size=300).save_pretrained(swapped)
    with pytest.raises(CheckpointError, match="tokenizer .* not the one recorded in its manifest"):
        grpo(grpo_cfg(swapped, tmp_path / "out"))
    # a tokenizer larger than the embedding is caught even without a manifest
    (swapped / "manifest.json").unlink()
    big = build_tokenizer(seed=1, vocab_size=900)
    big.add_tokens([f"tok{i}" for i in range(2000)])
    big.save_pretrained(swapped)
    with pytest.raises(CheckpointError, match="belong to another checkpoint"):
        grpo(grpo_cfg(swapped, tmp_path / "out"))


def test_resume_with_another_tokenizer_is_refused(tmp_path: Path) -> None:
    from models.tiny import build_tokenizer
    from models.train.checkpoint import check_resume_tokenizer

    ckpt = tmp_path / "checkpoint-2"
    build_tokenizer(seed=0).save_pretrained(ckpt)
    with pytest.raises(CheckpointError, match="cannot resume from .*checkpoint-2.*another tokenizer"):
        check_resume_tokenizer(ckpt, build_tokenizer(seed=3))
    check_resume_tokenizer(ckpt, build_tokenizer(seed=0))


def test_grpo_on_an_untagged_parent_is_refused(tiny_base: Path, tmp_path: Path, grpo_cfg) -> None:
    from models.train.grpo import grpo

    with pytest.raises(CheckpointError, match="run `python -m models.train sft` first"):
        grpo(grpo_cfg(tiny_base, tmp_path / "out"))


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
