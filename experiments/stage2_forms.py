"""Which shorter answers a Stage 1 model could give, and whether Stage 2's sampling ever tries them.

For each problem the checkpoint writes its greedy transcript. The same transcript is then cut after Agent 1's
(and Agent 2's) round-1 turn and closed with the consensus tag, which the model completes greedily: the
answer it commits to, and the tokens of that shortened output. Beside each form, the probability that
sampling at ``--temperature`` (Stage 2's) picks each tag right after Agent 1's turn. A form that is short and
accurate, whose first tag sampling almost never picks, is one GRPO cannot learn here, whatever it rewards.

Problems are validation problems by default (outside the held-out set and every Stage 1 and Stage 2 prompt of
the checkpoint, proven in splits.json), so the held-out evaluation stays unseen; ``--problems heldout`` uses
the held-out ones. The run folder holds config.json, splits.json, metrics.json (accuracies and tokens with
95 % bootstrap CIs, paired comparisons with McNemar), rows.jsonl, summary.md and figures/forms.html.

    python experiments/stage2_forms.py --checkpoint tiny-sft
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from experiments._results import command_line, report_path, run_folder
from models.cli import check_fields, option, parse_config
from models.cli import run as run_cli
from models.train import forms_report as report
from models.train.forms_diagnostic import forms_problems, score_forms


@dataclass
class FormsConfig:
    """Every field is a flag of this script."""

    checkpoint: str = option("Stage 1 (or Stage 2) checkpoint: registry name or folder.", "tiny-sft", min_len=1)
    problems: Literal["validation", "heldout"] = option(
        "validation: problems outside the held-out set and the checkpoint's Stage 1 and Stage 2 prompts; heldout: "
        "the evaluation problems.", "validation")
    n: int = option("Problems.", 100, min=2, max=100_000)
    temperature: float = option("Sampling temperature at which the next-tag probabilities are read (the shipped "
                                "Stage 2 samples at 0.5).", 0.5, gt=0.0, max=10.0)
    max_new_tokens: int = option("Generation cap of the greedy transcript.", 1100, min=1, max=1_000_000)
    batch_size: int = option("Prompts per generation batch.", 50, min=1, max=100_000)
    threads: int | None = option("torch threads (None = torch's choice).", None, min=1, max=4096)
    out: str = option("Results root; the run goes to <out>/stage2_forms/<time>-<hash>/.", "results", min_len=1)
    progress: bool = option("Progress bars.", True)

    def __post_init__(self) -> None:
        check_fields(self)


def parse_args(argv: list[str] | None = None) -> FormsConfig:
    return parse_config(FormsConfig, argv, "experiments/stage2_forms.py", __doc__)


def main(cfg: FormsConfig) -> Path:
    """Run the diagnostic and return the finished results folder."""
    import torch

    from models import load
    from models.registry import materialize

    start, threads = time.time(), torch.get_num_threads()
    folder = Path(cfg.checkpoint) if Path(cfg.checkpoint).exists() else Path(materialize(cfg.checkpoint))
    problems, splits = forms_problems(folder, cfg.problems, cfg.n)
    config = {**vars(cfg), "folder": folder}
    try:
        torch.set_num_threads(cfg.threads or threads)
        with run_folder("stage2_forms", config, root=cfg.out) as run:
            run.json("splits.json", splits)
            metrics, rows = score_forms(load(folder), problems, splits["question_format"], temperature=cfg.temperature,
                                        max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size,
                                        progress=cfg.progress)
            metrics["seconds"] = round(time.time() - start, 1)
            run.json("metrics.json", metrics)
            run.jsonl("rows.jsonl", rows)
            run.text("summary.md", report.summary_markdown(metrics, config, command_line("stage2_forms")))
            run.figure(report.forms_figure(metrics), "forms",
                       "Each shorter form against the whole transcript it was cut from.")
            run.headline("Shorter forms a Stage 1 model could write", report.takeaway(metrics), [])
    finally:
        torch.set_num_threads(threads)
    print(f"results: {run.path}\nreport: {report_path(run)}")
    print(report.takeaway(metrics))
    return run.path


if __name__ == "__main__":
    raise SystemExit(run_cli(main, FormsConfig, prog="experiments/stage2_forms.py", description=__doc__))
