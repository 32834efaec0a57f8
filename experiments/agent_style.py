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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from experiments._results import command_line, run_folder
from models import load
from models.cli import check_fields, option, parse_config, run as run_cli
from models.debate.arithmetic import TIERS
from models.debate.format import strip_tags
from models.errors import ConfigError
from steering import adopt
from steering.persona_style import (
    PERSONA_NAMES, auc_table, curve_rows, degenerate_rates, mean_rougeL_auc, persona_vectors, style_curves, style_figure,
    style_prompts, style_references, style_rows,
)

log = logging.getLogger("agent_style")


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
        vectors = persona_vectors(sft, site, n_extract=cfg.n_extract, tier=cfg.tier, seed=cfg.seed, scale=cfg.scale)
        for persona, v in vectors.items():
            v.save(run.path / "vectors" / persona)
        del sft
        questions, refs = style_references(cfg.tier, cfg.n_test, cfg.seed, cfg.question_format)
        rows: list[dict[str, Any]] = []
        for name, checkpoint in (("base", cfg.base), ("distilled", cfg.distilled)):
            model = load(checkpoint, backend=cfg.backend)
            # The same vectors steer both models, as in the paper (their tokenizers differ by the debate tags).
            adopted = {persona: adopt(v, model) for persona, v in vectors.items()}
            rows += style_rows(name, model, style_prompts(model, name, questions), adopted, refs, alphas=cfg.alphas,
                               max_new_tokens=cfg.max_new_tokens)
        run.jsonl("rows.jsonl", rows)
        curve = style_curves(rows)
        table = auc_table(curve)
        run.csv("auc.csv", table)
        run.csv("curves.csv", curve_rows(curve))
        mean_l = mean_rougeL_auc(table)
        run.json("metrics.json", {"site": site, "auc": table, "mean_rougeL_auc": mean_l,
                                  "degenerate_rate": degenerate_rates(rows)})
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
