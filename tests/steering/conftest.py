"""Fixtures for the steering tests: a unit direction at one residual site and a model stand-in for file checks."""

from __future__ import annotations

import pytest
import torch

from probes.directions import Direction


@pytest.fixture
def direction() -> Direction:
    """A seeded unit vector of width 128 (the tiny model's d_model) at ``blocks.2.hook_resid_post``."""
    v = torch.randn(128, generator=torch.Generator().manual_seed(0))
    return Direction(v / v.norm(), "blocks.2.hook_resid_post", label="test", normalized=True)


@pytest.fixture
def fake_model():
    """Factory of objects with only ``.info`` (n_layers, vocab_size, name, d_model): enough for the fit checks."""

    def make(d_model: int = 128, n_layers: int = 4):
        info = type("I", (), {"n_layers": n_layers, "vocab_size": 512, "name": "fake", "d_model": d_model})
        return type("M", (), {"info": info})()

    return make
