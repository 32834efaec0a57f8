"""Synthetic scores of every internalization system (no model): the inputs `statistics` and the report read.

Per seed, four problems (gold 14): the single answer is right only on the two the debate does not see, the
debate (first two problems) and both transcript systems are always right, IMAD writes 40 tokens where Stage 1
writes 100 and the debate 500. Stage 1's first transcript of each seed has a dissenting last agent that its
consensus outvotes.
"""

from __future__ import annotations

from models.debate.format import CONSENSUS_TAG, ROUND_TAGS, agent_tag
from models.train.evaluate import SystemScore
from models.train.internalization import EvalConfig


def transcript(last: str) -> str:
    turns = "".join(f"{agent_tag(k, 1)}: work. \\boxed{{{a}}}\n\n" for k, a in ((1, "14"), (2, "14"), (3, last)))
    return f"{ROUND_TAGS[1]}\n\n{turns}{CONSENSUS_TAG}\nAll agents reached a consensus of \\boxed{{14}}\n\n"


def _row(q: str, correct: bool, n_in: int, n_out: int, **extra) -> dict:
    return {"question": q, "gold": "14", "answer": "14" if correct else "3", "correct": correct,
            "input_tokens": n_in, "output_tokens": n_out, "decoding": "greedy", **extra}


def synthetic_scores(cfg: EvalConfig) -> dict[str, list[SystemScore]]:
    """System key -> one score per seed of `cfg` (every training run scores alike)."""
    out: dict[str, list[SystemScore]] = {k: [] for k in cfg.systems()}
    for seed in cfg.seeds:
        qs = [f"{seed}-{j}" for j in range(4)]
        out["single"].append(SystemScore.from_rows("single", [_row(q, j >= 2, 20, 10) for j, q in enumerate(qs)]))
        out["debate"].append(SystemScore.from_rows("debate", [
            _row(q, True, 300, 200, round1_answer="14", round1_correct=True, round1_input_tokens=100,
                 round1_output_tokens=50) for q in qs[:2]]))
        for key in cfg.systems():
            if key.startswith("sft"):
                rows = [_row(q, True, 10, 90, output=transcript("13" if j == 0 else "14"), tagged=True)
                        for j, q in enumerate(qs)]
            elif key.startswith("imad"):
                rows = [_row(q, True, 10, 30, output="\\boxed{14}") for q in qs]
            else:
                continue
            out[key].append(SystemScore.from_rows(key, rows))
    return out
