"""Shared fixtures: a tiny from-scratch checkpoint folder and one loaded model per backend."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # any accidental hub call fails fast
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_DISABLED", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny-random checkpoint folder (safetensors + tokenizer.json), built once per session."""
    from models.tiny import save_tiny

    return save_tiny(tmp_path_factory.mktemp("tiny") / "tiny-random")


@pytest.fixture(scope="session")
def tiny_models(tiny_dir: Path) -> dict:
    """The tiny checkpoint loaded in every backend (read-only: tests must not leave hooks behind)."""
    from models import load

    return {backend: load(tiny_dir, backend=backend) for backend in ("hf", "tl", "nnsight")}


@pytest.fixture(scope="session")
def tiny_hf(tiny_models: dict):
    return tiny_models["hf"]


PROMPTS = ["12+34*5 =", "the agent says the answer is", "First, compute 7*8. Then add 9 and subtract 3."]
