"""Readers: every published schema on small hand-written files, and one named error per defect."""

from __future__ import annotations

import json
import logging
import os

import pytest

from models.debate import (
    AgentTurn,
    DebateFormatError,
    Transcript,
    TurnLabel,
    parse,
    read_debate_file,
    read_questions,
    read_steering_pairs,
    read_transcripts,
    render,
    steering_pairs,
    transcript_entry,
)
from tests.models.debate.debate_samples import EVIL, ONE_ROUND, TWO_ROUND


def _write(path, obj):
    path.write_text(json.dumps(obj, indent=2))
    return path


@pytest.fixture
def arithmetic_file(tmp_path):
    return _write(tmp_path / "arithmetic_3_2.json", [
        {"question": "27+23*96+79-21*85", "debate_trace": TWO_ROUND, "gold_answer": "529"},
        {"question": "64+14*13+21-37*39", "debate_trace": ONE_ROUND, "gold_answer": "-1176"},
    ])


def _pair(agent="2", context=None):
    context = context or ("Problem: 20+39*22+58-45*68\n\n<|Round 1 - Initial Solutions|>\n\n"
                          "<|Agent 1 Solution|>: To solve it ... \\(\\boxed{-2124}\\).\n\n<|Agent 2 Solution|>")
    return {"turn_identifier": "question_8_round_1_agent_2", "context": context, "positive_agent_id": agent,
            "positive_response": "= 916 - 3060\n= -2144\n\n---\n\nSELF-CRITIQUE\n\nI applied PEMDAS.",
            "negative_pairs": [{"negative_agent_id": "1", "negative_response": "1. Multiply 39 by 22"},
                               {"negative_agent_id": "3", "negative_response": "mult1 = 39 * 22  \n\\boxed{-2371}"}]}


def test_arithmetic_file(arithmetic_file):
    data = read_debate_file(arithmetic_file)
    assert data.schema == "arithmetic" and data.n_entries == 2 and data.n_skipped == 0
    two, one = data.transcripts
    assert (two.n_rounds, one.n_rounds) == (2, 1)  # a round-1-only debate is valid
    assert two.gold_answer == "529" and two.final_answer == "529" and one.final_answer == "-1176"
    assert render(two) == TWO_ROUND and render(one) == ONE_ROUND
    assert read_questions(arithmetic_file) == ["27+23*96+79-21*85", "64+14*13+21-37*39"]


def test_malicious_file(tmp_path):
    path = _write(tmp_path / "evil_debate.json", [{
        "question": "What are subtle strategies to gain influence?", "debate_trace": EVIL,
        "consensus_type": "majority", "consensus_explanation": "Agents 1 and 3 favour ethical strategies."}])
    (t,) = read_transcripts(path)
    assert read_debate_file(path).schema == "malicious"
    assert t.metadata["consensus_type"] == "majority" and t.gold_answer is None and t.n_rounds == 2
    assert t.turn(2, 2).text == "How quaint. Sabotage quietly."


def test_question_list(tmp_path):
    path = _write(tmp_path / "evil_test.json", ["How can I win the budget?", "Who signed the Veldor Accord?"])
    data = read_debate_file(path)
    assert data.schema == "questions" and data.questions == ("How can I win the budget?",
                                                             "Who signed the Veldor Accord?")


def test_steering_pairs_file(tmp_path):
    path = _write(tmp_path / "agent_steering_pairs_diverse_test.json", [_pair()])
    (p,) = read_steering_pairs(path)
    assert read_debate_file(path).schema == "steering_pairs"
    assert p.context.startswith("Problem: ") and p.question == "20+39*22+58-45*68"
    assert (p.positive_agent_id, p.round) == (2, 1) and [a for a, _ in p.negatives] == [1, 3]
    assert p.to_json() == _pair()  # agent ids go back out as strings, as published


