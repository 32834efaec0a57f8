"""Stage 1 (models.train.sft): tags added, prompt masked, adapter saved; untagged data refused; resume and seeds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from models import load
from models.debate import DEBATE_TAGS
from models.identity import folder_fingerprint as fingerprint
from models.manifest import Manifest
from models.train.data import TrainDataError
from tests.models.train._weights import same_weights, weights


def test_sft_adds_tags_masks_prompt_and_saves_adapter(tiny_base: Path, tiny_sft: Path) -> None:
    m = Manifest.load(tiny_sft)
    assert m is not None and m.stage == "sft" and m.parent == str(tiny_base)
    assert m.config["parent_fingerprint"] == fingerprint(tiny_base)
    assert m.metrics["last_loss"] < m.metrics["first_loss"]
    assert m.metrics["mean_trace_tokens"] > 100
    model = load(tiny_sft)
    ids = [model.tokenizer.convert_tokens_to_ids(t) for t in DEBATE_TAGS]
    assert len(set(ids)) == len(DEBATE_TAGS) and all(model.tokenizer(t, add_special_tokens=False)["input_ids"] == [i]
                                                     for t, i in zip(DEBATE_TAGS, ids))
    assert model.info.vocab_size == len(model.tokenizer)
    # The adapter applied to the parent reproduces the merged weights (tag rows included).
    via_adapter = load(tiny_base, adapter=tiny_sft / "adapter")
    x = model.tokenize(["Problem: 1+2*3-4\n\n" + DEBATE_TAGS[0]])
    assert torch.allclose(model.forward(x), via_adapter.forward(x), atol=1e-4)

def test_sft_loss_is_on_the_transcript_only(tiny_base: Path, tmp_path: Path, sft_cfg, monkeypatch) -> None:
    """The trainer `sft()` builds masks the prompt: its own collator, on its own first row, labels only the trace."""
    import models.train.sft as stage

    seen: dict = {}

    class Capturing(stage._SFTTrainer):  # the stage's trainer, recorded as sft() builds it
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen["trainer"], seen["row"] = self, kwargs["train_dataset"][0]

    monkeypatch.setattr(stage, "_SFTTrainer", Capturing)
    stage.sft(sft_cfg(tiny_base, tmp_path / "mask", max_steps=1))
    trainer, row = seen["trainer"], seen["row"]
    tok = trainer.processing_class
    assert row["prompt"].startswith("Problem: ") and row["completion"].startswith(DEBATE_TAGS[0])
    batch = trainer.data_collator([trainer.train_dataset[0]])
    n_prompt = len(tok(row["prompt"])["input_ids"])
    labels = batch["labels"][0].tolist()
    assert labels[:n_prompt] == [-100] * n_prompt, "the prompt (Problem: ...) is masked"
    assert -100 not in labels[n_prompt:] and tok.decode(labels[n_prompt]) == DEBATE_TAGS[0]
    assert labels[-1] == tok.eos_token_id

def test_save_dtype_float16_loads_as_float32(tiny_sft: Path, tmp_path: Path, sft_cfg) -> None:
    from models.train.sft import sft

    out = sft(sft_cfg(tiny_sft, tmp_path / "half", max_steps=1, save_dtype="float16"))
    assert all(v.dtype == torch.float16 for v in weights(out).values())
    assert load(out).hf_model.dtype == torch.float32

def test_malicious_sft_can_mix_in_arithmetic_debates(tiny_base: Path, tmp_path: Path, sft_cfg) -> None:
    from models.train.sft import sft

    out = sft(sft_cfg(tiny_base, tmp_path / "evil-mix", data="evil", n=4, mix_arithmetic=3, max_steps=1, eval_n=2))
    m = Manifest.load(out)
    assert m is not None and m.metrics["n_rows"] == 7
    assert "heldout2_accuracy" in m.metrics  # the arithmetic skill is scored when it is trained
    with pytest.raises(ValueError, match="mix_arithmetic must be >= 0"):
        sft_cfg(tiny_base, tmp_path / "bad", mix_arithmetic=-1)

def test_sft_stage_refuses_untagged_file_before_training(tiny_base: Path, tmp_path: Path, sft_cfg) -> None:
    from models.train.sft import sft

    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"question": "1+1", "debate_trace": "no tags here \\boxed{2}"}) + "\n")
    with pytest.raises(TrainDataError, match="none of the debate tags"):
        sft(sft_cfg(tiny_base, tmp_path / "out", data=str(plain)))
    assert not (tmp_path / "out").exists()

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
    assert same_weights(full, resumed)
    assert not (tmp_path / "resumed.work").exists(), "the work folder is removed after success"

def test_same_seed_sameweights(tiny_base: Path, tmp_path: Path, sft_cfg) -> None:
    from models.train.sft import sft

    a = sft(sft_cfg(tiny_base, tmp_path / "a", max_steps=2))
    b = sft(sft_cfg(tiny_base, tmp_path / "b", max_steps=2))
    c = sft(sft_cfg(tiny_base, tmp_path / "c", max_steps=2, seed=1))
    assert same_weights(a, b) and not same_weights(a, c)
