"""Capability cost under the same steering as the suppression run: held-out arithmetic accuracy (the toy
benchmark), and GSM8K (the paper's) as exact-match accuracy plus the gold solution's teacher-forced
log-likelihood.

Accuracy at its floor (0 at every alpha) is not "no cost" but "cost not measurable": `capability_measurable`
says which, from the unsteered items. The gold log-likelihood is continuous, so it stays informative where
accuracy is at floor. It is computed with the generation's steering carried over exactly: steering at
``"generated"`` positions writes to every token after the prompt, so teacher forcing writes to the
solution's tokens and never to the prompt's (`teacher_forced_spans`); a greedy continuation then gets the
log-probabilities its steered generation gave it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from models import HookedModel
from models.batch import Batch
from models.debate.arithmetic import TIERS, Problem, is_correct
from models.debate.format import final_answer, sft_prompt
from models.debate.gsm8k import GSM8KProblem, gold_text, gsm8k_answer, normalize_number
from models.debate.prompts import QuestionFormat, math_question_prompt, present
from models.debate.splits import heldout_problems
from models.interventions import Kind
from models.positions import AgentSpan, Positions, Spans
from models.stats import Estimate, bootstrap_mean, verdict
from probes.directions import Direction
from steering.apply import steer
from steering.prepare import SteeringError
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


# --------------------------------------------------------------------------- GSM8K


@dataclass(frozen=True)
class GSM8KRow(CapabilityRow):
    """GSM8K exact-match accuracy at one alpha; `answers` holds each problem's extracted number (None: none)."""

    answers: tuple[str | None, ...] = ()


def _steered_alphas(direction: Direction | None, alphas: Sequence[float]) -> bool:
    """Whether any alpha steers; otherwise every alpha reads the one unsteered computation."""
    if len(set(alphas)) != len(alphas) or not alphas:
        raise SteeringError(f"alphas must be distinct and at least one, got {list(alphas)}")
    return direction is not None and any(a != 0.0 for a in alphas)


def _cut(text: str, until: Sequence[str]) -> str:
    """`text` up to the first of the `until` strings (a few-shot model's next "Question:"), for scoring."""
    ends = [i for i in (text.find(u) for u in until if u) if i >= 0]
    return text[:min(ends)] if ends else text


def gsm8k_accuracy(
    model: HookedModel,
    problems: Sequence[GSM8KProblem],
    direction: Direction | None,
    alphas: Sequence[float],
    render: Callable[[str], str],
    max_new_tokens: int = 256,
    positions: Positions = "generated",
    kind: Kind = "add",
    batch_size: int = 32,
    progress: bool = False,
    until: Sequence[str] = (),
) -> list[GSM8KRow]:
    """Exact-match accuracy (`gsm8k_answer` of the greedy completion equals the gold number) per alpha.

    `render` turns a question into the prompt text, so each arm keeps its own prompt (a system line, the
    chat template, the SFT format). One batched `multi_sweep` with its stop tokens (EOS, and end-of-debate
    for Stage 1 models); the completion is cut at the first of `until` before scoring. Rows come in the
    order of `alphas`, items 1/0 per problem in the order of `problems`.
    """
    steered = _steered_alphas(direction, alphas)
    texts = [render(p.question) for p in problems]
    directions = {"direction": direction} if steered and direction is not None else {}
    rows = multi_sweep(model, directions, texts, list(alphas) if steered else [0.0], max_new_tokens=max_new_tokens,
                       positions=positions, kind=kind, batch_size=batch_size, progress=progress, desc="gsm8k")
    text = {(r.alpha, r.prompt_index): r.text for r in rows}
    out = []
    for a in alphas:
        answers = tuple(gsm8k_answer(_cut(text[(a if steered else 0.0, i)], until)) for i in range(len(problems)))
        items = tuple(int(x is not None and x == normalize_number(p.answer)) for x, p in zip(answers, problems))
        out.append(GSM8KRow(a, sum(items), len(problems), items, answers))
    return out


@dataclass(frozen=True)
class LoglikRow:
    """Teacher-forced log-likelihood at one alpha: per problem (in order) the mean log-prob of its gold tokens."""

    alpha: float
    items: tuple[float, ...]
    n_tokens: tuple[int, ...]

    @property
    def mean(self) -> float:
        return sum(self.items) / len(self.items) if self.items else float("nan")


def teacher_forced_spans(positions: Positions, prompt_lengths: Sequence[int],
                         target_lengths: Sequence[int]) -> Spans | AgentSpan:
    """The positions a forward over prompt + target must steer to match steering `positions` in generation.

    The target's tokens are what generation would have produced, so ``"generated"`` is the target's span,
    ``"response"`` adds the last prompt token, ``"all"`` is everything, ``"prompt"`` and ``"last"`` the
    prompt's part. An `AgentSpan` decides from the tokens seen, which teacher forcing shows it unchanged.
    """
    if isinstance(positions, AgentSpan):
        return positions
    spans = {"generated": lambda p, s: (p, p + s), "response": lambda p, s: (p - 1, p + s),
             "all": lambda p, s: (0, p + s), "prompt": lambda p, s: (0, p), "last": lambda p, s: (p - 1, p)}
    if not isinstance(positions, str) or positions not in spans:
        raise SteeringError(f"teacher forcing carries over named positions or an AgentSpan, got {positions!r}; "
                            f"use one of {', '.join(spans)}")
    return Spans.single([spans[positions](p, s) for p, s in zip(prompt_lengths, target_lengths)])


