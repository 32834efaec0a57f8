"""Fixtures for the judge tests: a classifier judge fitted on synthetic debates, one per trait."""

from __future__ import annotations

import pytest

from models.judges import synthetic_judge


@pytest.fixture(scope="module", params=["evil", "hallucination"])
def judge(request):
    return synthetic_judge(request.param, n_debates=120)
