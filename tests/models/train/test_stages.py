"""Each stage on a tiny model: loss falls, folders load in every backend, manifests are filled, LoRA is merged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from models import load
from models.debate import DEBATE_TAGS
from models.identity import folder_fingerprint as fingerprint
from models.manifest import Manifest


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_pretrain_loss_falls_and_manifest_is_filled(tiny_base: Path) -> None:
    m = Manifest.load(tiny_base)
    assert m is not None and m.stage == "pretrained" and m.parent is None
    assert m.data_hash and m.config_hash and m.config["tokenizer_hash"]
    assert m.config["max_steps"] == 12 and m.config["shape"]["d_model"] == 64
    assert m.metrics["last_loss"] < m.metrics["first_loss"]
    assert m.metrics["steps"] == 12
    assert json.loads((tiny_base / "run_config.json").read_text())["lr"] == 5e-3
    tok = load(tiny_base).tokenizer
    assert not any(t in tok.get_vocab() for t in DEBATE_TAGS), "the base model is untagged"
    assert tok.convert_ids_to_tokens(tok("123", add_special_tokens=False)["input_ids"]) == ["1", "2", "3"]


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


def test_sft_loss_is_on_the_transcript_only(tiny_base: Path) -> None:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from models.train.checkpoint import load_parent
    from models.train.data import sft_rows
    from models.train.sft import add_debate_tags

    model, tok, _ = load_parent(tiny_base)
    add_debate_tags(model, tok)
    rows = sft_rows("arithmetic", 2, "easy", 0)
    args = SFTConfig(output_dir="/tmp/unused-sft-mask", completion_only_loss=True, report_to="none", use_cpu=True,
                     max_length=1024)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok)
    batch = trainer.data_collator([trainer.train_dataset[0]])
    n_prompt = len(tok(rows[0]["prompt"])["input_ids"])
    labels = batch["labels"][0].tolist()
    assert labels[:n_prompt] == [-100] * n_prompt, "the prompt (Problem: ...) is masked"
    assert -100 not in labels[n_prompt:] and tok.decode(labels[n_prompt]) == DEBATE_TAGS[0]
    assert labels[-1] == tok.eos_token_id


@pytest.mark.parametrize("backend", ["hf", "tl", "nnsight"])
def test_stage_folders_load_in_every_backend(tiny_base: Path, tiny_sft: Path, tiny_imad: Path, backend: str) -> None:
    reference = load(tiny_imad, backend="hf")
    prompt = ["Problem: 3+4*5-6\n\n" + DEBATE_TAGS[0]]
    for folder in (tiny_base, tiny_sft, tiny_imad):
        model = load(folder, backend=backend)
        assert model.info.n_layers == 2
    logits = load(tiny_imad, backend=backend).forward(prompt)
    assert torch.allclose(logits, reference.forward(prompt), atol=1e-4)


def test_grpo_iterations_stack_on_sft_weights(tiny_sft: Path, tiny_imad: Path) -> None:
    work = tiny_imad.with_name(tiny_imad.name + ".work")
    it1, it2 = work / "iter1", work / "iter2"
    m1, m2 = Manifest.load(it1), Manifest.load(it2)
    assert m1 is not None and m2 is not None
    assert m1.parent == str(tiny_sft) and m2.parent == str(it1)
    assert m2.config["parent_fingerprint"] == fingerprint(it1)
    # iteration 2 = iteration 1's weights + iteration 2's LoRA; iteration 1 = SFT weights + its LoRA
    for parent, child in ((tiny_sft, it1), (it1, it2)):
        merged = load(parent, adapter=child / "adapter").hf_model.state_dict()
        saved = _weights(child)
        assert all(torch.allclose(merged[k], saved[k], atol=1e-5) for k in saved)
    assert any(not torch.equal(_weights(tiny_sft)[k], _weights(it1)[k]) for k in _weights(it1))
    final = Manifest.load(tiny_imad)
    assert final is not None and final.stage == "grpo" and final.parent == str(tiny_sft)
    assert all(torch.equal(_weights(tiny_imad)[k], v) for k, v in _weights(it2).items())


def test_grpo_schedule_recorded_per_iteration(tiny_imad: Path) -> None:
    m = Manifest.load(tiny_imad)
    assert m is not None
    assert [(p["clip_tokens"], p["fmt_weight"]) for p in m.metrics["schedule"]] == [(24, 1.0), (6, 0.05)]
    iters = m.metrics["iterations"]
    assert [i["clip_tokens"] for i in iters] == [24, 6] and [i["fmt_weight"] for i in iters] == [1.0, 0.05]
    assert all(i["steps"] == 2 for i in iters)
    assert "first_reward" in iters[0]


def test_save_dtype_float16_loads_as_float32(tiny_sft: Path, tmp_path: Path, sft_cfg) -> None:
    from models.train.sft import sft

    out = sft(sft_cfg(tiny_sft, tmp_path / "half", max_steps=1, save_dtype="float16"))
    assert all(v.dtype == torch.float16 for v in _weights(out).values())
    assert load(out).hf_model.dtype == torch.float32


def test_truncated_completions_teach_nothing_when_masked(tiny_sft: Path, tmp_path: Path, grpo_cfg) -> None:
    from models.train.grpo import grpo

    # clip 8: no completion of the barely trained model finishes within 8 tokens, so nothing is learned
    out = grpo(grpo_cfg(tiny_sft, tmp_path / "masked", iterations=1, clip_start=8, mask_truncated_completions=True))
    before, after = _weights(tiny_sft), _weights(out)
    assert all(torch.isfinite(v).all() for v in after.values())
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in after)


def test_malicious_sft_can_mix_in_arithmetic_debates(tiny_base: Path, tmp_path: Path, sft_cfg) -> None:
    from models.train.sft import sft

    out = sft(sft_cfg(tiny_base, tmp_path / "evil-mix", data="evil", n=4, mix_arithmetic=3, max_steps=1, eval_n=2))
    m = Manifest.load(out)
    assert m is not None and m.metrics["n_rows"] == 7
    assert "heldout2_accuracy" in m.metrics  # the arithmetic skill is scored when it is trained
    with pytest.raises(ValueError, match="mix_arithmetic must be >= 0"):
        sft_cfg(tiny_base, tmp_path / "bad", mix_arithmetic=-1)
