"""models.identity: the one definition of checkpoint and model identity."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from models.identity import MANIFEST_NAME, folder_fingerprint, model_fingerprint, weights_fingerprint


def test_folder_fingerprint_is_stable_ignores_the_manifest_and_notices_weights(tiny_dir: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_dir, tmp_path / "copy"))
    before = folder_fingerprint(copy)
    assert before == folder_fingerprint(tiny_dir)
    (copy / MANIFEST_NAME).write_text('{"metrics": {"added": "later"}}')
    assert folder_fingerprint(copy) == before
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert folder_fingerprint(copy) != before


def test_a_loaded_model_is_identified_by_the_weights_it_runs(tiny_hf) -> None:
    assert model_fingerprint(tiny_hf) == weights_fingerprint(tiny_hf.hf_model)


def test_weights_fingerprint_notices_an_edit(tiny_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    before = weights_fingerprint(model)
    with torch.no_grad():
        model.lm_head.weight[0, 0] += 1.0
    assert weights_fingerprint(model) != before