def continuation_logprobs(
    model: HookedModel,
    prompts: Sequence[str],
    continuations: Sequence[Sequence[int]],
    direction: Direction | None = None,
    alpha: float = 0.0,
    positions: Positions = "generated",
    kind: Kind = "add",
    batch_size: int = 8,
) -> list[torch.Tensor]:
    """Per-token log-probs ``[len(continuation)]`` (float32, CPU) of each continuation's token ids after its
    prompt, with `direction` at `alpha` applied where generation would apply it (`teacher_forced_spans`).

    One forward per batch of prompts; rows are grouped by length so little of a batch is padding.
    """
    if batch_size < 1:
        raise SteeringError(f"batch_size must be >= 1, got {batch_size}")
    if len(prompts) != len(continuations):
        raise SteeringError(f"{len(prompts)} prompts but {len(continuations)} continuations")
    tails = [[int(t) for t in c] for c in continuations]
    empty = [i for i, c in enumerate(tails) if not c]
    if empty:
        raise SteeringError(f"continuation {empty[0]} has no tokens; there is nothing to score")
    tok = model.tokenizer
    heads = [list(tok(p, add_special_tokens=True)["input_ids"]) for p in prompts]
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    out: list[torch.Tensor | None] = [None] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: len(heads[i]) + len(tails[i]))
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        width = max(len(heads[i]) + len(tails[i]) for i in rows)
        ids = torch.full((len(rows), width), int(pad), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            seq = heads[i] + tails[i]
            ids[r, width - len(seq):], mask[r, width - len(seq):] = torch.tensor(seq), 1
        batch = Batch(ids.to(model.device), mask.to(model.device))
        if direction is not None and alpha != 0.0:
            where = teacher_forced_spans(positions, [len(heads[i]) for i in rows], [len(tails[i]) for i in rows])
            with steer(model, direction, alpha=float(alpha), positions=where, kind=kind):
                logits = model.forward(batch)
        else:
            logits = model.forward(batch)
        for r, i in enumerate(rows):
            n = len(tails[i])
            scores = logits[r, width - n - 1:width - 1].float().log_softmax(-1)  # position t predicts token t + 1
            out[i] = scores.gather(-1, torch.tensor(tails[i], device=scores.device)[:, None])[:, 0].cpu()
    return [t for t in out if t is not None]


def gold_loglik(
    model: HookedModel,
    problems: Sequence[GSM8KProblem],
    direction: Direction | None,
    alphas: Sequence[float],
    render: Callable[[str], str],
    batch_size: int = 8,
    positions: Positions = "generated",
    kind: Kind = "add",
    target: Callable[[GSM8KProblem], str] = gold_text,
    progress: bool = False,
) -> list[LoglikRow]:
    """The gold solution's mean per-token log-likelihood given the rendered prompt, per alpha (teacher-forced).

    Steering is the generation's (`positions`, `kind`), carried over by `teacher_forced_spans`; `target`
    gives the scored text (default `gold_text`: the steps and ``#### N``), tokenized on its own as
    generated tokens would be. Continuous where accuracy is at floor; items are per problem, in order.
    """
    steered = _steered_alphas(direction, alphas)
    prompts = [render(p.question) for p in problems]
    tails = [model.tokenizer(target(p), add_special_tokens=False)["input_ids"] for p in problems]
    computed: dict[float, LoglikRow] = {}
    for a in tqdm([a for a in alphas if a != 0.0] if steered else [], desc="gold loglik", disable=not progress,
                  leave=False):
        computed[a] = _loglik_row(a, continuation_logprobs(model, prompts, tails, direction, a, positions, kind,
                                                           batch_size))
    if not steered or 0.0 in alphas:
        plain = _loglik_row(0.0, continuation_logprobs(model, prompts, tails, batch_size=batch_size))
        computed.update({a: LoglikRow(a, plain.items, plain.n_tokens) for a in alphas if not steered or a == 0.0})
    return [computed[a] for a in alphas]


def _loglik_row(alpha: float, logprobs: Sequence[torch.Tensor]) -> LoglikRow:
    return LoglikRow(alpha, tuple(float(t.mean()) for t in logprobs), tuple(len(t) for t in logprobs))


# --------------------------------------------------------------------------- floor


@dataclass(frozen=True)
class Measurability:
    """Whether a capability cost can be measured on an arm: its unsteered accuracy must lie above `floor`."""

    measurable: bool
    accuracy: Estimate
    floor: float
    reason: str

    def __bool__(self) -> bool:
        return self.measurable


def capability_measurable(items_unsteered: Sequence[int] | Sequence[float], floor: float = 0.0, level: float = 0.95,
                          seed: int = 0) -> Measurability:
    """The floor precondition: a drop can be measured only from an accuracy whose whole bootstrap interval
    (`bootstrap_mean`) lies above `floor`; otherwise the cost is "not measurable", never 0 [0, 0]."""
    estimate = bootstrap_mean(list(items_unsteered), level=level, seed=seed)
    ok = verdict(estimate, floor, "above") == "confirmed"
    reason = (f"unsteered accuracy {estimate} lies above the floor {floor:g}" if ok else
              f"cost not measurable: unsteered accuracy {estimate} is not above the floor {floor:g}")
    return Measurability(ok, estimate, floor, reason)
