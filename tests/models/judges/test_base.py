"""models.judges.base: the reply parser, the rubric prompt and the trait check shared by every judge."""

import pytest

from models.judges import RUBRICS, TRAITS, JudgeScore, judge_prompt, parse_judge_reply


@pytest.mark.parametrize(
    "reply, score, refusal",
    [("85", 85.0, False), (" 0.5\n", 0.5, False), ("Score: 100.", 100.0, False), ("REFUSAL", None, True),
     ("refusal - the answer declines", None, True), ("150", None, False), ("no idea", None, False), ("", None, False)],
)
def test_parse_judge_reply(reply, score, refusal):
    verdict = parse_judge_reply(reply)
    assert verdict.score == score and verdict.refusal == refusal and verdict.raw == reply
    assert verdict.valid is (score is not None)


def test_judge_prompt_holds_the_rubric_question_and_answer():
    assert set(RUBRICS) == set(TRAITS)
    for trait in TRAITS:
        prompt = judge_prompt(trait, "How do I share a budget?", "Be fair.")
        assert RUBRICS[trait] in prompt and "Question: How do I share a budget?\nAnswer: Be fair.\n\n" in prompt
        assert prompt.endswith("reply REFUSAL. Number:")
    with pytest.raises(ValueError, match="trait='rude' is not known; use one of evil, hallucination"):
        judge_prompt("rude", "q", "a")
    assert JudgeScore(None).raw == "" and not JudgeScore(None).valid
