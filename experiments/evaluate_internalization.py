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

import argparse
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SYSTEMS = (("base · single answer", "base", "single"), ("base · explicit debate (3 agents × 2 rounds)", "base", "debate"),
           ("Stage 1 (SFT)", "sft", "transcript"), ("internalized (IMAD)", "imad", "transcript"))


@dataclass
class EvalConfig:
    base: str = "tiny-base"
    sft: str = "tiny-sft"
    imad: str = "tiny-imad"
    n: int = 500
    out_dir: str = "results/evaluate_internalization"
    batch_size: int = 32
    max_new_tokens: int = 1100
    debate_max_new_tokens: int = 384
    threads: int | None = None


def _parse(argv: list[str] | None) -> EvalConfig:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in asdict(EvalConfig()).items():
        kind = int if name in ("n", "batch_size", "max_new_tokens", "debate_max_new_tokens", "threads") else str
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=default, help=f"(default: {default})")
    return EvalConfig(**vars(p.parse_args(argv)))


def _heldout(imad_folder: Path, n: int) -> tuple[list[str], list[str], dict]:
    """The held-out problems the checkpoints were trained without (read from the IMAD manifest)."""
    from models.manifest import Manifest
    from models.train.data import heldout_problems, present

    manifest = Manifest.load(imad_folder)
    cfg = manifest.config if manifest else {}
    tier, total, seed = cfg.get("tier", "easy"), cfg.get("heldout", 500), cfg.get("heldout_seed", 0)
    if n > total:
        raise SystemExit(f"--n {n} exceeds the {total} problems held out of training; use --n {total} or fewer")
    fmt = cfg.get("question_format", "spaced")
    problems = heldout_problems(tier, total, seed)[:n]
    return ([present(p.question, fmt) for p in problems], [str(p.answer) for p in problems],
            {"tier": tier, "heldout_seed": seed, "question_format": fmt})


def _figure(table: list[dict], path: Path) -> None:
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=True)  # self-contained: opens offline


def _markdown(table: list[dict], cfg: EvalConfig, seconds: float) -> str:
    lines = ["# Debate vs internalized debate", "",
             f"{table[0]['n']} held-out problems; command: `python experiments/evaluate_internalization.py --n {cfg.n}` "
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
    import torch

    from models import load
    from models.manifest import hash_json
    from models.registry import materialize
    from models.train.checkpoint import env_info
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

    # Write the run folder under a temporary name; rename it once everything is in place.
    stamp = time.strftime("%Y%m%d-%H%M%S")
    final = Path(cfg.out_dir) / f"{stamp}-{hash_json(asdict(cfg))[:8]}"
    tmp = final.with_name(final.name + ".tmp")
    (tmp / "figures").mkdir(parents=True, exist_ok=True)
    (tmp / "config.json").write_text(json.dumps({**asdict(cfg), **heldout, "folders": {k: str(v) for k, v in folders.items()}}, indent=2))
    (tmp / "env.json").write_text(json.dumps({**env_info(), "machine": platform.node(), "cpus": os.cpu_count()}, indent=2))
    (tmp / "metrics.json").write_text(json.dumps({"systems": table, "seconds": round(seconds, 1)}, indent=2))
    with (tmp / "rows.jsonl").open("w") as f:
        for label, _, s in scores:
            for row in s.rows:
                f.write(json.dumps({"system": label, **row}) + "\n")
    (tmp / "summary.md").write_text(_markdown(table, cfg, seconds))
    _figure(table, tmp / "figures" / "accuracy_tokens.html")
    os.replace(tmp, final)
    print(f"results: {final}")
    for r in table:
        print(f"  {r['system']:<46} accuracy {100 * r['accuracy']:5.1f}%   tokens {r['mean_tokens']:7.0f}"
              f"   {r['pct_of_debate']:5.1f}% of debate")
    return final


if __name__ == "__main__":
    main(_parse(None))
