"""Per-turn collection: equals one-row reads, agrees across backends, keeps round-1 Agent 3, fails clearly."""

from __future__ import annotations

import pytest
import torch

from models import SiteError, Spans
from models.debate import AgentTurn, Transcript, parse_sft, render_sft, token_spans
from probes import Input, ProbeError, Read, Row, Source, collect_activations, collect_turns
from tests.probes._data import make_debate

SITES = ["blocks.1.hook_resid_post", "blocks.3.hook_mlp_out", "blocks.0.hook_attn_out", "blocks.2.hook_resid_pre"]


def _reference(model, debate: Transcript, positions: str) -> dict[tuple[int, int], dict[str, torch.Tensor]]:
    """The same reads taken the slow way: the debate alone (no padding), read by model.activations directly."""
    spans = token_spans(parse_sft(render_sft(debate)), model.tokenizer)
    ids = torch.tensor(spans.input_ids)
    if positions != "turn_mean":
        ks = [(t.text.end if positions == "turn_last" else t.tag.end) - 1 for t in spans.turns]
        acts = model.activations(ids, SITES, positions=ks)
        return {(t.agent, t.round): {s: v[0, j] for s, v in acts.items()} for j, t in enumerate(spans.turns)}
    out = {}
    for t in spans.turns:
        acts = model.activations(ids, SITES, positions=Spans.single([(t.text.start, t.text.end)]), reduce="mean")
        out[(t.agent, t.round)] = {s: v[0] for s, v in acts.items()}
    return out


@pytest.mark.parametrize("positions", ["turn_mean", "turn_last", "agent_tag"])
def test_batched_collection_equals_single_row_reads(tiny_hf, small_debates, positions):
    debates = small_debates[:3]  # two 2-round debates and one that stopped after round 1
    acts = collect_turns(tiny_hf, debates, SITES, positions=positions, batch_tokens=1100)  # two batches
    assert len(acts) == 15 and acts.read_position == positions
    refs = [_reference(tiny_hf, d, positions) for d in debates]
    for i, row in enumerate(acts.rows):
        for site in SITES:
            torch.testing.assert_close(acts.at(site)[i], refs[row.item][(row.agent, row.round)][site],
                                       atol=1e-5, rtol=1e-5)


def test_activations_equal_across_backends(tiny_models, small_debates):
    sets = {b: collect_turns(m, small_debates[:3], SITES, positions="turn_mean") for b, m in tiny_models.items()}
    for backend in ("tl", "nnsight"):
        assert sets[backend].rows == sets["hf"].rows
        for site in SITES:
            torch.testing.assert_close(sets[backend].at(site), sets["hf"].at(site), atol=1e-5, rtol=1e-4)


def test_round_one_only_debate_keeps_agent_three(tiny_hf):
    acts = collect_turns(tiny_hf, [make_debate(2, 3, 4, rounds=1)], SITES[:1], positions="turn_last")
    assert [(r.round, r.agent) for r in acts.rows] == [(1, 1), (1, 2), (1, 3)]
    assert acts.where(agent=3).rows[0].label == "program_of_thought"


def test_where_filters_like_a_table(tiny_hf, small_debates):
    acts = collect_turns(tiny_hf, small_debates, SITES[:1], positions="agent_tag")
    two = acts.where(agent=2, round=[1, 2])
    assert {r.agent for r in two.rows} == {2} and len(two) == sum(t.n_rounds for t in small_debates)
    assert len(acts.where(round=lambda r: r > 1)) == 3 * sum(t.n_rounds == 2 for t in small_debates)
    with pytest.raises(ProbeError, match="rows have no field 'speaker'"):
        acts.where(speaker=1)
    with pytest.raises(ProbeError, match="was not collected"):
        acts.at("blocks.2.hook_resid_post")


def test_turn_with_no_tokens_is_a_clear_error(tiny_hf):
    good = make_debate(2, 3, 4, rounds=1)
    empty = Transcript(good.question, (good.turns[0], AgentTurn(2, 1, ""), good.turns[2]), good.consensus)
    with pytest.raises(ProbeError, match="agent 2 round 1 has no response tokens"):
        collect_turns(tiny_hf, [empty], SITES[:1], positions="turn_mean")
    assert len(collect_turns(tiny_hf, [empty], SITES[:1], positions="agent_tag")) == 3  # the tag is still there


def test_layer_out_of_range_fails_before_any_work(tiny_hf, small_debates):
    with pytest.raises(SiteError, match="layer 9 .* out of range"):
        collect_turns(tiny_hf, small_debates, ["blocks.9.hook_resid_post"])


