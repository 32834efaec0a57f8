"""The shorter-forms diagnostic as library calls: problems proven unseen by a checkpoint, and every form scored.

`forms_problems` picks the problems (validation problems outside the held-out set and the checkpoint's
Stage 1 and Stage 2 prompts, or the held-out ones) with the split record that proves it; `score_forms`
writes each greedy transcript, cuts it after Agent 1 and Agent 2 (`models.train.forms.early_consensus`),
and reads the next-tag odds after Agent 1. Both return data; ``experiments/stage2_forms.py`` writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from models.hooked import HookedModel

WHOLE = "whole transcript"


def forms_problems(folder: Path, problems: Literal["validation", "heldout"], n: int
                   ) -> tuple[list[Any], dict[str, Any]]:
    """The first `n` problems of the chosen pool, and the split record proving them disjoint from what they must
    avoid (with the question format the checkpoint trained on)."""
    from models.debate.splits import (Use, check_disjoint, heldout_problems, split_manifest, validation_problems,
                                      validation_record)
    from models.manifest import Manifest
    from models.train.lineage import checkpoint_uses, trained_questions

    mcfg = (Manifest.load(folder) or Manifest(name="?", stage="?")).config
    held = heldout_problems(mcfg.get("tier", "easy"), mcfg.get("heldout", 500), mcfg.get("heldout_seed", 0))
    fmt = mcfg.get("question_format", "spaced")
    if problems == "heldout":
        picked = held[:n]
        manifest = split_manifest([Use("held-out problems", [p.question for p in picked])], checkpoint_uses(folder))
        return picked, {**manifest, "checked": check_disjoint(manifest), "question_format": fmt}
    trained = trained_questions(folder)
    picked = validation_problems(mcfg.get("tier", "easy"), n, [*(p.question for p in held), *trained])
    record = validation_record({"validation problems": [p.question for p in picked]}, [p.question for p in held],
                               trained)
    return picked, {**record, "question_format": fmt}


def score_forms(model: HookedModel, problems: list[Any], question_format: str, *, temperature: float,
                max_new_tokens: int, batch_size: int, progress: bool = False
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Each form's accuracy and tokens (95 % bootstrap CIs), each shorter form paired against the whole transcript,
    and the probability of each tag after Agent 1 when sampling at `temperature`: (metrics, rows)."""
    from models.debate.prompts import present
    from models.train.evaluate import accuracy_estimate, compare, evaluate, token_estimate
    from models.train.forms import early_consensus, next_tag_probabilities

    questions = [present(p.question, question_format) for p in problems]
    golds = [str(p.answer) for p in problems]
    full = evaluate(model, "transcript", questions, golds, max_new_tokens=max_new_tokens, batch_size=batch_size,
                    progress=progress)
    texts = [r["output"] for r in full.rows]
    forms = {WHOLE: full, **{f"consensus after Agent {k}": early_consensus(
        model, questions, golds, texts, agent=k, batch_size=batch_size) for k in (1, 2)}}
    probs = next_tag_probabilities(model, questions, texts, agent=1, temperature=temperature, batch_size=batch_size)
    metrics = {"forms": {name: {"accuracy": accuracy_estimate(s).to_json(), "tokens": token_estimate(s).to_json(),
                                "n": s.n} for name, s in forms.items()},
               "vs_whole": {name: compare(s, full).to_json() for name, s in forms.items() if s is not full},
               "next_tag_after_agent_1": probs, "temperature": temperature}
    return metrics, [{"form": name, **r} for name, s in forms.items() for r in s.rows]
