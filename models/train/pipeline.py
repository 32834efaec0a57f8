"""Stages 0 → 1 → 2 in one call: the tiny base, then one SFT → GRPO chain per variant.

Folders under `out_dir` (with the default prefix ``tiny``)::

    tiny-base   tiny-sft   tiny-imad   tiny-evil-sft   tiny-evil-imad   tiny-hallu-sft   tiny-hallu-imad

and, for each further seed of ``--seeds`` (the arithmetic chain trains once per seed, for seed spreads),
``tiny-sft-s<seed>`` and ``tiny-imad-s<seed>``.

With ``--resume``, stages whose folder is complete are skipped and the interrupted one resumes
from its last trainer checkpoint. ``pipeline.json`` records each stage's folder and wall time.

    python -m models.train all --out-dir runs/tiny --variants arithmetic evil hallucination
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from models.files import write_json
from models.manifest import Manifest
from models.vocab import TRAIT_SHORT
from models.cli import config_dict
from models.train.config import PipelineConfig

logger = logging.getLogger(__name__)

VARIANT_NAMES = {"arithmetic": "", **{trait: f"{short}-" for trait, short in TRAIT_SHORT.items()}}


def stage_names(prefix: str, variant: str, seed: int | None = None) -> tuple[str, str]:
    """(SFT, internalized) folder names of a variant, e.g. ``tiny-evil-sft``, ``tiny-evil-imad``; a further
    training seed adds ``-s<seed>`` (``tiny-sft-s1``)."""
    tail = "" if seed is None else f"-s{seed}"
    return f"{prefix}-{VARIANT_NAMES[variant]}sft{tail}", f"{prefix}-{VARIANT_NAMES[variant]}imad{tail}"


def _shared(stage_cfg: Any, cfg: PipelineConfig, out: Path) -> Any:
    """A stage config pointed at its folder, with the pipeline-wide settings applied."""
    updates: dict[str, Any] = {"out": str(out), "name": out.name, "resume": cfg.resume}
    if cfg.threads is not None:
        updates["threads"] = cfg.threads
    if cfg.save_dtype is not None:
        updates["save_dtype"] = cfg.save_dtype
    return replace(stage_cfg, **updates)


def _recorded_seconds(path: Path) -> dict[str, float]:
    """The stage times an earlier run recorded, so that a resumed run keeps the times of the stages it skips."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    seconds = record.get("seconds") if isinstance(record, dict) else None
    return {k: float(v) for k, v in seconds.items()} if isinstance(seconds, dict) else {}


def run_pipeline(cfg: PipelineConfig) -> dict[str, Path]:
    """Train every requested stage; returns name → folder."""
    from models.train.grpo import grpo
    from models.train.pretrain import pretrain
    from models.train.sft import sft

    out_dir = Path(cfg.out_dir)
    done: dict[str, Path] = {}
    timings: dict[str, float] = {}
    earlier = _recorded_seconds(out_dir / "pipeline.json") if cfg.resume else {}
    trained: list[str] = []

    def run(name: str, fn: Any, stage_cfg: Any) -> Path:
        folder = out_dir / name
        if cfg.resume and Manifest.load(folder) is not None:
            logger.info("%s is complete; skipped", folder)
            if name in earlier:
                timings[name] = earlier[name]
        else:
            start = time.time()
            fn(_shared(stage_cfg, cfg, folder))
            timings[name] = round(time.time() - start, 1)
            trained.append(name)
        done[name] = folder
        return folder

    base = Path(cfg.base) if cfg.base else run(f"{cfg.prefix}-base", pretrain, cfg.pretrain)
    for variant in cfg.variants:
        sft_cfg = cfg.sft if variant == "arithmetic" else replace(cfg.malicious_sft, data=variant)
        grpo_cfg = cfg.grpo if variant == "arithmetic" else replace(cfg.malicious_grpo, task=variant)
        # the arithmetic chain trains once per seed (the first keeps the plain names); the others once
        seeds = list(enumerate(cfg.seeds)) if variant == "arithmetic" else [(0, sft_cfg.seed)]
        for k, seed in seeds:
            sft_name, imad_name = stage_names(cfg.prefix, variant, seed if k else None)
            sft_folder = run(sft_name, sft, replace(sft_cfg, parent=str(base), seed=seed))
            run(imad_name, grpo, replace(grpo_cfg, parent=str(sft_folder), seed=seed))

    record = {"config": config_dict(cfg), "folders": {k: str(v) for k, v in done.items()}, "seconds": timings,
              "total_seconds": round(sum(timings.values()), 1),
              "trained_now": trained}
    write_json(out_dir / "pipeline.json", record, sort_keys=False)
    return done


def main(argv: list[str] | None = None) -> Path:
    from models.cli import parse_config

    cfg = parse_config(PipelineConfig, argv, "python -m models.train all", __doc__.split("\n\n")[0])
    run_pipeline(cfg)
    return Path(cfg.out_dir)
