"""Score a checkpoint on arithmetic questions: accuracy of the committed answer (a debate's consensus, or an
untagged answer's last ``\\boxed{}``; `committed_answer`, as Stage 2 rewards it) and input + output tokens per
question, counted per row (never per padded batch).

Systems:
* ``single``: one answer to the Du et al. round-1 prompt in the plain chat format (the base model).
* ``debate``: the explicit three-agent, two-round debate of `models.debate.runner` (diverse personas).
* ``transcript``: the prompt ``Problem: q\\n\\n``; the model writes whatever it learned (a whole debate
  for Stage 1, a direct answer after internalization), stopping at ``<|endofdebate|>`` or EOS.

Systems compared in one table decode the same way (one `Decoding`: greedy by default, or the same temperature,
top-p and seed for all), so a difference between them is never a difference of decoding. Comparisons are
paired over the same questions (`compare`: difference with its paired-bootstrap CI and McNemar's exact test).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from tqdm import tqdm

from models.debate.arithmetic import is_correct
from models.debate.consensus import agents_vote, read_consensus
from models.debate.format import DEBATE_TAGS, committed_answer, sft_prompt, stop_token_ids
from models.debate.prompts import math_question_prompt
from models.debate.runner import DebateRun, DebateRunConfig, majority_vote, plain_turn, run_debates
from models.hooked import HookedModel
from models.stats import (
    Estimate,
    McNemar,
    bootstrap_mean,
    bootstrap_paired_difference,
    mcnemar,
    paired_bootstrap,
)

System = Literal["single", "debate", "transcript"]


@dataclass(frozen=True)
class Decoding:
    """How every system of a comparison decodes: greedy when `temperature` is 0, else sampled with `top_p`.

    One instance is passed to every system of a table, so accuracy and token differences are never
    differences of decoding. `seed` seeds sampled calls (call k uses ``seed + k``); greedy ignores it.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"Decoding.temperature must be >= 0 (0 = greedy), got {self.temperature!r}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"Decoding.top_p must be in (0, 1], got {self.top_p!r}")
        if self.seed is not None and self.seed < 0:
            raise ValueError(f"Decoding.seed must be None or >= 0, got {self.seed!r}")

    @property
    def do_sample(self) -> bool:
        return self.temperature > 0

    def call_seed(self, call: int) -> int | None:
        """Seed of the `call`-th generate call (None when greedy or unseeded)."""
        return None if not self.do_sample or self.seed is None else self.seed + call

    def describe(self) -> str:
        if not self.do_sample:
            return "greedy"
        seeded = f", seed {self.seed}" if self.seed is not None else ""
        return f"sampled (temperature {self.temperature:g}, top-p {self.top_p:g}{seeded})"


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
    decoding: str = "greedy"

    @classmethod
    def from_rows(cls, system: str, rows: Sequence[dict[str, Any]], decoding: str = "greedy") -> SystemScore:
        """The score of scored rows (``correct``, ``input_tokens``, ``output_tokens``; ``tagged`` optional)."""
        n = max(len(rows), 1)
        return cls(system=system, n=len(rows), accuracy=sum(bool(r["correct"]) for r in rows) / n,
                   mean_input_tokens=sum(r["input_tokens"] for r in rows) / n,
                   mean_output_tokens=sum(r["output_tokens"] for r in rows) / n,
                   tag_rate=sum(bool(r.get("tagged")) for r in rows) / n, rows=list(rows), decoding=decoding)

    @property
    def mean_tokens(self) -> float:
        return self.mean_input_tokens + self.mean_output_tokens

    @property
    def questions(self) -> list[str]:
        return [r["question"] for r in self.rows]

    @property
    def correct(self) -> np.ndarray:
        """1.0 where the row's answer is right, per question."""
        return np.array([float(r["correct"]) for r in self.rows])

    @property
    def tokens(self) -> np.ndarray:
        """Input + output tokens per question."""
        return np.array([float(r["input_tokens"] + r["output_tokens"]) for r in self.rows])

    def restrict(self, questions: Sequence[str]) -> SystemScore:
        """This system's score on `questions` only, in their order (to pair it with a system run on fewer)."""
        by_question = {r["question"]: r for r in self.rows}
        if len(by_question) != len(self.rows):
            raise ValueError(f"system {self.system!r} has repeated questions; restrict needs one row per question")
        missing = [q for q in questions if q not in by_question]
        if missing:
            raise ValueError(f"system {self.system!r} was not scored on {len(missing)} of the questions, "
                             f"e.g. {missing[0]!r}")
        return SystemScore.from_rows(self.system, [by_question[q] for q in questions], self.decoding)

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "rows"}
        out["mean_tokens"] = round(self.mean_tokens, 2)
        return out


