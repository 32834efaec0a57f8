"""Cross-backend agreement: the TL and nnsight backends (models/backends/tl.py, nnsight.py) match the HF reference
(models/backends/hf.py) on activations, steered logits and generation."""

import pytest
import torch

from models import Intervention, load
from tests.conftest import PROMPTS

OTHERS = ["tl", "nnsight"]
ALL_SITES = [f"blocks.{L}.hook_{s}" for L in range(4) for s in ("resid_pre", "attn_out", "mlp_out", "resid_post")]


@pytest.mark.parametrize("backend", OTHERS)
def test_same_activations_at_every_site_and_layer(tiny_models, backend):
    ref = tiny_models["hf"].activations(PROMPTS, ALL_SITES, reduce="mean")
    got = tiny_models[backend].activations(PROMPTS, ALL_SITES, reduce="mean")
    for site in ALL_SITES:
        torch.testing.assert_close(got[site], ref[site], atol=1e-5, rtol=0, msg=lambda m: f"{site}: {m}")

@pytest.mark.parametrize("backend", OTHERS)
@pytest.mark.parametrize("site", ["blocks.0.hook_resid_pre", "blocks.1.hook_attn_out", "blocks.2.hook_mlp_out", "blocks.3.hook_resid_post"])
def test_same_logits_with_the_same_added_vector(tiny_models, backend, site):
    v = torch.randn(128, generator=torch.Generator().manual_seed(3))
    mask = tiny_models["hf"].tokenize(PROMPTS).attention_mask.bool()
    with tiny_models["hf"].intervene(Intervention(site, v, alpha=2.0, positions="prompt")):
        ref = tiny_models["hf"].forward(PROMPTS)
    with tiny_models[backend].intervene(Intervention(site, v, alpha=2.0, positions="prompt")):
        got = tiny_models[backend].forward(PROMPTS)
    torch.testing.assert_close(got[mask], ref[mask], atol=1e-5, rtol=0)  # pad positions are not compared

@pytest.mark.parametrize("backend", OTHERS)
def test_greedy_generation_matches_hf_token_for_token(tiny_models, backend):
    """Regression test for the transformers pin: 5.24 breaks TL's KV-cached generation."""
    ref = tiny_models["hf"].generate(PROMPTS, max_new_tokens=24)
    got = tiny_models[backend].generate(PROMPTS, max_new_tokens=24)
    assert got.new_token_ids == ref.new_token_ids
    assert got.n_prompt_tokens == ref.n_prompt_tokens

@pytest.mark.parametrize("backend", OTHERS)
def test_steered_generation_matches_hf(tiny_models, backend):
    v = torch.randn(128, generator=torch.Generator().manual_seed(5))
    make = lambda: Intervention("blocks.2.hook_resid_post", v, alpha=3.0, positions="response")  # noqa: E731
    with tiny_models["hf"].intervene(make()):
        ref = tiny_models["hf"].generate(PROMPTS, max_new_tokens=12)
    iv = make()
    with tiny_models[backend].intervene(iv):
        got = tiny_models[backend].generate(PROMPTS, max_new_tokens=12)
    assert got.new_token_ids == ref.new_token_ids
    prompt_len = tiny_models[backend].tokenize(PROMPTS).input_ids.shape[1]
    assert (iv.n_calls, iv.n_tokens) == (12, prompt_len + 11)  # prefill + one length-1 call per later decode step

def test_nnsight_remote_local_simulation(tiny_dir):
    """`remote="local"` runs nnsight's serialisation path offline, as NDIF would."""
    ref = load(tiny_dir, backend="hf").activations(PROMPTS[:1], ["blocks.1.hook_resid_post"], positions="last")
    model = load(tiny_dir, backend="nnsight", remote="local")
    got = model.activations(PROMPTS[:1], ["blocks.1.hook_resid_post"], positions="last")
    torch.testing.assert_close(got["blocks.1.hook_resid_post"], ref["blocks.1.hook_resid_post"], atol=1e-5, rtol=0)

@pytest.mark.parametrize("backend", OTHERS)
def test_agent_span_steering_matches_hf(tiny_models, backend):
    """Steering only 'while an agent speaks' depends on generated tokens; all backends must agree."""
    from models import AgentSpan

    ref_model = tiny_models["hf"]
    plain = ref_model.generate(PROMPTS, max_new_tokens=12).new_token_ids
    opener = plain[0][2]  # a token row 0 generates, so the span opens mid-generation
    span = AgentSpan(open_ids=(opener,), close_ids=(ref_model.tokenizer.eos_token_id,))
    v = torch.randn(128, generator=torch.Generator().manual_seed(9))
    with ref_model.intervene(Intervention("blocks.1.hook_resid_post", v, alpha=6.0, positions=span)):
        ref = ref_model.generate(PROMPTS, max_new_tokens=12).new_token_ids
    assert ref[0][:3] == plain[0][:3] and ref != plain  # unchanged until the opener, then steered
    with tiny_models[backend].intervene(Intervention("blocks.1.hook_resid_post", v, alpha=6.0, positions=span)):
        got = tiny_models[backend].generate(PROMPTS, max_new_tokens=12).new_token_ids
    assert got == ref

@pytest.mark.parametrize("backend", OTHERS)
def test_steered_generation_that_stops_early_matches_hf(tiny_models, backend):
    """Regression: nnsight raised UnboundLocalError when every row stopped before the bounded step loop ended."""
    v = torch.randn(128, generator=torch.Generator().manual_seed(6))
    first = [ids[0] for ids in tiny_models["hf"].generate(PROMPTS, max_new_tokens=1).new_token_ids]
    results = []
    for name in ("hf", backend):  # "generated" leaves the first token unsteered, so every row stops at step 1
        with tiny_models[name].intervene(Intervention("blocks.2.hook_resid_post", v, alpha=3.0, positions="generated")):
            results.append(tiny_models[name].generate(PROMPTS, max_new_tokens=8, stop_token_ids=first))
    ref, got = results
    assert ref.n_new_tokens == [1, 1, 1]
    assert got.new_token_ids == ref.new_token_ids and torch.equal(got.sequences, ref.sequences)
