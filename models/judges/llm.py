"""LLM judges: ask a local chat model (any HookedModel) or an OpenAI-compatible endpoint the rubric.

The endpoint is reached with httpx (already installed with nnsight): it gives timeouts and retries of
failed connections. Retrying 429/5xx answers is the few lines of `HTTPJudge._post`, not a tenacity or
openai-client dependency for one POST.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from models.errors import ModelsError
from models.judges.base import JudgeError, JudgeScore, check_trait, judge_prompt, parse_judge_reply

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
            raise JudgeError(f"{len(questions)} questions but {len(responses)} responses")
        return [parse_judge_reply(reply) for reply in self.replies(questions, responses)]


class JudgeEndpointError(ModelsError, ConnectionError):
    """The judge endpoint failed or answered something that is not a chat completion; names the URL."""


_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass
class HTTPJudge:
    """Scores through an OpenAI-compatible ``/v1/chat/completions`` endpoint (key from an env variable)."""

    url: str  # e.g. http://127.0.0.1:8000/v1/chat/completions
    trait: str
    model_name: str = "judge"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 60.0
    retries: int = 3  # extra attempts after a connection failure or a 429/5xx answer
    backoff_s: float = 1.0  # wait before retry k is backoff_s * 2**k, or the server's Retry-After

    def __post_init__(self) -> None:
        check_trait(self.trait)
        if self.retries < 0 or self.timeout_s <= 0 or self.backoff_s < 0:
            raise ModelsError(f"HTTPJudge needs retries >= 0, timeout_s > 0 and backoff_s >= 0; got {self.retries}, "
                              f"{self.timeout_s}, {self.backoff_s}")

    def _post(self, client: httpx.Client, body: dict) -> httpx.Response:
        """POST with bounded retries on 429/5xx; the last failure is raised as `JudgeEndpointError`."""
        for attempt in range(self.retries + 1):
            try:
                response = client.post(self.url, json=body)
            except httpx.HTTPError as e:
                failure = f"{type(e).__name__}: {e}"
            else:
                if response.status_code not in _RETRY_STATUS:
                    return response
                failure = f"HTTP {response.status_code}"
                wait = response.headers.get("Retry-After", "")
                if attempt < self.retries and wait.replace(".", "", 1).isdigit():
                    time.sleep(min(float(wait), 60.0))
                    continue
            if attempt < self.retries:
                time.sleep(self.backoff_s * 2**attempt)
        raise JudgeEndpointError(f"judge endpoint {self.url} failed after {self.retries + 1} attempts: {failure}")

    def _ask(self, client: httpx.Client, prompt: str) -> str:
        body = {"model": self.model_name, "messages": [{"role": "user", "content": prompt}], "temperature": 0}
        response = self._post(client, body)
        if response.status_code != 200:
            raise JudgeEndpointError(f"judge endpoint {self.url} answered HTTP {response.status_code}: "
                                     f"{response.text[:200]!r}")
        try:
            return str(response.json()["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise JudgeEndpointError(f"judge endpoint {self.url} returned no choices[0].message.content: "
                                     f"{response.text[:200]!r}") from None

    def score(self, questions: Sequence[str], responses: Sequence[str]) -> list[JudgeScore]:
        if len(questions) != len(responses):
            raise ModelsError(f"{len(questions)} questions but {len(responses)} responses")
        headers = {"Authorization": f"Bearer {os.environ[self.api_key_env]}"} if os.environ.get(self.api_key_env) else {}
        transport = httpx.HTTPTransport(retries=self.retries)  # connection failures are retried by httpx itself
        with httpx.Client(headers=headers, timeout=self.timeout_s, transport=transport) as client:
            return [parse_judge_reply(self._ask(client, judge_prompt(self.trait, q, r)))
                    for q, r in zip(questions, responses)]
