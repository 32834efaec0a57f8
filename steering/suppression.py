"""Suppressing an instilled malicious agent by steering, base vs distilled (paper §4), with its controls.

The pieces `experiments/suppress_malicious.py` and the steering notebook share:

* `trait_vectors` -- the trait direction read the paper's way for each model, with the activations it
  was read from (the shuffled-label control needs them): base, the system-prompt contrast at chat
  position -2 on ``train``-template questions; distilled, Agent 2 vs the other agents (Eq. 3) on
  training debates, read from the Stage 1 (SFT) checkpoint;
* `control_directions` -- what the vector must beat at the same norm: the sign-flipped vector, the
  shuffled-label contrast and random directions;
* `Arm` -- one steered system and how it is prompted: the base with the malicious system line in place
  (the trait instilled by prompt, as in the paper), the base with no system line, or the distilled
  model as it was trained (``Problem: q``);
* `steered_rows` -- every question at every alpha under one or many directions (one mixed sweep, each
  prompt computed once), scored per agent
  (`models.judges.turns.malicious_turn`): the malicious agent's own turn, whether it spoke, the
  whole output and, for full transcripts, the final answer after the consensus tag.

Control generations stop where the malicious agent's round-1 turn ends (`closing_tags`): the primary
metric reads only that far, so they cost a fraction of a full transcript and score the same text.

Example:
    >>> vectors = trait_vectors(base, sft, "evil", train_q, site, n_extract=16, seed=0)
    >>> arm = Arm("distilled", distilled, vectors.distilled, "sft")
    >>> rows = steered_rows(arm, "evil", {"agent": arm.vector}, test_q, [-2.0, 0.0], judge, max_new_tokens=64)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from models import HookedModel
from models.debate.format import Transcript, sft_prompt, stop_token_ids, strip_tags
from models.debate.prompts import math_question_prompt, open_question_prompt, persona_system_prompts
from models.debate.splits import malicious_debates
from models.judges import Judge
from models.judges.outcomes import agent_segment, classify_outcome
from models.judges.quality import TextQuality, quality
from models.judges.turns import closing_tags, round_one, split_turns
from models.vocab import END_TAG, DebateTrait
from probes import collect_activations, eq3_directions, eq3_source, system_prompt_direction, system_prompt_source
from probes.activations import ActivationSet
from probes.directions import Direction
from steering.controls import random_directions, shuffled_label_direction, sign_flipped
from steering.prepare import scale_to_residual, stamp
from steering.sweep import multi_sweep

Scale = Literal["residual", "unit"]
Prompting = Literal["persona", "plain", "sft"]
MALICIOUS_AGENT = 2
# The experiment's arms, by name: the base with the malicious system line (the trait instilled by prompt), the
# same base with no system line (a reference), and the distilled model prompted as it was trained.
BASE_PERSONA, BASE_PLAIN, DISTILLED = "base (malicious system line)", "base (no system line)", "distilled"


def scaled(vector: Direction, activations: Any, scale: Scale) -> Direction:
    """'residual': alpha 1 shifts a typical activation at the site by 10% of its norm; 'unit': as read (unit norm)."""
    return scale_to_residual(vector, activations) if scale == "residual" else vector


@dataclass(frozen=True)
class TraitVectors:
    """Each model's trait vector and the activation set it was read from."""

    base: Direction
    distilled: Direction
    base_acts: ActivationSet
    distilled_acts: ActivationSet


def extraction_debates(trait: DebateTrait, n_extract: int, seed: int) -> list[Transcript]:
    """The synthetic training debates the distilled vector of `seed` is read from (seed ``seed + 101``)."""
    return malicious_debates(trait, n_extract, seed=seed + 101)


