"""Transcript format: exact round trip, spans that point at the right text, named errors."""

from __future__ import annotations

import random

import pytest

from models.debate import (
    DEBATE_TAGS,
    AgentTurn,
    DebateFormatError,
    GenerateConfig,
    Transcript,
    agent_tag,
    boxed_contents,
    final_answer,
    generate_debates,
    malicious_debate,
    parse,
    parse_sft,
    render,
    render_sft,
)
from tests.models.debate.debate_samples import EVIL, ONE_ROUND, TWO_ROUND


def test_tag_vocabulary_is_the_papers_ten_tags():
    assert DEBATE_TAGS == (
        "<|Round 1 - Initial Solutions|>", "<|Round 2 - Revision|>",
        "<|Agent 1 Solution|>", "<|Agent 2 Solution|>", "<|Agent 3 Solution|>",
        "<|Agent 1 Revision|>", "<|Agent 2 Revision|>", "<|Agent 3 Revision|>",
        "<|Consensus|>", "<|endofdebate|>",
    )


@pytest.mark.parametrize("trace", [TWO_ROUND, ONE_ROUND, EVIL], ids=["two-round", "round-1-only", "evil"])
def test_hand_written_traces_round_trip_exactly(trace):
    parsed = parse(trace)
    assert render(parsed.transcript) == trace
    assert parsed.transcript.n_rounds == (1 if trace is ONE_ROUND else 2)


def test_spans_point_at_their_text():
    parsed = parse(TWO_ROUND)
    assert len(parsed.turns) == 6
    for span, turn in zip(parsed.turns, parsed.transcript.turns):
        assert span.tag.of(TWO_ROUND) == agent_tag(turn.agent, turn.round)
        assert span.text.of(TWO_ROUND) == turn.text
        assert TWO_ROUND[span.tag.end:span.text.start] == ": "
    assert parsed.consensus.of(TWO_ROUND) == "All agents reached a consensus of \\boxed{529}"
    assert [s.of(TWO_ROUND) for s in parsed.round_tags] == list(DEBATE_TAGS[:2])
    assert parsed.end_tag.of(TWO_ROUND) == "<|endofdebate|>" and parsed.end_tag.end == len(TWO_ROUND)
    assert parsed.transcript.turn(2, 1).text.endswith("\\(\\boxed{608}\\).")
    assert parsed.transcript.final_answer == "529"


def test_generated_debates_round_trip():
    debates, _ = generate_debates(GenerateConfig(kind="arithmetic", n=25, seed=3, tier="paper"))
    rng = random.Random(0)
    debates += [malicious_debate("evil", rng) for _ in range(5)] + [malicious_debate("hallucination", rng)
                                                                     for _ in range(5)]
    assert any(d.n_rounds == 1 for d in debates) and any(d.n_rounds == 2 for d in debates)
    for d in debates:
        text = render(d)
        parsed = parse(text)
        assert render(parsed.transcript) == text
        assert [t.text for t in parsed.transcript.turns] == [t.text for t in d.turns]
        assert parsed.transcript.consensus == d.consensus


@pytest.mark.parametrize("text", ["", "ends with newline\n", "trailing spaces  ", "a\n\nb\n\n\nc",
                                  "mentions <|im_end|> and \\boxed{{x}}", " leading space"])
def test_awkward_turn_texts_round_trip(text):
    turns = tuple(AgentTurn(a, 1, text) for a in (1, 2, 3))
    t = Transcript("q", turns, "All agents reached a consensus of \\boxed{1}")
    parsed = parse(render(t))
    assert parsed.transcript.turns == turns and render(parsed.transcript) == render(t)


