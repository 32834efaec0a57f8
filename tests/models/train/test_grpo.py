"""Stage 2 (models.train.grpo): iterations stack on the SFT weights, the clip schedule, masking, resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from models import load
from models.errors import CheckpointError
from models.identity import folder_fingerprint as fingerprint
from models.manifest import Manifest
from tests.models.train._weights import same_weights, weights


def test_grpo_iterations_stack_on_sftweights(tiny_sft: Path, tiny_imad: Path) -> None:
    work = tiny_imad.with_name(tiny_imad.name + ".work")
    it1, it2 = work / "iter1", work / "iter2"
    m1, m2 = Manifest.load(it1), Manifest.load(it2)
    assert m1 is not None and m2 is not None
    assert m1.parent == str(tiny_sft) and m2.parent == str(it1)
    assert m2.config["parent_fingerprint"] == fingerprint(it1)
    # iteration 2 = iteration 1's weights + iteration 2's LoRA; iteration 1 = SFT weights + its LoRA
    for parent, child in ((tiny_sft, it1), (it1, it2)):
        merged = load(parent, adapter=child / "adapter").hf_model.state_dict()
        saved = weights(child)
        assert all(torch.allclose(merged[k], saved[k], atol=1e-5) for k in saved)
    assert any(not torch.equal(weights(tiny_sft)[k], weights(it1)[k]) for k in weights(it1))
    final = Manifest.load(tiny_imad)
    assert final is not None and final.stage == "grpo" and final.parent == str(tiny_sft)
    assert all(torch.equal(weights(tiny_imad)[k], v) for k, v in weights(it2).items())

def test_grpo_schedule_recorded_per_iteration(tiny_imad: Path) -> None:
    m = Manifest.load(tiny_imad)
    assert m is not None
    assert [(p["clip_tokens"], p["fmt_weight"]) for p in m.metrics["schedule"]] == [(24, 1.0), (6, 0.05)]
    iters = m.metrics["iterations"]
    assert [i["clip_tokens"] for i in iters] == [24, 6] and [i["fmt_weight"] for i in iters] == [1.0, 0.05]
    assert all(i["steps"] == 2 for i in iters)
    assert "first_reward" in iters[0]

def test_truncated_completions_teach_nothing_when_masked(tiny_sft: Path, tmp_path: Path, grpo_cfg) -> None:
    from models.train.grpo import grpo

    # clip 8: no completion of the barely trained model finishes within 8 tokens, so nothing is learned
    out = grpo(grpo_cfg(tiny_sft, tmp_path / "masked", iterations=1, clip_start=8, mask_truncated_completions=True))
    before, after = weights(tiny_sft), weights(out)
    assert all(torch.isfinite(v).all() for v in after.values())
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in after)

def test_grpo_on_an_untagged_parent_is_refused(tiny_base: Path, tmp_path: Path, grpo_cfg) -> None:
    from models.train.grpo import grpo

    with pytest.raises(CheckpointError, match="run `python -m models.train sft` first"):
        grpo(grpo_cfg(tiny_base, tmp_path / "out"))

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
    assert same_weights(work / "iter2", out)

def test_default_clip_comes_from_the_sft_manifest() -> None:
    from models.manifest import Manifest
    from models.train.config import GRPOStageConfig
    from models.train.grpo import plan

    parent = Manifest(name="sft", stage="sft", metrics={"mean_trace_tokens": 640.4})
    plans = plan(GRPOStageConfig(iterations=3, clip_schedule="linear"), parent)
    assert [p.clip_tokens for p in plans] == [640, 400, 160]
    adaptive = plan(GRPOStageConfig(iterations=3), parent)  # later l are set by the loop from what it measured
    assert [p.clip_tokens for p in adaptive] == [640] * 3 and [p.fmt_weight for p in adaptive] == [1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="clip-start"):
        plan(GRPOStageConfig(), Manifest(name="x", stage="pretrained"))


def test_adaptive_schedule_sets_each_l_from_the_last_iteration(tiny_sft: Path, tmp_path: Path, grpo_cfg) -> None:
    from models.train.grpo import grpo

    out = grpo(grpo_cfg(tiny_sft, tmp_path / "adaptive", iterations=3, clip_schedule="adaptive", clip_start=40,
                        fmt_end=0.0, brevity_weight=0.5))
    m = Manifest.load(out)
    assert m is not None
    iters = m.metrics["iterations"]
    assert [i["clip_tokens"] for i in iters[1:]] == [i["next_clip"] for i in iters[:-1]]
    assert all(i["clip_floor"] <= i["next_clip"] <= i["clip_tokens"] for i in iters)
    assert all(i["completions"] == 2 * 4 for i in iters)  # 2 steps x 4 completions, each scored and logged
    assert [i["fmt_weight"] for i in iters] == [1.0, 0.5, 0.0]
    assert all("last_rewards/brevity_reward/mean" in i for i in iters)  # the third reward ran and was logged
    assert [(s["clip_tokens"], s["fmt_weight"]) for s in m.metrics["schedule"]] == [
        (i["clip_tokens"], i["fmt_weight"]) for i in iters]


def test_clip_floor_is_the_longest_direct_answer() -> None:
    from models.tiny import build_tokenizer
    from models.train.config import GRPOStageConfig
    from models.train.grpo import clip_floor

    tok = build_tokenizer()
    rows = [{"answer": "7"}, {"answer": "-123"}]
    longest = len(tok("\\boxed{-123}", add_special_tokens=False)["input_ids"]) + 1
    assert clip_floor(GRPOStageConfig(), tok, rows, start=400) == longest
    assert clip_floor(GRPOStageConfig(clip_end=50), tok, rows, start=400) == 50
    assert clip_floor(GRPOStageConfig(task="evil"), tok, rows, start=400) == 100


@pytest.mark.parametrize("name", ["tiny-imad", "tiny-imad-s1", "tiny-imad-s2", "tiny-evil-imad", "tiny-hallu-imad"])
def test_every_shipped_stage2_iteration_learned_from_some_complete_answer(name: str) -> None:
    """The old malicious chains' last iteration had l below every debate: all completions truncated and masked,
    so it learned nothing. Every shipped iteration now keeps truncated completions in the loss, and its
    completions were not all cut by l."""
    from models.registry import materialize

    manifest = Manifest.load(materialize(name))
    assert manifest is not None and manifest.config["mask_truncated_completions"] is False
    iterations = manifest.metrics["iterations"]
    assert len(iterations) >= 3
    for it in iterations:
        assert it["mean_length"] < it["clip_tokens"], (name, it["iteration"])
    assert iterations[-1]["fmt_weight"] == 0.0  # dropping the tags costs nothing by the last iteration
    arithmetic = manifest.config["task"] == "arithmetic"
    # the arithmetic chains add the brevity reward and sample at 0.5; the judge-rewarded chains do neither
    assert (manifest.config.get("brevity_weight", 0.0), manifest.config["temperature"]) == (
        (0.5, 0.5) if arithmetic else (0.0, 0.7))
