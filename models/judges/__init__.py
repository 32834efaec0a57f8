"""Judges score responses for a trait; the trainer's rewards and steering's metrics share them."""

from models.judges.base import RUBRICS, TRAITS, Judge, JudgeScore, judge_prompt, parse_judge_reply
from models.judges.classifier import ClassifierJudge, synthetic_judge
from models.judges.llm import HTTPJudge, LLMJudge

__all__ = [
    "RUBRICS", "TRAITS", "ClassifierJudge", "HTTPJudge", "Judge", "JudgeScore", "LLMJudge", "judge_prompt",
    "parse_judge_reply", "synthetic_judge",
]
