"""steering.sweep: batched sweeps equal separate steered runs, one direction or many mixed in a batch."""

from __future__ import annotations

import pytest
import torch

from probes.directions import Direction
from steering import alpha_sweep, steer
from steering.prepare import SteeringError
from steering.sweep import multi_sweep, row_alphas, sweep_jobs
from tests.conftest import PROMPTS


def test_alpha_sweep_batches_equal_separate_runs(tiny_hf, direction):
    rows = alpha_sweep(tiny_hf, direction, PROMPTS[:2], alphas=[-4.0, 0.0, 4.0], max_new_tokens=6, batch_size=4,
                       progress=False)
    assert [(r.alpha, r.prompt_index) for r in rows] == [(a, i) for a in (-4.0, 0.0, 4.0) for i in (0, 1)]
    for r in rows:
        with steer(tiny_hf, direction, alpha=r.alpha):
            assert tiny_hf.generate([PROMPTS[r.prompt_index]], max_new_tokens=6).texts[0] == r.text


def test_alpha_sweep_honours_its_stop_tokens(tiny_hf, direction):
    first = alpha_sweep(tiny_hf, direction, PROMPTS[:1], alphas=[0.0], max_new_tokens=6, progress=False)[0]
    token = tiny_hf.generate(PROMPTS[:1], max_new_tokens=1).new_token_ids[0][0]
    stopped = alpha_sweep(tiny_hf, direction, PROMPTS[:1], alphas=[0.0], max_new_tokens=6, progress=False,
                          stop_token_ids=[token])[0]
    assert stopped.n_new_tokens == 1 < first.n_new_tokens


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


@pytest.mark.parametrize("backend", ["hf", "nnsight"])
def test_shared_prompts_give_the_unshared_texts_with_directions_mixed_per_row(tiny_models, direction, backend):
    model = tiny_models[backend]
    other = Direction(-torch.roll(direction.vector, 3), direction.site, label="other")
    directions = {"test": direction, "other": other}
    kwargs = dict(alphas=[0.0, -4.0, 4.0], max_new_tokens=6, batch_size=2, progress=False)  # 2 prompt groups
    shared = multi_sweep(model, directions, PROMPTS, share_prompts=True, **kwargs)
    unshared = multi_sweep(model, directions, PROMPTS, share_prompts=False, **kwargs)
    assert [(r.direction, r.alpha, r.prompt_index) for r in shared] == [
        (r.direction, r.alpha, r.prompt_index) for r in unshared]
    assert [r.text for r in shared] == [r.text for r in unshared]
    assert not model._installed


def test_positions_that_write_the_prompt_fall_back_and_say_so(tiny_hf, direction):
    kwargs = dict(alphas=[0.0, 3.0], max_new_tokens=4, progress=False, positions="all")
    with pytest.warns(UserWarning, match="recomputes every prompt.*positions='all'"):
        auto = multi_sweep(tiny_hf, {"test": direction}, PROMPTS[:2], **kwargs)
    plain = multi_sweep(tiny_hf, {"test": direction}, PROMPTS[:2], share_prompts=False, **kwargs)
    assert [r.text for r in auto] == [r.text for r in plain]
    with pytest.raises(SteeringError, match="cannot be shared"):
        multi_sweep(tiny_hf, {"test": direction}, PROMPTS[:2], share_prompts=True, **kwargs)


def test_a_backend_without_a_prompt_cache_falls_back_and_says_so(tiny_models, direction):
    with pytest.warns(UserWarning, match="tl backend has no prompt cache"):
        rows = multi_sweep(tiny_models["tl"], {"test": direction}, PROMPTS[:1], [0.0, 2.0], max_new_tokens=3,
                           progress=False)
    assert len(rows) == 2 and all(r.n_new_tokens >= 1 for r in rows)
    with pytest.raises(SteeringError, match="tl backend has no prompt cache"):
        multi_sweep(tiny_models["tl"], {"test": direction}, PROMPTS[:1], [2.0], share_prompts=True, progress=False)


def test_an_unsteered_sweep_needs_no_direction(tiny_hf):
    rows = multi_sweep(tiny_hf, {}, PROMPTS[:2], [0.0], max_new_tokens=4, progress=False)
    assert [r.direction for r in rows] == [None, None]
    assert [r.text for r in rows] == tiny_hf.generate(PROMPTS[:2], max_new_tokens=4).texts
