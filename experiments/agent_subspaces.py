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
from typing import Any, Literal

import torch

from experiments._results import command_line, run_folder
from models import load
from models.sites import site_layer
from models.cli import check_fields, option, parse_config, run as run_cli
from models.debate import GenerateConfig, generate_debates, read_transcripts
from models.debate.arithmetic import TIERS
from models.vocab import DebateTrait
from probes import collect_activations, collect_turns, eq3_source
from probes.analysis import AgentAnalysis, analyze_agents, compare_checkpoints
from probes.plots import cosine_heatmap, pca_scatter, principal_angle_figure, probe_accuracy_figure, write_figure
from probes.subspaces import cosine_matrix

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
    positions: Literal["turn_mean", "last", "agent_tag"] = option("turn read position", "turn_mean")
    site: Literal["resid_pre", "resid_post"] = option("site kind read at every layer", "resid_post")
    eq3: bool = option("also collect the paper's Eq. 3 contrast (3 rows per turn)", True)
    eq3_positions: Literal["", "last", "turn_mean"] = option(
        "Eq. 3 read position over the response; '' = as --positions ('last' for agent_tag)", "")
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


def _analyze(name: str, checkpoint: str, debates: list, cfg: Config, run: Path) -> AgentAnalysis:
    model = load(checkpoint, backend=cfg.backend)
    sites = [f"blocks.{layer}.hook_{cfg.site}" for layer in range(model.info.n_layers)]
    opts = dict(truncate=cfg.truncate, batch_tokens=cfg.batch_tokens or None, cache_dir=cfg.cache_dir or None,
                progress=cfg.progress)
    acts = collect_turns(model, debates, sites, cfg.positions, **opts)
    eq3_positions = cfg.eq3_positions or ("last" if cfg.positions == "agent_tag" else cfg.positions)
    eq3 = collect_activations(model, eq3_source(debates, eq3_positions), sites, **opts) if cfg.eq3 else None
    analysis = analyze_agents(acts, name, k=cfg.pca_k, folds=cfg.folds, seed=cfg.seed, eq3_acts=eq3,
                              progress=cfg.progress)
    for site, layer in analysis.layers.items():
        folder = run / "vectors" / name / f"layer{layer.layer:02d}"
        for prefix, dirs in (("", layer.directions), ("", layer.round_directions), ("own_turn_", layer.own_turn),
                             ("eq3_", layer.eq3)):
            for key, d in dirs.items():
                d.save(folder / f"{prefix}{key}")
        for key, sub in layer.subspaces().items():
            sub.save(folder / f"subspace_{key}")
    return analysis


def _figures(analyses: dict[str, AgentAnalysis], comparison: dict, run: Path) -> list[str]:
    figs = run / "figures"
    written = write_figure(probe_accuracy_figure({n: a.sweep.details for n, a in analyses.items()}),
                           figs / "probe_accuracy_agent")
    traits = {n: {s: la.trait_probe for s, la in a.layers.items()} for n, a in analyses.items()
              if a.best.trait_probe is not None}
    if traits:
        written += write_figure(probe_accuracy_figure(traits), figs / "probe_accuracy_trait")
    for name, a in analyses.items():
        best = a.best
        for by in ("agent", "round"):
            title = f"{name}: turns on the top two joint principal axes at layer {best.layer}, coloured by {by}"
            written += write_figure(pca_scatter(a.acts, best.pca["joint"], best.site, by, title),
                                    figs / f"pca_{name}_by_{by}")
        dirs = {f"mean-diff {k}": d for k, d in best.directions.items()}
        dirs |= {f"Eq.3 {k}": d for k, d in best.eq3.items()}
        title = f"{name}: cosine between agent-vs-others directions at layer {best.layer}"
        written += write_figure(cosine_heatmap(cosine_matrix(dirs), list(dirs), title), figs / f"cosine_{name}")
    kinds = {"joint PCA": "pca_joint", "agent-direction span": "agents"}
    curves = {label: {site_layer(s): c["principal_angles"][key] for s, c in comparison.items()}
              for label, key in kinds.items()}
    names = list(analyses)
    written += write_figure(principal_angle_figure(curves, f"Principal angles between {names[0]} and {names[1]} "
                                                           "subspaces, per layer"), figs / "principal_angles")
    return [str(p.relative_to(run)) for p in written]


def _metrics(analyses: dict[str, AgentAnalysis], comparison: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, a in analyses.items():
        best = a.best
        out[name] = {"checkpoint": a.acts.model, "fingerprint": a.acts.checkpoint, "n_turns": len(a.acts),
                     "dropped_beyond_context": a.acts.info.get("dropped_beyond_context", 0),
                     "best_layer": best.layer, "best_agent_probe_accuracy": best.agent_probe.accuracy,
                     "best_agent_probe_std": best.agent_probe.std, "chance": best.agent_probe.chance,
                     "agent_probe_accuracy_by_layer": {la.layer: la.agent_probe.accuracy for la in a.layers.values()},
                     "criterion": a.sweep.statement}
    base, distilled = (analyses[n] for n in ("base", "distilled"))
    diff = distilled.best.agent_probe.accuracy - base.best.agent_probe.accuracy
    out["distilled_minus_base_best_accuracy"] = diff
    # A difference inside the folds' spread is not evidence either way.
    spread = max(base.best.agent_probe.std, distilled.best.agent_probe.std)
    out["distilled_separates_agents_better"] = diff > spread
    out["comparison"] = ("better" if diff > spread else "worse" if diff < -spread else
                         "indistinguishable (difference within the cross-validation spread)")
    out["principal_angles_deg_by_layer"] = {
        s: {k: [round(float(torch.rad2deg(torch.tensor(v))), 3) for v in vals]
            for k, vals in c["principal_angles"].items() if k in ("pca_joint", "agents")}
        for s, c in comparison.items()}
    return out


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
        analyses = {name: _analyze(name, ckpt, debates, cfg, run.path)
                    for name, ckpt in (("base", cfg.base), ("distilled", cfg.distilled))}
        comparison = compare_checkpoints(analyses["base"], analyses["distilled"])
        figures = _figures(analyses, comparison, run.path)
        metrics = _metrics(analyses, comparison)
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
