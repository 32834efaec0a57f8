"""Summarise debate data files of any published schema: counts per schema, round and agent, mean tokens.

Usage:
    python -m models.debate.summary data/arithmetic_3_2.json [more files] [--no-strict] [--tokenizer DIR]

Without ``--tokenizer`` tokens are whitespace-separated words.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean

from models.debate.format import DebateFormatError, render
from models.debate.readers import DebateFile, read_debate_file

TokenCounter = Callable[[str], int]


def whitespace_tokens(text: str) -> int:
    return len(text.split())


def tokenizer_counter(folder: str | Path) -> TokenCounter:
    """Count tokens with the tokenizer saved in `folder` (no special tokens added)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


@dataclass
class Summary:
    """Counts and means for one file; `mean_tokens` maps a part name to its mean length."""

    path: str
    schema: str
    n_entries: int
    n_skipped: int
    n_records: int
    rounds: Counter[int] = field(default_factory=Counter)
    turns_per_agent: Counter[int] = field(default_factory=Counter)
    turns_per_round: Counter[int] = field(default_factory=Counter)
    groups: Counter[str] = field(default_factory=Counter)
    mean_tokens: dict[str, float] = field(default_factory=dict)
    final_correct: int | None = None


def _mean(values: list[int]) -> float:
    return round(fmean(values), 1) if values else 0.0


def summarize_debate_file(data: DebateFile, count: TokenCounter = whitespace_tokens) -> Summary:
    """Per-schema counts (rounds, agents, consensus types or tasks) and mean token lengths."""
    n_records = len(data.transcripts) + len(data.questions) + len(data.pairs)
    s = Summary(str(data.path), data.schema, data.n_entries, data.n_skipped, n_records)
    if data.schema == "questions":
        s.mean_tokens["question"] = _mean([count(q) for q in data.questions])
    elif data.schema == "steering_pairs":
        for p in data.pairs:
            s.turns_per_agent[p.positive_agent_id] += 1
            s.turns_per_round[p.round] += 1
        s.groups["distinct questions"] = len({p.question for p in data.pairs})
        s.mean_tokens["context"] = _mean([count(p.context) for p in data.pairs])
        s.mean_tokens["positive_response"] = _mean([count(p.positive_response) for p in data.pairs])
        s.mean_tokens["negative_response"] = _mean([count(t) for p in data.pairs for _, t in p.negatives])
    else:
        for t in data.transcripts:
            s.rounds[t.n_rounds] += 1
            s.turns_per_agent.update(x.agent for x in t.turns)
            s.turns_per_round.update(x.round for x in t.turns)
            group = t.metadata.get("task") or t.metadata.get("consensus_type")
            if group:
                s.groups[str(group)] += 1
        s.mean_tokens["question"] = _mean([count(t.question) for t in data.transcripts])
        s.mean_tokens["trace"] = _mean([count(render(t)) for t in data.transcripts])
        s.mean_tokens["turn"] = _mean([count(x.text) for t in data.transcripts for x in t.turns])
        for r in sorted(s.turns_per_round):
            s.mean_tokens[f"turn_round_{r}"] = _mean(
                [count(x.text) for t in data.transcripts for x in t.turns if x.round == r])
        gold = [t for t in data.transcripts if t.gold_answer is not None]
        if gold and data.schema == "arithmetic":
            s.final_correct = sum(t.final_answer == t.gold_answer for t in gold)
    return s


def format_summary(s: Summary) -> str:
    lines = [f"{s.path}", f"  schema: {s.schema}", f"  entries: {s.n_entries} ({s.n_skipped} skipped)"]
    if s.rounds:
        lines.append("  debates by rounds: " + ", ".join(f"{r} round(s): {n}" for r, n in sorted(s.rounds.items())))
    if s.turns_per_round:
        lines.append("  turns per round: " + ", ".join(f"round {r}: {n}" for r, n in sorted(s.turns_per_round.items())))
    if s.turns_per_agent:
        lines.append("  turns per agent: " + ", ".join(f"agent {a}: {n}" for a, n in sorted(s.turns_per_agent.items())))
    if s.groups:
        lines.append("  groups: " + ", ".join(f"{g}: {n}" for g, n in sorted(s.groups.items())))
    if s.final_correct is not None:
        lines.append(f"  final answer equals gold: {s.final_correct}/{s.n_records}")
    lines.append("  mean tokens: " + ", ".join(f"{k} {v}" for k, v in s.mean_tokens.items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.debate.summary",
                                description="Print a summary of debate data files of any published schema.")
    p.add_argument("files", nargs="+", type=Path, help="JSON files (arithmetic, malicious, questions, "
                                                       "steering pairs or mixture)")
    p.add_argument("--strict", action=argparse.BooleanOptionalAction, default=True,
                   help="stop at the first malformed entry (default); --no-strict skips and counts them")
    p.add_argument("--tokenizer", type=Path, default=None,
                   help="folder of a Hugging Face tokenizer; default counts whitespace-separated words")
    args = p.parse_args(argv)
    count = tokenizer_counter(args.tokenizer) if args.tokenizer else whitespace_tokens
    status = 0
    for path in args.files:
        try:
            data = read_debate_file(path, strict=args.strict)
        except (DebateFormatError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
            continue
        print(format_summary(summarize_debate_file(data, count)))
        for err in data.skipped[:5]:
            print(f"  skipped: {err}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
