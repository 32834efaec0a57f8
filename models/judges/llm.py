"""LLM judges: ask a local chat model (any HookedModel) or an OpenAI-compatible endpoint the rubric."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.judges.base import JudgeScore, check_trait, judge_prompt, parse_judge_reply

if TYPE_CHECKING:
    from models.hooked import HookedModel


@dataclass
class LLMJudge:
    """Greedy-decodes a short verdict from a local model and parses it (0-100 or REFUSAL)."""

    model: "HookedModel"
    trait: str
    max_new_tokens: int = 6
    batch_size: int = 16

    def __post_init__(self) -> None:
        check_trait(self.trait)

    def replies(self, questions: Sequence[str], responses: Sequence[str]) -> list[str]:
        prompts = [self.model.chat_prompt(judge_prompt(self.trait, q, r)) for q, r in zip(questions, responses)]
        out: list[str] = []
        for i in range(0, len(prompts), self.batch_size):
            out += self.model.generate(prompts[i : i + self.batch_size], max_new_tokens=self.max_new_tokens).texts
        return out

    def score(self, questions: Sequence[str], responses: Sequence[str]) -> list[JudgeScore]:
        if len(questions) != len(responses):
            raise ValueError(f"{len(questions)} questions but {len(responses)} responses")
        return [parse_judge_reply(reply) for reply in self.replies(questions, responses)]


@dataclass
class HTTPJudge:
    """Scores through an OpenAI-compatible ``/v1/chat/completions`` endpoint (key from an env variable)."""

    url: str  # e.g. http://127.0.0.1:8000/v1/chat/completions
    trait: str
    model_name: str = "judge"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        check_trait(self.trait)

    def _ask(self, prompt: str) -> str:
        body = json.dumps(
            {"model": self.model_name, "messages": [{"role": "user", "content": prompt}], "temperature": 0}
        ).encode()
        headers = {"Content-Type": "application/json"}
        if os.environ.get(self.api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[self.api_key_env]}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                data = json.loads(response.read())
        except urllib.error.URLError as e:
            raise ConnectionError(f"judge endpoint {self.url} failed: {e}") from e
        try:
            return str(data["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as e:
            raise ValueError(f"judge endpoint {self.url} returned no choices[0].message.content: {data!r}") from e

    def score(self, questions: Sequence[str], responses: Sequence[str]) -> list[JudgeScore]:
        return [parse_judge_reply(self._ask(judge_prompt(self.trait, q, r))) for q, r in zip(questions, responses)]
