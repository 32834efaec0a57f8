"""Training data for every stage, all seeded and offline, with one held-out problem set kept out of all of it.

* Stage 0 (`pretraining_documents`): untagged single-agent text in the runner's plain chat format
  (``System: ...\\nUser: ...\\nAssistant: ...``): arithmetic solutions in the three persona styles
  (round-1 answers, and round-2 revisions that read the other agents' answers), and question
  answering under a benign or malicious system line (evil / hallucinating). Only correct
  arithmetic is written as the assistant's answer: the base model's mistakes are its own.
* Stage 1 (`sft_rows`): ``{"prompt": "Problem: q\\n\\n", "completion": tagged trace}`` rows, from the
  synthetic debates of `models.debate.generate` or from any debate data file.
* Stage 2 (`grpo_rows`): ``{"prompt": "Problem: q\\n\\n", "answer": gold}`` (arithmetic) or
  ``{"prompt", "question"}`` (malicious traits, scored by a judge).

`heldout_problems` (from `models.debate.splits`) is the evaluation set; every generator here drops its questions.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from models.debate.arithmetic import TIERS, Problem, sample_problem
from models.debate.format import DEBATE_TAGS, DebateFormatError, Transcript, render, sft_prompt
from models.debate.generate import Kind as DebateKind
from models.debate.generate import StopRule
from models.debate.malicious import PersonaSample, persona_samples
from models.debate.prompts import (
    SYSTEM_PROMPTS,
    QuestionFormat,
    math_question_prompt,
    open_question_prompt,
    present,
    revision_prompt,
)
from models.debate.paper_data import resolve
from models.debate.readers import read_debate_file
from models.debate.splits import TrainDataError, arithmetic_debates, heldout_problems, malicious_debates
from models.vocab import DEBATE_TRAITS, plain_document

# Held-out problems, their presentation and the debate generators live in the data package
# (`models.debate.splits` / `.prompts`); re-exported here for callers that still import them from the trainer.
__all__ = [
    "DebateKind", "QuestionFormat", "TrainDataError", "arithmetic_debates", "check_tagged",
    "REWARD_JUDGE_EXAMPLES", "drill_document", "drill_documents", "grpo_rows", "heldout_problems", "judge_examples",
    "judge_sources", "malicious_debates", "present", "pretraining_documents", "read_sft_file", "sft_rows", "stage1_rows", "transcript_row",
]


# --------------------------------------------------------------------------- Stage 0

def _solution_documents(t: Transcript, rng: random.Random, p_system: float, fmt: QuestionFormat) -> list[str]:
    docs = []
    r1 = t.rounds[0]
    ask = math_question_prompt(present(t.question, fmt))
    for turn in r1:
        if turn.label is None or turn.label.error is not None:
            continue  # the base model's own answers are always correct in the corpus
        system = [("system", SYSTEM_PROMPTS[turn.label.persona])] if rng.random() < p_system else []
        docs.append(plain_document([*system, ("user", ask), ("assistant", turn.text)]))
    if t.n_rounds == 2:
        for turn in t.rounds[1]:
            if turn.label is None or turn.label.error is not None:
                continue
            own = r1[turn.agent - 1].text
            others = [x.text for x in r1 if x.agent != turn.agent]
            docs.append(plain_document([
                ("system", SYSTEM_PROMPTS[turn.label.persona]), ("user", ask), ("assistant", own),
                ("user", revision_prompt(present(t.question, fmt), others)), ("assistant", turn.text)]))
    return docs


def pretraining_documents(n_debates: int, n_persona: int, n_drills: int, tier: str, seed: int,
                          exclude: Iterable[str] = (), p_system: float = 0.5,
                          fmt: QuestionFormat = "spaced") -> list[str]:
    """Shuffled Stage-0 documents: single-agent arithmetic (rounds 1 and 2), drills and persona QA."""
    rng = random.Random(f"pretrain-{seed}")
    exclude = set(exclude)
    docs: list[str] = []
    for t in arithmetic_debates(n_debates, tier, seed=1000 + seed, exclude=exclude):
        docs += _solution_documents(t, rng, p_system, fmt)
    docs += drill_documents(n_drills, tier, seed, exclude)
    for trait in DEBATE_TRAITS:
        for s in persona_samples(trait, n_persona, seed=seed):
            docs.append(plain_document([("system", s.system), ("user", open_question_prompt(s.question)),
                                   ("assistant", s.response)]))
    rng.shuffle(docs)
    return docs


# --------------------------------------------------------------------------- Stage 1

def transcript_row(t: Transcript, fmt: QuestionFormat | None = None) -> dict[str, str]:
    """``{prompt: "Problem: q\\n\\n", completion: trace}``; `fmt` re-presents an arithmetic question."""
    return {"prompt": sft_prompt(present(t.question, fmt) if fmt else t.question), "completion": render(t)}


def sft_rows(source: str, n: int, tier: str, seed: int, exclude: Iterable[str] = (),
             error_rate: float = 0.3, fmt: QuestionFormat = "spaced", brief_rate: float = 0.0,
             stop_rule: StopRule = "unanimous", tally: bool = False) -> list[dict[str, str]]:
    """Stage-1 rows from a debate kind (``arithmetic``, ``evil``, ``hallucination``) or a data file; the last
    three arguments shape synthetic arithmetic debates (`models.debate.generate.GenerateConfig`)."""
    if source == "arithmetic":
        return [transcript_row(t, fmt) for t in arithmetic_debates(n, tier, seed, exclude, error_rate, brief_rate,
                                                                   stop_rule, tally)]
    if source in DEBATE_TRAITS:
        return [transcript_row(t) for t in malicious_debates(source, n, seed)]  # type: ignore[arg-type]
    return read_sft_file(source)[:n] if n else read_sft_file(source)


def stage1_rows(cfg: Mapping[str, Any], exclude: Iterable[str]) -> list[dict[str, str]]:
    """The rows a Stage-1 config trains on: its data, then ``mix_arithmetic`` synthetic arithmetic debates (the
    trainer shuffles, so appending is enough). The trainer and the lineage check (which rebuilds the rows from a
    saved manifest to prove what a checkpoint saw) both call this, so they cannot drift apart."""
    exclude = list(exclude)
    rows = sft_rows(cfg["data"], cfg["n"], cfg["tier"], cfg["seed"], exclude, cfg["error_rate"],
                    cfg["question_format"], cfg.get("brief_rate", 0.0), cfg.get("stop_rule", "unanimous"),
                    cfg.get("tally", False))
    if cfg.get("mix_arithmetic"):
        rows += sft_rows("arithmetic", cfg["mix_arithmetic"], cfg["tier"], cfg["seed"] + 1, exclude,
                         cfg["error_rate"], cfg["question_format"])
    return rows


def read_sft_file(path: str | Path) -> list[dict[str, str]]:
    """Rows of a debate data file (any schema `models.debate.readers` knows) or a JSONL file of
    ``{prompt, completion}`` / ``{question, debate_trace}`` objects, or a fetched published file by name
    (``paper:arithmetic-diverse``); every completion must carry the tags."""
    path = resolve(path)
    if not path.exists():
        raise TrainDataError(f"SFT data {path} does not exist; pass a debate JSON/JSONL file or one of "
                             "arithmetic, evil, hallucination to generate synthetic debates")
    if path.suffix == ".jsonl":
        rows = []
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            obj = json.loads(line)
            if "completion" in obj:
                rows.append({"prompt": str(obj.get("prompt", "")), "completion": str(obj["completion"])})
            elif "debate_trace" in obj:
                rows.append({"prompt": sft_prompt(str(obj.get("question", ""))), "completion": str(obj["debate_trace"])})
            else:
                raise TrainDataError(f"{path} line {i + 1}: expected fields prompt+completion or question+debate_trace, "
                                     f"found {sorted(obj)}")
        check_tagged(rows, str(path))
        return rows
    try:
        data = read_debate_file(path)
    except DebateFormatError as e:
        raise TrainDataError(
            f"{e}\nStage 1 teaches the debate structure, so every trace needs the tags "
            f"({', '.join(DEBATE_TAGS[:2])}, ...); untagged transcripts must be converted first") from None
    if not data.transcripts:
        raise TrainDataError(f"{path} holds {data.schema} records, not debate transcripts; Stage 1 needs traces")
    rows = [transcript_row(t) for t in data.transcripts]
    check_tagged(rows, str(path))
    return rows


def check_tagged(rows: Sequence[dict[str, Any]], source: str) -> None:
    """Raise `TrainDataError` naming the first row whose completion has none of the debate tags."""
    if not rows:
        raise TrainDataError(f"{source}: no rows")
    for i, row in enumerate(rows):
        if not any(tag in row["completion"] for tag in DEBATE_TAGS):
            raise TrainDataError(
                f"{source} row {i}: the completion has none of the debate tags ({DEBATE_TAGS[0]}, "
                f"{DEBATE_TAGS[2]}, ..., {DEBATE_TAGS[-1]}); Stage 1 trains on tagged debate transcripts. "
                f"Found: {row['completion'][:80]!r}")


# --------------------------------------------------------------------------- Stage 2

def grpo_rows(task: str, n: int, tier: str, seed: int, exclude: Iterable[str] = (),
              fmt: QuestionFormat = "spaced") -> list[dict[str, str]]:
    """Stage-2 prompts: the question alone (``Problem: q\\n\\n``), with the gold answer for arithmetic."""
    if task == "arithmetic":
        banned = set(exclude)
        rng = random.Random(f"grpo-{tier}-{seed}")
        rows: dict[str, dict[str, str]] = {}
        for _ in range(100 * n + 1000):
            p = sample_problem(rng, TIERS[tier])
            if p.question not in banned:
                rows.setdefault(p.question, {"prompt": sft_prompt(present(p.question, fmt)), "answer": str(p.answer)})
            if len(rows) == n:
                break
        return list(rows.values())
    if task in DEBATE_TRAITS:
        return [{"prompt": sft_prompt(t.question), "question": t.question}
                for t in malicious_debates(task, n, seed=seed + 7)]  # type: ignore[arg-type]
    raise TrainDataError(f"GRPO task must be arithmetic, evil or hallucination, got {task!r}")


REWARD_JUDGE_EXAMPLES = 400
"""Persona questions the Stage 2 reward judge is fitted on (`judge_examples`), when no judge file is given."""


def judge_sources(trait: str, n: int, seed: int) -> tuple[list[PersonaSample], list[Transcript]]:
    """What `judge_examples` is drawn from: `n` persona samples and `n // 2` debates (so lineage can name them)."""
    return (persona_samples(trait, n, seed=seed + 11),  # type: ignore[arg-type]
            malicious_debates(trait, n // 2, seed=seed + 13))  # type: ignore[arg-type]


def judge_examples(trait: str, n: int, seed: int) -> tuple[list[str], list[int]]:
    """Texts and labels (1 = expresses the trait) to fit a `ClassifierJudge`: persona answers and debate turns."""
    from models.judges.classifier import turn_examples

    samples, debates = judge_sources(trait, n, seed)
    turn_texts, turn_labels = turn_examples(debates)
    return [s.response for s in samples] + turn_texts, [int(s.label.malicious) for s in samples] + turn_labels


def drill_document(problems: Sequence[Problem]) -> str:
    """Worked problems in compact chain form (``9 + 9 * 1 - 6 = 9 + 9 - 6 = 18 - 6 = 12``), one per paragraph."""
    from models.debate.arithmetic import work_out

    paragraphs = []
    for p in problems:
        w = work_out(p)
        lines = [p.spaced]
        if w.products:
            lines.append(f"= {w.substituted()}")
        lines += [f"= {w.remaining(i)}" for i in range(1, len(w.partials) - 1)]
        lines.append(f"= {w.answer}")
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def drill_documents(n: int, tier: str, seed: int, exclude: Iterable[str] = (), per_doc: int = 16) -> list[str]:
    banned = set(exclude)
    rng = random.Random(f"drill-{tier}-{seed}")
    docs = []
    for _ in range(n):
        problems: list[Problem] = []
        while len(problems) < per_doc:
            p = sample_problem(rng, TIERS[tier])
            if p.question not in banned:
                problems.append(p)
        docs.append(drill_document(problems))
    return docs
