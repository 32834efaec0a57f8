"""Stage-2 rewards and their schedule (paper Eq. 1–2, with the original code's bugs fixed).

r(x, y) = w_fmt · R_fmt(y) + R(y; l) + w_len · R_len(y; l)

* `format_reward`: the share of a debate's required tags present in the completion: round 1, its
  three agent tags, consensus and end-of-debate (round 2 is optional, as in the data, where a
  unanimous first round ends the debate; rewarding its tags would pay for length). It decodes the
  completion's token ids itself with special tokens *kept*: trl hands reward functions text decoded
  with ``skip_special_tokens=True``, where tags registered as special tokens have vanished (the
  original's format reward was therefore always 0).
* `correctness_reward`: 1 when the answer the first l completion tokens commit to equals the gold answer:
  a debate's consensus answer, or an untagged answer's last ``\\boxed{}`` (`committed_answer`). An
  agent's round-1 box inside a transcript cut off before its consensus earns nothing, so a long
  transcript is never paid for. It also logs each completion's length and correctness
  (`CompletionLog`), from which the adaptive schedule sets the next iteration's l.
* `brevity_reward`: 1 − n/l for a correct completion of n tokens, 0 for a wrong one. The clip alone only
  pays a shorter completion once a longer one is cut off; when every correct completion is a whole
  debate, l stops at the shortest of them and nothing pulls further. This term gives the shorter of two
  correct completions the higher reward at every l (a length penalty on correct answers, as in Kimi k1.5
  and Arora & Zanette 2025); wrong completions earn nothing, so an empty answer never pays.
* `judge_reward` (malicious variants): 1 − score/100 of a judge on the first l tokens (tags removed).
* `schedule`: l and w_fmt per iteration, linear from the start to exactly the end values;
  `adaptive_clip`: the next l from the lengths of the correct completions an iteration produced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.debate.arithmetic import is_correct
from models.debate.format import CONSENSUS_TAG, END_TAG, ROUND_TAGS, agent_tag, committed_answer

RewardFn = Callable[..., list[float]]


@dataclass(frozen=True)
class IterationPlan:
    """What one GRPO iteration rewards: the clip length l (tokens) and the format weight w_fmt."""

    index: int  # 1-based
    clip_tokens: int
    fmt_weight: float


def schedule(iterations: int, clip_start: int, clip_end: int, fmt_start: float, fmt_end: float) -> list[IterationPlan]:
    """Linear schedules over the iterations; the first uses the start values, the last exactly the end values.

    With a single iteration the end values are used (that iteration is the last one).
    """
    plans = []
    for k in range(iterations):
        frac = k / (iterations - 1) if iterations > 1 else 1.0
        plans.append(IterationPlan(
            index=k + 1,
            clip_tokens=round(clip_start + (clip_end - clip_start) * frac),
            fmt_weight=round(fmt_start + (fmt_end - fmt_start) * frac, 6),
        ))
    return plans


def _ids(completion_ids: Sequence[Any]) -> list[list[int]]:
    return [list(map(int, ids)) for ids in completion_ids]


REQUIRED_TAGS: tuple[str, ...] = (ROUND_TAGS[1], *(agent_tag(k, 1) for k in (1, 2, 3)), CONSENSUS_TAG, END_TAG)
"""The tags every complete debate has, whether or not it needed a revision round."""


def tag_share(text: str) -> float:
    """Share of `REQUIRED_TAGS` that occur in `text` (each counted once)."""
    return sum(tag in text for tag in REQUIRED_TAGS) / len(REQUIRED_TAGS)


def format_reward(tokenizer: Any) -> RewardFn:
    """R_fmt from the completion's own token ids, decoded with special tokens kept."""

    def format_reward(prompts: list[Any], completions: list[Any], completion_ids: Sequence[Any], **_: Any) -> list[float]:
        return [tag_share(tokenizer.decode(ids, skip_special_tokens=False)) for ids in _ids(completion_ids)]

    return format_reward


