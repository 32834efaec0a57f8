"""The summary CLI reads every schema and reports counts and mean tokens."""

from __future__ import annotations

import json

from models.debate.summary import main
from tests.models.debate.debate_samples import EVIL, ONE_ROUND, TWO_ROUND


def test_summary_of_every_schema(tmp_path, capsys):
    files = {
        "arith.json": [{"question": "27+23*96+79-21*85", "debate_trace": TWO_ROUND, "gold_answer": "529"},
                       {"question": "64+14*13+21-37*39", "debate_trace": ONE_ROUND, "gold_answer": "-1176"}],
        "evil.json": [{"question": "q", "debate_trace": EVIL, "consensus_type": "majority",
                       "consensus_explanation": "Agents 1 and 3 favour ethical strategies."}],
        "questions.json": ["one two three", "four five"],
        "pairs.json": [{"turn_identifier": "question_0_round_1_agent_1", "positive_agent_id": "1",
                        "context": "Problem: 1+1\n\n<|Round 1 - Initial Solutions|>\n\n<|Agent 1 Solution|>",
                        "positive_response": "two", "negative_pairs": [
                            {"negative_agent_id": "2", "negative_response": "2"},
                            {"negative_agent_id": "3", "negative_response": "x = 1 + 1"}]}],
        "mix.json": {"arithmetic": [{"task": "arithmetic", "question": "q", "trace": ONE_ROUND, "answer": "-1176"}]},
    }
    for name, obj in files.items():
        (tmp_path / name).write_text(json.dumps(obj))
    assert main([str(tmp_path / n) for n in files]) == 0
    out = capsys.readouterr().out
    assert "schema: arithmetic" in out and "1 round(s): 1, 2 round(s): 1" in out
    assert "turns per agent: agent 1: 3, agent 2: 3, agent 3: 3" in out
    assert "final answer equals gold: 2/2" in out
    assert "schema: malicious" in out and "majority: 1" in out
    assert "schema: questions" in out and "question 2.5" in out  # whitespace tokens: (3 + 2) / 2
    assert "schema: steering_pairs" in out and "schema: mixture" in out


def test_non_strict_reports_skipped_entries(tmp_path, capsys):
    path = tmp_path / "arith.json"
    path.write_text(json.dumps([{"question": "q", "debate_trace": ONE_ROUND, "gold_answer": "-1176"},
                                {"question": "q", "debate_trace": None, "gold_answer": "1"}]))
    assert main([str(path)]) == 1
    assert "entry 1 field 'debate_trace': expected a string, got null" in capsys.readouterr().err
    assert main([str(path), "--no-strict"]) == 0
    out = capsys.readouterr().out
    assert "entries: 2 (1 skipped)" in out and "skipped:" in out


def test_summary_with_a_tokenizer(tmp_path, capsys, tag_tokenizer):
    tag_tokenizer.save_pretrained(tmp_path / "tok")
    path = tmp_path / "q.json"
    path.write_text(json.dumps(["12+3*4"]))
    assert main([str(path), "--tokenizer", str(tmp_path / "tok")]) == 0
    n = len(tag_tokenizer("12+3*4", add_special_tokens=False)["input_ids"])
    assert f"question {float(n)}" in capsys.readouterr().out