def generate_answers(model: HookedModel, prompts: Sequence[str], max_new_tokens: int, batch_size: int = 32,
                     stop_ids: Sequence[int] | None = None, progress: bool = False, desc: str = "generate",
                     decoding: Decoding = Decoding()) -> list[tuple[str, int, int]]:
    """(text with special tokens kept, prompt tokens, new tokens) per prompt, decoded by `decoding`, in batches."""
    # Similar lengths in one batch waste less padding; results go back in the input order.
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: dict[int, tuple[str, int, int]] = {}
    starts = range(0, len(order), batch_size)
    for call, s in enumerate(tqdm(starts, desc=desc, disable=not progress, leave=False)):
        idx = order[s:s + batch_size]
        gen = model.generate([prompts[i] for i in idx], max_new_tokens=max_new_tokens,
                             do_sample=decoding.do_sample, temperature=decoding.temperature or 1.0,
                             top_p=decoding.top_p, seed=decoding.call_seed(call),
                             stop_token_ids=list(stop_ids) if stop_ids else None)
        for i, text, n_in, n_new in zip(idx, gen.texts, gen.n_prompt_tokens, gen.n_new_tokens):
            results[i] = (text, int(n_in), int(n_new))
    return [results[i] for i in range(len(prompts))]


def _debate_row(run: DebateRun, gold: str) -> dict[str, Any]:
    """A debate's row: the answer is the majority vote of the last round (None when no agent answered there).

    The round-1 vote and round-1 tokens come from the same generations (round 1 does not depend on round 2),
    so a one-round debate is scored for free, showing what the revision round adds or destroys.
    """
    answer, votes = majority_vote(run.answers[-1])
    first, _ = majority_vote(run.answers[0])
    round1 = [c for c in run.counts if c.round == 1]
    return {"question": run.transcript.question, "gold": gold, "answer": answer, "correct": is_correct(answer, gold),
            "votes": votes, "input_tokens": run.n_input_tokens, "output_tokens": run.n_output_tokens,
            "agent_answers": [list(r) for r in run.answers], "round1_answer": first,
            "round1_correct": is_correct(first, gold),
            "round1_input_tokens": sum(c.n_prompt_tokens for c in round1),
            "round1_output_tokens": sum(c.n_new_tokens for c in round1)}


def evaluate(model: HookedModel, system: System, questions: Sequence[str], golds: Sequence[str],
             max_new_tokens: int = 1024, batch_size: int = 32, progress: bool = False,
             debate_max_new_tokens: int = 384, decoding: Decoding = Decoding()) -> SystemScore:
    """Accuracy and mean tokens of `system` run with `model` on `questions`, decoded by `decoding` (greedy)."""
    if len(questions) != len(golds):
        raise ValueError(f"questions has {len(questions)} items but golds has {len(golds)}")
    rows: list[dict[str, Any]] = []
    if system == "debate":
        cfg = DebateRunConfig(personas="diverse", max_new_tokens=debate_max_new_tokens,
                              batch_questions=max(1, batch_size // 3), do_sample=decoding.do_sample,
                              temperature=decoding.temperature or 1.0, top_p=decoding.top_p,
                              seed=decoding.seed if decoding.do_sample else None)
        runs = run_debates(model, questions, cfg, list(golds), progress=progress)
        rows = [_debate_row(run, gold) for run, gold in zip(runs, golds)]
    else:
        if system == "single":
            prompts = [model.chat_prompt(math_question_prompt(q)) for q in questions]
        elif system == "transcript":
            prompts = [sft_prompt(q) for q in questions]
        else:
            raise ValueError(f"system must be single, debate or transcript, got {system!r}")
        outs = generate_answers(model, prompts, max_new_tokens, batch_size, stop_token_ids(model.tokenizer), progress,
                                system, decoding)
        plain = system == "single" and not getattr(model.tokenizer, "chat_template", None)
        for q, gold, (text, n_in, n_new) in zip(questions, golds, outs):
            if plain:  # a plain-format answer ends where the model starts the next "User:" turn
                text, n_new = plain_turn(model.tokenizer, text, n_new)
            answer = committed_answer(text)
            rows.append({"question": q, "gold": gold, "answer": answer, "correct": is_correct(answer, gold),
                         "input_tokens": n_in, "output_tokens": n_new,
                         "tagged": any(t in text for t in DEBATE_TAGS), "output": text})
    for row in rows:
        row["decoding"] = decoding.describe()
    return SystemScore.from_rows(system, rows, decoding.describe())


def round1_vote(debate: SystemScore) -> SystemScore:
    """The explicit debate stopped after round 1 (majority vote of round 1, round-1 tokens), from its rows."""
    if debate.system != "debate":
        raise ValueError(f"round1_vote takes the score of the 'debate' system, got {debate.system!r}")
    rows = [{**r, "answer": r["round1_answer"], "correct": r["round1_correct"], "input_tokens": r["round1_input_tokens"],
             "output_tokens": r["round1_output_tokens"]} for r in debate.rows]
    return SystemScore.from_rows("debate_round1", rows, debate.decoding)


def agents_vote_score(score: SystemScore) -> SystemScore:
    """A transcript system re-read by code: each answer is the vote over the transcript's agents' final answers
    (`agents_vote`, the explicit debate's rule) instead of its consensus line; tokens unchanged. What the model's
    own debate would score if the consensus were a vote."""
    rows = [{**r, "answer": (vote := agents_vote(r["output"])), "correct": is_correct(vote, r["gold"])}
            for r in score.rows]
    return SystemScore.from_rows(f"{score.system}_vote", rows, score.decoding)


def consensus_agreement(score: SystemScore, resamples: int = 2000) -> dict[str, Any]:
    """Over a transcript system's outputs whose agents disagree: the share whose consensus copies the last agent's
    answer and the share whose consensus is the agents' vote, each with its bootstrap CI (None when no agents
    disagree). Only where agents disagree can a copy and a vote differ."""
    readings = [read_consensus(r["output"]) for r in score.rows]
    split = [r for r in readings if r.agents_disagree]

    def share(values: list[bool]) -> dict[str, Any] | None:
        return bootstrap_mean(np.array(values, dtype=float), resamples=resamples).to_json() if values else None

    return {"n": len(readings), "agents_disagree": len(split), "copies_last": share([r.copies_last for r in split]),
            "follows_vote": share([r.follows_vote for r in split])}


# --------------------------------------------------------------------------- paired comparisons

@dataclass(frozen=True)
class Comparison:
    """System `a` against system `b` on the same questions: accuracy and token differences (a - b), McNemar."""

    a: str
    b: str
    accuracy_difference: Estimate
    token_difference: Estimate
    test: McNemar

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "n": self.accuracy_difference.n,
                "accuracy_difference": self.accuracy_difference.to_json(),
                "token_difference": self.token_difference.to_json(),
                "mcnemar": {"only_a": self.test.only_a, "only_b": self.test.only_b, "p_value": self.test.p_value}}


