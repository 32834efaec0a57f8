"""Agent-style steering, base vs distilled (paper §3): steer toward each debate persona's direction and
measure how much the output comes to read like that persona.

The persona directions are the paper's Eq. 3 agent-vs-others contrasts, read from the Stage 1 (SFT)
checkpoint on training debates; the same vectors steer the base and the distilled model (as in the
paper) at generated positions, for alpha from 0 to 5. Each output is scored with ROUGE-1/2/L against
a held-out, correct solution written in the target persona's style; the summary statistic is the
area under the ROUGE-vs-alpha curve (trapezoid rule), with the distilled model's relative
improvement over the base model.

    python experiments/agent_style.py                                  # the tiny embedded checkpoints
    python experiments/agent_style.py --alphas 0 1 2 3 --n-test 50 --layer 2
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from experiments._results import command_line, run_folder
from models import HookedModel, load
from models.cli import check_fields, option, parse_config, run as run_cli
from models.debate.arithmetic import TIERS, work_out
from models.debate.format import sft_prompt, strip_tags
from models.debate.personas import ARITHMETIC_PERSONAS, PERSONA_WRITERS
from models.debate.prompts import math_question_prompt
from models.errors import ConfigError
from models.debate.prompts import present
from models.debate.splits import arithmetic_debates, heldout_problems
from probes import collect_activations, eq3_directions, eq3_source
from probes.direction import Direction
from steering import adopt, alpha_sweep, degeneracy, scale_to_residual, stamp
from steering.style import ROUGE_TYPES, auc_trapezoid, relative_improvement, rouge

log = logging.getLogger("agent_style")
PERSONA_NAMES = {"chain_of_thought": "Chain-of-Thought", "self_critique": "Self-Critique",
                 "program_of_thought": "Program-of-Thought"}


@dataclass
class StyleConfig:
    """Every field is a flag of this script (``--n-test``, ...)."""

    base: str = option("Base checkpoint (registry name, folder or .gguf).", default="tiny-base", min_len=1)
    distilled: str = option("Distilled (internalized) checkpoint.", default="tiny-imad", min_len=1)
    sft: str = option("Stage 1 checkpoint the persona vectors are read from.", default="tiny-sft", min_len=1)
    backend: Literal["hf", "tl", "nnsight"] = option("Hooked-model backend.", default="hf")
    layer: int = option("Block whose resid_post is read and steered; -1 means the middle block.", default=-1, min=-1)
    alphas: list[float] = option("Steering strengths, from 0 up (at least two distinct).", min=0.0, min_len=2,
                               default_factory=lambda: [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0])
    scale: Literal["residual", "unit", "raw"] = option("Vector scale: 'residual' (alpha 1 shifts a typical activation at the site by 10%% of its norm, "
                      "comparable across models), 'unit' (the original code) or 'raw' (Eq. 3 difference of means).",
                      default="residual")
    n_test: int = option("Held-out problems per persona.", default=24, min=1, max=100_000)
    n_extract: int = option("Training debates the persona vectors are read from.", default=64, min=1, max=100_000)
    tier: str = option("Arithmetic tier of the problems.", default="easy", choices=sorted(TIERS))
    question_format: Literal["spaced", "compact"] = option(
        "How questions are shown: spaced (the tiny trainer's) or compact.", default="spaced")
    max_new_tokens: int = option("Tokens generated per answer.", default=128, min=1, max=1_000_000)
    seed: int = option("Seed of the reference solutions' wording.", default=0, min=0, max=2**32 - 1)
    out: str = option("Results root folder.", default="results", min_len=1)

    def __post_init__(self) -> None:
        check_fields(self)
        if len(set(self.alphas)) < 2:
            raise ConfigError(f"alphas needs at least two distinct values (the curve's area is taken over them), "
                              f"got {self.alphas}")


def parse_args(argv: list[str] | None = None) -> StyleConfig:
    return parse_config(StyleConfig, argv, "experiments/agent_style.py", __doc__)


def references(cfg: StyleConfig) -> tuple[list[str], dict[str, list[str]]]:
    """Held-out questions and, per persona, a correct solution to each written in that persona's style."""
    problems = heldout_problems(cfg.tier, cfg.n_test, seed=0)
    rng = random.Random(f"agent-style-{cfg.seed}")
    refs = {p: [PERSONA_WRITERS[p](work_out(problem), rng) for problem in problems] for p in ARITHMETIC_PERSONAS}
    return [present(p.question, cfg.question_format) for p in problems], refs  # type: ignore[arg-type]


