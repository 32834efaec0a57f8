"""Stage 0 (models.train.pretrain): loss falls, the manifest is filled, the base tokenizer has no debate tags."""

from __future__ import annotations

import json
from pathlib import Path

from models import load
from models.debate import DEBATE_TAGS
from models.manifest import Manifest


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
