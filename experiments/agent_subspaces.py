"""Agent subspaces, base vs distilled, on the evidence protocol: does the distilled model separate the agents better?

At every layer a held-out 3-way agent-identity probe is read beside two baselines: the same probe on
agent labels shuffled within each question (Hewitt & Liang's control task; selectivity = real - shuffled)
and the same probe on an untrained model (the floor: what the text alone gives away). Every accuracy
has a 95 % CI from a paired bootstrap over (seed, question) units; each seed draws its own debates,
folds and label shuffle. The criteria are fields of the config, so config.json records them before
anything is computed; the summary opens with the verdicts computed from the CIs. At the first seed the
descriptive analysis runs too: agent directions, PCA, cosines and principal angles per layer.

    python experiments/agent_subspaces.py                                   # tiny defaults, minutes on 2 cores
    python experiments/agent_subspaces.py --positions turn_last --n-debates 60 --seeds 0 1 2 3 4
    python experiments/agent_subspaces.py --debates data/synthetic/arithmetic_debates_test.json

Writes ``results/agent_subspaces/<YYYYmmdd-HHMMSS>-<config-hash8>/`` (built under a hidden temporary name and
renamed when complete): config.json (with the criteria), env.json, metrics.json (verdicts and every number
with its CI and seed spread), analysis.json (per-question tallies, the first seed's layer analysis),
vectors/ (directions and subspaces, safetensors + JSON), figures/*.html, summary.md. The config, criteria
and loop are `probes.subspace_experiment`; the summary's words, read from metrics.json, `probes.subspace_report`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

from experiments._results import command_line, report_path, run_folder
from models import load
from models.cli import parse_config
from models.cli import run as run_cli
from probes.agent_comparison import save_vectors
from probes.subspace_experiment import CLAIM, Config, criteria, run
from probes.subspace_report import figure_caption, summary, takeaway, verdict_lines

__all__ = ["CLAIM", "Config", "criteria", "main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> Config:
    return parse_config(Config, argv, "experiments/agent_subspaces.py", __doc__)


def main(cfg: Config) -> Path:
    """Run the experiment and return the finished results folder."""
    start = time.perf_counter()
    with run_folder("agent_subspaces", cfg, root=cfg.out_dir, seed=cfg.seeds[0]) as folder:
        models = {role: load(name, backend=cfg.backend) for role, name in cfg.checkpoints.items()}
        result = run(cfg, models)
        for role, analysis in result.analyses.items():
            save_vectors(analysis, folder.path / "vectors" / role)
        figures = [str(p.relative_to(folder.path)) for stem, fig in result.figures.items()
                   for p in folder.figure(fig, stem, figure_caption(stem))]
        written = folder.json("metrics.json", {**result.metrics, "wall_time_s": time.perf_counter() - start})
        folder.json("analysis.json", result.analysis)
        metrics = json.loads(written.read_text())  # the summary reads what a notebook would read
        config = dataclasses.asdict(cfg)
        folder.text("summary.md", summary(metrics, config, command_line("agent_subspaces"), figures))
        folder.headline(f"Agent identity in {cfg.base} vs {cfg.distilled}", takeaway(metrics), verdict_lines(metrics))
    print(f"results: {folder.path} ({time.perf_counter() - start:.0f} s)\nreport: {report_path(folder)}")
    for line in verdict_lines(metrics):
        print(line)
    return folder.path


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(run_cli(main, Config, prog="experiments/agent_subspaces.py", description=__doc__))