@pytest.mark.parametrize("broken, message", [
    (TWO_ROUND.replace("<|Agent 3 Solution|>", "<|Agent 4 Solution|>"), "unknown agent 4"),
    (TWO_ROUND.replace("<|Agent 2 Revision|>", "<|Agent 1 Revision|>"), "duplicated tag <|Agent 1 Revision|>"),
    (TWO_ROUND.replace("<|Consensus|>\n", ""), "missing <|Consensus|>"),
    (TWO_ROUND.replace("<|endofdebate|>", ""), "missing <|endofdebate|>"),
    (TWO_ROUND.replace("\n\n<|Agent 3 Revision|>: I agree with the first agent's solution. \\(\\boxed{529}\\).", ""),
     "missing <|Agent 3 Revision|>"),
    (ONE_ROUND.replace("<|Agent 1 Solution|>", "<|Agent X|>").replace("<|Agent 2 Solution|>", "<|Agent 1 Solution|>")
     .replace("<|Agent X|>", "<|Agent 2 Solution|>"), "out-of-order tag"),
    (TWO_ROUND + "\n", "unexpected text after <|endofdebate|>"),
    ("Question: q\n" + TWO_ROUND, "must start with <|Round 1 - Initial Solutions|>"),
    (TWO_ROUND.replace("<|Agent 2 Solution|>: ", "<|Agent 2 Solution|>:"), "expected ': '"),
    (TWO_ROUND.replace(".\n\n<|Agent 2 Solution|>", ".\n<|Agent 2 Solution|>"), "blank line"),
    (TWO_ROUND.replace("<|Round 2 - Revision|>", "<|Round 3 - Revision|>"), "unknown tag <|Round 3 - Revision|>"),
])
def test_malformed_traces_raise_named_errors(broken, message):
    with pytest.raises(DebateFormatError, match=message.replace("|", r"\|").replace("(", r"\(")):
        parse(broken)


def test_debate_format_error_is_a_value_error_with_location():
    err = DebateFormatError("expected a string, got null").located("x.json", 17, "debate_trace")
    assert isinstance(err, ValueError)
    assert str(err) == "x.json entry 17 field 'debate_trace': expected a string, got null"


def test_transcript_rejects_bad_turn_order():
    with pytest.raises(DebateFormatError, match="turns must be"):
        Transcript("q", (AgentTurn(2, 1, "a"), AgentTurn(1, 1, "b"), AgentTurn(3, 1, "c")), "done")
    with pytest.raises(DebateFormatError, match="agent 4 does not exist"):
        agent_tag(4, 1)


@pytest.mark.parametrize("text, answer", [
    ("so \\boxed{12} then \\boxed{-7}.", "-7"),
    ("\\(\\boxed{529}\\)", "529"),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("\\boxed{3} and an unfinished \\boxed{4", "3"),
    ("no box here", None),
])
def test_final_answer_is_the_last_complete_box(text, answer):
    assert final_answer(text) == answer


def test_boxed_contents_keeps_nested_braces():
    assert boxed_contents("\\boxed{a{b}c} x \\boxed{d}") == ["a{b}c", "d"]


def test_sft_text_spans_index_the_full_text():
    t = parse(TWO_ROUND).transcript
    t = Transcript("27+23*96+79-21*85", t.turns, t.consensus)
    text = render_sft(t)
    assert text.startswith("Problem: 27+23*96+79-21*85\n\n<|Round 1")
    parsed = parse_sft(text)
    assert parsed.transcript == t
    assert parsed.prompt.of(text) == "Problem: 27+23*96+79-21*85\n\n"
    for span, turn in zip(parsed.turns, t.turns):
        assert span.text.of(text) == turn.text and span.tag.of(text) == turn.tag


def test_strip_tags_leaves_the_words() -> None:
    from models.debate.format import CONSENSUS_TAG, END_TAG, ROUND_TAGS, agent_tag, strip_tags

    text = f"{ROUND_TAGS[1]}\n\n{agent_tag(1, 1)}: 2 + 3 = \\boxed{{5}}\n{CONSENSUS_TAG}: All agree {END_TAG}"
    assert strip_tags(text) == "2 + 3 = \\boxed{5} All agree"
