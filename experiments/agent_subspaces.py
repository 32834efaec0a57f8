"""Agent subspaces, base vs distilled: collect per-turn activations, derive directions, probes, PCA and
principal angles at every layer, and write a results folder with figures and a summary.

    python experiments/agent_subspaces.py                                   # tiny defaults, a few minutes on 2 cores
    python experiments/agent_subspaces.py --base tiny-base --distilled tiny-imad --n-debates 200
    python experiments/agent_subspaces.py --debates data/synthetic/arithmetic_debates_test.json

Writes ``results/agent_subspaces/<YYYYmmdd-HHMMSS>-<config-hash8>/`` (built under a hidden temporary name and
renamed when complete): config.json, env.json, metrics.json (headline numbers), analysis.json (every
layer), vectors/ (directions and subspaces, safetensors + JSON), figures/*.html, summary.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from experiments._results import command_line, run_folder
from models import load
from models.cli import check_fields, option, parse_config, run as run_cli
from models.debate import GenerateConfig, generate_debates, read_transcripts
from models.debate.arithmetic import TIERS
from models.vocab import DebateTrait
from probes.agent_comparison import analyze_checkpoint, comparison_figures, comparison_metrics, save_vectors
from probes.analysis import compare_checkpoints
from probes.plots import write_figure

# The shipped tiny checkpoints (models/assets/checkpoints): the pretrained base and the internalized model.
DEFAULT_BASE = "tiny-base"
DEFAULT_DISTILLED = "tiny-imad"


@dataclass
class Config:
    """Every field is a flag of this script (``--n-debates``, ...)."""

    base: str = option("base (or SFT) checkpoint: registry name or HF folder", DEFAULT_BASE, min_len=1)
    distilled: str = option("distilled (IMAD) checkpoint: registry name or HF folder", DEFAULT_DISTILLED, min_len=1)
    backend: Literal["hf", "tl", "nnsight"] = option("hooked-model backend", "hf")
    debates: str | None = option("debate JSON file (any schema models.debate reads); default: generate", None)
    kind: Literal["arithmetic", DebateTrait] = option("synthetic debate kind when generating", "arithmetic")
    n_debates: int = option("debates to generate (or the first N of --debates)", 24, min=1, max=1_000_000)
    tier: str = option("arithmetic difficulty tier when generating (easy keeps debates short)", "easy",
                       choices=sorted(TIERS))
    template: str | None = option("override the arithmetic expression template, e.g. 'a*b-c' (shorter debates)", None)
    seed: int = option("seed for generation and cross-validation folds", 0, min=0, max=2**32 - 1)
    positions: Literal["turn_mean", "turn_last", "agent_tag"] = option("turn read position", "turn_mean")
    site: Literal["resid_pre", "resid_post"] = option("site kind read at every layer", "resid_post")
    eq3: bool = option("also collect the paper's Eq. 3 contrast (3 rows per turn)", True)
    eq3_positions: Literal["", "turn_last", "turn_mean"] = option(
        "Eq. 3 read position over the response; '' = as --positions ('turn_last' for agent_tag)", "")
    pca_k: int = option("principal components per subspace", 3, min=1, max=10_000)
    folds: int = option("cross-validation folds (grouped by question; at least 2 for held-out accuracy)", 5,
                        min=2, max=1000)
    truncate: bool = option("drop turns beyond the model's context instead of failing", True)
    batch_tokens: int = option("padded tokens per forward pass (0: automatic, 8192 or fewer for large vocabularies)", 0,
                               min=0)
    cache_dir: str | None = option("activation shard cache ('' disables)", "results/agent_subspaces/_cache")
    out_dir: str = option("results root; the run folder is <out-dir>/agent_subspaces/<time>-<config hash>/", "results",
                          min_len=1)
    progress: bool = option("progress bars", True)

    def __post_init__(self) -> None:
        check_fields(self)


def parse_args(argv: list[str] | None = None) -> Config:
    return parse_config(Config, argv, "experiments/agent_subspaces.py", __doc__)


def _debates(cfg: Config) -> list:
    if cfg.debates:
        return read_transcripts(cfg.debates)[: cfg.n_debates]
    debates, _ = generate_debates(GenerateConfig(kind=cfg.kind, n=cfg.n_debates, seed=cfg.seed, tier=cfg.tier,
                                                 template=cfg.template or None))
    return debates


def _summary(cfg: Config, metrics: dict, figures: list[str]) -> str:
    lines = [f"# Agent subspaces: {cfg.base} (base) vs {cfg.distilled} (distilled)", "",
             f"Command: `{command_line('agent_subspaces')}`", "",
             f"Debates: {cfg.debates or f'{cfg.n_debates} synthetic {cfg.kind} ({cfg.tier})'}; turns read at "
             f"`{cfg.positions}`, site `{cfg.site}` at every layer.", "",
             "| checkpoint | turns | dropped (context) | best layer | agent-probe accuracy | chance |",
             "|---|---|---|---|---|---|"]
    for name in ("base", "distilled"):
        m = metrics[name]
        lines.append(f"| {name} ({m['checkpoint']}) | {m['n_turns']} | {m['dropped_beyond_context']} | "
                     f"{m['best_layer']} | {m['best_agent_probe_accuracy']:.3f} ± {m['best_agent_probe_std']:.3f} | "
                     f"{m['chance']:.3f} |")
    verdict = {"better": "separates agents better than", "worse": "separates agents worse than"}.get(
        metrics["comparison"], "separates agents about as well as")
    lines += ["", f"Layer choice, base: {metrics['base']['criterion']}.", "",
              f"Layer choice, distilled: {metrics['distilled']['criterion']}.", "",
              f"The distilled checkpoint {verdict} the base "
              f"(best-layer accuracy difference {metrics['distilled_minus_base_best_accuracy']:+.3f}).", "",
              "| layer | base accuracy | distilled accuracy |", "|---|---|---|"]
    by_layer = {n: metrics[n]["agent_probe_accuracy_by_layer"] for n in ("base", "distilled")}
    for layer in by_layer["base"]:
        lines.append(f"| {layer} | {by_layer['base'][layer]:.3f} | {by_layer['distilled'].get(layer, float('nan')):.3f} |")
    lines += ["", "Figures: " + ", ".join(f"[{Path(f).stem}]({f})" for f in figures if f.endswith(".html")), ""]
    if cfg.base == cfg.distilled:
        lines.append("Caveat: base and distilled are the same checkpoint, so the comparison is a self-check "
                     "(angles 0, equal accuracies).")
    if cfg.positions == "turn_mean":
        lines.append("Caveat: `turn_mean` averages each persona's own wording, so agents separate even in an "
                     "untrained model; `--positions agent_tag` reads a position whose text differs only in the "
                     "agent number.")
    if cfg.positions == "agent_tag":
        lines.append("Caveat: at `agent_tag`, a checkpoint whose tokenizer has the debate tags as special tokens "
                     "reads a different token per agent, so it separates agents from layer 0 on; a tokenizer "
                     "without them splits the tag into pieces and must gather the agent number by attention.")
    if any(metrics[n]["dropped_beyond_context"] for n in ("base", "distilled")):
        lines.append("Caveat: turns beyond the model's context were dropped (mostly round 2); see metrics.json.")
    return "\n".join(lines) + "\n"


def main(cfg: Config) -> Path:
    """Run the experiment and return the finished results folder."""
    with run_folder("agent_subspaces", cfg, root=cfg.out_dir, seed=cfg.seed) as run:
        debates = _debates(cfg)
        analyses = {}
        for name, checkpoint in (("base", cfg.base), ("distilled", cfg.distilled)):
            analyses[name] = analyze_checkpoint(
                load(checkpoint, backend=cfg.backend), debates, name, site=cfg.site, positions=cfg.positions,
                eq3=cfg.eq3, eq3_positions=cfg.eq3_positions, k=cfg.pca_k, folds=cfg.folds, seed=cfg.seed,
                truncate=cfg.truncate, batch_tokens=cfg.batch_tokens or None, cache_dir=cfg.cache_dir or None,
                progress=cfg.progress)
            save_vectors(analyses[name], run.path / "vectors" / name)
        comparison = compare_checkpoints(analyses["base"], analyses["distilled"])
        figures = [str(p.relative_to(run.path)) for stem, fig in comparison_figures(analyses, comparison).items()
                   for p in write_figure(fig, run.path / "figures" / stem)]
        metrics = comparison_metrics(analyses, comparison)
        run.json("metrics.json", metrics)
        run.json("analysis.json", {"analyses": {n: a.to_json() for n, a in analyses.items()}, "comparison": comparison})
        run.text("summary.md", _summary(cfg, metrics, figures))
    print(f"results: {run.path}")
    for name in ("base", "distilled"):
        print(f"{name}: best layer {metrics[name]['best_layer']}, agent-probe accuracy "
              f"{metrics[name]['best_agent_probe_accuracy']:.3f} (chance {metrics[name]['chance']:.3f})")
    print(f"distilled vs base, best-layer accuracy: {metrics['comparison']} "
          f"({metrics['distilled_minus_base_best_accuracy']:+.3f})")
    return run.path


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(run_cli(main, Config, prog="experiments/agent_subspaces.py", description=__doc__))
