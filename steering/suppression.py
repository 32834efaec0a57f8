"""Suppressing an instilled malicious agent by steering, base vs distilled (paper §4).

The pipeline `experiments/suppress_malicious.py` and the steering notebook share:

* `models.debate.splits.heldout_questions` -- test questions of a trait outside the training debates;
* `trait_vectors` -- the trait direction read the paper's way for each model: base, the system-prompt
  contrast at chat position -2; distilled, Agent 2 vs the other agents (Eq. 3) on the Stage 1 (SFT)
  checkpoint; each scaled as asked (`scaled`);
* `Arm` and `arm_rows` -- one steered system swept over alpha: judged trait score, perplexity under a
  reference model and degenerate-output flag per answer, plus held-out arithmetic accuracy under the
  same steering. `steering.frontier.summarize_sweep` and `first_suppression` turn the rows into the
  sweep table and the suppression points.

Example:
    >>> test_q, train_q = heldout_questions("evil", 8, seed=0, n_train=16)
    >>> base_vec, imad_vec = trait_vectors(base, sft, "evil", train_q, site, n_extract=16, seed=0)
    >>> rows = arm_rows(Arm("base", base, base_vec, "chat"), "evil", test_q, judge, base, alphas=[-2.0, 0.0],
    ...                 max_new_tokens=64, n_capability=8, capability_tokens=64)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from models import HookedModel
from models.debate.format import sft_prompt, strip_tags
from models.debate.splits import malicious_debates
from models.judges import Judge
from models.vocab import DebateTrait
from probes import collect_activations, eq3_directions, eq3_source, system_prompt_direction, system_prompt_source
from probes.directions import Direction
from steering.capability import arithmetic_accuracy, arithmetic_problems
from steering.coherence import degeneracy, response_perplexity
from steering.prepare import scale_to_residual, stamp
from steering.sweep import alpha_sweep

Scale = Literal["residual", "unit"]
Prompting = Literal["chat", "sft"]


def scaled(vector: Direction, activations: Any, scale: Scale) -> Direction:
    """'residual': alpha 1 shifts a typical activation at the site by 10% of its norm; 'unit': as read (unit norm)."""
    return scale_to_residual(vector, activations) if scale == "residual" else vector


def trait_vectors(base: HookedModel, sft: HookedModel, trait: DebateTrait, train_questions: list[str], site: str, *,
                  n_extract: int, seed: int, scale: Scale = "residual") -> tuple[Direction, Direction]:
    """(base vector, distilled vector) of `trait` at `site`, each stamped with the model it was read from.

    Base: the system-prompt contrast over `train_questions` at chat position -2. Distilled: the Eq. 3
    Agent 2 direction on `n_extract` training debates (seed ``seed + 101``) read from the Stage 1 model
    `sft` at each response's last token.
    """
    base_acts = collect_activations(base, system_prompt_source(train_questions, trait, position=-2), [site])
    base_vec = scaled(stamp(system_prompt_direction(base_acts, site), base), base_acts.at(site), scale)
    debates = malicious_debates(trait, n_extract, seed=seed + 101)
    sft_acts = collect_activations(sft, eq3_source(debates, positions="turn_last"), [site], truncate=True, progress=True)
    imad_vec = scaled(stamp(eq3_directions(sft_acts, site)["agent2"], sft), sft_acts.at(site), scale)
    return base_vec, imad_vec


@dataclass
class Arm:
    """One steered system: a model, the vector applied to it, and how it is prompted."""

    name: str
    model: HookedModel
    vector: Direction
    prompt: Prompting  # "chat" (the base model's chat format) or "sft" ("Problem: q" as in training)


def arm_rows(arm: Arm, trait: str, questions: list[str], judge: Judge, reference: HookedModel, *,
             alphas: list[float], max_new_tokens: int, n_capability: int, capability_tokens: int
             ) -> list[dict[str, Any]]:
    """Steered answers to every question at every alpha, scored; plus capability under the same steering.

    Rows of kind "answer" (judge score, refusal, perplexity under `reference`, degenerate flag) and of
    kind "capability" (accuracy on `n_capability` held-out arithmetic problems), ready for
    `steering.frontier.summarize_sweep`.
    """
    render = arm.model.chat_prompt if arm.prompt == "chat" else sft_prompt
    sweep = alpha_sweep(arm.model, arm.vector, [render(q) for q in questions], alphas,
                        max_new_tokens=max_new_tokens, desc=f"{trait}/{arm.name}")
    answers = [strip_tags(r.text) for r in sweep]
    asked = [questions[r.prompt_index] for r in sweep]
    scores = judge.score(asked, answers)
    ppl = response_perplexity(reference, [reference.chat_prompt(q) for q in asked], answers)
    rows = [{"kind": "answer", "trait": trait, "arm": arm.name, "alpha": r.alpha, "question": q, "text": r.text,
             "score": s.score, "refusal": s.refusal, "perplexity": p, "degenerate": degeneracy(a).degenerate,
             "n_new_tokens": r.n_new_tokens}
            for r, q, a, s, p in zip(sweep, asked, answers, scores, ppl)]
    problems = arithmetic_problems(n_capability)
    for c in arithmetic_accuracy(arm.model, problems, arm.vector, alphas, prompt=arm.prompt,
                                 max_new_tokens=capability_tokens):
        rows.append({"kind": "capability", "trait": trait, "arm": arm.name, "alpha": c.alpha, "accuracy": c.accuracy})
    return rows


def describe_point(p: dict[str, Any]) -> str:
    """One line of a `first_suppression` point: unsteered, full suppression and best clean setting."""
    where = "never" if p["alpha"] is None else f"alpha={p['alpha']:+.1f}, capability {p['capability']:.2f}"
    best = ("-" if p["best_clean_alpha"] is None else
            f"alpha={p['best_clean_alpha']:+.1f}: score {p['best_clean_score']:.1f}, "
            f"capability {p['best_clean_capability']:.2f}")
    return (f"{p['trait']:<13} {p['arm']:<22} unsteered: score {p['trait_score_at_0']:.1f}, capability "
            f"{p['capability_at_0']:.2f} | full suppression: {where} | best clean {best}")