def test_context_overflow_raises_or_truncates(tiny_hf):
    long = make_debate(2, 3, 4)
    padded = Transcript(long.question, tuple(AgentTurn(t.agent, t.round, t.text * (12 if t.round == 2 else 1),
                                                       t.label) for t in long.turns), long.consensus)
    with pytest.raises(ProbeError, match="context is 1024; pass truncate=True"):
        collect_turns(tiny_hf, [padded], SITES[:1])
    acts = collect_turns(tiny_hf, [padded], SITES[:1], truncate=True)
    assert 3 <= len(acts) < 6 and acts.info["dropped_beyond_context"] == 6 - len(acts)
    assert all(r.round == 1 for r in acts.rows[:3])


def test_unknown_read_position_and_empty_input(tiny_hf, small_debates):
    with pytest.raises(ProbeError, match="not a turn read position"):
        collect_turns(tiny_hf, small_debates, SITES[:1], positions="first")
    # "last" is models.positions' last prompt token; a turn's last token is "turn_last"
    with pytest.raises(ProbeError, match="'last' is not a turn read position; use one of agent_tag, turn_last, turn_mean"):
        collect_turns(tiny_hf, small_debates, SITES[:1], positions="last")
    with pytest.raises(ProbeError, match="no items"):
        collect_turns(tiny_hf, [], SITES[:1])
    one = collect_turns(tiny_hf, small_debates[:1], SITES[:1])  # the default read position is turn_mean
    assert len(one) == len(small_debates[0].turns) == 6 and list(one.values) == SITES[:1]
    assert one.read_position == "turn_mean" and one.at(SITES[0]).shape == (6, tiny_hf.info.d_model)


def test_generic_source_with_overlapping_and_single_token_reads(tiny_hf):
    texts = ["12+34*5 = 182, so the answer is 182.", "the agent says the answer is 7", "First, compute 7*8."]

    def build(item: int, text: str, model) -> list[Input]:
        ids = tuple(model.tokenizer(text)["input_ids"])
        reads = (Read(Row(item, f"q{item}", 1, 1), (1, 2, 3)), Read(Row(item, f"q{item}", 1, 2), (2, 3, 4)),
                 Read(Row(item, f"q{item}", 1, 3), (len(ids) - 1,)))
        return [Input(ids, reads, f"text {item}")]

    acts = collect_activations(tiny_hf, Source("turn", "custom", texts, build, "h"), SITES[:2], batch_tokens=20)
    assert len(acts) == 9 and [r.agent for r in acts.rows] == [1, 2, 3] * 3
    for i, row in enumerate(acts.rows):
        ids = torch.tensor(tiny_hf.tokenizer(texts[row.item])["input_ids"])
        tokens = {1: [1, 2, 3], 2: [2, 3, 4], 3: [len(ids) - 1]}[row.agent]
        ref = tiny_hf.activations(ids, SITES[:2], positions=tokens)
        for site in SITES[:2]:
            torch.testing.assert_close(acts.at(site)[i], ref[site][0].mean(0), atol=1e-5, rtol=1e-5)


def test_a_mask_leaves_signature_tokens_out_of_every_read(tiny_hf, small_debates):
    """The paper personas' signatures (``SELF-CRITIQUE``, ``//``) give an agent away in one token; masked, no read
    position touches them, and the cache tells masked and unmasked collections apart."""
    from models.debate import GenerateConfig, generate_debates
    from probes.collect import turn_inputs, turn_source

    mask = ("SELF-CRITIQUE", "//")
    debates, _ = generate_debates(GenerateConfig(n=3, seed=0, tier="easy"))
    shortened = 0
    for debate in debates:
        plain = turn_inputs(0, debate, tiny_hf, "turn_mean")[0]
        masked = turn_inputs(0, debate, tiny_hf, "turn_mean", mask)[0]
        for p, m in zip(plain.reads, masked.reads, strict=True):
            text = tiny_hf.tokenizer.decode([masked.ids[t] for t in m.tokens])
            assert set(m.tokens) <= set(p.tokens) and not any(s in text for s in mask)
            if any(s in tiny_hf.tokenizer.decode([plain.ids[t] for t in p.tokens]) for s in mask):
                assert len(m.tokens) < len(p.tokens)
                shortened += 1
        last = turn_inputs(0, debate, tiny_hf, "turn_last", mask)[0]
        assert all(r.tokens[0] == m.tokens[-1] for r, m in zip(last.reads, masked.reads, strict=True))
    assert shortened >= 3  # Agents 2 and 3 of every debate wrote a signature
    assert turn_source(small_debates, "turn_mean", mask).params != turn_source(small_debates, "turn_mean").params
    with pytest.raises(ProbeError, match="reads the tag itself"):
        turn_source(small_debates, "agent_tag", mask)


def test_a_mask_that_covers_a_whole_turn_is_a_clear_error(tiny_hf, small_debates):
    from probes.collect import turn_inputs

    text = small_debates[0].turns[0].text
    with pytest.raises(ProbeError, match="only masked tokens"):
        turn_inputs(0, small_debates[0], tiny_hf, "turn_mean", (text,))
