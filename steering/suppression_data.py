"""What the suppression experiment reads, per trait and seed, and the proof that its evaluation is held out.

`trait_data` draws the evaluation questions (from templates nothing else uses, or from the paper's test
file, disjoint across seeds), the base vector's training questions and the distilled vector's
extraction debates. `trait_splits` lists every use of data in the run -- with what each checkpoint
stage trained on, rebuilt from its manifest by the `CheckpointUses` the caller passes in (the trainer's
lineage lives in `models.train`, which the library does not import) -- for `check_disjoint` to read
back before any generation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.debate import read_questions, read_transcripts
from models.debate.format import Transcript
from models.debate.malicious import validation_pairs
from models.debate.splits import LeakError, Use, evaluation_questions, family_questions, seeded_sample, split_manifest
from models.registry import materialize
from models.vocab import TRAIT_SHORT, DebateTrait
from steering.suppression import extraction_debates
from steering.suppression_config import SuppressConfig

__all__ = ["CheckpointUses", "TraitData", "check_samples_disjoint", "trait_data", "trait_splits"]

# `models.train.lineage.checkpoint_uses`: a checkpoint folder's stages, newest first, with the questions each saw
CheckpointUses = Callable[[Path, DebateTrait], Sequence[Use]]


@dataclass(frozen=True)
class TraitData:
    """One trait's questions and debates for every seed: evaluation questions (disjoint across seeds), the base
    vector's training questions and the distilled vector's extraction debates, with the published file each came
    from (None: generated from our templates)."""

    questions: dict[int, list[str]]
    train_questions: dict[int, list[str]]
    debates: dict[int, list[Transcript]]
    files: dict[str, str | None]
    validation: list[str] = field(default_factory=list)  # judge validation on generations: no evaluation item


def trait_data(cfg: SuppressConfig, trait: DebateTrait) -> TraitData:
    """Generated from the template families, or read from the paper's files (`--data paper`)."""
    n, k = cfg.n_questions, len(cfg.seeds)
    if cfg.data == "synthetic":  # one pool, cut in slices: the seeds' samples and the validation set are disjoint
        pool = evaluation_questions(trait, n * k + cfg.n_judge_validation, cfg.seeds[0])
        return TraitData({s: pool[i * n:(i + 1) * n] for i, s in enumerate(cfg.seeds)},
                         {s: family_questions(trait, cfg.n_extract, s, "train") for s in cfg.seeds},
                         {s: extraction_debates(trait, cfg.n_extract, s) for s in cfg.seeds},
                         dict.fromkeys(("questions", "train_questions", "debates")), pool[n * k:])
    short = TRAIT_SHORT[trait]
    files = {"questions": f"paper:{short}-test", "train_questions": f"paper:{short}-train",
             "debates": f"paper:{short}-debates"}
    test, train, debates = (read_questions(files["questions"]), read_questions(files["train_questions"]),
                            read_transcripts(files["debates"]))
    questions: dict[int, list[str]] = {}
    for s in cfg.seeds:  # disjoint samples: each seed draws from what the earlier seeds left
        taken = {q for qs in questions.values() for q in qs}
        questions[s] = seeded_sample([q for q in dict.fromkeys(test) if q not in taken], cfg.n_questions,
                                     f"paper-eval-{trait}-{s}", f"{files['questions']} (less earlier seeds' samples)")
    taken = {q for qs in questions.values() for q in qs}
    validation = seeded_sample([q for q in dict.fromkeys(test) if q not in taken], cfg.n_judge_validation,
                               f"paper-judge-validation-{trait}", f"{files['questions']} (less the evaluation samples)")
    return TraitData(questions,
                     {s: seeded_sample(train, cfg.n_extract, f"paper-train-{trait}-{s}", files["train_questions"])
                      for s in cfg.seeds},
                     {s: seeded_sample(debates, cfg.n_extract, f"paper-debates-{trait}-{s}", files["debates"])
                      for s in cfg.seeds},
                     files, validation)


def check_samples_disjoint(data: TraitData) -> None:
    """Each seed's evaluation questions and the judge-validation questions share nothing: a seed's replication
    on another seed's questions would not be a replication."""
    samples = {f"evaluation questions (seed {s})": q for s, q in data.questions.items()}
    samples["judge validation generations"] = data.validation
    names = list(samples)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = set(samples[a]) & set(samples[b])
            if shared:
                raise LeakError(f"{a} and {b} share {len(shared)} question(s), e.g. {sorted(shared)[0]!r}")


GSM8K_FILE = "gsm8k:test (openai/grade-school-math@3101c7d)"


def trait_splits(cfg: SuppressConfig, trait: DebateTrait, data: TraitData, judge_debates: Sequence[Transcript],
                 capability: Sequence[str], checkpoint_uses: CheckpointUses, gsm8k: Sequence[str] = ()
                 ) -> dict[str, Any]:
    """The split manifest: every use of data in the run, with what each checkpoint stage saw rebuilt from its
    manifest (each checkpoint once, distilled, SFT, base, clean reference). The seeds' evaluation samples and the
    judge-validation questions must also be disjoint from each other (`LeakError` otherwise)."""
    check_samples_disjoint(data)
    evaluation = [Use(f"evaluation questions (seed {s})", q, trait, file=data.files["questions"])
                  for s, q in data.questions.items()]
    evaluation += [Use("judge validation pairs", [p.question for p in validation_pairs(trait, cfg.n_validation)], trait),
                   Use("judge validation generations", data.validation, trait, file=data.files["questions"]),
                   Use("capability problems", list(capability))]
    if gsm8k:  # a published file: compared by question with every other use, not against our arithmetic pool
        evaluation.append(Use("GSM8K capability problems", list(gsm8k), file=GSM8K_FILE))
    others = [Use(f"base vector extraction (seed {s})", q, trait, file=data.files["train_questions"])
              for s, q in data.train_questions.items()]
    others += [Use(f"distilled vector extraction debates (seed {s})", [d.question for d in debates], trait,
                   file=data.files["debates"]) for s, debates in data.debates.items()]
    others.append(Use("evaluation judge training debates", [d.question for d in judge_debates], trait))
    names = [cfg.trait_checkpoint("distilled", trait), cfg.trait_checkpoint("sft", trait), str(cfg.base)]
    names += [] if cfg.clean == "none" else [cfg.trait_checkpoint("clean", trait)]
    for name in dict.fromkeys(names):
        others += checkpoint_uses(materialize(name) if not Path(name).exists() else Path(name), trait)
    return split_manifest(evaluation, others)
