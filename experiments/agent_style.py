"""Agent-style steering, base vs distilled (paper §3), on the evidence protocol: does steering toward a
debate persona make the output read more like that persona, more than random directions do, and more
in the distilled model than in the base model?

The persona directions are the paper's Eq. 3 agent-vs-others contrasts, read from the Stage 1 (SFT)
checkpoint; the same vectors steer the base and the distilled model at generated positions, and both
models get the *same prompt* for every question. Each output is scored with ROUGE against a held-out,
correct solution written in the target persona's style. The primary metric is the steering gain: per
question, ROUGE at alpha minus ROUGE unsteered, as an area over the alpha grid, with 95 % paired
bootstrap CIs over questions. Controls at the same alphas: random directions of the vector's norm and
the sign-flipped vector. Seeds redraw the questions, the references' wording, the extraction debates
and the random directions. Verdicts are computed from the CIs against the criteria in config.json.

    python experiments/agent_style.py                                  # the tiny embedded checkpoints
    python experiments/agent_style.py --n-test 40 --seeds 0 1 2 3 --min-gain-difference 0.05
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

from experiments._report import REPORT
from experiments._results import command_line, run_folder
from models.cli import config_dict, parse_config
from models.cli import run as run_cli
from steering.persona_style import persona_vectors, style_rows
from steering.style_evidence import gain_figure
from steering.style_experiment import StyleConfig, run
from steering.style_report import (
    METRIC_NAMES,
    TITLES,
    console_lines,
    examples,
    figure_caption,
    headline,
    summary_markdown,
)

__all__ = ["StyleConfig", "main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> StyleConfig:
    return parse_config(StyleConfig, argv, "experiments/agent_style.py", __doc__)


def main(cfg: StyleConfig) -> Path:
    """Run the experiment and return the finished results folder."""
    config = {**config_dict(cfg), "criteria": {k: asdict(c) for k, c in cfg.criteria().items()}}
    # config.json (with the criteria) is written on entering the folder, before any model runs.
    with run_folder("agent_style", config, root=cfg.out, seed=cfg.seeds[0]) as folder:
        # This module's names, looked up now: a caller may swap them to watch what the loop asks for.
        result = run(cfg, extract=persona_vectors, generate=style_rows)
        for s, by_persona in result.vectors.items():
            for persona, v in by_persona.items():
                v.save(folder.path / "vectors" / f"seed{s}" / persona)
        folder.json("prompts.json", result.prompts)
        folder.jsonl("rows.jsonl", result.rows)
        folder.figure(gain_figure(result.curves, TITLES, METRIC_NAMES[cfg.metric]), "agent_style",
                      figure_caption(config))
        # The summary reads the metrics back from the file, as a notebook would.
        metrics = json.loads(folder.json("metrics.json", result.metrics).read_text())
        folder.text("summary.md", summary_markdown(metrics, config, examples(result.rows, config),
                                                   command_line("agent_style")))
        folder.headline(*headline(metrics, config))
    print(f"results: {folder.path}\nreport: {folder.path / REPORT}")
    print("\n".join(console_lines(metrics)))
    return folder.path


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(run_cli(main, StyleConfig, prog="experiments/agent_style.py", description=__doc__))