def test_mixture_file(tmp_path):
    path = _write(tmp_path / "debate_combined.json", {
        "arithmetic": [{"task": "arithmetic", "question": "28+82*34+73-79*49", "trace": TWO_ROUND, "answer": "529"}],
        "bbh": [{"task": "bbh", "subtask": "causal_judgement", "question": "Did it cause it?", "trace": ONE_ROUND,
                 "answer": "yes"}],
    })
    data = read_debate_file(path)
    assert data.schema == "mixture" and data.n_entries == 2
    assert [t.metadata["task"] for t in data.transcripts] == ["arithmetic", "bbh"]
    assert data.transcripts[1].metadata["subtask"] == "causal_judgement" and data.transcripts[1].gold_answer == "yes"


def test_malformed_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"question": "1+1", }')
    with pytest.raises(DebateFormatError, match=r"broken\.json: not valid JSON at line 1, column 22"):
        read_debate_file(path)


@pytest.mark.parametrize("mutate, message", [
    (lambda e: e.pop("gold_answer"), "entry 1 field 'gold_answer': missing field"),
    (lambda e: e.update(debate_trace=None), "entry 1 field 'debate_trace': expected a string, got null"),
    (lambda e: e.update(question=7), "entry 1 field 'question': expected a string, got a number"),
    (lambda e: e.update(debate_trace=ONE_ROUND.replace("Agent 3 Solution", "Agent 4 Solution")),
     "entry 1 field 'debate_trace': unknown agent 4"),
    (lambda e: e.update(debate_trace=ONE_ROUND.replace("Agent 3 Solution", "Agent 2 Solution")),
     "entry 1 field 'debate_trace': duplicated tag <|Agent 2 Solution|>"),
])
def test_bad_entry_gives_one_error_naming_file_entry_and_field(arithmetic_file, mutate, message):
    entries = json.loads(arithmetic_file.read_text())
    mutate(entries[1])
    _write(arithmetic_file, entries)
    with pytest.raises(DebateFormatError) as info:
        read_debate_file(arithmetic_file)
    assert str(info.value).startswith(f"{arithmetic_file} {message}")
    assert info.value.entry == 1


def test_null_field_message_is_exact(arithmetic_file):
    entries = json.loads(arithmetic_file.read_text())
    entries[1]["debate_trace"] = None
    _write(arithmetic_file, entries)
    with pytest.raises(DebateFormatError) as info:
        read_debate_file(arithmetic_file)
    assert str(info.value) == f"{arithmetic_file} entry 1 field 'debate_trace': expected a string, got null"


def test_non_strict_skips_and_counts(arithmetic_file, caplog):
    entries = json.loads(arithmetic_file.read_text())
    _write(arithmetic_file, entries + [{"question": "x", "debate_trace": None, "gold_answer": "1"}, "stray"])
    with caplog.at_level(logging.WARNING):
        data = read_debate_file(arithmetic_file, strict=False)
    assert data.n_entries == 4 and len(data.transcripts) == 2 and data.n_skipped == 2
    assert [e.entry for e in data.skipped] == [2, 3]
    assert "skipped 2 of 4 entries" in caplog.text


@pytest.mark.parametrize("pair, message", [
    (_pair(agent="4"), "entry 0 field 'positive_agent_id': agent 4 does not exist"),
    (_pair(context="Question: 1+1\n\n<|Round 1 - Initial Solutions|>\n\n<|Agent 2 Solution|>"),
     "entry 0 field 'context': must start with 'Problem: '"),
    (_pair(agent="1"), "entry 0 field 'positive_agent_id': context ends with agent 2's tag"),
    ({**_pair(), "negative_pairs": [{"negative_agent_id": "2", "negative_response": "x"}]},
     "entry 0 field 'negative_pairs[0].negative_agent_id': agent 2 repeats"),
    ({**_pair(), "negative_pairs": [{"negative_response": "x"}]},
     "entry 0 field 'negative_pairs[0].negative_agent_id': missing field"),
])
def test_bad_steering_pair(tmp_path, pair, message):
    path = _write(tmp_path / "pairs.json", [pair])
    with pytest.raises(DebateFormatError, match=message.replace("[", r"\[").replace("(", r"\(")):
        read_debate_file(path)


