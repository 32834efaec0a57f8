"""The tiny trained checkpoints that ship in ``models/assets/checkpoints/<name>/`` and how to rebuild them.

All seven come from one command (about the wall time quoted in the README of that folder)::

    python experiments/train_internalized.py --out-dir models/assets/checkpoints \\
        --variants arithmetic evil hallucination --save-dtype float16

The registry loads a shipped folder in place; when one is missing it trains that stage (and, if
needed, its ancestors) with the same pipeline defaults, into the registry cache.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "checkpoints"

SHIPPED: dict[str, tuple[str, str | None, str]] = {
    # name: (stage, parent, variant)
    "tiny-base": ("pretrain", None, "arithmetic"),
    "tiny-sft": ("sft", "tiny-base", "arithmetic"),
    "tiny-imad": ("grpo", "tiny-sft", "arithmetic"),
    "tiny-evil-sft": ("sft", "tiny-base", "evil"),
    "tiny-evil-imad": ("grpo", "tiny-evil-sft", "evil"),
    "tiny-hallu-sft": ("sft", "tiny-base", "hallucination"),
    "tiny-hallu-imad": ("grpo", "tiny-hallu-sft", "hallucination"),
}

DESCRIPTIONS: dict[str, str] = {
    "tiny-base": "tiny Llama pretrained from scratch on single-agent arithmetic (3 personas) and persona QA; untagged",
    "tiny-sft": "tiny-base after Stage 1: writes tagged 3-agent, 2-round arithmetic debates",
    "tiny-imad": "tiny-sft after Stage 2 (GRPO, shrinking clip): the internalized-debate model",
    "tiny-evil-sft": "tiny-base after Stage 1 on evil-agent debates",
    "tiny-evil-imad": "tiny-evil-sft after Stage 2 with a judge reward for ethical answers",
    "tiny-hallu-sft": "tiny-base after Stage 1 on hallucinating-agent debates",
    "tiny-hallu-imad": "tiny-hallu-sft after Stage 2 with a judge reward for honest uncertainty",
}


def shipped_folder(name: str) -> Path:
    return ASSETS / name


def build_shipped(name: str, out: Path) -> None:
    """Train checkpoint `name` into `out` from its (materialised) parent, with the pipeline's tiny defaults."""
    from models.registry import materialize
    from models.train.config import PipelineConfig
    from models.train.grpo import grpo
    from models.train.pretrain import pretrain
    from models.train.sft import sft

    stage, parent, variant = SHIPPED[name]
    cfg = PipelineConfig()
    common = {"out": str(out), "name": name}
    if stage == "pretrain":
        pretrain(replace(cfg.pretrain, **common))
        return
    parent_folder = str(materialize(parent))  # type: ignore[arg-type]
    if stage == "sft":
        base = cfg.sft if variant == "arithmetic" else replace(cfg.malicious_sft, data=variant)
        sft(replace(base, parent=parent_folder, **common))
    else:
        base = cfg.grpo if variant == "arithmetic" else replace(cfg.malicious_grpo, task=variant)
        grpo(replace(base, parent=parent_folder, **common))
