"""models.debate.gsm8k: the shipped test split (pinned bytes), its seeded samples and GSM8K answer scoring."""

from __future__ import annotations

import hashlib
import json

import pytest

from models.debate import gsm8k
from models.debate.gsm8k import (
    GSM8K_COMMIT, GSM8K_COUNT, GSM8K_PATH, GSM8K_SHA256, GSM8KError, GSM8KFileError, GSM8KProblem, gold_text,
    gsm8k_answer, gsm8k_correct, gsm8k_problems, normalize_number, read_gsm8k,
)
from models.errors import FileFormatError


def test_the_shipped_split_is_the_pinned_file_with_1319_problems():
    assert hashlib.sha256(GSM8K_PATH.read_bytes()).hexdigest() == GSM8K_SHA256
    problems = read_gsm8k()
    assert len(problems) == GSM8K_COUNT == 1319
    assert problems[0].answer == "18" and problems[0].question.startswith("Janet")
    assert all("<<" not in p.solution and "####" not in p.solution for p in problems)
    assert sum("," in json.loads(line)["answer"].rsplit("####")[1] for line in GSM8K_PATH.read_text().splitlines()) == 14
    assert all("," not in p.answer for p in problems) and {"-10", "-3"} <= {p.answer for p in problems}


def test_every_gold_solution_scores_correct_and_the_calculator_marks_are_gone():
    problems = read_gsm8k()
    assert all(gsm8k_correct(gold_text(p), p.answer) for p in problems)
    assert problems[0].solution.startswith("Janet sells 16 - 3 - 4 = 9 duck eggs a day.")


def test_the_licence_and_readme_ship_beside_the_data():
    folder = GSM8K_PATH.parent
    assert (folder / "LICENSE").read_text().startswith("MIT License")
    readme = (folder / "README.md").read_text()
    assert GSM8K_SHA256 in readme and GSM8K_COMMIT in readme and "1,319" in readme


def test_a_changed_file_is_refused_naming_it(tmp_path, monkeypatch):
    changed = tmp_path / "test.jsonl"
    changed.write_bytes(GSM8K_PATH.read_bytes().replace(b"#### 18", b"#### 19", 1))
    with pytest.raises(GSM8KFileError, match=f"{changed}: sha256 is .*expected {GSM8K_SHA256}"):
        read_gsm8k(changed, sha256=GSM8K_SHA256)
    assert read_gsm8k(changed)[0].answer == "19"  # another path is checked only when a hash is given
    monkeypatch.setattr(gsm8k, "GSM8K_PATH", changed)
    gsm8k._shipped.cache_clear()
    try:
        with pytest.raises(GSM8KFileError, match="sha256"):
            read_gsm8k()
    finally:
        gsm8k._shipped.cache_clear()


@pytest.mark.parametrize("line, message", [
    ('{"question": "q", "answer": "x\\n#### 3"', "line 2 is not JSON"),
    ('["q", "a"]', "line 2 is a JSON list"),
    ('{"question": "q"}', "line 2: field 'answer' must be a non-empty string, got missing"),
    ('{"question": 3, "answer": "x\\n#### 3"}', "line 2: field 'question' must be a non-empty string, got a int"),
    ('{"question": "q", "answer": "x = 3"}', "line 2: field 'answer' must end with '#### <number>'"),
    ('{"question": "q", "answer": "x\\n#### three"}', "line 2: field 'answer' must end with '#### <number>'"),
])
def test_a_malformed_line_is_named_by_file_line_and_field(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "q", "answer": "x\\n#### 1,234"}\n' + line + "\n")
    with pytest.raises(GSM8KFileError, match=f"{path}: {message}") as caught:
        read_gsm8k(path)
    assert isinstance(caught.value, FileFormatError)
    with pytest.raises(GSM8KFileError, match="cannot read"):
        read_gsm8k(tmp_path / "missing.jsonl")


def test_gold_answers_lose_their_commas():
    assert gsm8k.parse_line('{"question": "q", "answer": "a <<2*3=6>>6\\n#### 1,234"}', GSM8K_PATH, 1) == \
        GSM8KProblem("q", "a 6", "1234")


@pytest.mark.parametrize("text, answer", [
    ("so the total is \\boxed{1,234} dollars", "1234"),
    ("first \\boxed{5}, then \\boxed{-3}", "-3"),
    ("\\boxed{\\$18.00}", "18"),
    ("\\boxed{2.50} and 7 more", "2.5"),
    ("\\boxed{nope} but 5", None),
    ("steps 1 and 2\n#### 1,600\nthen 9", "1600"),
    ("#### -10.0", "-10"),
    ("He pays 3 * 4 = 12 dollars, so 12 + 0.5 = 12.5.", "12.5"),
    ("a temperature of -7 degrees", "-7"),
    ("007 agents", "7"),
    ("no number at all", None),
])
def test_the_final_number_is_read_as_gsm8k_scoring_does(text, answer):
    assert gsm8k_answer(text) == answer


def test_correctness_is_exact_match_of_normalised_numbers():
    assert gsm8k_correct("\\boxed{1,234.0}", "1234") and gsm8k_correct("#### 18", "18.0")
    assert not gsm8k_correct("\\boxed{12}", "13") and not gsm8k_correct("none", "0")
    assert normalize_number("-0.0") == "0" and normalize_number("+1,000.50") == "1000.5"


def test_samples_are_reproducible_and_disjoint_by_construction():
    first = gsm8k_problems(20, seed=0)
    assert first == gsm8k_problems(20, seed=0) and first != gsm8k_problems(20, seed=1)
    assert len({p.question for p in first}) == 20
    second = gsm8k_problems(20, seed=0, offset=20)
    assert not {p.question for p in first} & {p.question for p in second}
    assert gsm8k_problems(40, seed=0) == first + second  # offsets are slices of one permutation
    other = gsm8k_problems(50, seed=1, exclude=[p.question for p in first])
    assert not {p.question for p in first} & {p.question for p in other}
    assert gsm8k_problems(50, seed=1, exclude=first) == other  # problems or their questions
    assert gsm8k_problems(1, seed=0, exclude=first[0].question.replace(" ", "  \n"))[0] == first[1]


def test_sample_requests_that_cannot_be_served_are_refused():
    with pytest.raises(GSM8KError, match="only 1309 remain"):
        gsm8k_problems(1310, exclude=read_gsm8k()[:10])
    with pytest.raises(GSM8KError, match="offset 1300"):
        gsm8k_problems(20, offset=1300)
    for n in (0, -1, True, 2.0):
        with pytest.raises(GSM8KError, match="n must be an int"):
            gsm8k_problems(n)  # type: ignore[arg-type]
    with pytest.raises(GSM8KError, match="offset must be"):
        gsm8k_problems(1, offset=-1)
