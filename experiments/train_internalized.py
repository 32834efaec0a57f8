"""Train the tiny IMAD checkpoints in one command: base → Stage 1 (SFT) → Stage 2 (internalized), plus the
malicious variants (evil / hallucinating agent) on the same base.

Every hyperparameter is a flag (``--sft.lr``, ``--grpo.iterations``, ...) or a field of a ``--config``
file (JSON or TOML with [pretrain], [sft], [grpo] tables). The shipped checkpoints are reproduced by

    python experiments/train_internalized.py --out-dir models/assets/checkpoints \\
        --variants arithmetic evil hallucination --save-dtype float16

and then evaluated with ``python experiments/evaluate_internalization.py``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from models.train.config import PipelineConfig  # noqa: E402


def main(cfg: PipelineConfig) -> Path:
    from models.manifest import Manifest
    from models.train.pipeline import run_pipeline

    folders = run_pipeline(cfg)
    record = json.loads((Path(cfg.out_dir) / "pipeline.json").read_text())
    print(f"trained into {cfg.out_dir} in {record['total_seconds']:.0f} s")
    for name, folder in folders.items():
        m = Manifest.load(folder)
        scores = {k: v for k, v in (m.metrics if m else {}).items() if "accuracy" in k or "mean_tokens" in k}
        print(f"  {name:<16} {record['seconds'].get(name, 0):6.0f} s  {scores}")
    return Path(cfg.out_dir)


if __name__ == "__main__":
    os.environ.setdefault("WANDB_DISABLED", "true")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from models.train.cli import parse_config

    main(parse_config(PipelineConfig, None, "experiments/train_internalized.py", __doc__.split("\n\n")[0]))
