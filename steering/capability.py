"""Capability cost: held-out arithmetic accuracy (the GSM8K role in the paper) under the same steering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from models import HookedModel
from models.debate.arithmetic import TIERS, Problem, is_correct
from models.debate.format import final_answer, sft_prompt
from models.debate.prompts import QuestionFormat, math_question_prompt, present
from models.debate.splits import heldout_problems
from models.interventions import Kind
from models.positions import Positions
from probes.directions import Direction
from steering.apply import steer
from steering.sweep import stop_ids


def arithmetic_problems(n: int, tier: str = "easy", seed: int = 0) -> list[Problem]:
    """The held-out problems (excluded from every training stage), so capability is measured unseen."""
    if tier not in TIERS:
        raise ValueError(f"tier={tier!r} is not known; use one of {', '.join(TIERS)}")
    return heldout_problems(tier, n, seed)


@dataclass(frozen=True)
class CapabilityRow:
    """Accuracy at one alpha; `items` holds 1/0 per problem (in order) for paired intervals and tests."""

    alpha: float
    correct: int
    total: int
    items: tuple[int, ...] = ()

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")


def arithmetic_accuracy(
    model: HookedModel,
    problems: Sequence[Problem],
    direction: Direction | None = None,
    alphas: Sequence[float] = (0.0,),
    prompt: str = "sft",
    question_format: QuestionFormat = "spaced",
    max_new_tokens: int = 96,
    positions: Positions = "generated",
    kind: Kind = "add",
    batch_size: int = 32,
    progress: bool = False,
) -> list[CapabilityRow]:
    """Accuracy (last ``\\boxed{}`` matches the gold answer, `is_correct`) for each alpha; one batched sweep.

    ``prompt="sft"`` uses the trainer's ``Problem: {q}\\n\\n`` format; ``"chat"`` asks the Du et al.
    round-1 question in the model's chat format (base and instruction-tuned checkpoints).
    ``question_format`` shows ``5 + 9 * 6 - 3`` (spaced, as the tiny trainer does) or ``5+9*6-3`` (compact).
    """
    if prompt not in ("sft", "chat"):
        raise ValueError(f"prompt={prompt!r} is not known; use 'sft' or 'chat'")

    def render(p: Problem) -> str:
        q = present(p.question, question_format)
        return sft_prompt(q) if prompt == "sft" else model.chat_prompt(math_question_prompt(q))

    texts = [render(p) for p in problems]
    jobs = [(a, i) for a in alphas for i in range(len(problems))]
    items: dict[float, list[int]] = {a: [0] * len(problems) for a in alphas}
    for start in tqdm(range(0, len(jobs), batch_size), desc="capability", disable=not progress, leave=False):
        chunk = jobs[start : start + batch_size]
        batch = [texts[i] for _, i in chunk]
        stops = stop_ids(model)
        if direction is None:
            out = model.generate(batch, max_new_tokens=max_new_tokens, stop_token_ids=stops)
        else:
            alpha = torch.tensor([a for a, _ in chunk], dtype=torch.float32)
            with steer(model, direction, alpha=alpha, positions=positions, kind=kind):
                out = model.generate(batch, max_new_tokens=max_new_tokens, stop_token_ids=stops)
        for (a, i), text in zip(chunk, out.texts):
            items[a][i] = int(is_correct(final_answer(text), str(problems[i].answer)))
    return [CapabilityRow(a, sum(items[a]), len(problems), tuple(items[a])) for a in alphas]
