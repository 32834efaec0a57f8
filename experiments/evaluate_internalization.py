"""Debate vs internalized debate on held-out arithmetic: accuracy and tokens per question (paper Table 1).

Systems, each on the same held-out problems (never seen in any training stage):

* base, single answer (the Du et al. round-1 prompt);
* base, explicit debate: 3 agents (CoT / self-critique / program personas), 2 rounds, majority vote;
* Stage 1 (SFT): writes a whole debate from ``Problem: q``; answer = last ``\\boxed{}``;
* internalized (IMAD, SFT + GRPO): same prompt.

Tokens are input + output per question, counted per row. The run folder (written under a temporary
name, then renamed) holds config.json, env.json, metrics.json, rows.jsonl, summary.md and
figures/accuracy_tokens.html (interactive plotly).

    python experiments/evaluate_internalization.py --n 500
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments._results import command_line, run_folder
from models.cli import check_fields, option, parse_config, run as run_cli
from models.errors import ConfigError

SYSTEMS = (("base · single answer", "base", "single"), ("base · explicit debate (3 agents × 2 rounds)", "base", "debate"),
           ("Stage 1 (SFT)", "sft", "transcript"), ("internalized (IMAD)", "imad", "transcript"))


@dataclass
class EvalConfig:
    """Every field is a flag of this script (``--n``, ``--max-new-tokens``, ...)."""

    base: str = option("Base checkpoint (registry name or folder): single answer and explicit debate.",
                       "tiny-base", min_len=1)
    sft: str = option("Stage 1 checkpoint: writes a whole tagged debate.", "tiny-sft", min_len=1)
    imad: str = option("Internalized checkpoint (Stage 2); its manifest names the held-out problems.", "tiny-imad",
                       min_len=1)
    n: int = option("Held-out problems (at most the number held out of training).", 500, min=1, max=100_000)
    out: str = option("Results root; the run goes to <out>/evaluate_internalization/<time>-<hash>/.", "results",
                      min_len=1)
    batch_size: int = option("Prompts per generation batch.", 32, min=1, max=100_000)
    max_new_tokens: int = option("Generation cap of single answers and transcripts.", 1100, min=1, max=1_000_000)
    debate_max_new_tokens: int = option("Generation cap of each agent turn in the explicit debate.", 384,
                                        min=1, max=1_000_000)
    threads: int | None = option("torch threads (default: torch's choice).", None, min=1, max=4096)

    def __post_init__(self) -> None:
        check_fields(self)


def parse_args(argv: list[str] | None = None) -> EvalConfig:
    return parse_config(EvalConfig, argv, "experiments/evaluate_internalization.py", __doc__)


def _heldout(imad_folder: Path, n: int) -> tuple[list[str], list[str], dict]:
    """The held-out problems the checkpoints were trained without (read from the IMAD manifest)."""
    from models.manifest import Manifest
    from models.debate.prompts import present
    from models.debate.splits import heldout_problems

    manifest = Manifest.load(imad_folder)
    cfg = manifest.config if manifest else {}
    tier, total, seed = cfg.get("tier", "easy"), cfg.get("heldout", 500), cfg.get("heldout_seed", 0)
    if n > total:
        raise ConfigError(f"--n {n} exceeds the {total} problems held out of training; use --n {total} or fewer")
    fmt = cfg.get("question_format", "spaced")
    problems = heldout_problems(tier, total, seed)[:n]
    return ([present(p.question, fmt) for p in problems], [str(p.answer) for p in problems],
            {"tier": tier, "heldout_seed": seed, "question_format": fmt})


def _figure(table: list[dict]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [r["system"] for r in table]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("accuracy (%)", "tokens per question (% of explicit debate)"))
    fig.add_trace(go.Bar(x=names, y=[100 * r["accuracy"] for r in table], name="accuracy",
                         text=[f"{100 * r['accuracy']:.1f}%" for r in table], textposition="outside"), 1, 1)
    fig.add_trace(go.Bar(x=names, y=[r["pct_of_debate"] for r in table], name="tokens",
                         customdata=[r["mean_tokens"] for r in table],
                         hovertemplate="%{x}<br>%{y:.1f}% of debate<br>%{customdata:.0f} tokens<extra></extra>",
                         text=[f"{r['pct_of_debate']:.1f}%" for r in table], textposition="outside"), 1, 2)
    fig.update_layout(title="Explicit vs internalized debate on held-out arithmetic", showlegend=False, height=520)
    return fig


def _markdown(table: list[dict], cfg: EvalConfig, seconds: float) -> str:
    lines = ["# Debate vs internalized debate", "",
             f"{table[0]['n']} held-out problems; command: `{command_line('evaluate_internalization')}` "
             f"({seconds:.0f} s).", "",
             "| system | accuracy | mean tokens (in + out) | % of explicit debate | outputs with tags |",
             "|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| {r['system']} | {100 * r['accuracy']:.1f}% | {r['mean_tokens']:.0f} "
                     f"({r['mean_input_tokens']:.0f} + {r['mean_output_tokens']:.0f}) | {r['pct_of_debate']:.1f}% | "
                     f"{100 * r['tag_rate']:.0f}% |")
    lines += ["", "Figure: [figures/accuracy_tokens.html](figures/accuracy_tokens.html)", ""]
    return "\n".join(lines)


def main(cfg: EvalConfig) -> Path:
    """Run the experiment and return the finished results folder."""
    import torch

    from models import load
    from models.registry import materialize
    from models.train.evaluate import evaluate

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    start = time.time()
    folders = {k: Path(materialize(v)) if not Path(v).exists() else Path(v)
               for k, v in (("base", cfg.base), ("sft", cfg.sft), ("imad", cfg.imad))}
    questions, golds, heldout = _heldout(folders["imad"], cfg.n)
    models = {k: load(f) for k, f in folders.items()}
    scores = []
    for label, which, system in SYSTEMS:
        score = evaluate(models[which], system, questions, golds, max_new_tokens=cfg.max_new_tokens,  # type: ignore[arg-type]
                         batch_size=cfg.batch_size, progress=True, debate_max_new_tokens=cfg.debate_max_new_tokens)
        scores.append((label, which, score))
    debate_tokens = scores[1][2].mean_tokens
    table = [{**s.summary(), "system": label, "checkpoint": str(folders[which]),
              "pct_of_debate": round(100 * s.mean_tokens / debate_tokens, 2)} for label, which, s in scores]
    seconds = time.time() - start
    with run_folder("evaluate_internalization", {**vars(cfg), **heldout, "folders": folders}, root=cfg.out) as run:
        run.json("metrics.json", {"systems": table, "seconds": round(seconds, 1)})
        run.jsonl("rows.jsonl", [{"system": label, **row} for label, _, s in scores for row in s.rows])
        run.text("summary.md", _markdown(table, cfg, seconds))
        run.figure(_figure(table), "accuracy_tokens")
    final = run.path
    print(f"results: {final}")
    for r in table:
        print(f"  {r['system']:<46} accuracy {100 * r['accuracy']:5.1f}%   tokens {r['mean_tokens']:7.0f}"
              f"   {r['pct_of_debate']:5.1f}% of debate")
    return final


if __name__ == "__main__":
    raise SystemExit(run_cli(main, EvalConfig, prog="experiments/evaluate_internalization.py", description=__doc__))
