"""Resume continues from the saved step and reproduces the uninterrupted run; same seed, same weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file

from models.manifest import Manifest


def _same(a: Path, b: Path) -> bool:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_sft_resume_continues_from_saved_step_and_matches(tiny_base: Path, tmp_path: Path, sft_cfg) -> None:
    from models.train.sft import sft

    full = sft(sft_cfg(tiny_base, tmp_path / "full", max_steps=4, save_steps=2, keep_work=True))
    work = tmp_path / "full.work"
    assert sorted(p.name for p in work.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert not (work / ".staging").exists()
    # an interrupted run: only checkpoint-2 was written
    shutil.copytree(work / "checkpoint-2", tmp_path / "resumed.work" / "checkpoint-2")
    resumed = sft(sft_cfg(tiny_base, tmp_path / "resumed", max_steps=4, save_steps=2, resume=True))
    m = Manifest.load(resumed)
    assert m is not None and m.metrics["resumed_from_step"] == 2 and m.metrics["steps"] == 4
    assert _same(full, resumed)
    assert not (tmp_path / "resumed.work").exists(), "the work folder is removed after success"


def test_same_seed_same_weights(tiny_base: Path, tmp_path: Path, sft_cfg) -> None:
    from models.train.sft import sft

    a = sft(sft_cfg(tiny_base, tmp_path / "a", max_steps=2))
    b = sft(sft_cfg(tiny_base, tmp_path / "b", max_steps=2))
    c = sft(sft_cfg(tiny_base, tmp_path / "c", max_steps=2, seed=1))
    assert _same(a, b) and not _same(a, c)


def test_grpo_resume_skips_finished_iterations(tiny_sft: Path, tmp_path: Path, grpo_cfg) -> None:
    from models.train.grpo import grpo

    out = tmp_path / "imad"
    grpo(grpo_cfg(tiny_sft, out, keep_work=True))
    work = tmp_path / "imad.work"
    first = Manifest.load(work / "iter1")
    shutil.rmtree(work / "iter2")  # interrupted during iteration 2
    shutil.rmtree(out)
    grpo(grpo_cfg(tiny_sft, out, keep_work=True, resume=True))
    again = Manifest.load(work / "iter1")
    assert first is not None and again is not None and again.created == first.created, "iteration 1 was not redone"
    assert Manifest.load(work / "iter2") is not None and Manifest.load(out) is not None
    assert _same(work / "iter2", out)
