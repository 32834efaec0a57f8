"""models.train.forms_diagnostic on the shipped tiny-sft: problems proven unseen, every form scored and paired."""

from __future__ import annotations

from models import load
from models.debate.format import CONSENSUS_TAG
from models.debate.splits import heldout_problems, problem_key
from models.registry import materialize
from models.train.forms import TURN_ENDS
from models.train.forms_diagnostic import WHOLE, forms_problems, score_forms


def test_validation_problems_avoid_the_held_out_set_and_are_proven_to() -> None:
    problems, splits = forms_problems(materialize("tiny-sft"), "validation", 3)
    held = {problem_key(p.question) for p in heldout_problems("easy", 500, 0)}
    assert len(problems) == 3 and not {problem_key(p.question) for p in problems} & held
    assert splits["problems"] == "validation" and splits["checked"]["pairs_compared"] == 2
    assert splits["question_format"] == "spaced"


def test_held_out_problems_are_the_first_of_the_held_out_set_checked_against_every_stage() -> None:
    problems, splits = forms_problems(materialize("tiny-sft"), "heldout", 2)
    assert [p.question for p in problems] == [p.question for p in heldout_problems("easy", 500, 0)[:2]]
    assert splits["checked"]["unverified"] == [] and splits["checked"]["pairs_compared"] >= 2


def test_score_forms_scores_each_form_on_the_same_problems() -> None:
    problems, splits = forms_problems(materialize("tiny-sft"), "validation", 2)
    metrics, rows = score_forms(load("tiny-sft"), problems, splits["question_format"], temperature=0.5,
                                max_new_tokens=32, batch_size=4)
    assert list(metrics["forms"]) == [WHOLE, "consensus after Agent 1", "consensus after Agent 2"]
    assert all(f["n"] == 2 and f["tokens"]["low"] <= f["tokens"]["value"] <= f["tokens"]["high"]
               for f in metrics["forms"].values())
    assert set(metrics["vs_whole"]) == {"consensus after Agent 1", "consensus after Agent 2"}
    odds = metrics["next_tag_after_agent_1"]
    assert metrics["temperature"] == 0.5 and set(odds) == set(TURN_ENDS) and CONSENSUS_TAG in odds
    assert all(0 <= p <= 1 for p in odds.values()) and sum(odds.values()) <= 1 + 1e-6
    assert len(rows) == 6 and [r["form"] for r in rows[:2]] == [WHOLE, WHOLE]
    assert {r["question"] for r in rows if r["form"] == WHOLE} == {r["question"] for r in rows[2:4]}