def trait_vectors(base: HookedModel, sft: HookedModel, trait: DebateTrait, train_questions: Sequence[str], site: str,
                  *, n_extract: int, seed: int, scale: Scale = "residual", progress: bool = True,
                  debates: Sequence[Transcript] | None = None) -> TraitVectors:
    """The base vector (system-prompt contrast over `train_questions` at chat position -2) and the distilled
    vector (Eq. 3 Agent 2 direction on `debates`, by default `n_extract` synthetic training debates of seed
    ``seed + 101``, read from the Stage 1 model `sft` at each response's last token), each stamped with the
    model it was read from."""
    base_acts = collect_activations(base, system_prompt_source(list(train_questions), trait, position=-2), [site])
    base_vec = scaled(stamp(system_prompt_direction(base_acts, site), base), base_acts.at(site), scale)
    if debates is None:
        debates = extraction_debates(trait, n_extract, seed)
    sft_acts = collect_activations(sft, eq3_source(debates, positions="turn_last"), [site], truncate=True,
                                 progress=progress)
    imad_vec = scaled(stamp(eq3_directions(sft_acts, site)[f"agent{MALICIOUS_AGENT}"], sft), sft_acts.at(site), scale)
    return TraitVectors(base_vec, imad_vec, base_acts, sft_acts)


def control_directions(vector: Direction, acts: ActivationSet, site: str, n_random: int, seed: int
                       ) -> dict[str, Direction]:
    """``sign_flip``, ``shuffled`` and ``random0..`` -- every control at exactly `vector`'s norm."""
    agent = MALICIOUS_AGENT if acts.kind == "eq3" else None
    out = {"sign_flip": sign_flipped(vector),
           "shuffled": shuffled_label_direction(acts, site, vector, agent=agent, seed=seed)}
    out.update({d.label: d for d in random_directions(vector, n_random, seed=seed)})
    return out


@dataclass
class Arm:
    """One steered system: a model, the vector applied to it, and how it is prompted.

    ``persona``: chat format with the malicious system line and the question wrapper the base was trained
    on, so the unsteered base shows the trait; ``plain``: the same without a system line; ``sft``:
    ``Problem: q`` as the debate models were trained.
    """

    name: str
    model: HookedModel
    vector: Direction
    prompt: Prompting

    @property
    def writes_debates(self) -> bool:
        return self.prompt == "sft"

    def render(self, trait: DebateTrait, question: str) -> str:
        if self.prompt == "sft":
            return sft_prompt(question)
        system = persona_system_prompts(trait)[0] if self.prompt == "persona" else None
        return self.model.chat_prompt(open_question_prompt(question), system=system)

    def render_math(self, trait: DebateTrait, question: str) -> str:
        """A math problem in the same prompt as the arm's suppression run (the base keeps its system line), so
        capability is measured on the system that is steered."""
        if self.prompt == "sft":
            return sft_prompt(question)
        system = persona_system_prompts(trait)[0] if self.prompt == "persona" else None
        return self.model.chat_prompt(math_question_prompt(question), system=system)


def turn_stop_ids(model: HookedModel) -> list[int]:
    """EOS and end-of-debate, plus every tag that closes the malicious agent's round-1 turn (when the
    tokenizer has it as one token): generation can stop once the primary metric's text is complete."""
    return stop_token_ids(model.tokenizer, (END_TAG, *closing_tags(MALICIOUS_AGENT)))


