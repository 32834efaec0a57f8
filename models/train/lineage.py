"""What a checkpoint was trained on, rebuilt from its saved manifest and checked against its data hash.

Every stage's data is a pure function of its config, and each manifest records that config and the
hash of the rows (or documents) the stage trained on. Rebuilding the rows and comparing the hash
turns "the trainer excluded the evaluation set" from the code's intent into a fact read from the
saved files: `models.debate.splits.check_disjoint` then compares the questions and templates each
stage saw with what an experiment evaluates on. Parents are followed (distilled -> Stage 1 -> base).

Example:
    >>> uses = checkpoint_uses(materialize("tiny-evil-imad"), "evil")   # [Use(name, questions, ...), ...]
    >>> check_disjoint(split_manifest([Use("evaluation", test_questions, "evil")], uses))
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from models.debate.malicious import persona_samples
from models.debate.splits import Use, heldout_problems, malicious_debates
from models.errors import CheckpointError
from models.files import read_object
from models.manifest import hash_json
from models.vocab import DEBATE_TRAITS, DebateTrait


def _parent_folder(folder: Path, parent: str | None) -> Path | None:
    """The parent's folder: as recorded, beside this checkpoint (shipped and cached copies move), or by registry name."""
    if not parent:
        return None
    from models.registry import find

    for candidate in (Path(parent), folder.parent / Path(parent).name, find(parent)):
        if candidate is None:
            continue
        if (candidate / "manifest.json").is_file():
            return candidate
    raise CheckpointError(f"{folder}: parent checkpoint {parent!r} not found (looked beside {folder})")


@cache
def _pretraining_hash(cfg_json: str) -> str:
    """Data hash of the rebuilt pretraining corpus; it takes seconds to build, so once per config."""
    import json

    from models.train.data import pretraining_documents

    cfg = json.loads(cfg_json)
    heldout = [p.question for p in heldout_problems(cfg["tier"], cfg["heldout"], cfg["heldout_seed"])]
    docs = pretraining_documents(cfg["n_debates"], cfg["n_persona"], cfg["n_drills"], cfg["tier"], cfg["seed"],
                                 heldout, cfg["p_system"], cfg["question_format"])
    return hash_json(docs)


def _stage_data(folder: Path, manifest: dict[str, Any], trait: DebateTrait | None) -> list[Use]:
    from models.train.data import REWARD_JUDGE_EXAMPLES, grpo_rows, judge_sources, stage1_rows

    cfg, stage, name = manifest.get("config", {}), manifest.get("stage", ""), manifest.get("name", folder.name)
    recorded = manifest.get("data_hash")
    heldout = (cfg.get("tier", "easy"), int(cfg.get("heldout", 0)), int(cfg.get("heldout_seed", 0)))
    excluded = [p.question for p in heldout_problems(*heldout)] if heldout[1] else []

    def use(what: str, questions: list[str] | tuple[str, ...], verified: bool) -> Use:
        return Use(f"{name}: {what}", tuple(questions) if trait else (), trait, verified, tuple(excluded))

    if stage == "converted":  # an outside model converted to safetensors (SmolLM2): its training data is unknown
        return [Use(f"{name}: converted from {manifest.get('parent')} (training data unknown)", (), trait, False)]
    if stage == "pretrained":
        import json

        rebuilt = _pretraining_hash(json.dumps({k: cfg[k] for k in ("tier", "heldout", "heldout_seed", "n_debates",
                                                                    "n_persona", "n_drills", "seed", "p_system",
                                                                    "question_format")}, sort_keys=True))
        questions = [s.question for s in persona_samples(trait, cfg["n_persona"], seed=cfg["seed"])] if trait else []
        return [use("pretraining persona documents", questions, rebuilt == recorded)]
    if stage == "sft":
        rows = stage1_rows(cfg, excluded)
        questions = ([d.question for d in malicious_debates(cfg["data"], cfg["n"], cfg["seed"])]
                     if cfg["data"] == trait else [])
        return [use("Stage 1 debates", questions, hash_json(rows) == recorded)]
    if stage == "grpo":
        rows = grpo_rows(cfg["task"], cfg["n_prompts"], cfg["tier"], cfg["seed"], excluded, cfg["question_format"])
        prompts = tuple(r["question"] for r in rows if "question" in r) if cfg["task"] == trait else ()
        out = [use("Stage 2 prompts", prompts, hash_json(rows) == recorded)]
        if cfg.get("judge") is None and cfg["task"] in DEBATE_TRAITS:  # the reward judge the trainer fits
            samples, debates = judge_sources(cfg["task"], REWARD_JUDGE_EXAMPLES, cfg["seed"])
            seen = [s.question for s in samples] + [d.question for d in debates]
            n_texts = len(samples) + sum(len(d.turns) for d in debates)  # one per answer and per debate turn
            out.append(use(f"reward judge data ({n_texts} texts)", seen if cfg["task"] == trait else [], True))
        return out
    raise CheckpointError(f"{folder}/manifest.json: stage {stage!r} is not one the trainer writes")