def clipped_text(tokenizer: Any, ids: Sequence[int], clip_tokens: int, keep_special: bool = True) -> str:
    """The first `clip_tokens` tokens of a completion, decoded."""
    return tokenizer.decode(list(ids)[:clip_tokens], skip_special_tokens=not keep_special)


@dataclass
class CompletionLog:
    """Length (tokens) and correctness of every completion a reward function scored, in order."""

    lengths: list[int] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)

    def add(self, ids: Sequence[Sequence[int]], correct: Sequence[bool], clip_tokens: int) -> None:
        """Log one scored batch: each completion's length within the clip, and whether it counted as correct."""
        self.lengths += [min(len(row), clip_tokens) for row in ids]
        self.correct += [bool(ok) for ok in correct]

    def correct_lengths(self, last_share: float = 0.5) -> list[int]:
        """Lengths of the correct completions in the last `last_share` of the log (the policy as it ends)."""
        start = int(len(self.lengths) * (1.0 - last_share))
        return [n for n, ok in zip(self.lengths[start:], self.correct[start:]) if ok]


def _commits_to_gold(tokenizer: Any, ids: Sequence[int], gold: str, clip_tokens: int) -> bool:
    """Whether the answer the first `clip_tokens` tokens commit to (`committed_answer`) is `gold`."""
    return is_correct(committed_answer(clipped_text(tokenizer, ids, clip_tokens)), gold)


def correctness_reward(tokenizer: Any, clip_tokens: int, log: CompletionLog | None = None) -> RewardFn:
    """R(y; l): 1.0 when the answer the first l tokens commit to (`committed_answer`) equals the row's ``answer``."""

    def correct_reward(prompts: list[Any], completions: list[Any], completion_ids: Sequence[Any],
                       answer: Sequence[str], **_: Any) -> list[float]:
        ids = _ids(completion_ids)
        out = [float(_commits_to_gold(tokenizer, row, gold, clip_tokens)) for row, gold in zip(ids, answer)]
        if log is not None:
            log.add(ids, [r == 1.0 for r in out], clip_tokens)
        return out

    return correct_reward


def brevity_reward(tokenizer: Any, clip_tokens: int) -> RewardFn:
    """R_len(y; l) = 1 − min(n, l)/l when the first l tokens commit to the gold answer, else 0."""

    def brevity_reward(prompts: list[Any], completions: list[Any], completion_ids: Sequence[Any],
                       answer: Sequence[str], **_: Any) -> list[float]:
        return [1.0 - min(len(row), clip_tokens) / clip_tokens if _commits_to_gold(tokenizer, row, gold, clip_tokens)
                else 0.0 for row, gold in zip(_ids(completion_ids), answer)]

    return brevity_reward


def adaptive_clip(log: CompletionLog, current: int, floor: int, quantile: float, min_correct: int = 8) -> int:
    """The next iteration's l: the `quantile` of the lengths of the correct completions that ended the
    last iteration, never above `current` and never below `floor` (the shortest correct direct answer).

    Completions longer than l earn nothing next time, so l at the median of today's correct lengths
    pays the shorter half of them; when fewer than `min_correct` were correct, l stays where it is
    (shrinking it then would leave no completion to learn from).
    """
    lengths = log.correct_lengths()
    if len(lengths) < min_correct:
        return current
    return int(max(floor, min(current, np.ceil(np.quantile(lengths, quantile)))))


def judge_reward(tokenizer: Any, judge: Any, clip_tokens: int, log: CompletionLog | None = None) -> RewardFn:
    """1 − score/100 of `judge` on the first l tokens (tags stripped: the judge reads the content); a completion
    counts as correct in `log` when its reward is at least 0.5."""

    def judge_reward(prompts: list[Any], completions: list[Any], completion_ids: Sequence[Any],
                     question: Sequence[str], **_: Any) -> list[float]:
        ids = _ids(completion_ids)
        texts = [clipped_text(tokenizer, row, clip_tokens, keep_special=False) for row in ids]
        scores = judge.score(list(question), texts)
        out = [1.0 - s.score / 100.0 if s.valid else 0.0 for s in scores]
        if log is not None:
            log.add(ids, [r >= 0.5 for r in out], clip_tokens)
        return out

    return judge_reward