def persona_vectors(sft: HookedModel, site: str, cfg: StyleConfig) -> dict[str, Direction]:
    """Eq. 3 agent-vs-others direction of each persona (agent k speaks persona k), from training debates."""
    debates = arithmetic_debates(cfg.n_extract, cfg.tier, seed=cfg.seed + 202,
                                 exclude=[p.question for p in heldout_problems(cfg.tier, 500, seed=0)])
    acts = collect_activations(sft, eq3_source(debates, positions="last"), [site], truncate=True, progress=True)
    directions = eq3_directions(acts, site, normalize=cfg.scale == "unit")
    if cfg.scale == "residual":
        directions = {name: scale_to_residual(d, acts.at(site)) for name, d in directions.items()}
    return {persona: stamp(directions[f"agent{k}"], sft) for k, persona in enumerate(ARITHMETIC_PERSONAS, start=1)}


def style_rows(name: str, model: HookedModel, prompts: list[str], vectors: dict[str, Direction],
               refs: dict[str, list[str]], cfg: StyleConfig) -> list[dict[str, Any]]:
    """ROUGE of every steered output against its persona reference; one row per (persona, alpha, question)."""
    rows = []
    for persona, vector in vectors.items():
        sweep = alpha_sweep(model, vector, prompts, cfg.alphas, max_new_tokens=cfg.max_new_tokens,
                            desc=f"{name}/{persona}")
        for r in sweep:
            text = strip_tags(r.text)
            scores = rouge([text], [refs[persona][r.prompt_index]])
            rows.append({"model": name, "persona": persona, "alpha": r.alpha, "question": r.prompt_index,
                         **scores, "degenerate": degeneracy(text).degenerate, "text": r.text})
    return rows


def curves(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[tuple[float, float]]]:
    """(model, persona, metric) -> [(alpha, mean score)] sorted by alpha."""
    sums: dict[tuple[str, str, str, float], list[float]] = {}
    for r in rows:
        for metric in ROUGE_TYPES:
            sums.setdefault((r["model"], r["persona"], metric, r["alpha"]), []).append(r[metric])
    out: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for (model, persona, metric, alpha), values in sorted(sums.items()):
        out.setdefault((model, persona, metric), []).append((alpha, sum(values) / len(values)))
    return out


def steering_gain_auc(points: list[tuple[float, float]]) -> float:
    """Area under ROUGE(alpha) - ROUGE(lowest alpha): what steering adds over the unsteered output.

    The paper's AUC also counts the unsteered score, so a model whose plain output already resembles
    a persona wins without any steering; this one does not.
    """
    xs, ys = zip(*points)
    return auc_trapezoid(xs, [y - ys[0] for y in ys])


def auc_table(curve: dict[tuple[str, str, str], list[tuple[float, float]]]) -> list[dict[str, Any]]:
    """Per persona and metric: base AUC, distilled AUC, relative improvement (%), as in the paper's Table 8."""
    table = []
    for persona in ARITHMETIC_PERSONAS:
        for metric in ROUGE_TYPES:
            aucs = {m: auc_trapezoid(*zip(*curve[(m, persona, metric)])) for m in ("base", "distilled")}
            gains = {m: steering_gain_auc(curve[(m, persona, metric)]) for m in ("base", "distilled")}
            improvement = relative_improvement(aucs["base"], aucs["distilled"]) if aucs["base"] > 0 else None
            table.append({"persona": persona, "metric": metric, "base_auc": aucs["base"],
                          "distilled_auc": aucs["distilled"], "improvement_pct": improvement,
                          "base_gain_auc": gains["base"], "distilled_gain_auc": gains["distilled"]})
    return table


def style_figure(curve: dict[tuple[str, str, str], list[tuple[float, float]]], metric: str = "rougeL") -> go.Figure:
    """ROUGE-vs-alpha per persona, base and distilled side by side."""
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True,
                        subplot_titles=[f"toward {PERSONA_NAMES[p]}" for p in ARITHMETIC_PERSONAS])
    colors = {"base": "#636EFA", "distilled": "#EF553B"}
    for col, persona in enumerate(ARITHMETIC_PERSONAS, start=1):
        for model in ("base", "distilled"):
            xs, ys = zip(*curve[(model, persona, metric)])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=model, legendgroup=model,
                                     showlegend=col == 1, line={"color": colors[model]}), row=1, col=col)
        fig.update_xaxes(title_text="steering strength alpha", row=1, col=col)
    fig.update_yaxes(title_text=f"{metric} F1 vs held-out persona solutions", row=1, col=1)
    fig.update_layout(title=f"Steering toward each debate persona: {metric} against that persona's own writing",
                      height=420, width=1200, legend_title_text="model")
    return fig