def checkpoint_uses(folder: str | Path, trait: DebateTrait | None = None) -> list[Use]:
    """Every stage of `folder` and its parents, newest first, with the `trait` questions each saw (none when
    `trait` is None: arithmetic evaluations compare only the held-out set every stage excluded)."""
    out: list[Use] = []
    current: Path | None = Path(folder)
    seen: set[Path] = set()
    while current is not None and current.resolve() not in seen:
        seen.add(current.resolve())
        if not (current / "manifest.json").is_file():  # an outside model: what it saw cannot be rebuilt
            out.append(Use(f"{current.name}: no trainer manifest (training data unknown)", (), trait, False))
            break
        manifest = read_object(current / "manifest.json", "checkpoint manifest")
        out += _stage_data(current, manifest, trait)
        # A converted checkpoint's parent is its source file (a GGUF), not a checkpoint with a manifest.
        parent = None if manifest.get("stage") == "converted" else manifest.get("parent")
        current = _parent_folder(current, parent)
    return out


def trained_questions(*folders: str | Path) -> list[str]:
    """The questions of every Stage 1 and Stage 2 row of `folders` and their parents (each stage once, however
    many of the folders share it), rebuilt from the manifests and checked against the recorded data hashes (a
    mismatch raises `CheckpointError`).

    Stage 0 is left out on purpose: its drills cover almost every problem of a tier outside the held-out
    set, so a validation split can only be disjoint from what the debate stages trained on.
    """
    from models.debate.format import SFT_PREFIX
    from models.train.data import grpo_rows, stage1_rows

    out: list[str] = []
    seen: set[Path] = set()
    for folder in folders:
        current: Path | None = Path(folder)
        while current is not None and current.resolve() not in seen and (current / "manifest.json").is_file():
            seen.add(current.resolve())
            manifest = read_object(current / "manifest.json", "checkpoint manifest")
            cfg, stage = manifest.get("config", {}), manifest.get("stage", "")
            heldout = (cfg.get("tier", "easy"), int(cfg.get("heldout", 0)), int(cfg.get("heldout_seed", 0)))
            excluded = [p.question for p in heldout_problems(*heldout)] if heldout[1] else []
            if stage in ("sft", "grpo"):
                rows = (stage1_rows(cfg, excluded) if stage == "sft" else grpo_rows(
                    cfg["task"], cfg["n_prompts"], cfg["tier"], cfg["seed"], excluded, cfg["question_format"]))
                if hash_json(rows) != manifest.get("data_hash"):
                    raise CheckpointError(f"{current}/manifest.json: the rebuilt {stage} rows do not match the "
                                          "recorded data hash, so what this stage trained on cannot be proven")
                out += [r["prompt"].removeprefix(SFT_PREFIX).strip() for r in rows]
            parent = None if stage == "converted" else manifest.get("parent")
            current = _parent_folder(current, parent)
    return out
