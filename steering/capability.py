"""Capability cost: held-out arithmetic accuracy (the GSM8K role in the paper) under the same steering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models import HookedModel
from models.debate.arithmetic import TIERS, Problem, is_correct
from models.debate.format import final_answer, sft_prompt
from models.debate.prompts import QuestionFormat, math_question_prompt, present
from models.debate.splits import heldout_problems
from models.interventions import Kind
from models.positions import Positions
from probes.directions import Direction
from steering.sweep import multi_sweep


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
    """Accuracy (last ``\\boxed{}`` matches the gold answer, `is_correct`) for each alpha; one batched sweep
    (`multi_sweep`: each problem's prompt computed once for every alpha).

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
    directions = {"direction": direction} if direction is not None and any(a != 0.0 for a in alphas) else {}
    steered = bool(directions)  # otherwise every alpha reads the one unsteered generation
    rows = multi_sweep(model, directions, texts, list(alphas) if steered else [0.0],
                       max_new_tokens=max_new_tokens, positions=positions,
                       kind=kind, batch_size=batch_size, progress=progress, desc="capability")
    text = {(r.alpha, r.prompt_index): r.text for r in rows}
    items = {a: [int(is_correct(final_answer(text[(a if steered else 0.0, i)]), str(p.answer)))
                 for i, p in enumerate(problems)] for a in alphas}
    return [CapabilityRow(a, sum(items[a]), len(problems), tuple(items[a])) for a in alphas]
