"""Which problems train and which evaluate, and the manifest that proves the two never meet.

Arithmetic is split by *question*: `heldout_problems` is the evaluation set, and every training stage
excludes it. Persona questions are split by *template* (`models.debate.malicious` families): training,
reward judge and vector extraction use the ``train`` templates, the evaluation judge the ``judge``
templates, evaluation the ``eval`` templates (`evaluation_questions`). Each run writes a
`split_manifest` (question hashes and template ids of every use, including what each checkpoint's
stages saw, rebuilt from their manifests) and `check_disjoint` refuses a run whose evaluation items
meet anything else.

`heldout_problems` is the evaluation set of every analysis (trainer evaluation, steering's
capability cost, experiments); the trainer drops its questions from every stage, so capability is
always measured on unseen problems. The generators here are what analysis code needs from the
training data too (persona debates away from the held-out set, malicious debates, questions and
debates of one template family), so `steering`, `probes` and the experiments read them from the data
package, not from the trainer.

Example:
    >>> test = heldout_problems("easy", n=200)
    >>> train = arithmetic_debates(500, "easy", seed=0, exclude=[p.question for p in test])
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from models.debate.arithmetic import TIERS, Problem, sample_problem
from models.debate.format import Transcript
from models.debate.generate import GenerateConfig, StopRule, generate_debates
from models.debate.malicious import Family, malicious_debate, malicious_question, template_id
from models.errors import ModelsError
from models.vocab import DebateTrait


T = TypeVar("T")


class TrainDataError(ModelsError, ValueError):
    """Training data that a stage cannot use; the message names the file, the row and the fix."""


def heldout_problems(tier: str = "easy", n: int = 500, seed: int = 0) -> list[Problem]:
    """The evaluation problems: `n` distinct problems of `tier`, never used for training."""
    rng = random.Random(f"heldout-{tier}-{seed}")
    seen: dict[str, Problem] = {}
    for _ in range(100 * n + 1000):
        p = sample_problem(rng, TIERS[tier])
        seen.setdefault(p.question, p)
        if len(seen) == n:
            break
    return list(seen.values())


def problem_key(question: str) -> str:
    """A question with its whitespace removed: ``5 + 9 * 6 - 3`` and ``5+9*6-3`` are one problem."""
    return "".join(question.split())


def validation_problems(tier: str, n: int, exclude: Iterable[str], seed: int = 0) -> list[Problem]:
    """`n` distinct problems of `tier` outside `exclude` (questions, any spacing): for choosing training settings
    without looking at the held-out evaluation problems, which the caller passes in `exclude` with anything else
    the models trained on."""
    banned = {problem_key(q) for q in exclude}
    rng = random.Random(f"validation-{tier}-{seed}")
    seen: dict[str, Problem] = {}
    for _ in range(100 * n + 1000):
        p = sample_problem(rng, TIERS[tier])
        if problem_key(p.question) not in banned:
            seen.setdefault(p.question, p)
        if len(seen) == n:
            return list(seen.values())
    raise ValueError(f"tier {tier!r} has only {len(seen)} problems outside the {len(banned)} excluded ones that "
                     f"{100 * n + 1000} draws found; asked for {n}")


def validation_record(samples: Mapping[str, Sequence[str]], heldout: Sequence[str], trained: Sequence[str]
                      ) -> dict[str, Any]:
    """The split record of validation problems (`samples`: use name -> questions), checked against the held-out
    problems and the questions the models' Stage 1 and Stage 2 trained on (`LeakError` on a shared problem, in
    any spacing); the record says that Stage 0 was not compared."""
    evaluation = [Use(name, [problem_key(q) for q in questions]) for name, questions in samples.items()]
    others = [Use("held-out evaluation problems", [problem_key(q) for q in heldout]),
              Use("Stage 1 and Stage 2 prompts of the checkpoints", [problem_key(q) for q in trained])]
    manifest = split_manifest(evaluation, others)
    return {**manifest, "problems": "validation", "checked": check_disjoint(manifest),
            "note": "Stage 0 (pretraining drills) is not compared: it covers most problems outside the held-out set"}


def distinct_problems(tier: str) -> int:
    """How many different questions `tier` can produce (numbers in range ** letters in the template)."""
    t = TIERS[tier]
    return (t.high - t.low + 1) ** sum(c.isalpha() for c in t.template)


def arithmetic_debates(n: int, tier: str, seed: int, exclude: Iterable[str] = (),
                       error_rate: float = 0.3, brief_rate: float = 0.0, stop_rule: StopRule = "unanimous",
                       tally: bool = False) -> list[Transcript]:
    """`n` persona debates on distinct questions of `tier`, none of them in `exclude` (`brief_rate`, `stop_rule`
    and `tally` as in `GenerateConfig`)."""
    banned = set(exclude)
    # Ask for enough debates that `n` remain outside `exclude`, but never more than the tier holds.
    asked = min(n + len(banned), distinct_problems(tier) - 100)
    cfg = GenerateConfig(kind="arithmetic", n=asked, seed=seed, tier=tier, error_rate=(error_rate,) * 3,
                         brief_rate=brief_rate, stop_rule=stop_rule, tally=tally, test_fraction=0.0)
    debates, _ = generate_debates(cfg)
    kept = [t for t in debates if t.question not in banned][:n]
    if len(kept) < n:
        raise TrainDataError(f"tier {tier!r} gave only {len(kept)} debates outside the held-out set; asked for {n}")
    return kept


def malicious_debates(kind: DebateTrait, n: int, seed: int) -> list[Transcript]:
    """`n` synthetic debates in which Agent 2 is `kind` (evil or hallucination), all in one split."""
    debates, _ = generate_debates(GenerateConfig(kind=kind, n=n, seed=seed, test_fraction=0.0))
    return debates


def evaluation_questions(trait: DebateTrait, n: int, seed: int) -> list[str]:
    """`n` distinct questions from the ``eval`` templates, which no training stage, judge or vector uses."""
    return family_questions(trait, n, seed, "eval")


def family_questions(trait: DebateTrait, n: int, seed: int, family: Family) -> list[str]:
    """`n` distinct questions of `trait` from templates of `family` (seeded)."""
    rng = random.Random(f"{family}-questions-{trait}-{seed}")
    seen: dict[str, None] = {}
    for _ in range(100 * n + 100):
        seen.setdefault(malicious_question(trait, rng, family)[0], None)
        if len(seen) == n:
            return list(seen)
    raise TrainDataError(f"the {family!r} templates of {trait!r} gave only {len(seen)} distinct questions; asked for {n}")


def family_debates(trait: DebateTrait, n: int, seed: int, family: Family) -> list[Transcript]:
    """`n` malicious-agent debates on questions of `family` (the evaluation judge trains on ``judge`` ones)."""
    rng = random.Random(f"{family}-debates-{trait}-{seed}")
    return [malicious_debate(trait, rng, family) for _ in range(n)]


def seeded_sample(pool: Sequence[T], n: int, seed: int | str, what: str) -> list[T]:
    """`n` items of `pool` drawn by `seed`, in pool order; `what` names the pool in the error when it is too small."""
    if not 1 <= n <= len(pool):
        raise TrainDataError(f"{what} holds {len(pool)} item(s); asked for {n}")
    return [pool[i] for i in sorted(random.Random(seed).sample(range(len(pool)), n))]


# --------------------------------------------------------------------------- the split manifest

class LeakError(ModelsError, ValueError):
    """Evaluation items that some model, judge or vector also saw; names the use and the shared items."""


def question_hash(question: str) -> str:
    """A short stable id of a question (whitespace-normalised), so manifests need not hold the text."""
    return hashlib.sha256(" ".join(question.split()).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Use:
    """One use of data in a run: what it was for, which questions, and whether it was proven from a manifest."""

    name: str  # "evaluation", "vector extraction (base)", "tiny-evil-sft: Stage 1 debates", ...
    questions: Sequence[str]
    trait: DebateTrait | None = None  # persona questions are also compared by template
    verified: bool = True  # False when the questions could not be rebuilt and checked against a data hash
    excluded: Sequence[str] = ()  # arithmetic questions this use provably left out (a stage's held-out set)
    file: str | None = None  # a published file the questions came from: no templates, compared by question only

    def to_json(self) -> dict[str, Any]:
        if self.file is not None:  # the file is the split: its questions fill no template of ours
            templates = [f"file:{self.file}"]
        else:
            templates = sorted({template_id(self.trait, q) or "?" for q in self.questions}) if self.trait else []
        return {"use": self.name, "n": len(self.questions), "trait": self.trait, "verified": self.verified,
                "templates": templates, "question_hashes": sorted({question_hash(q) for q in self.questions}),
                "excluded_hashes": sorted({question_hash(q) for q in self.excluded})}


def split_manifest(evaluation: Sequence[Use], others: Sequence[Use]) -> dict[str, Any]:
    """JSON-able record of every use; `check_disjoint` reads it back, so the proof is the saved file."""
    return {"format": "latent-agents-splits/1", "evaluation": [u.to_json() for u in evaluation],
            "others": [u.to_json() for u in others]}


def check_disjoint(manifest: Mapping[str, Any], allow_unverified: bool = False) -> dict[str, Any]:
    """Raise `LeakError` if an evaluation use shares a question, or (for persona questions) a template,
    with any other use; also if any other use is unverified, unless `allow_unverified` (then they are
    listed in the result, for the summary to say so). Returns what was compared."""
    evaluation, others = manifest.get("evaluation") or [], manifest.get("others") or []
    if not evaluation:
        raise LeakError("the split manifest has no evaluation use; nothing to check")
    unverified = [use["use"] for use in others if not use.get("verified", False)]
    if unverified and not allow_unverified:
        raise LeakError(f"use {unverified[0]!r} could not be rebuilt from a manifest, so its questions are "
                        "unproven; refusing to call the evaluation held out")
    compared = 0
    for ev in evaluation:
        if "?" in ev["templates"]:
            raise LeakError(f"evaluation use {ev['use']!r} holds questions that match no known template")
        ev_hashes, ev_templates = set(ev["question_hashes"]), set(ev["templates"])
        for use in others:
            shared = ev_hashes & set(use["question_hashes"])
            if shared:
                raise LeakError(f"evaluation use {ev['use']!r} shares {len(shared)} question(s) with "
                                f"{use['use']!r} (hashes {sorted(shared)[:3]})")
            published = any(t.startswith("file:") for t in ev["templates"])  # e.g. GSM8K: not our arithmetic pool
            if ev.get("trait") is None and not published and use.get("excluded_hashes"):
                missing = ev_hashes - set(use["excluded_hashes"])
                if missing:
                    raise LeakError(f"{len(missing)} question(s) of evaluation use {ev['use']!r} are not in the "
                                    f"held-out set {use['use']!r} excluded from training")
            if ev.get("trait") is not None and use.get("trait") == ev.get("trait"):
                shared_t = ev_templates & set(use["templates"])
                if shared_t:
                    raise LeakError(f"evaluation use {ev['use']!r} shares template(s) {sorted(shared_t)} with "
                                    f"{use['use']!r}")
            compared += 1
    return {"evaluation_uses": len(evaluation), "other_uses": len(others), "pairs_compared": compared,
            "unverified": unverified}