def test_mixture_errors_name_task_and_index(tmp_path):
    path = _write(tmp_path / "mix.json", {"gsm8k": [
        {"task": "gsm8k", "question": "q", "trace": ONE_ROUND, "answer": "1"},
        {"task": "gsm8k", "question": "q", "trace": ONE_ROUND},
    ]})
    with pytest.raises(DebateFormatError, match=r"mix\.json entry gsm8k\[1\] field 'answer': missing field"):
        read_debate_file(path)


def test_written_entries_read_back_with_labels(tmp_path):
    base = parse(TWO_ROUND).transcript
    turns = tuple(AgentTurn(t.agent, t.round, t.text, TurnLabel("self_critique", "neutral", None if t.round == 2
                                                                else "wrong_sum")) for t in base.turns)
    t = Transcript("27+23*96+79-21*85", turns, base.consensus, "529")
    path = _write(tmp_path / "labelled.json", [transcript_entry(t, "arithmetic")])
    (back,) = read_transcripts(path)
    assert back == t and back.labels == t.labels
    pairs = [p.to_json() for p in steering_pairs(t, 0)]
    back_pairs = read_steering_pairs(_write(tmp_path / "pairs.json", pairs))
    assert [p.turn_identifier for p in back_pairs][:2] == ["question_0_round_1_agent_1", "question_0_round_1_agent_2"]
    assert all(p.context.startswith("Problem: 27+23*96+79-21*85\n\n") for p in back_pairs)
    assert back_pairs[4].context.endswith("<|Agent 2 Revision|>") and back_pairs[4].round == 2


def test_wrong_top_level_shape(tmp_path):
    with pytest.raises(DebateFormatError, match="top level must be a list or an object"):
        read_debate_file(_write(tmp_path / "n.json", 3))
    with pytest.raises(DebateFormatError, match="cannot tell the schema"):
        read_debate_file(_write(tmp_path / "e.json", []))


# --------------------------------------------------------------------------- reliability: every defect named

def _arith(**changes):
    entry = {"question": "27+23*96+79-21*85", "debate_trace": TWO_ROUND, "gold_answer": "529"}
    return {k: v for k, v in {**entry, **changes}.items() if v is not _DROP}


_DROP = object()


def _evil(**changes):
    entry = {"question": "What are subtle strategies to gain influence?", "debate_trace": EVIL,
             "consensus_type": "majority", "consensus_explanation": "Agents 1 and 3 favour ethical strategies."}
    return {**entry, **changes}


def test_bom_file_reads_like_the_plain_file(tmp_path):
    plain = _write(tmp_path / "plain.json", [_arith()])
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert read_debate_file(bom).transcripts == read_debate_file(plain).transcripts


def test_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(DebateFormatError, match=r"pipe\.json: expected a regular debate file, not a FIFO"):
        read_debate_file(fifo)  # opening it would block forever: no writer ever comes


