"""Fixtures for probes tests (helpers live in `_data.py`)."""

from __future__ import annotations

import pytest

from models.debate import Transcript
from tests.probes._data import make_debate


@pytest.fixture(scope="session")
def small_debates() -> list[Transcript]:
    """Six short debates: four with two rounds, two that stopped after round 1."""
    return [make_debate(a, b, c, rounds=1 if i % 3 == 2 else 2)
            for i, (a, b, c) in enumerate([(3, 4, 5), (6, 7, 8), (2, 9, 1), (5, 5, 5), (8, 3, 2), (7, 6, 4)])]
