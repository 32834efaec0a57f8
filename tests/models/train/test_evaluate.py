"""Scoring systems on arithmetic: matched decoding, the debate's vote, and paired statistics over the same questions."""

from __future__ import annotations

import numpy as np
import pytest

from models.debate.format import AgentTurn, Transcript
from models.debate.runner import DebateRun, TurnCount
from models.train.evaluate import (
    Decoding,
    SystemScore,
    _debate_row,
    align,
    compare,
    evaluate,
    pool,
    agents_vote_score,
    consensus_agreement,
    round1_vote,
    token_ratio,
)

QUESTIONS = ["1 + 2 * 3 - 4", "15 + 6 * 7 - 3"]
GOLDS = ["3", "54"]


def _score(system: str, correct: list[int], tokens: list[int], questions: list[str] | None = None) -> SystemScore:
    questions = questions or [f"q{i}" for i in range(len(correct))]
    rows = [{"question": q, "correct": bool(c), "input_tokens": t, "output_tokens": 0}
            for q, c, t in zip(questions, correct, tokens)]
    return SystemScore.from_rows(system, rows)


# --------------------------------------------------------------------------- matched decoding

def test_decoding_is_greedy_by_default_and_checks_its_fields():
    assert not Decoding().do_sample and Decoding().describe() == "greedy" and Decoding(seed=3).call_seed(1) is None
    sampled = Decoding(0.7, 0.9, seed=5)
    assert sampled.do_sample and sampled.call_seed(2) == 7
    assert sampled.describe() == "sampled (temperature 0.7, top-p 0.9, seed 5)"
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        Decoding(-1.0)
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        Decoding(0.7, top_p=0.0)
    with pytest.raises(ValueError, match="seed must be None or >= 0"):
        Decoding(0.7, seed=-1)


@pytest.mark.parametrize("decoding", [Decoding(), Decoding(0.7, 0.9, seed=11)])
def test_every_system_decodes_the_same_way(tiny_hf, monkeypatch, decoding):
    calls: list[tuple] = []
    real = tiny_hf.generate

    def spy(*args, **kw):
        calls.append((kw.get("do_sample", False), kw.get("temperature", 1.0), kw.get("top_p", 1.0)))
        return real(*args, **kw)

    monkeypatch.setattr(tiny_hf, "generate", spy)
    scores = [evaluate(tiny_hf, system, QUESTIONS, GOLDS, max_new_tokens=3, debate_max_new_tokens=2,
                       decoding=decoding) for system in ("single", "debate", "transcript")]
    # single: 1 call; debate: round 1 and round 2; transcript: 1 call. All with the same options.
    assert len(calls) == 4 and len(set(calls)) == 1
    assert calls[0][0] is decoding.do_sample
    if decoding.do_sample:
        assert calls[0][1:] == (decoding.temperature, decoding.top_p)
    for score in scores:
        assert score.decoding == decoding.describe() and {r["decoding"] for r in score.rows} == {decoding.describe()}


def test_seeded_sampling_repeats_and_greedy_ignores_the_seed(tiny_hf):
    def outputs(decoding):
        return [r["output"] for r in evaluate(tiny_hf, "transcript", QUESTIONS, GOLDS, max_new_tokens=6,
                                              decoding=decoding).rows]

    assert outputs(Decoding(1.0, seed=4)) == outputs(Decoding(1.0, seed=4))
    assert outputs(Decoding(seed=1)) == outputs(Decoding(seed=2)) == outputs(Decoding())


def test_evaluate_refuses_mismatched_golds(tiny_hf):
    with pytest.raises(ValueError, match="questions has 2 items but golds has 1"):
        evaluate(tiny_hf, "single", QUESTIONS, GOLDS[:1])


# --------------------------------------------------------------------------- the explicit debate's vote

def _debate(answers: tuple[tuple[str | None, ...], ...]) -> DebateRun:
    turns = tuple(AgentTurn(a, r + 1, "text") for r in range(len(answers)) for a in (1, 2, 3))
    counts = tuple(TurnCount(a, r + 1, 10 * (r + 1), r + 1) for r in range(len(answers)) for a in (1, 2, 3))
    # The consensus line still holds round 1's answer: the row must score the vote, not the trace's last box.
    return DebateRun(Transcript("q", turns, "\\boxed{7}", "7"), counts, answers)


