"""Debate vs internalized debate on held-out arithmetic: accuracy and tokens per question (paper Table 1).

Systems, each on the same held-out problems (never seen in any training stage), all decoded the same way
(greedy by default; ``--temperature``/``--top-p`` sample every system alike, seeded by the sample's seed):

* base, single answer (the Du et al. round-1 prompt);
* base, explicit debate: 3 agents (CoT / self-critique / program personas), 2 rounds, majority vote of the
  last round (on every problem by default; ``--debate-n`` scores only the first problems of each sample);
* Stage 1 (SFT): writes a whole debate from ``Problem: q``; answer = the consensus (`committed_answer`);
* internalized (IMAD, SFT + GRPO): same prompt, same reading.

Stage 1 and IMAD are given once per training seed (``--sft`` and ``--imad`` pair up by position; the
defaults are the three shipped seeds), and every criterion is decided per training seed: it is
confirmed (or refuted) only when every training seed confirms (or refutes) it.

Every seed draws its own sample of ``--n`` problems (the samples are disjoint). The predeclared criteria
(config fields, written to config.json before any generation) are decided from paired-bootstrap CIs over
all problems; when one seed's own CI decides against the pooled verdict, it is inconclusive. The run folder
holds config.json, env.json, metrics.json (every number with its CI), rows.jsonl, summary.md (verdicts
first), figures/accuracy_tokens.html and figures/grpo_iterations.html (each IMAD checkpoint's Stage 2
iterations, read from its manifest: l, mean completion length, correct share, format reward). The summary also
says how each transcript's consensus line reads its agents: where they disagree, whether it copies the last
agent's answer or follows their vote, and what that vote, taken by code, would score.

``--problems validation`` scores the same systems on problems outside the held-out set and outside every
Stage 1 and Stage 2 prompt of the checkpoints (proven from their manifests in splits.json), so that Stage 2
settings can be chosen without looking at the evaluation problems:

    python experiments/evaluate_internalization.py --problems validation --n 50 --sft tiny-sft --imad runs/trial

The default (3 seeds x 100 problems, the explicit debate on all of them, 3 training seeds) took 7.3 minutes on
2 idle cores with ``--threads 2`` (100 explicit debates take about a minute, the six transcript systems most
of the rest):

    python experiments/evaluate_internalization.py --threads 2
"""

from __future__ import annotations

import time
from pathlib import Path

from experiments._results import command_line, report_path, run_folder
from models.cli import parse_config
from models.cli import run as run_cli
from models.train import internalization_report as report
from models.train.internalization import EvalConfig, prepare, score
from models.train.internalization import decide as _decide  # noqa: F401  (tests/experiments reads it here)

__all__ = ["EvalConfig", "main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> EvalConfig:
    return parse_config(EvalConfig, argv, "experiments/evaluate_internalization.py", __doc__)


def main(cfg: EvalConfig) -> Path:
    """Run the experiment and return the finished results folder."""
    import torch

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(cfg.threads or threads)
        return _run(cfg)
    finally:
        torch.set_num_threads(threads)  # the caller's setting, not ours, outlives the run


def _run(cfg: EvalConfig) -> Path:
    start = time.time()
    plan = prepare(cfg)
    config = plan.config()
    # config.json (with the criteria) is written on entering the folder, before any generation.
    with run_folder("evaluate_internalization", config, root=cfg.out, seed=cfg.seeds[0]) as run:
        run.json("splits.json", plan.splits())  # and checked, before generation
        metrics, rows = score(plan)
        metrics["seconds"] = round(time.time() - start, 1)
        run.json("metrics.json", metrics)
        run.jsonl("rows.jsonl", rows)
        run.text("summary.md", report.summary_markdown(metrics, config, command_line("evaluate_internalization")))
        run.figure(report.accuracy_tokens_figure(metrics), "accuracy_tokens",
                   "Accuracy (with 95 % CI) against tokens per question for every system: internalization "
                   "succeeds where a model sits left of the explicit debate without dropping below it.")
        run.figure(report.grpo_figure(plan.imad_folders), "grpo_iterations",
                   "Per GRPO iteration, from the checkpoints' manifests: mean completion length, the length clip "
                   "and the rewards; length should fall while correctness holds.")
        run.headline(*report.headline(metrics, config))
    print(f"results: {run.path}\nreport: {report_path(run)}")
    for c in metrics["criteria"].values():
        print(f"  {c['line']}")
    return run.path


if __name__ == "__main__":
    raise SystemExit(run_cli(main, EvalConfig, prog="experiments/evaluate_internalization.py", description=__doc__))
