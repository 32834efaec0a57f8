"""steering.multi_sweep: batches that mix directions give what each direction gives on its own."""

from __future__ import annotations

import pytest
import torch

from probes.directions import Direction
from steering import steer
from steering.multi_sweep import multi_sweep, row_alphas, sweep_jobs
from steering.prepare import SteeringError
from tests.conftest import PROMPTS


def test_jobs_generate_alpha_zero_once_per_prompt_and_alphas_only_on_their_own_rows():
    jobs = sweep_jobs(["a", "b"], [0.0, 2.0], 2)
    assert jobs == [(None, 0.0, 0), (None, 0.0, 1), ("a", 2.0, 0), ("a", 2.0, 1), ("b", 2.0, 0), ("b", 2.0, 1)]
    alphas = row_alphas(jobs[1:5])
    assert set(alphas) == {"a", "b"}
    assert alphas["a"].tolist() == [0.0, 2.0, 2.0, 0.0] and alphas["b"].tolist() == [0.0, 0.0, 0.0, 2.0]
    with pytest.raises(SteeringError, match="alphas must be distinct"):
        sweep_jobs(["a"], [1.0, 1.0], 1)
    with pytest.raises(SteeringError, match="at least one prompt"):
        sweep_jobs(["a"], [1.0], 0)


def test_mixed_batches_equal_separate_steered_runs(tiny_hf, direction):
    other = Direction(torch.roll(direction.vector, 7), direction.site, label="other")
    directions = {"test": direction, "other": other}
    rows = multi_sweep(tiny_hf, directions, PROMPTS[:2], alphas=[0.0, -4.0, 4.0], max_new_tokens=6, batch_size=3,
                       progress=False)
    assert len(rows) == 2 + 2 * 2 * 2  # batches of 3 mix the unsteered rows and both directions
    assert [r.direction for r in rows[:2]] == [None, None]
    for r in rows:
        if r.direction is None:
            expected = tiny_hf.generate([PROMPTS[r.prompt_index]], max_new_tokens=6).texts[0]
        else:
            with steer(tiny_hf, directions[r.direction], alpha=r.alpha):
                expected = tiny_hf.generate([PROMPTS[r.prompt_index]], max_new_tokens=6).texts[0]
        assert r.text == expected, (r.direction, r.alpha, r.prompt_index)
    with pytest.raises(SteeringError, match="batch_size must be >= 1"):
        multi_sweep(tiny_hf, directions, PROMPTS[:1], [1.0], batch_size=0)
