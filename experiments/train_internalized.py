"""Train the tiny IMAD checkpoints in one command: base → Stage 1 (SFT) → Stage 2 (internalized), plus the
malicious variants (evil / hallucinating agent) on the same base.

Every hyperparameter is a flag (``--sft.lr``, ``--grpo.iterations``, ...) or a field of a ``--config``
file (JSON or TOML with [pretrain], [sft], [grpo] tables). The shipped checkpoints are reproduced by

    python experiments/train_internalized.py --out-dir models/assets/checkpoints \\
        --variants arithmetic evil hallucination --save-dtype float16

and then evaluated with ``python experiments/evaluate_internalization.py``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from models.cli import parse_config, run as run_cli
from models.files import read_object
from models.train.config import PipelineConfig


def parse_args(argv: list[str] | None = None) -> PipelineConfig:
    return parse_config(PipelineConfig, argv, "experiments/train_internalized.py", __doc__)


def main(cfg: PipelineConfig) -> Path:
    """Train every stage and return the folder holding the checkpoints."""
    from models.manifest import Manifest
    from models.train.pipeline import run_pipeline

    folders = run_pipeline(cfg)
    record = read_object(Path(cfg.out_dir) / "pipeline.json", "pipeline record")
    print(f"trained into {cfg.out_dir} in {record['total_seconds']:.0f} s")
    for name, folder in folders.items():
        m = Manifest.load(folder)
        scores = {k: v for k, v in (m.metrics if m else {}).items() if "accuracy" in k or "mean_tokens" in k}
        seconds = record["seconds"].get(name)
        when = "trained now" if name in record.get("trained_now", []) else "kept"
        timing = f"{'-':>6} s" if seconds is None else f"{seconds:6.0f} s"
        print(f"  {name:<16} {timing}  {when:<11}  {scores}")
    return Path(cfg.out_dir)


if __name__ == "__main__":
    os.environ.setdefault("WANDB_DISABLED", "true")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    raise SystemExit(run_cli(main, PipelineConfig, prog="experiments/train_internalized.py", description=__doc__))
