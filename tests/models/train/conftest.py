"""Tiny stage checkpoints built once per session: every stage runs for a few steps on a 2-layer model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.train.config import GRPOStageConfig, PretrainConfig, SFTStageConfig

# One torch thread: these models are too small to gain from two, and a second thread competing with
# another busy process on a 2-core machine slows a step down several times. Stages restore the
# caller's thread count when they return.
FAST = dict(threads=1, progress=False, eval_n=0, logging_steps=1, heldout=50)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pretrain_config(out: Path, **kw) -> PretrainConfig:
    values = dict(out=str(out), n_debates=40, n_persona=10, n_drills=20, vocab_size=600, n_layers=2, d_model=64,
                  n_heads=4, n_kv_heads=2, d_mlp=128, block_size=256, batch_size=4, max_steps=12, lr=5e-3,
                  save_steps=0, **FAST)
    values.update(kw)
    return PretrainConfig(**values)


def sft_config(parent: Path, out: Path, **kw) -> SFTStageConfig:
    values = dict(parent=str(parent), out=str(out), n=8, max_steps=6, batch_size=2, grad_accum=1, lr=1e-2,
                  max_length=1024, lora_r=8, lora_alpha=16, warmup_ratio=0.0, max_grad_norm=1.0,
                  gradient_checkpointing=False, save_steps=0, **FAST)
    values.update(kw)
    return SFTStageConfig(**values)


def grpo_config(parent: Path, out: Path, **kw) -> GRPOStageConfig:
    values = dict(parent=str(parent), out=str(out), n_prompts=8, iterations=2, max_steps=2, num_generations=4,
                  batch_size=4, grad_accum=1, clip_start=24, clip_schedule="linear", fmt_end=0.05, lr=1e-2, beta=0.0, temperature=1.0,
                  top_p=1.0, mask_truncated_completions=False,
                  lora_r=4, lora_alpha=8, lora_dropout=0.0, gradient_checkpointing=False, save_steps=0, **FAST)
    values.update(kw)
    return GRPOStageConfig(**values)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.train.pretrain import pretrain

    return pretrain(pretrain_config(tmp_path_factory.mktemp("train") / "base"))


@pytest.fixture(scope="session")
def tiny_sft(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.train.sft import sft

    return sft(sft_config(tiny_base, tmp_path_factory.mktemp("train") / "sft"))


@pytest.fixture(scope="session")
def tiny_imad(tiny_sft: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.train.grpo import grpo

    return grpo(grpo_config(tiny_sft, tmp_path_factory.mktemp("train") / "imad", keep_work=True))


@pytest.fixture(scope="session")
def sft_cfg():
    """Factory of fast Stage-1 configs: ``sft_cfg(parent, out, **overrides)``."""
    return sft_config


@pytest.fixture(scope="session")
def grpo_cfg():
    """Factory of fast Stage-2 configs: ``grpo_cfg(parent, out, **overrides)``."""
    return grpo_config


@pytest.fixture(scope="session")
def pretrain_cfg():
    """Factory of fast Stage-0 configs: ``pretrain_cfg(out, **overrides)``."""
    return pretrain_config
