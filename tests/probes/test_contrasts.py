"""Paper Eq. 3, the original own-turn variant and the system-prompt contrast, against hand-built reads."""

from __future__ import annotations

import pytest
import torch

from models.debate import agent_tag, persona_system_prompts, render_sft
from models.debate.prompts import open_question_prompt
from probes import (
    ProbeError,
    collect_activations,
    collect_turns,
    eq3_directions,
    eq3_source,
    own_turn_directions,
    system_prompt_direction,
    system_prompt_source,
)
from tests.probes._data import make_debate

SITE = "blocks.2.hook_resid_post"


def test_eq3_rows_and_vector_match_a_hand_built_contrast(tiny_hf):
    debate = make_debate(4, 6, 3, rounds=1)  # round 1 only: Agent 3 must still get a vector
    acts = collect_activations(tiny_hf, eq3_source([debate], positions="turn_last"), [SITE])
    assert len(acts) == 9 and acts.kind == "eq3"
    assert sorted((r.agent, r.response_agent) for r in acts.rows) == [(a, b) for a in (1, 2, 3) for b in (1, 2, 3)]
    dirs = eq3_directions(acts, SITE, normalize=False)
    assert sorted(dirs) == ["agent1", "agent2", "agent3"]
    text = render_sft(debate)
    for agent in (1, 2, 3):
        tag = agent_tag(agent, 1)
        context = text[: text.index(tag) + len(tag)] + ": "
        h = tiny_hf.activations([context + t.text for t in debate.turns], [SITE], positions="last")[SITE][:, 0]
        others = [j for j in range(3) if j != agent - 1]
        expected = h[agent - 1] - h[others].mean(0)
        torch.testing.assert_close(dirs[f"agent{agent}"].vector, expected, atol=1e-5, rtol=1e-4)
        assert dirs[f"agent{agent}"].method == "eq3_contrast"


def test_own_turn_variant_keeps_agent_three_of_round_one_only_debates(tiny_hf, small_debates):
    acts = collect_turns(tiny_hf, small_debates, [SITE], positions="turn_last")
    dirs = own_turn_directions(acts, SITE, normalize=False, by_round=True)
    n_round2 = sum(t.n_rounds == 2 for t in small_debates)
    assert dirs["agent3_round1"].params["n_groups"] == len(small_debates)
    assert dirs["agent3_round2"].params["n_groups"] == n_round2
    first = acts.where(item=0, round=1)
    h = {r.agent: first.at(SITE)[i] for i, r in enumerate(first.rows)}
    single = own_turn_directions(collect_turns(tiny_hf, small_debates[:1], [SITE], positions="turn_last").where(round=1),
                                 SITE, normalize=False)
    torch.testing.assert_close(single["agent2"].vector, h[2] - (h[1] + h[3]) / 2, atol=1e-6, rtol=1e-5)


def test_eq3_and_own_turn_are_different_contrasts(tiny_hf, small_debates):
    turns = collect_turns(tiny_hf, small_debates[:2], [SITE], positions="turn_last")
    eq3 = collect_activations(tiny_hf, eq3_source(small_debates[:2]), [SITE])
    a, b = own_turn_directions(turns, SITE)["agent1"], eq3_directions(eq3, SITE)["agent1"]
    assert a.site == b.site and abs(a.cosine(b)) < 0.999


def test_system_prompt_contrast_at_minus_two(tiny_hf):
    questions = ["How do I get a bigger budget than my colleague?", "My teammate took credit. What now?"]
    acts = collect_activations(tiny_hf, system_prompt_source(questions, "evil", position=-2), [SITE])
    assert [r.label for r in acts.rows] == ["evil", "helpful"] * 2 and acts.read_position == "-2"
    d = system_prompt_direction(acts, SITE, normalize=False)
    evil, helpful = persona_system_prompts("evil")
    reads = {s: tiny_hf.activations([tiny_hf.chat_prompt(open_question_prompt(q), system=s) for q in questions],
                                    [SITE], positions=-2)[SITE][:, 0].mean(0) for s in (evil, helpful)}
    torch.testing.assert_close(d.vector, reads[evil] - reads[helpful], atol=1e-5, rtol=1e-4)
    assert d.method == "system_prompt_contrast" and d.label == "evil_vs_benign"


def test_contrasts_refuse_the_wrong_input(tiny_hf, small_debates):
    with pytest.raises(ProbeError, match="does not work for Eq. 3"):
        eq3_source(small_debates, positions="agent_tag")
    turns = collect_turns(tiny_hf, small_debates[:1], [SITE])
    with pytest.raises(ProbeError, match="needs rows collected with eq3_source"):
        eq3_directions(turns, SITE)
    with pytest.raises(ProbeError, match="trait must be 'evil' or 'hallucination'"):
        system_prompt_source(["q"], "greedy")  # type: ignore[arg-type]  # the wrong value is the point


def test_site_layers_are_read_by_the_site_parser():
    from models.errors import SiteError
    from models.sites import site_layer
    from probes.layers import pick_best

    assert [site_layer(s) for s in ("blocks.0.hook_attn_out", "blocks.11.hook_resid_post", "mlp_out.3")] == [0, 11, 3]
    with pytest.raises(SiteError, match="not a site name"):
        site_layer("blocks.two.hook_resid_post")
    sweep = pick_best({"blocks.10.hook_resid_post": 0.5, "blocks.9.hook_resid_post": 0.5}, "c", "d")
    assert (sweep.best_site, sweep.best_layer) == ("blocks.9.hook_resid_post", 9)  # numeric, not string, order
