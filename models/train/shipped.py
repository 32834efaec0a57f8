"""Training the tiny checkpoints that ship in ``models/assets/checkpoints/<name>/``.

The table of what ships (stage, parent, variant, description) is `models.registry.SHIPPED`, which the
registry reads without importing the trainer. Loading never trains; all eleven are rebuilt by one
command (its stage times: ``benchmarks/train.py``)::

    python experiments/train_internalized.py --out-dir models/assets/checkpoints \\
        --variants arithmetic evil hallucination --seeds 0 1 2 --save-dtype float16

`build_shipped` trains a single one with the same pipeline defaults, for callers that want exactly one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from models.registry import SHIPPED, build_into_cache, find


def parent_folder(name: str) -> Path:
    """The folder of shipped checkpoint `name`: shipped or cached, else trained into the registry cache."""
    found = find(name)
    if found is not None:
        return found
    return build_into_cache(name, lambda out: build_shipped(name, out))


def build_shipped(name: str, out: Path) -> None:
    """Train checkpoint `name` into `out` from its parent (trained first when missing), with the pipeline's tiny defaults."""
    from models.train.config import PipelineConfig
    from models.train.grpo import grpo
    from models.train.pretrain import pretrain
    from models.train.sft import sft

    spec = SHIPPED[name]
    cfg = PipelineConfig()
    common = {"out": str(out), "name": name, "seed": spec.seed}
    if spec.stage == "pretrain":
        pretrain(replace(cfg.pretrain, **common))
        return
    parent = str(parent_folder(spec.parent))  # type: ignore[arg-type]
    if spec.stage == "sft":
        base = cfg.sft if spec.variant == "arithmetic" else replace(cfg.malicious_sft, data=spec.variant)
        sft(replace(base, parent=parent, **common))
    else:
        base = cfg.grpo if spec.variant == "arithmetic" else replace(cfg.malicious_grpo, task=spec.variant)
        grpo(replace(base, parent=parent, **common))
