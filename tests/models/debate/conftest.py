"""Fixtures for the debate-data tests (sample traces live in `debate_samples.py`)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest


@pytest.fixture(scope="session")
def tag_tokenizer():
    """The project's tiny BPE tokenizer with the ten debate tags registered as special tokens."""
    from models.debate import DEBATE_TAGS
    from models.tiny import build_tokenizer

    tok = build_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": list(DEBATE_TAGS)})
    return tok
