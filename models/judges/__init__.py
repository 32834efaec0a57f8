"""Judges score responses for a trait; the trainer's rewards and steering's metrics share them."""

from models.judges.base import RUBRICS, TRAITS, Judge, JudgeError, JudgeScore, judge_prompt, parse_judge_reply
from models.judges.classifier import ClassifierJudge, synthetic_judge
from models.judges.llm import HTTPJudge, LLMJudge
from models.judges.turns import TurnScores, score_turns, split_turns

__all__ = [
    "RUBRICS", "TRAITS", "ClassifierJudge", "HTTPJudge", "Judge", "JudgeError", "JudgeScore", "LLMJudge",
    "TurnScores", "judge_prompt", "parse_judge_reply", "score_turns", "split_turns", "synthetic_judge",
]
