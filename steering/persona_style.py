"""Agent-style steering (paper §3): steer toward each debate persona, with controls, and score the output
against that persona's own writing.

The generation side of the agent-style experiment (`steering.style_experiment.run` strings it together,
`steering.style_evidence` turns its rows into estimates and verdicts):

* `style_references` -- one seed's held-out question sample and, per persona, a correct solution to
  each written in that persona's style;
* `persona_vectors` -- the Eq. 3 agent-vs-others direction of each persona, read from a Stage 1 (SFT)
  checkpoint on one seed's training debates;
* `style_prompts` -- one rendering of each question, given to *both* models, so a difference between
  them comes from the models and not from what they were asked;
* `steering_arms` -- the persona directions with their controls at the same norm: the sign-flipped
  vector and seeded random directions;
* `style_rows` -- every arm at every alpha on every question in mixed batches (`multi_sweep`), each
  output scored with ROUGE against the references it is compared with.

Example:
    >>> questions, refs = style_references("easy", 24, seed=0)
    >>> vectors = persona_vectors(sft, site, n_extract=24, tier="easy", seed=0)
    >>> prompts = style_prompts(base, questions, "chat")                    # the same text for both models
    >>> arms = steering_arms({p: adopt(v, base) for p, v in vectors.items()}, n_random=10, seed=0)
    >>> rows = style_rows("base", base, prompts, arms, refs, alphas=[0, 1, 2, 4], seed=0, max_new_tokens=96)
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from models import HookedModel
from models.debate.arithmetic import work_out
from models.debate.format import Transcript, sft_prompt, strip_tags
from models.debate.personas import ARITHMETIC_PERSONAS, PERSONA_WRITERS
from models.debate.prompts import QuestionFormat, math_question_prompt, present
from models.debate.splits import arithmetic_debates, heldout_problems
from probes import collect_activations, eq3_directions, eq3_source
from probes.directions import Direction
from steering.coherence import degeneracy
from steering.controls import random_directions, sign_flipped
from steering.prepare import SteeringError, scale_to_residual, stamp
from steering.style_evidence import MEAN
from steering.style_metrics import rouge_pair
from steering.sweep import multi_sweep

PERSONA_NAMES = {"chain_of_thought": "Chain-of-Thought", "self_critique": "Self-Critique",
                 "program_of_thought": "Program-of-Thought"}
TARGETS = (*PERSONA_NAMES, MEAN)  # each persona, then the mean over them: every table's rows
HELDOUT_POOL = 500  # held-out problems questions are sampled from; extraction debates avoid all of them
Scale = Literal["residual", "unit", "raw"]
PromptKind = Literal["chat", "problem"]
ArmKind = Literal["persona", "sign_flip", "random"]
UNSTEERED = "unsteered"
ARM_KINDS = (UNSTEERED, "persona", "sign_flip", "random")  # every row's ``kind``


def style_references(tier: str, n_test: int, seed: int, question_format: QuestionFormat = "spaced",
                     exclude: Collection[str] = ()) -> tuple[list[str], dict[str, list[str]]]:
    """`n_test` held-out questions sampled by `seed` and, per persona, a correct solution to each in its style.

    The seed draws both the sample (from the tier's first `HELDOUT_POOL` held-out problems, minus the
    presented questions in `exclude`, e.g. other seeds' samples) and the references' wording, so seeds
    differ in what is asked and in what counts as the persona's style.
    """
    banned = set(exclude)
    pool = [p for p in heldout_problems(tier, HELDOUT_POOL, seed=0) if present(p.question, question_format) not in banned]
    if not 1 <= n_test <= len(pool):
        raise SteeringError(f"n_test must be between 1 and {len(pool)} (the held-out pool less `exclude`), got {n_test}")
    problems = random.Random(f"agent-style-questions-{seed}").sample(pool, n_test)
    rng = random.Random(f"agent-style-{seed}")
    refs = {p: [PERSONA_WRITERS[p](work_out(problem), rng) for problem in problems] for p in ARITHMETIC_PERSONAS}
    return [present(p.question, question_format) for p in problems], refs


def persona_vectors(sft: HookedModel, site: str, *, n_extract: int, tier: str, seed: int, scale: Scale = "residual",
                    progress: bool = True, debates: Sequence[Transcript] | None = None) -> dict[str, Direction]:
    """Eq. 3 agent-vs-others direction of each persona (agent k speaks persona k), from training debates.

    `debates` (e.g. a sample of the paper's persona debates), by default `n_extract` generated debates of
    `tier` (seed ``seed + 202``, none of the `HELDOUT_POOL` held-out problems), read at each response's last
    token. 'residual': alpha 1 shifts a typical activation by 10% of its norm; 'unit': unit vectors; 'raw':
    the Eq. 3 difference of means.
    """
    if debates is None:
        debates = arithmetic_debates(n_extract, tier, seed=seed + 202,
                                     exclude=[p.question for p in heldout_problems(tier, HELDOUT_POOL, seed=0)])
    acts = collect_activations(sft, eq3_source(debates, positions="turn_last"), [site], truncate=True,
                               progress=progress)
    directions = eq3_directions(acts, site, normalize=scale == "unit")
    if scale == "residual":
        directions = {name: scale_to_residual(d, acts.at(site)) for name, d in directions.items()}
    return {persona: stamp(directions[f"agent{k}"], sft) for k, persona in enumerate(ARITHMETIC_PERSONAS, start=1)}


def style_prompts(model: HookedModel, questions: Sequence[str], kind: PromptKind = "chat") -> list[str]:
    """The one prompt per question that both models get.

    'chat' (default): the round-1 math request in `model`'s chat format -- the base model's Stage 0
    training format, which the distilled model was pretrained on too before Stage 1 and 2 (render with
    the base model). 'problem': ``Problem: q``, the Stage 1/2 format the base model never saw.
    """
    if kind == "chat":
        return [model.chat_prompt(math_question_prompt(q)) for q in questions]
    if kind == "problem":
        return [sft_prompt(q) for q in questions]
    raise SteeringError(f"prompt kind must be 'chat' or 'problem', got {kind!r}")


@dataclass(frozen=True)
class Arm:
    """One steered condition: a direction and the personas whose references score its outputs.

    `persona` is the persona the vector belongs to (None for a random direction shared by all of them);
    `control` numbers the random directions of one seed.
    """

    kind: ArmKind
    direction: Direction
    targets: tuple[str, ...]
    persona: str | None = None
    control: int | None = None


def _norm_groups(vectors: Mapping[str, Direction]) -> list[list[str]]:
    """Personas whose vectors share a norm (to 1e-6 relative): one set of random directions serves them all."""
    groups: list[list[str]] = []
    for persona, v in vectors.items():
        norm = float(v.vector.double().norm())
        for g in groups:
            other = float(vectors[g[0]].vector.double().norm())
            if abs(norm - other) <= 1e-6 * max(norm, other):
                g.append(persona)
                break
        else:
            groups.append([persona])
    return groups


def steering_arms(vectors: Mapping[str, Direction], n_random: int, seed: int) -> dict[str, Arm]:
    """Each persona vector, its sign flip, and `n_random` seeded random directions of the same norm.

    A random direction is scored against every persona whose vector has its norm (with 'residual' or
    'unit' scaling, all three), so the controls are generated once, not once per persona.
    """
    if not vectors:
        raise SteeringError("steering_arms needs at least one persona vector")
    arms: dict[str, Arm] = {}
    for persona, v in vectors.items():
        arms[f"persona:{persona}"] = Arm("persona", v, (persona,), persona)
        arms[f"sign_flip:{persona}"] = Arm("sign_flip", sign_flipped(v), (persona,), persona)
    groups = _norm_groups(vectors)
    for g in groups:
        suffix = "" if len(groups) == 1 else f":{g[0]}"
        for k, d in enumerate(random_directions(vectors[g[0]], n_random, seed=seed)):
            arms[f"random{k}{suffix}"] = Arm("random", d, tuple(g), None, k)
    return arms


def style_rows(name: str, model: HookedModel, prompts: Sequence[str], arms: Mapping[str, Arm],
               refs: Mapping[str, Sequence[str]], *, alphas: Sequence[float], seed: int, max_new_tokens: int,
               batch_size: int = 256, progress: bool = True) -> list[dict[str, Any]]:
    """Every arm at every alpha on every prompt; one row per generation with its ROUGE per target persona.

    Alpha 0 is one unsteered generation per question, scored against every persona.
    """
    for persona, texts in refs.items():
        if len(texts) != len(prompts):
            raise SteeringError(f"refs[{persona!r}] has {len(texts)} references for {len(prompts)} prompts")
    sweep = multi_sweep(model, {k: a.direction for k, a in arms.items()}, prompts, alphas,
                        max_new_tokens=max_new_tokens, batch_size=batch_size, progress=progress,
                        desc=f"{name}/seed {seed}")
    rows = []
    for r in sweep:
        arm = arms[r.direction] if r.direction is not None else None
        targets = arm.targets if arm is not None else tuple(refs)
        text = strip_tags(r.text)
        rows.append({"model": name, "seed": seed, "question": r.prompt_index, "alpha": r.alpha,
                     "arm": r.direction or UNSTEERED, "kind": arm.kind if arm else UNSTEERED,
                     "persona": arm.persona if arm else None, "control": arm.control if arm else None,
                     "scores": {t: rouge_pair(text, refs[t][r.prompt_index]) for t in targets},
                     "degenerate": degeneracy(text).degenerate, "n_new_tokens": r.n_new_tokens, "text": r.text})
    return rows
