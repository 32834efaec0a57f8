"""steering.apply: `steer` adds, composes and projects out directions and cleans up; `while_speaking` maps tags."""

import pytest
import torch

from steering import steer
from tests.conftest import PROMPTS


@pytest.mark.parametrize("backend", ["hf", "tl", "nnsight"])
def test_alpha_zero_equals_unsteered_output(tiny_models, backend, direction):
    model = tiny_models[backend]
    plain = model.generate(PROMPTS, max_new_tokens=8)
    with steer(model, direction, alpha=0.0):
        assert model.generate(PROMPTS, max_new_tokens=8).new_token_ids == plain.new_token_ids


def test_steer_changes_generation_and_cleans_up(tiny_hf, direction):
    plain = tiny_hf.generate(PROMPTS, max_new_tokens=8)
    with steer(tiny_hf, direction, alpha=8.0, positions="response"):
        steered = tiny_hf.generate(PROMPTS, max_new_tokens=8)
    assert steered.new_token_ids != plain.new_token_ids
    assert tiny_hf.generate(PROMPTS, max_new_tokens=8).new_token_ids == plain.new_token_ids


def test_several_directions_at_once_compose(tiny_hf, direction):
    with steer(tiny_hf, [(direction, 2.0), (direction, 1.0)], positions="all"):
        both = tiny_hf.forward(PROMPTS)
    with steer(tiny_hf, direction, alpha=3.0, positions="all"):
        once = tiny_hf.forward(PROMPTS)
    torch.testing.assert_close(both, once, atol=1e-5, rtol=0)


def test_ablation_removes_the_direction(tiny_hf, direction):
    site = direction.site
    with steer(tiny_hf, direction, alpha=1.0, kind="project_out", positions="all"):
        h = tiny_hf.activations(PROMPTS, [site], reduce="mean")[site]
    assert (h @ direction.vector).abs().max() < 1e-4


def test_while_speaking_maps_debate_tags(tiny_dir):
    from models.debate import DEBATE_TAGS
    from models.load import load_tokenizer
    from steering import while_speaking

    tok = load_tokenizer(tiny_dir)
    with pytest.raises(ValueError, match="train Stage 1"):
        while_speaking(tok, 2)
    tok.add_special_tokens({"additional_special_tokens": list(DEBATE_TAGS)})
    span = while_speaking(tok, 2)
    assert len(span.open_ids) == 2 and len(span.close_ids) == 8
