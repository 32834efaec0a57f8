"""models.prefix: generation from a prompt cache equals generation from scratch, and refuses what it cannot share."""

from __future__ import annotations

import pytest
import torch

from models import AgentSpan, Intervention, InterventionError
from models.errors import CallError
from models.prefix import CachedBatch, first_written, shareable_length
from tests.conftest import PROMPTS

SITE = "blocks.1.hook_resid_post"


def _vector(d_model: int) -> torch.Tensor:
    v = torch.randn(d_model, generator=torch.Generator().manual_seed(3))
    return 4.0 * v / v.norm()


@pytest.mark.parametrize("backend", ["hf", "nnsight"])
@pytest.mark.parametrize("positions", ["generated", "response", "last"])
def test_cached_rows_generate_what_uncached_rows_generate(tiny_models, backend, positions):
    model = tiny_models[backend]
    v = _vector(model.info.d_model)
    cache = model.prefill(PROMPTS)
    index = [0, 1, 2, 2, 1, 0]
    alpha = torch.tensor([0.0, 2.0, -3.0, 0.0, -1.0, 4.0])
    with model.intervene(Intervention(SITE, v, alpha=alpha, positions=positions)):
        shared = model.generate(cache.rows(index), max_new_tokens=8)
        unshared = model.generate([PROMPTS[i] for i in index], max_new_tokens=8)
    assert shared.new_token_ids == unshared.new_token_ids
    assert shared.texts == unshared.texts
    assert not model._installed


def test_decoding_leaves_the_cache_as_it_was(tiny_hf):
    cache = tiny_hf.prefill(PROMPTS[:2])
    before = [(k.clone(), v.clone()) for k, v in cache.layers]
    first = tiny_hf.generate(cache.rows([1, 0]), max_new_tokens=6)
    again = tiny_hf.generate(cache.rows([1, 0]), max_new_tokens=6)
    assert first.new_token_ids == again.new_token_ids
    assert all(torch.equal(k, k0) and torch.equal(v, v0) for (k, v), (k0, v0) in zip(cache.layers, before))
    assert cache.cached == tiny_hf.tokenize(PROMPTS[:2]).input_ids.shape[1] - 1
    assert cache.nbytes() > 0


def test_an_intervention_that_writes_into_the_cache_is_refused(tiny_hf):
    v = _vector(tiny_hf.info.d_model)
    cache = tiny_hf.prefill(PROMPTS[:2])
    for positions in ("all", "prompt", 0):
        with tiny_hf.intervene(Intervention(SITE, v, alpha=1.0, positions=positions)):
            with pytest.raises(InterventionError, match="prompt cache computed unsteered"):
                tiny_hf.generate(cache.rows([0, 1]), max_new_tokens=2)
            with pytest.raises(CallError, match="outside intervene"):
                tiny_hf.prefill(PROMPTS[:2])
    assert not tiny_hf._installed


def test_agent_span_shares_only_the_part_before_its_first_write(tiny_hf):
    """An opening token inside the prompt: the cache stops before it and steering from there matches."""
    v = _vector(tiny_hf.info.d_model)
    prompts = tiny_hf.tokenize(PROMPTS)
    opener = int(prompts.input_ids[2, -4])  # a token of the longest prompt, 4 from its end
    span = AgentSpan(open_ids=(opener,), close_ids=())
    first = first_written(span, prompts)
    assert first <= prompts.input_ids.shape[1] - 4
    assert shareable_length([span, "generated"], prompts) in (first, 0)
    upto = shareable_length([span], prompts)
    if upto == 0:
        pytest.skip("the opening token falls inside another row's padding")
    cache = tiny_hf.prefill(prompts, upto=upto)
    with tiny_hf.intervene(Intervention(SITE, v, alpha=3.0, positions=span)):
        shared = tiny_hf.generate(cache.rows([0, 1, 2]), max_new_tokens=6)
        unshared = tiny_hf.generate(PROMPTS, max_new_tokens=6)
    assert shared.new_token_ids == unshared.new_token_ids


def test_shareable_length_is_the_prompt_minus_one_for_generated_and_zero_for_all(tiny_hf):
    prompts = tiny_hf.tokenize(PROMPTS)
    n = prompts.input_ids.shape[1]
    assert shareable_length(["generated"], prompts) == n - 1
    assert shareable_length(["response"], prompts) == n - 1
    assert shareable_length(["all"], prompts) == 0
    assert first_written("generated", prompts) == n
    assert first_written(-2, prompts) == n - 2


def test_bad_prefill_and_rows_arguments_name_the_problem(tiny_models):
    hf = tiny_models["hf"]
    n = hf.tokenize(PROMPTS[:2]).input_ids.shape[1]
    with pytest.raises(CallError, match="upto must be an int"):
        hf.prefill(PROMPTS[:2], upto=n)
    with pytest.raises(CallError, match="no real token in the cached part"):
        hf.prefill(PROMPTS[:2], upto=1)
    cache = hf.prefill(PROMPTS[:2])
    with pytest.raises(CallError, match="outside the cache's 2 prompts"):
        cache.rows([0, 2])
    with pytest.raises(CallError, match="at least one prompt index"):
        cache.rows([])
    with pytest.raises(CallError, match="already cached"):
        hf.prefill(cache.rows([0]))
    assert isinstance(cache.rows([1]), CachedBatch)
    with pytest.raises(CallError, match="tl backend cannot decode from a prompt cache"):
        tiny_models["tl"].prefill(PROMPTS[:2])
    with pytest.raises(CallError, match="tl backend cannot decode from a prompt cache"):
        tiny_models["tl"].generate(cache.rows([0]), max_new_tokens=2)


def test_sampling_from_the_cache_draws_what_sampling_from_scratch_draws(tiny_hf):
    cache = tiny_hf.prefill(PROMPTS[:2])
    shared = tiny_hf.generate(cache.rows([0, 1]), max_new_tokens=8, do_sample=True, seed=3, temperature=0.8)
    unshared = tiny_hf.generate(PROMPTS[:2], max_new_tokens=8, do_sample=True, seed=3, temperature=0.8)
    assert shared.new_token_ids == unshared.new_token_ids
