import pytest
import torch

from models import Site, SiteError, parse_site


@pytest.mark.parametrize(
    "spec",
    ["blocks.2.hook_resid_post", "resid_post.2", "resid_post:2", ("resid_post", 2), Site(2, "resid_post"), "blocks.-2.hook_resid_post"],
)
def test_parse_site_forms(spec):
    assert parse_site(spec, n_layers=4) == Site(2, "resid_post")


def test_site_str_is_the_transformerlens_name():
    assert str(Site(3, "mlp_out")) == "blocks.3.hook_mlp_out"


def test_layer_out_of_range_names_the_valid_range():
    with pytest.raises(SiteError, match=r"valid layers are 0\.\.3"):
        parse_site("blocks.9.hook_resid_post", n_layers=4)


def test_unknown_site_lists_known_sites():
    with pytest.raises(SiteError, match="known sites: resid_pre, resid_post, attn_out, mlp_out"):
        parse_site("blocks.1.hook_resid_middle", n_layers=4)


def test_garbage_site_explains_the_format():
    with pytest.raises(SiteError, match="blocks.<layer>.hook_<name>"):
        parse_site("layer one", n_layers=4)


def test_layer_convention_matches_hf_hidden_states(tiny_hf):
    """resid_pre L == hidden_states[L]; resid_post L == hidden_states[L+1] except after the last block."""
    model = tiny_hf
    n = model.info.n_layers
    batch = model.tokenize(["12+34*5 = 175"])
    hidden = model.hf_model(batch.input_ids, output_hidden_states=True).hidden_states
    sites = [f"blocks.{L}.hook_{s}" for L in range(n) for s in ("resid_pre", "resid_post")]
    acts = model.activations(batch, sites, positions="all")
    for L in range(n):
        torch.testing.assert_close(acts[f"blocks.{L}.hook_resid_pre"], hidden[L].float(), atol=1e-6, rtol=0)
        if L < n - 1:
            torch.testing.assert_close(acts[f"blocks.{L}.hook_resid_post"], hidden[L + 1].float(), atol=1e-6, rtol=0)
    # HF's last hidden state is after the final norm; ours is not.
    assert not torch.allclose(acts[f"blocks.{n - 1}.hook_resid_post"], hidden[n])
    final_norm = model.hf_model.model.norm
    torch.testing.assert_close(final_norm(acts[f"blocks.{n - 1}.hook_resid_post"]), hidden[n], atol=1e-5, rtol=0)
