"""Explicit debate runner, end to end on the tiny random model (structure and token counts, not quality)."""

from __future__ import annotations

import pytest

from models.debate import parse, read_debate_file, render
from models.debate.prompts import SYSTEM_PROMPTS, math_question_prompt
from models.debate.runner import (
    DebateRunConfig,
    majority_vote,
    normalize_answer,
    run_debates,
    write_runs,
)
from models.vocab import plain_chat

QUESTIONS = ["1+2*3-4", "15+62*7-38"]  # different lengths, so one batch needs padding
NEW = 4


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny random checkpoint, saved and loaded through the toolkit's public loader."""
    from models import load
    from models.tiny import save_tiny

    return load(save_tiny(tmp_path_factory.mktemp("debate-runner") / "tiny-random"))


@pytest.fixture(scope="module")
def runs(tiny):
    cfg = DebateRunConfig(max_new_tokens=NEW, batch_questions=2, do_sample=False)  # one call per round
    return run_debates(tiny, QUESTIONS, cfg, gold_answers=["3", "411"])


def test_runs_produce_well_formed_two_round_transcripts(runs):
    assert [r.transcript.question for r in runs] == QUESTIONS
    for r in runs:
        t = r.transcript
        assert t.n_rounds == 2 and [(x.round, x.agent) for x in t.turns] == [(1, 1), (1, 2), (1, 3),
                                                                                (2, 1), (2, 2), (2, 3)]
        parsed = parse(render(t))
        assert [x.text for x in parsed.transcript.turns] == [x.text for x in t.turns]
        assert t.metadata["consensus_type"] in ("full_consensus", "majority", "no_majority", "no_answer")
        assert len(r.answers) == 2 and all(len(a) == 3 for a in r.answers)


def test_token_counts_are_per_row(tiny, runs):
    for r in runs:
        assert len(r.counts) == 6
        assert all(1 <= c.n_new_tokens <= NEW for c in r.counts)
        assert r.n_input_tokens == sum(c.n_prompt_tokens for c in r.counts)
        assert r.n_tokens == r.n_input_tokens + r.n_output_tokens
    # Round-1 prompt length equals the unpadded tokenization of that agent's prompt alone.
    prompt = tiny.tokenizer(f"User: {math_question_prompt(QUESTIONS[0])}\nAssistant:")["input_ids"]
    assert runs[0].counts[0].n_prompt_tokens == len(prompt)


def test_batching_does_not_change_counts(tiny, runs):
    # The short question was left-padded in the shared batch; alone it has no padding at all.
    (alone,) = run_debates(tiny, QUESTIONS[:1], DebateRunConfig(max_new_tokens=NEW, do_sample=False))
    assert [c.n_prompt_tokens for c in alone.counts] == [c.n_prompt_tokens for c in runs[0].counts]
    assert [c.n_new_tokens for c in alone.counts] == [c.n_new_tokens for c in runs[0].counts]
    assert runs[0].counts[0].n_prompt_tokens < runs[1].counts[0].n_prompt_tokens


def test_one_round_and_personas(tiny):
    (r,) = run_debates(tiny, QUESTIONS[:1], DebateRunConfig(n_rounds=1, max_new_tokens=2, personas="diverse"))
    assert r.transcript.n_rounds == 1 and len(r.counts) == 3
    assert [x.label.persona for x in r.transcript.turns] == ["chain_of_thought", "self_critique",
                                                             "program_of_thought"]
    # Each agent's prompt is its persona's system prompt followed by the question, counted exactly.
    prompts = [plain_chat(math_question_prompt(QUESTIONS[0]), SYSTEM_PROMPTS[x.label.persona])
               for x in r.transcript.turns]
    assert [c.n_prompt_tokens for c in r.counts] == [len(tiny.tokenizer(p)["input_ids"]) for p in prompts]
    assert len({c.n_prompt_tokens for c in r.counts}) == 3


def test_written_runs_read_back(tmp_path, runs):
    path = write_runs(runs, tmp_path / "runs.json")
    data = read_debate_file(path)
    assert data.schema == "arithmetic" and len(data.transcripts) == 2
    assert [t.gold_answer for t in data.transcripts] == ["3", "411"]
    assert [render(t) for t in data.transcripts] == [render(r.transcript) for r in runs]


def test_sampling_is_reproducible_per_seed(tiny):
    cfg = DebateRunConfig(n_rounds=1, max_new_tokens=3, seed=7)
    a = run_debates(tiny, QUESTIONS[:1], cfg)[0].transcript
    b = run_debates(tiny, QUESTIONS[:1], cfg)[0].transcript
    assert [t.text for t in a.turns] == [t.text for t in b.turns]


def test_config_and_answer_normalisation():
    with pytest.raises(ValueError, match="n_rounds"):
        DebateRunConfig(n_rounds=3)
    with pytest.raises(ValueError, match="personas must be one of .*, got 'pirates'"):
        DebateRunConfig(personas="pirates")  # type: ignore[arg-type]  # checking the runtime error
    assert normalize_answer(" 2,429 ") == "2429" and normalize_answer("$18.") == "18"
    assert normalize_answer(None) is None and normalize_answer(" $. ") is None and normalize_answer("1,23") == "1,23"


def test_majority_vote_counts_answers_and_breaks_ties_by_agent_order():
    assert majority_vote(["7", "8", "7"]) == ("7", 2)
    assert majority_vote(["9", "8", "7"]) == ("9", 1)  # no majority: agent 1's answer, as the consensus line says
    assert majority_vote([None, "8", None]) == ("8", 1)  # a missing answer does not vote
    assert majority_vote([None, None, None]) == (None, 0)


def test_plain_format_turns_end_at_the_next_role_line():
    from models.debate.runner import plain_turn
    from models.tiny import build_tokenizer
    from models.vocab import end_of_turn

    text = "p = 9 * 6\n\\boxed{60}\nUser: These are the solutions from other agents: \\boxed{12}"
    assert end_of_turn(text) == "p = 9 * 6\n\\boxed{60}"
    assert end_of_turn("no next turn") == "no next turn"
    assert end_of_turn("a\nSystem: b\nUser: c") == "a"
    tok = build_tokenizer()
    full = len(tok(text, add_special_tokens=False)["input_ids"])
    turn, kept = plain_turn(tok, text, full)
    assert turn == end_of_turn(text)
    assert kept == len(tok(end_of_turn(text), add_special_tokens=False)["input_ids"]) + 1 < full
    assert plain_turn(tok, "same", 7) == ("same", 7)


def test_a_plain_format_agent_answers_within_its_own_turn():
    """Regression: the shipped tiny base writes past its round-1 answer into an imagined "User:" turn full of
    other answers; those boxes used to become the agent's answer and the next round's context."""
    from models import load

    base = load("tiny-base")
    cfg = DebateRunConfig(personas="diverse", n_rounds=1, max_new_tokens=384, do_sample=False)
    [run] = run_debates(base, ["9 + 9 * 6 - 3"], cfg, gold_answers=["60"])
    assert all("User:" not in t.text and "System:" not in t.text for t in run.transcript.turns)
    assert all(c.n_new_tokens < 384 for c in run.counts)  # paid up to the end of the turn, not to the cap
    assert run.answers[0][0] == "60"