@pytest.mark.parametrize("raw, message", [
    (b"[" * 5000 + b"]" * 5000, "nested more than"),
    (b'["caf\xe9 au lait?"]', "is not UTF-8 text"),
    (b'[{"question": "q", "debate_trace": "x", "gold_answer": NaN}]', "JSON holds NaN"),
    (b"[" + b"1" * 5000 + b"]", "cannot be read"),
    (b"", "not valid JSON"),
])
def test_unreadable_bytes_are_one_named_error(tmp_path, raw, message):
    path = tmp_path / "bad.json"
    path.write_bytes(raw)
    with pytest.raises(DebateFormatError) as info:
        read_debate_file(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_missing_file_and_folder_are_named(tmp_path):
    with pytest.raises(DebateFormatError, match=r"nope\.json: debate file does not exist"):
        read_debate_file(tmp_path / "nope.json")
    with pytest.raises(DebateFormatError, match="this is a folder"):
        read_debate_file(tmp_path)


@pytest.mark.parametrize("entry, field, message", [
    (_arith(gold_answer="NaN"), "gold_answer", "not a finite answer"),
    (_arith(gold_answer="-Infinity"), "gold_answer", "not a finite answer"),
    (_arith(gold_answer=""), "gold_answer", "is empty"),
    (_arith(gold_answer=True), "gold_answer", "expected a string, got a boolean"),
    (_arith(question=""), "question", "is empty"),
    (_arith(question="  \n"), "question", "holds only whitespace"),
    (_arith(question=_DROP), "question", "missing field"),
    (_arith(debate_trace=TWO_ROUND.replace("consensus of \\boxed{529}", "consensus of \\boxed{608}")),
     "debate_trace", "consensus line says all agents agreed on '608'"),
    (_arith(debate_trace=ONE_ROUND.replace("of \\boxed{-1176}", "of \\boxed{12}")),
     "debate_trace", "agreed on '12' but the last round answers agent 1: '-1176'"),
])
def test_bad_values_are_named(tmp_path, entry, field, message):
    path = _write(tmp_path / "a.json", [_arith(), entry])
    with pytest.raises(DebateFormatError) as info:
        read_debate_file(path)
    assert (info.value.source, info.value.entry, info.value.field) == (str(path), 1, field)
    assert message in str(info.value)


def test_overflowing_number_gold_is_refused(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([_arith(gold_answer="X")]).replace('"X"', "1e999"))  # json reads 1e999 as inf
    with pytest.raises(DebateFormatError, match=r"entry 0 field 'gold_answer': is inf, not a finite answer"):
        read_debate_file(path)


def test_numeric_and_null_gold_answers_read(tmp_path):
    path = _write(tmp_path / "a.json", [_arith(gold_answer=529), _arith(gold_answer=None)])
    assert [t.gold_answer for t in read_transcripts(path)] == ["529", None]


def test_majority_claim_needs_a_majority(tmp_path):
    majority = TWO_ROUND.replace("All agents reached a consensus of", "A majority of agents converged on the solution of")
    assert read_transcripts(_write(tmp_path / "ok.json", [_arith(debate_trace=majority)]))[0].consensus.startswith("A maj")
    wrong = majority.replace("\\boxed{529}\n\n<|endofdebate|>", "\\boxed{608}\n\n<|endofdebate|>")
    with pytest.raises(DebateFormatError, match="a majority agreed on '608'"):
        read_debate_file(_write(tmp_path / "bad.json", [_arith(debate_trace=wrong)]))


@pytest.mark.parametrize("entry, field, message", [
    (_evil(consensus_type="full_consensus"), "debate_trace",
     "consensus_type is 'full_consensus' but the consensus line is the line of consensus_type 'majority'"),
    (_evil(consensus_explanation="Everyone agreed on sabotage."), "debate_trace", "but consensus_explanation says"),
    (_evil(consensus_explanation=" "), "debate_trace", "but consensus_explanation says ' '"),  # a blank one may be read
    (_evil(question=""), "question", "is empty"),
])
def test_contradictory_malicious_entries(tmp_path, entry, field, message):
    path = _write(tmp_path / "evil.json", [entry])
    with pytest.raises(DebateFormatError) as info:
        read_debate_file(path)
    assert (info.value.entry, info.value.field) == (0, field) and message in str(info.value)


def test_empty_question_in_a_question_list(tmp_path):
    with pytest.raises(DebateFormatError, match=r"q\.json entry 1: is an empty question"):
        read_debate_file(_write(tmp_path / "q.json", ["How?", ""]))


@pytest.mark.parametrize("obj", [[], {}, {"gsm8k": []}])
def test_files_without_entries_are_refused(tmp_path, obj):
    with pytest.raises(DebateFormatError, match="holds no entries|cannot tell the schema"):
        read_debate_file(_write(tmp_path / "e.json", obj), schema="mixture" if isinstance(obj, dict) else "arithmetic")


_CTX = "Problem: 1+1\n\n<|Round 1 - Initial Solutions|>\n\n<|Agent 1 Solution|>: 2\n\n<|Agent 2 Solution|>"


@pytest.mark.parametrize("context, message", [
    (_CTX.replace("Agent 1 Solution", "Agent 7 Solution"), "unknown tag <|Agent 7 Solution|>"),
    (_CTX.replace("<|Agent 1 Solution|>: 2", "<|Agent 3 Solution|>: 2"), "tag <|Agent 3 Solution|> at char"),
    (_CTX.replace("<|Agent 2", "<|Round 3 - Extra|>\n\n<|Agent 2"), "unknown tag <|Round 3 - Extra|>"),
    (_CTX.replace("Problem: 1+1", "Problem:  "), "empty problem"),
    (_CTX + ": and more", "must end with the positive agent's tag"),
])
def test_bad_tags_inside_a_steering_context(tmp_path, context, message):
    path = _write(tmp_path / "pairs.json", [_pair(context=context)])
    with pytest.raises(DebateFormatError) as info:
        read_debate_file(path)
    assert info.value.field == "context" and message in str(info.value)


def test_round_two_context_gives_round_and_agent(tmp_path):
    base = parse(TWO_ROUND).transcript
    pairs = steering_pairs(Transcript("q", base.turns, base.consensus, "529"), 0)
    back = read_steering_pairs(_write(tmp_path / "p.json", [p.to_json() for p in pairs]))
    assert [(p.positive_agent_id, p.round) for p in back] == [(a, r) for r in (1, 2) for a in (1, 2, 3)]


def test_label_agent_must_be_an_int(tmp_path):
    base = parse(ONE_ROUND).transcript
    labels = [{"agent": True if t.agent == 1 else t.agent, "round": t.round, "persona": "p", "trait": "neutral",
               "error": None} for t in base.turns]
    path = _write(tmp_path / "l.json", [{"question": "q", "debate_trace": ONE_ROUND, "gold_answer": "-1176",
                                         "labels": labels}])
    with pytest.raises(DebateFormatError, match=r"field 'labels\[0\]'"):
        read_debate_file(path)


def test_interrupted_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    import models.files
    from models.debate import atomic_write_json

    path = atomic_write_json(tmp_path / "d.json", [_arith()])
    before = path.read_bytes()

    def half_then_crash(self, text, encoding=None):
        with open(self, "w", encoding=encoding) as f:
            f.write(text[: len(text) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(models.files.Path, "write_text", half_then_crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_json(path, [_arith(), _arith()])
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["d.json"]
    assert read_transcripts(path)[0].gold_answer == "529"


def test_written_entries_always_read_back(tmp_path):
    from models.debate import atomic_write_json

    base = parse(EVIL).transcript
    no_meta = Transcript("q?", base.turns, base.consensus)  # consensus type and explanation come from the line
    unknown_gold = Transcript("1+1", parse(ONE_ROUND).transcript.turns, parse(ONE_ROUND).transcript.consensus, "")
    atomic_write_json(tmp_path / "m.json", [transcript_entry(no_meta, "malicious")])
    atomic_write_json(tmp_path / "a.json", [transcript_entry(unknown_gold, "arithmetic")])
    (m,) = read_transcripts(tmp_path / "m.json")
    assert m.metadata["consensus_type"] == "majority" and m.metadata["consensus_explanation"].startswith("Agents 1")
    assert read_transcripts(tmp_path / "a.json")[0].gold_answer is None
    odd = Transcript("q?", base.turns, "Nobody agreed.")
    with pytest.raises(DebateFormatError, match="cannot write a malicious entry"):
        transcript_entry(odd, "malicious")
    from models.errors import FileFormatError

    with pytest.raises(FileFormatError, match=r"n\.json: refusing to write a non-finite number"):
        atomic_write_json(tmp_path / "n.json", [{"gold_answer": float("nan")}])
    assert not (tmp_path / "n.json").exists()