def summary_markdown(cfg: StyleConfig, site: str, table: list[dict[str, Any]], mean_l: dict[str, float],
                     examples: list[dict[str, Any]]) -> str:
    fmt = lambda v: "-" if v is None else f"{v:+.2f} %"  # noqa: E731
    lines = ["# Agent-style steering: base vs distilled", "",
             f"Command: `{command_line('agent_style')}`", "",
             f"Persona vectors: Eq. 3 agent-vs-others on {cfg.sft} ({cfg.n_extract} training debates), site {site}, "
             f"scale '{cfg.scale}'; the same vectors steer "
             f"{cfg.base} (base) and {cfg.distilled} (distilled) at generated positions; alpha "
             f"{min(cfg.alphas):g} to {max(cfg.alphas):g}; {cfg.n_test} held-out problems per persona.", "",
             "AUC is the paper's statistic (area under ROUGE vs alpha); gain AUC subtracts the unsteered "
             "score first, so it measures what steering adds.", "",
             "| persona | metric | base AUC | distilled AUC | improvement | base gain AUC | distilled gain AUC |",
             "|---|---|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| {PERSONA_NAMES[r['persona']]} | {r['metric']} | {r['base_auc']:.4f} | "
                     f"{r['distilled_auc']:.4f} | {fmt(r['improvement_pct'])} | {r['base_gain_auc']:+.4f} | "
                     f"{r['distilled_gain_auc']:+.4f} |")
    lines += ["", f"Mean ROUGE-L AUC over personas: base {mean_l['base']:.4f}, distilled {mean_l['distilled']:.4f} "
                  f"(paper, LLaMA-3.1-8B: base 0.802, IMAD 0.903).", "", "## Examples (first held-out problem)", ""]
    for e in examples:
        lines.append(f"* **{e['model']}**, toward {PERSONA_NAMES[e['persona']]}, alpha {e['alpha']:g}: "
                     f"`{strip_tags(e['text'])[:240]}`")
    lines += ["", "Figure: [figures/agent_style.html](figures/agent_style.html)", ""]
    return "\n".join(lines)


def main(cfg: StyleConfig) -> Path:
    """Run the experiment and return the finished results folder."""
    with run_folder("agent_style", cfg, root=cfg.out, seed=cfg.seed) as run:
        sft = load(cfg.sft, backend=cfg.backend)
        layer = cfg.layer if cfg.layer >= 0 else sft.info.n_layers // 2
        site = str(sft.site(("resid_post", layer)))
        vectors = persona_vectors(sft, site, cfg)
        for persona, v in vectors.items():
            v.save(run.path / "vectors" / persona)
        del sft
        questions, refs = references(cfg)
        rows: list[dict[str, Any]] = []
        for name, checkpoint in (("base", cfg.base), ("distilled", cfg.distilled)):
            model = load(checkpoint, backend=cfg.backend)
            # The base model answers in its chat format; Stage 1/2 models were trained on "Problem: q".
            prompts = ([model.chat_prompt(math_question_prompt(q)) for q in questions] if name == "base"
                       else [sft_prompt(q) for q in questions])
            # The same vectors steer both models, as in the paper (their tokenizers differ by the debate tags).
            adopted = {persona: adopt(v, model) for persona, v in vectors.items()}
            rows += style_rows(name, model, prompts, adopted, refs, cfg)
        run.jsonl("rows.jsonl", rows)
        curve = curves(rows)
        table = auc_table(curve)
        run.csv("auc.csv", table)
        run.csv("curves.csv", [{"model": m, "persona": p, "metric": k, "alpha": a, "score": s}
                               for (m, p, k), points in curve.items() for a, s in points])
        mean_l = {m: sum(r[f"{m}_auc"] for r in table if r["metric"] == "rougeL") / len(ARITHMETIC_PERSONAS)
                  for m in ("base", "distilled")}
        degenerate = {m: sum(r["degenerate"] for r in rows if r["model"] == m) / max(1, sum(r["model"] == m for r in rows))
                      for m in ("base", "distilled")}
        run.json("metrics.json", {"site": site, "auc": table, "mean_rougeL_auc": mean_l,
                                  "degenerate_rate": degenerate})
        run.figure(style_figure(curve), "agent_style")
        shown = {0.0, 1.0, max(cfg.alphas)}
        examples = [r for r in rows if r["question"] == 0 and r["alpha"] in shown]
        run.text("summary.md", summary_markdown(cfg, site, table, mean_l, examples))
    print(f"results: {run.path}")
    print(f"mean ROUGE-L AUC over personas: base {mean_l['base']:.4f}, distilled {mean_l['distilled']:.4f}")
    for r in table:
        if r["metric"] == "rougeL":
            imp = "-" if r["improvement_pct"] is None else f"{r['improvement_pct']:+.1f} %"
            print(f"  {PERSONA_NAMES[r['persona']]:<19} ROUGE-L AUC base {r['base_auc']:.4f}  "
                  f"distilled {r['distilled_auc']:.4f}  ({imp});  gain AUC base {r['base_gain_auc']:+.4f}  "
                  f"distilled {r['distilled_gain_auc']:+.4f}")
    return run.path


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(run_cli(main, StyleConfig, prog="experiments/agent_style.py", description=__doc__))
