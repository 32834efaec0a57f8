"""Score a checkpoint on arithmetic questions the way the paper does: accuracy of the last ``\\boxed{}`` and
input + output tokens per question, counted per row (never per padded batch).

Systems:
* ``single``: one answer to the Du et al. round-1 prompt in the plain chat format (the base model).
* ``debate``: the explicit three-agent, two-round debate of `models.debate.runner` (diverse personas).
* ``transcript``: the prompt ``Problem: q\\n\\n``; the model writes whatever it learned (a whole debate
  for Stage 1, a direct answer after internalization), stopping at ``<|endofdebate|>`` or EOS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tqdm import tqdm

from models.debate.format import DEBATE_TAGS, final_answer, sft_prompt, stop_token_ids
from models.debate.prompts import math_question_prompt
from models.debate.arithmetic import is_correct
from models.debate.runner import DebateRunConfig, run_debates
from models.hooked import HookedModel

System = Literal["single", "debate", "transcript"]


@dataclass
class SystemScore:
    """Accuracy and token cost of one system on one question set."""

    system: str
    n: int
    accuracy: float
    mean_input_tokens: float
    mean_output_tokens: float
    tag_rate: float = 0.0
    """Share of outputs that contain at least one debate tag."""
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def mean_tokens(self) -> float:
        return self.mean_input_tokens + self.mean_output_tokens

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "rows"}
        out["mean_tokens"] = round(self.mean_tokens, 2)
        return out


def generate_answers(model: HookedModel, prompts: Sequence[str], max_new_tokens: int, batch_size: int = 32,
                     stop_ids: Sequence[int] | None = None, progress: bool = False, desc: str = "generate"
                     ) -> list[tuple[str, int, int]]:
    """(text with special tokens kept, prompt tokens, new tokens) per prompt, greedy, in batches."""
    # Similar lengths in one batch waste less padding; results go back in the input order.
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: dict[int, tuple[str, int, int]] = {}
    starts = range(0, len(order), batch_size)
    for s in tqdm(starts, desc=desc, disable=not progress, leave=False):
        idx = order[s:s + batch_size]
        gen = model.generate([prompts[i] for i in idx], max_new_tokens=max_new_tokens,
                             stop_token_ids=list(stop_ids) if stop_ids else None)
        for i, text, n_in, n_new in zip(idx, gen.texts, gen.n_prompt_tokens, gen.n_new_tokens):
            results[i] = (text, int(n_in), int(n_new))
    return [results[i] for i in range(len(prompts))]


def evaluate(model: HookedModel, system: System, questions: Sequence[str], golds: Sequence[str],
             max_new_tokens: int = 1024, batch_size: int = 32, progress: bool = False,
             debate_max_new_tokens: int = 384) -> SystemScore:
    """Accuracy and mean tokens of `system` run with `model` on `questions`."""
    rows: list[dict[str, Any]] = []
    if system == "debate":
        cfg = DebateRunConfig(personas="diverse", max_new_tokens=debate_max_new_tokens,
                              batch_questions=max(1, batch_size // 3))
        for run, gold in zip(run_debates(model, questions, cfg, list(golds), progress=progress), golds):
            answer = run.final_answer
            rows.append({"question": run.transcript.question, "gold": gold, "answer": answer,
                         "correct": is_correct(answer, gold), "input_tokens": run.n_input_tokens,
                         "output_tokens": run.n_output_tokens,
                         "agent_answers": [list(r) for r in run.answers]})
    else:
        if system == "single":
            prompts = [model.chat_prompt(math_question_prompt(q)) for q in questions]
        elif system == "transcript":
            prompts = [sft_prompt(q) for q in questions]
        else:
            raise ValueError(f"system must be single, debate or transcript, got {system!r}")
        outs = generate_answers(model, prompts, max_new_tokens, batch_size, stop_token_ids(model.tokenizer), progress, system)
        for q, gold, (text, n_in, n_new) in zip(questions, golds, outs):
            answer = final_answer(text)
            rows.append({"question": q, "gold": gold, "answer": answer, "correct": is_correct(answer, gold),
                         "input_tokens": n_in, "output_tokens": n_new,
                         "tagged": any(t in text for t in DEBATE_TAGS), "output": text})
    n = max(len(rows), 1)
    return SystemScore(
        system=system, n=len(rows),
        accuracy=sum(r["correct"] for r in rows) / n,
        mean_input_tokens=sum(r["input_tokens"] for r in rows) / n,
        mean_output_tokens=sum(r["output_tokens"] for r in rows) / n,
        tag_rate=sum(bool(r.get("tagged")) for r in rows) / n,
        rows=rows,
    )