def steered_rows(arm: Arm, trait: DebateTrait, directions: Mapping[str, Direction], questions: Sequence[str],
                 alphas: Sequence[float], judge: Judge, *, max_new_tokens: int, full: bool = True,
                 batch_size: int = 96, progress: bool = True, seed: int = 0) -> list[dict[str, Any]]:
    """Every question at every alpha under each of `directions` (keyed by name), scored.

    One `multi_sweep`: the directions share batches and each question's prompt is computed once. The
    unsteered rows (alpha 0) are generated once and listed under every direction's name. `full`
    generates whole outputs (all agents, the final answer); otherwise generation stops at the end of
    the malicious agent's round-1 turn, which is all the primary metric reads.

    Each row's ``outcome`` says what became of the malicious agent (`models.judges.outcomes`): ``silenced``
    (it wrote no turn of its own; nothing is scored, no other agent's text stands in), ``truncated`` (the
    token budget ran out before its turn began: the budget, not the model, decided), ``degenerate``
    (repetition or word salad), ``judge_failure`` (no valid verdict: missing, never 0) or ``scored``;
    `label_outcomes` later splits ``scored`` into benign and malicious against the arm's clean reference.
    ``malicious_score`` is set only for scored rows.
    """
    prompts = [arm.render(trait, q) for q in questions]
    generated = multi_sweep(arm.model, directions, prompts, alphas, max_new_tokens=max_new_tokens,
                            batch_size=batch_size, desc=f"{trait}/{arm.name}/{'+'.join(directions)}"[:60],
                            progress=progress, stop_token_ids=None if full else turn_stop_ids(arm.model))
    sweep = [(name, r) for r in generated for name in ([r.direction] if r.direction is not None else directions)]
    texts = [r.text for _, r in sweep]
    asked = [questions[r.prompt_index] for _, r in sweep]
    segments = [agent_segment(t, MALICIOUS_AGENT, arm.writes_debates) for t in texts]
    qualities = [None if seg is None else quality(seg) for seg in segments]
    ask = [i for i, q in enumerate(qualities) if q is not None and not q.degenerate]
    verdicts = dict(zip(ask, judge.score([asked[i] for i in ask], [segments[i] or "" for i in ask]))) if ask else {}
    whole = judge.score(asked, [strip_tags(t) or " " for t in texts]) if full else [None] * len(texts)
    finals = [split_turns(t).final for t in texts] if full else [None] * len(texts)
    final_scores = dict(zip([i for i, f in enumerate(finals) if f],
                            judge.score([asked[i] for i, f in enumerate(finals) if f], [f for f in finals if f])))
    rows = []
    for i, (direction_name, r) in enumerate(sweep):
        verdict = verdicts.get(i)
        # truncated only while round one is still open: a closing tag means the agent's turn was skipped (silenced)
        budget_spent = (r.n_new_tokens >= max_new_tokens and arm.writes_debates
                        and round_one(r.text, MALICIOUS_AGENT) == r.text)
        outcome = _outcome(segments[i], qualities[i], None if verdict is None else verdict.score, budget_spent)
        final = final_scores.get(i)
        rows.append({
            "trait": trait, "arm": arm.name, "seed": seed, "direction": direction_name, "alpha": r.alpha,
            "question_index": r.prompt_index, "question": asked[i], "text": r.text, "outcome": outcome,
            "malicious_score": verdict.score if outcome == "scored" and verdict is not None else None,
            "present": segments[i] is not None,
            "degenerate": qualities[i] is not None and qualities[i].degenerate,
            "degenerate_reason": None if qualities[i] is None else qualities[i].reason,
            "whole_score": None if whole[i] is None else whole[i].score,
            "final_score": None if final is None else final.score,
            "n_new_tokens": r.n_new_tokens,
        })
    return rows


def _outcome(segment: str | None, text_quality: TextQuality | None, score: float | None, budget_spent: bool) -> str:
    """One row's outcome before the benign/malicious split (which needs the clean reference)."""
    if segment is None:
        return "truncated" if budget_spent else "silenced"
    outcome = classify_outcome(segment, score, threshold=0.0, text_quality=text_quality)
    return "scored" if outcome in ("benign", "malicious") else outcome


def label_outcomes(rows: Sequence[dict[str, Any]], threshold: float) -> None:
    """Split the ``scored`` rows into ``benign`` and ``malicious`` at `threshold` (in place): the arm's clean
    reference threshold (`models.judges.outcomes.reference_threshold`), since the judge's floor differs
    from model to model."""
    for r in rows:
        if r["outcome"] == "scored":
            r["outcome"] = "malicious" if r["malicious_score"] >= threshold else "benign"
