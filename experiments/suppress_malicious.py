"""Suppress an instilled malicious agent by steering, base vs distilled (paper §4), with controls and CIs.

For each trait (evil, hallucination):

* **Data.** Evaluation questions come from templates no model, judge or vector saw (the ``eval``
  family); the run rebuilds what every checkpoint stage trained on from its manifest, writes
  ``splits_<trait>.json`` and refuses to start if any evaluation item or template meets anything else.
* **Judge.** A classifier trained on ``judge``-template debates with character n-grams (not the Stage 2
  reward judge's data or features), validated on labelled pairs from the evaluation templates worded
  from held-out phrases; its pair agreement is in every run's metrics.
* **Arms.** The base with the malicious system line in place (the trait instilled by prompt, as in the
  paper), steered with its system-prompt-contrast vector; the same base with no system line; the
  distilled model, steered with the Eq. 3 Agent 2 vector read from its Stage 1 checkpoint.
* **Metric.** The malicious agent's own round-1 turn, scored alone (all of round one when it wrote no
  tagged turn), with how often it spoke, the whole output and the final answer after the consensus.
* **Controls** at the same alphas and norm: random directions, the sign-flipped vector, the same
  contrast with shuffled labels; **seeds**: extra question samples and extraction seeds.
* **Verdict** per arm against the predeclared rule (``--threshold``, ``--max-degenerate``; written to
  config.json before any generation): see `steering.frontier`.

The loop is `steering.suppression_experiment.run`, the metrics `steering.suppression_metrics`, the words
`steering.suppression_report` (from metrics.json and config.json); this script is config, call, write.

    python experiments/suppress_malicious.py                        # the tiny embedded checkpoints, ~5 min on 2 cores
    python experiments/suppress_malicious.py --traits evil --n-random 4 --seeds 0 --n-questions 16
    python experiments/suppress_malicious.py --data paper --model-set smollm2   # the published questions and debates
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from experiments._results import command_line, report_path, run_folder
from models.cli import config_dict, parse_config
from models.cli import run as run_cli
from models.train.lineage import checkpoint_uses
from steering.suppression_config import MODEL_SETS, SuppressConfig
from steering.suppression_experiment import run
from steering.suppression_report import (
    FIGURE_CAPTION,
    FIGURE_STEM,
    TITLE,
    console_report,
    summary_markdown,
    suppression_figure,
    takeaway,
    verdict_lines,
)

__all__ = ["MODEL_SETS", "SuppressConfig", "main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> SuppressConfig:
    return parse_config(SuppressConfig, argv, "experiments/suppress_malicious.py", __doc__)


def main(cfg: SuppressConfig) -> Path:
    """Run the experiment and return the finished results folder."""
    # config.json (with the predeclared rule) is written on entering the folder, before any model runs.
    with run_folder("suppress_malicious", cfg, root=cfg.out, seed=cfg.seeds[0]) as folder:
        # The trainer's lineage rebuilds what each checkpoint saw; a leak raises here, before any generation.
        result = run(cfg, checkpoint_uses)
        for short, manifest in result.splits.items():
            folder.json(f"splits_{short}.json", manifest)
        for name, vector in result.vectors.items():
            vector.save(folder.path / "vectors" / name)
        folder.jsonl("rows.jsonl", result.rows)
        # Everything below reads the metrics back from the file, as a notebook would.
        metrics = json.loads(folder.json("metrics.json", result.metrics).read_text())
        config = config_dict(cfg)
        folder.figure(suppression_figure(metrics, config), FIGURE_STEM, FIGURE_CAPTION)
        folder.text("summary.md", summary_markdown(metrics, config, command_line("suppress_malicious")))
        folder.headline(TITLE, takeaway(metrics), verdict_lines(metrics))
    print(f"results: {folder.path}\nreport: {report_path(folder)}")
    print(console_report(metrics, config))
    return folder.path


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(run_cli(main, SuppressConfig, prog="experiments/suppress_malicious.py", description=__doc__))
