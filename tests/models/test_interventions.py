"""Invariants of interventions, checked in every backend."""

import pytest
import torch

from models import Intervention, InterventionError, SiteError
from tests.conftest import PROMPTS

BACKENDS = ["hf", "tl", "nnsight"]
SITE = "blocks.1.hook_resid_post"


def _n_torch_hooks(module: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in module.modules())


def _n_tl_hooks(model) -> int:
    return sum(len(p.fwd_hooks) for p in model.bridge.hook_dict.values()) if model.backend == "tl" else 0


def _vec(seed: int = 0, d: int = 128) -> torch.Tensor:
    return torch.randn(d, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("backend", BACKENDS)
def test_alpha_zero_is_the_identity(tiny_models, backend):
    model = tiny_models[backend]
    base = model.forward(PROMPTS)
    for kind in ("add", "replace", "project_out"):
        with model.intervene(Intervention(SITE, _vec(), kind=kind, alpha=0.0)):
            assert torch.equal(model.forward(PROMPTS), base)
    with model.intervene(Intervention(SITE, _vec(), alpha=0.0, positions="generated")):
        assert model.generate(PROMPTS, max_new_tokens=5).new_token_ids == model.generate(PROMPTS, max_new_tokens=5).new_token_ids


@pytest.mark.parametrize("backend", BACKENDS)
def test_nonzero_alpha_changes_logits_and_the_hook_fires(tiny_models, backend):
    model = tiny_models[backend]
    base = model.forward(PROMPTS)
    iv = Intervention(SITE, _vec(), alpha=4.0)
    with model.intervene(iv):
        steered = model.forward(PROMPTS)
    assert (iv.n_calls, iv.n_tokens) == (1, model.tokenize(PROMPTS).input_ids.shape[1])
    assert not torch.allclose(steered, base)


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_hook_is_left_after_the_context_even_on_error(tiny_models, backend):
    model = tiny_models[backend]
    before = (_n_torch_hooks(model.hf_model), _n_tl_hooks(model))
    base = model.forward(PROMPTS)
    with pytest.raises(RuntimeError, match="boom"):
        with model.intervene(Intervention(SITE, _vec(), alpha=4.0), Intervention("blocks.0.hook_mlp_out", _vec(1))):
            model.forward(PROMPTS)
            raise RuntimeError("boom")
    assert (_n_torch_hooks(model.hf_model), _n_tl_hooks(model)) == before
    assert model._active == []
    assert torch.equal(model.forward(PROMPTS), base)


def test_failed_install_leaves_nothing_behind(tiny_hf):
    before = _n_torch_hooks(tiny_hf.hf_model)
    with pytest.raises(SiteError):
        with tiny_hf.intervene(Intervention(SITE, _vec()), Intervention("blocks.7.hook_resid_post", _vec())):
            pass
    assert _n_torch_hooks(tiny_hf.hf_model) == before


def test_plus_then_minus_restores_activations(tiny_hf):
    v = _vec()
    base = tiny_hf.activations(PROMPTS, ["blocks.2.hook_resid_post"], positions=-1)
    with tiny_hf.intervene(Intervention(SITE, v, alpha=3.0), Intervention(SITE, v, alpha=-3.0)):
        both = tiny_hf.activations(PROMPTS, ["blocks.2.hook_resid_post"], positions=-1)
    torch.testing.assert_close(both["blocks.2.hook_resid_post"], base["blocks.2.hook_resid_post"], atol=1e-5, rtol=0)


def test_alpha_scales_like_the_vector(tiny_hf):
    v = _vec()
    with tiny_hf.intervene(Intervention(SITE, v, alpha=2.0)):
        a = tiny_hf.forward(PROMPTS)
    with tiny_hf.intervene(Intervention(SITE, 2 * v, alpha=1.0)):
        b = tiny_hf.forward(PROMPTS)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_project_out_removes_the_component(tiny_hf):
    v = _vec()
    with tiny_hf.intervene(Intervention(SITE, v, kind="project_out", alpha=1.0)):
        h = tiny_hf.activations(PROMPTS, [SITE], positions="last")[SITE]
    assert (h @ (v / v.norm())).abs().max() < 1e-4


def test_replace_sets_the_activation(tiny_hf):
    v = _vec()
    with tiny_hf.intervene(Intervention(SITE, v, kind="replace", alpha=1.0, positions="last")):
        h = tiny_hf.activations(PROMPTS, [SITE], positions="last")[SITE]
    torch.testing.assert_close(h[:, 0], v.expand(len(PROMPTS), -1), atol=1e-6, rtol=0)


def test_vector_is_added_only_at_the_positions_asked(tiny_hf):
    v = _vec()
    base = tiny_hf.activations(PROMPTS[:1], [SITE], positions="all")[SITE]
    with tiny_hf.intervene(Intervention(SITE, v, alpha=1.0, positions=[1, 3])):
        steered = tiny_hf.activations(PROMPTS[:1], [SITE], positions="all")[SITE]
    changed = (steered - base).norm(dim=-1)[0] > 1e-6
    assert changed.nonzero().flatten().tolist() == [1, 3]
    torch.testing.assert_close((steered - base)[0, 1], v, atol=1e-5, rtol=0)


def test_generated_positions_only_touch_decode_steps(tiny_hf):
    iv = Intervention(SITE, _vec(), alpha=4.0, positions="generated")
    base = tiny_hf.generate(PROMPTS, max_new_tokens=6)
    with tiny_hf.intervene(iv):
        steered = tiny_hf.generate(PROMPTS, max_new_tokens=6)
    prompt_len = tiny_hf.tokenize(PROMPTS).input_ids.shape[1]
    # one prefill call over the prompt, then one length-1 call per decode step (5 of them for 6 new tokens)
    assert (iv.n_calls, iv.n_tokens) == (6, prompt_len + 5)
    # the first new token is predicted from the (unsteered) prompt, so it cannot change
    assert [ids[0] for ids in steered.new_token_ids] == [ids[0] for ids in base.new_token_ids]
    assert steered.new_token_ids != base.new_token_ids


def test_width_mismatch_is_rejected(tiny_hf):
    with pytest.raises(InterventionError, match="width 64 but the model's d_model is 128"):
        with tiny_hf.intervene(Intervention(SITE, torch.zeros(64))):
            pass


def test_unknown_kind_and_zero_projection_are_rejected():
    with pytest.raises(InterventionError, match="kind='scale'"):
        Intervention(SITE, torch.ones(4), kind="scale")  # type: ignore[arg-type]
    with pytest.raises(InterventionError, match="non-zero"):
        Intervention(SITE, torch.zeros(4), kind="project_out")


@pytest.mark.parametrize("backend", BACKENDS)
def test_per_row_alpha_equals_separate_runs(tiny_models, backend):
    """A [batch] alpha tensor lets an alpha sweep run as one batch."""
    model = tiny_models[backend]
    v = _vec()
    prompt = PROMPTS[0]
    alphas = [0.0, 2.0, -3.0]
    with model.intervene(Intervention(SITE, v, alpha=torch.tensor(alphas), positions="response")):
        batched = model.generate([prompt] * 3, max_new_tokens=6).new_token_ids
    for alpha, ids in zip(alphas, batched):
        with model.intervene(Intervention(SITE, v, alpha=alpha, positions="response")):
            assert model.generate([prompt], max_new_tokens=6).new_token_ids[0] == ids