def test_debate_row_scores_the_last_round_vote_and_round_one_for_free():
    row = _debate_row(_debate((("7", "7", "8"), ("9", "9", "7"))), "7")
    assert row["answer"] == "9" and not row["correct"] and row["votes"] == 2
    assert row["round1_answer"] == "7" and row["round1_correct"]
    assert (row["input_tokens"], row["output_tokens"]) == (90, 9)
    assert (row["round1_input_tokens"], row["round1_output_tokens"]) == (30, 3)
    silent = _debate_row(_debate((("7", "7", "7"), (None, None, None))), "7")
    assert silent["answer"] is None and not silent["correct"]  # no answer in the last round is wrong

    score = SystemScore.from_rows("debate", [row, silent])
    first = round1_vote(score)
    assert first.system == "debate_round1" and first.accuracy == 1.0 and first.mean_tokens == 33
    with pytest.raises(ValueError, match="round1_vote takes the score of the 'debate' system"):
        round1_vote(_score("single", [1], [5]))


def test_transcripts_are_reread_by_their_agents_vote_and_their_consensus_is_classified():
    def written(boxes: list[str], consensus: str) -> str:
        turns = "".join(f"<|Agent {a} Solution|>: \\boxed{{{b}}}\n\n" for a, b in enumerate(boxes, 1))
        return f"{turns}<|Consensus|>\nconsensus of \\boxed{{{consensus}}}\n\n<|endofdebate|>"

    outputs = [written(["3", "3", "5"], "5"),   # copies Agent 3, outvoted: wrong; the vote is right
               written(["3", "3", "3"], "3"),   # agreement: neither a copy nor a vote can be told apart
               written(["54", "50", "54"], "54")]  # copies Agent 3 and follows the vote
    rows = [{"question": q, "gold": g, "correct": False, "input_tokens": 4, "output_tokens": 9, "output": o}
            for q, g, o in zip(["a", "b", "c"], ["3", "3", "54"], outputs)]
    score = SystemScore.from_rows("sft", rows)
    vote = agents_vote_score(score)
    assert vote.system == "sft_vote" and vote.accuracy == 1.0 and vote.mean_tokens == score.mean_tokens == 13
    agreement = consensus_agreement(score, resamples=200)
    assert agreement["n"] == 3 and agreement["agents_disagree"] == 2
    assert agreement["copies_last"]["value"] == 1.0 and agreement["follows_vote"]["value"] == 0.5
    none = consensus_agreement(SystemScore.from_rows("sft", rows[1:2]), resamples=200)
    assert none["agents_disagree"] == 0 and none["copies_last"] is None and none["follows_vote"] is None


# --------------------------------------------------------------------------- paired statistics

def test_compare_pairs_questions_and_counts_discordant_items():
    a = _score("imad", [1, 1, 1, 0, 1, 0], [10, 10, 10, 10, 10, 10])
    b = _score("sft", [1, 0, 0, 0, 1, 1], [20, 20, 20, 20, 20, 20])
    c = compare(a, b, resamples=500)
    assert c.accuracy_difference.value == pytest.approx(4 / 6 - 3 / 6)
    assert c.accuracy_difference.low <= c.accuracy_difference.value <= c.accuracy_difference.high
    assert (c.test.only_a, c.test.only_b) == (2, 1) and 0 < c.test.p_value <= 1
    assert c.token_difference.value == -10 and c.token_difference.low == c.token_difference.high == -10
    assert c.to_json()["mcnemar"] == {"only_a": 2, "only_b": 1, "p_value": c.test.p_value}
    ratio = token_ratio(a, b, resamples=500)
    assert ratio.value == pytest.approx(0.5) and ratio.low == pytest.approx(0.5)


def test_identical_systems_differ_by_exactly_zero():
    a = _score("a", [1, 0, 1, 1], [5, 6, 7, 8])
    c = compare(a, a, resamples=200)
    assert (c.accuracy_difference.low, c.accuracy_difference.high) == (0.0, 0.0) and c.test.p_value == 1.0


def test_unpaired_systems_are_refused_until_aligned():
    a = _score("imad", [1, 0, 1], [5, 5, 5], ["x", "y", "z"])
    b = _score("debate", [0, 1], [50, 50], ["z", "x"])
    with pytest.raises(ValueError, match="not scored on the same questions"):
        compare(a, b, resamples=200)
    x, y = align(a, b)
    assert x.questions == y.questions == ["z", "x"] and list(x.correct) == [1.0, 1.0]
    with pytest.raises(ValueError, match="was not scored on 1 of the questions, e.g. 'w'"):
        a.restrict(["x", "w"])


def test_pool_joins_samples_of_one_system():
    pooled = pool([_score("sft", [1, 0], [4, 6], ["a", "b"]), _score("sft", [1], [8], ["c"])])
    assert pooled.n == 3 and pooled.accuracy == pytest.approx(2 / 3) and pooled.mean_tokens == 6
    assert np.array_equal(pooled.tokens, [4, 6, 8])
    with pytest.raises(ValueError, match="pool takes scores of one system"):
        pool([_score("sft", [1], [4]), _score("imad", [1], [4])])