def pool(scores: Sequence[SystemScore]) -> SystemScore:
    """One system's scores on several question samples (e.g. one per seed) as one score over all their rows."""
    if not scores or len({(s.system, s.decoding) for s in scores}) != 1:
        raise ValueError(f"pool takes scores of one system with one decoding, got "
                         f"{sorted({(s.system, s.decoding) for s in scores})}")
    return SystemScore.from_rows(scores[0].system, [r for s in scores for r in s.rows], scores[0].decoding)


def align(a: SystemScore, b: SystemScore) -> tuple[SystemScore, SystemScore]:
    """`a` and `b` on the questions the smaller of them was scored on, in its order (for paired statistics)."""
    if a.n > b.n:
        a = a.restrict(b.questions)
    return a, b.restrict(a.questions)


def _check_paired(a: SystemScore, b: SystemScore) -> None:
    if a.questions != b.questions:
        raise ValueError(f"systems {a.system!r} ({a.n} rows) and {b.system!r} ({b.n} rows) were not scored on the same "
                         "questions in the same order; pair them with align(a, b) first")


def accuracy_estimate(score: SystemScore, resamples: int = 2000) -> Estimate:
    """Accuracy with its bootstrap CI over questions."""
    return bootstrap_mean(score.correct, resamples=resamples)


def token_estimate(score: SystemScore, resamples: int = 2000) -> Estimate:
    """Input + output tokens per question with its bootstrap CI over questions."""
    return bootstrap_mean(score.tokens, resamples=resamples)


def compare(a: SystemScore, b: SystemScore, resamples: int = 2000) -> Comparison:
    """Paired comparison over the same questions: accuracy and token differences (a - b) with CIs, McNemar's p."""
    _check_paired(a, b)
    return Comparison(a.system, b.system, bootstrap_paired_difference(a.correct, b.correct, resamples=resamples),
                      bootstrap_paired_difference(a.tokens, b.tokens, resamples=resamples),
                      mcnemar(a.correct.astype(bool), b.correct.astype(bool)))


def token_ratio(a: SystemScore, b: SystemScore, resamples: int = 2000) -> Estimate:
    """mean tokens of `a` / mean tokens of `b` over the same questions, with its paired bootstrap CI."""
    _check_paired(a, b)
    if b.tokens.sum() <= 0:
        raise ValueError(f"system {b.system!r} has no tokens; a token ratio against it is undefined")
    return paired_bootstrap(np.column_stack([a.tokens, b.tokens]), lambda d: float(d[:, 0].mean() / d[:, 1].mean()),
                            resamples=resamples)
