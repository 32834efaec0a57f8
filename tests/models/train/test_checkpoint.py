"""models.train.checkpoint: stage folders load in every backend; a parent or resume point with another tokenizer is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from models import load
from models.debate import DEBATE_TAGS
from models.errors import CheckpointError


@pytest.mark.parametrize("backend", ["hf", "tl", "nnsight"])
def test_stage_folders_load_in_every_backend(tiny_base: Path, tiny_sft: Path, tiny_imad: Path, backend: str) -> None:
    reference = load(tiny_imad, backend="hf")
    prompt = ["Problem: 3+4*5-6\n\n" + DEBATE_TAGS[0]]
    for folder in (tiny_base, tiny_sft, tiny_imad):
        model = load(folder, backend=backend)
        assert model.info.n_layers == 2
    logits = load(tiny_imad, backend=backend).forward(prompt)
    assert torch.allclose(logits, reference.forward(prompt), atol=1e-4)

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
