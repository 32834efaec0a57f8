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
vectors/ (directions and subspaces, safetensors + JSON), figures/*.html, summary.md.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from experiments._results import command_line, report_path, run_folder
from models import load
from models.cli import check_fields, option, parse_config
from models.cli import run as run_cli
from models.debate import GenerateConfig, generate_debates, read_transcripts
from models.debate.splits import seeded_sample
from models.debate.arithmetic import TIERS
from models.errors import ConfigError
from models.hooked import HookedModel
from models.stats import Criterion, verdict_line
from models.vocab import DebateTrait
from probes.agent_comparison import (
    analyze_checkpoint,
    comparison_figures,
    comparison_metrics,
    layer_sites,
    save_vectors,
)
from probes.analysis import compare_checkpoints
from probes.collect import collect_turns
from probes.plots import probe_baselines_figure
from probes.selectivity import (
    Measure,
    fewshot,
    fewshot_tallies,
    fewshot_terms,
    TallyTable,
    accuracy_terms,
    condition_tallies,
    decide,
    difference_terms,
    layer_measures,
    measure,
    shuffled,
)

# The shipped tiny checkpoints (models/assets/checkpoints): the pretrained base and the internalized model.
DEFAULT_BASE = "tiny-base"
DEFAULT_DISTILLED = "tiny-imad"
DEFAULT_UNTRAINED = "tiny-random"
# the untrained floor of a base, by registry name: the same architecture and tokenizer with random weights
UNTRAINED_TWINS = {"smollm2-135m-instruct": "smollm2-random"}
ROLES = ("base", "distilled", "untrained")
CLAIM = "the distilled model separates the agents better than the base"


@dataclass
class Config:
    """Every field is a flag of this script (``--n-debates``, ...)."""

    base: str = option("base (or SFT) checkpoint: registry name or HF folder", DEFAULT_BASE, min_len=1)
    distilled: str = option("distilled (IMAD) checkpoint: registry name or HF folder", DEFAULT_DISTILLED, min_len=1)
    untrained: str | None = option("untrained model read the same way (the floor): registry name or HF folder; default: "
                                   "the base's untrained twin (smollm2-random for smollm2-135m-instruct), else "
                                   f"{DEFAULT_UNTRAINED}", None, min_len=1)
    backend: Literal["hf", "tl", "nnsight"] = option("hooked-model backend", "hf")
    debates: str | None = option("debate JSON file (any schema models.debate reads) or a fetched published file "
                                 "(paper:arithmetic-diverse); each seed samples --n-debates of it; default: generate",
                                 None)
    kind: Literal["arithmetic", DebateTrait] = option("synthetic debate kind when generating", "arithmetic")
    n_debates: int = option("debates per seed (generated with that seed, or sampled from --debates)", 40,
                            min=2, max=1_000_000)
    tier: str = option("arithmetic difficulty tier when generating (easy keeps debates short)", "easy",
                       choices=sorted(TIERS))
    template: str | None = option("override the arithmetic expression template, e.g. 'a*b-c' (shorter debates)", None)
    seeds: tuple[int, ...] = option("seeds; each draws its own debates, folds and label shuffle (3 or more for a "
                                    "spread)", (0, 1, 2), min=0, max=2**32 - 1, min_len=1)
    personas: Literal["paper", "reasoning"] = option(
        "arithmetic persona set when generating: paper (CoT / self-critique / program of thought, each with "
        "signature tokens) or reasoning (forward / checking / hedging in one shared vocabulary)", "paper")
    positions: Literal["turn_mean", "turn_last", "agent_tag"] = option("turn read position", "turn_mean")
    mask: tuple[str, ...] = option("strings whose tokens are not read (the tags never are), e.g. the paper personas' "
                                   "signatures: --mask SELF-CRITIQUE // Step", ())
    site: Literal["resid_pre", "resid_post"] = option("site kind read at every layer", "resid_post")
    folds: int = option("cross-validation folds (grouped by question; at least 2 for held-out accuracy)", 5,
                        min=2, max=1000)
    criterion_layer: int = option("predeclared: the layer the criteria read; -1 = the mean over every layer", -1,
                                  min=-1, max=10_000)
    threshold: float = option("predeclared: the claim holds when the whole 95%% CI of distilled - base selectivity "
                              "is above this", 0.0, min=-1.0, max=1.0)
    curve_sizes: tuple[int, ...] = option("learning curve: numbers of training questions (each probe then predicts "
                                          "every other question)", (1, 2, 4, 8), min=1, max=100_000, min_len=1)
    curve_draws: int = option("learning curve: random training sets per size and seed", 10, min=1, max=10_000)
    fewshot_threshold: float = option("predeclared: distilled learns the agents from fewer examples when the whole "
                                      "95%% CI of distilled - base few-shot accuracy (mean over --curve-sizes) is "
                                      "above this", 0.0, min=-1.0, max=1.0)
    floor_margin: float = option("predeclared: a floor (untrained model, shuffled labels) sits at chance when the "
                                 "whole 95%% CI of its accuracy - chance is within +/- this", 0.1, min=0.0, max=1.0)
    resamples: int = option("bootstrap resamples over (seed, question) units", 2000, min=100, max=1_000_000)
    eq3: bool = option("also collect the paper's Eq. 3 contrast at the first seed (3 rows per turn)", True)
    eq3_positions: Literal["", "turn_last", "turn_mean"] = option(
        "Eq. 3 read position over the response; '' = as --positions ('turn_last' for agent_tag)", "")
    pca_k: int = option("principal components per subspace", 3, min=1, max=10_000)
    truncate: bool = option("drop turns beyond the model's context instead of failing", True)
    batch_tokens: int = option("padded tokens per forward pass (0: automatic, 8192 or fewer for large vocabularies)", 0,
                               min=0)
    cache_dir: str | None = option("activation shard cache ('' disables)", "results/agent_subspaces/_cache")
    out_dir: str = option("results root; the run folder is <out-dir>/agent_subspaces/<time>-<config hash>/", "results",
                          min_len=1)
    progress: bool = option("progress bars", True)

    def __post_init__(self) -> None:
        check_fields(self)
        self.untrained = self.untrained or UNTRAINED_TWINS.get(self.base, DEFAULT_UNTRAINED)
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"--seeds must be distinct (a repeated seed repeats the same sample), got {self.seeds}")
        if max(self.curve_sizes) >= self.n_debates:
            raise ConfigError(f"--curve-sizes must stay below --n-debates ({self.n_debates}): a probe trained on "
                              f"{max(self.curve_sizes)} questions needs others to predict")
        if self.mask and self.positions == "agent_tag":
            raise ConfigError("--mask removes response tokens; --positions agent_tag reads the tag itself")
        if self.personas != "paper" and (self.debates or self.kind != "arithmetic"):
            raise ConfigError("--personas applies to generated arithmetic debates (no --debates, --kind arithmetic)")


def parse_args(argv: list[str] | None = None) -> Config:
    return parse_config(Config, argv, "experiments/agent_subspaces.py", __doc__)


def criteria(cfg: Config) -> dict[str, Criterion]:
    """The predeclared claims, built from config fields only (so config.json fixes them before any computation)."""
    where = "mean over every layer" if cfg.criterion_layer < 0 else f"layer {cfg.criterion_layer}"
    floor = cfg.floor_margin
    return {
        "distilled_minus_base_selectivity": Criterion(
            CLAIM, f"distilled - base selectivity (held-out accuracy on real minus shuffled labels, {where})",
            "above", cfg.threshold),
        "distilled_minus_base_fewshot": Criterion(
            "the distilled model's agent identity is learnt from fewer examples than the base's",
            f"distilled - base few-shot accuracy (probes trained on {'/'.join(map(str, cfg.curve_sizes))} questions, "
            f"mean over sizes, {where})", "above", cfg.fewshot_threshold),
        "untrained_floor": Criterion(
            "an untrained model cannot tell the agents apart (no lexical giveaway at this read position)",
            f"untrained-model accuracy - chance ({where})", "within", floor),
        "base_shuffled_floor": Criterion("the base probe on shuffled labels sits at chance",
                                         f"base shuffled-label accuracy - chance ({where})", "within", floor),
        "distilled_shuffled_floor": Criterion("the distilled probe on shuffled labels sits at chance",
                                              f"distilled shuffled-label accuracy - chance ({where})", "within", floor),
    }


def _debates(cfg: Config) -> dict[int, list]:
    """Each seed's debates: generated with it, or a seeded sample of the file (read once; all of it when small)."""
    if cfg.debates:
        pool = read_transcripts(cfg.debates)
        return {seed: seeded_sample(pool, min(cfg.n_debates, len(pool)), seed, cfg.debates) for seed in cfg.seeds}
    return {seed: generate_debates(GenerateConfig(kind=cfg.kind, n=cfg.n_debates, seed=seed, tier=cfg.tier,
                                                  template=cfg.template or None, personas=cfg.personas))[0]
            for seed in cfg.seeds}


def _criterion_layers(cfg: Config, models: dict[str, HookedModel]) -> dict[str, list[int]]:
    """Layers each criterion averages over, per role; a --criterion-layer beyond a model fails before any work."""
    n_layers = {role: m.info.n_layers for role, m in models.items()}
    if cfg.criterion_layer >= 0:
        short = {r: n for r, n in n_layers.items() if cfg.criterion_layer >= n}
        if short:
            raise ConfigError(f"--criterion-layer {cfg.criterion_layer} is beyond the last block of "
                              + ", ".join(f"{r} ({n} layers)" for r, n in short.items()))
        return {role: [cfg.criterion_layer] for role in n_layers}
    common = list(range(min(n_layers["base"], n_layers["distilled"])))
    return {"base": common, "distilled": common, "untrained": list(range(n_layers["untrained"]))}


def _checks(table: TallyTable, crit: dict[str, Criterion], layers: dict[str, list[int]], sizes: tuple[int, ...],
            resamples: int) -> dict[str, dict[str, Any]]:
    """Each criterion's measure, computed verdict and verdict line."""
    m: dict[str, Measure] = {
        "distilled_minus_base_selectivity": measure(
            table, crit["distilled_minus_base_selectivity"].metric,
            difference_terms("distilled", "base", layers["base"]), resamples=resamples),
        "distilled_minus_base_fewshot": measure(
            table, crit["distilled_minus_base_fewshot"].metric,
            fewshot_terms("distilled", "base", sizes, layers["base"]), resamples=resamples)}
    for key, cond, role in (("untrained_floor", "untrained", "untrained"),
                            ("base_shuffled_floor", shuffled("base"), "base"),
                            ("distilled_shuffled_floor", shuffled("distilled"), "distilled")):
        m[key] = measure(table, crit[key].metric, accuracy_terms(cond, layers[role]), offset=table.chance[cond],
                         resamples=resamples)
    out = {}
    for key, c in crit.items():
        decided = decide(c, m[key])
        out[key] = {"criterion": c, "verdict": decided, "line": verdict_line(c, m[key].estimate, decided),
                    "measure": m[key].to_json()}
    return out


def _learning_curve(table: TallyTable, sizes: tuple[int, ...], layers: dict[str, list[int]], resamples: int
                    ) -> dict[str, dict[int, Measure]]:
    """Per role (and distilled - base): few-shot accuracy at each training size, averaged over the criterion layers."""
    out: dict[str, dict[int, Measure]] = {role: {} for role in (*ROLES, "distilled_minus_base")}
    for k in sizes:
        for role in ROLES:
            out[role][k] = measure(table, f"{role} accuracy, {k} training questions",
                                   accuracy_terms(fewshot(role, k), layers[role]), resamples=resamples)
        out["distilled_minus_base"][k] = measure(
            table, f"distilled - base accuracy, {k} training questions",
            fewshot_terms("distilled", "base", (k,), layers["base"]), resamples=resamples)
    return out


def _curve_table(curve: dict[str, dict[int, Measure]], where: str) -> list[str]:
    lines = [f"## Learning curve: held-out accuracy with few training questions ({where}, 95% CI)", "",
             "| training questions | base | distilled | untrained | distilled - base |", "|---|---|---|---|---|"]
    for k in curve["base"]:
        lines.append(f"| {k} | " + " | ".join(_cell(curve[r][k]) for r in (*ROLES, "distilled_minus_base")) + " |")
    return [*lines, ""]


def _cell(m: Measure | None) -> str:
    return "—" if m is None else f"{m.estimate.value:.3f} [{m.estimate.low:.3f}, {m.estimate.high:.3f}]"


def _floor_note(checks: dict[str, dict[str, Any]], cfg: Config) -> list[str]:
    """Plain sentences for every floor that is not shown to sit at chance."""
    notes = []
    untrained = checks["untrained_floor"]
    if untrained["verdict"] != "confirmed":
        est = untrained["measure"]
        lead = ("The untrained model tells the agents apart" if untrained["verdict"] == "refuted" and est["value"] > 0
                else "The untrained model is not shown to sit at chance")
        notes.append(
            f"**{lead}: its accuracy is {est['value']:+.3f} [{est['low']:+.3f}, {est['high']:+.3f}] from chance.** "
            f"At `{cfg.positions}` the probe reads what the text gives away (each persona's own wording, or the "
            "agent number in the tags) through any weights, trained or not; so high accuracy here is not evidence "
            "of a learned agent representation, and the base-vs-distilled comparison is made near that floor.")
    for role in ("base", "distilled"):
        check = checks[f"{role}_shuffled_floor"]
        if check["verdict"] != "confirmed":
            est = check["measure"]
            notes.append(f"**The {role} probe on shuffled labels is not shown to sit at chance** "
                         f"({est['value']:+.3f} [{est['low']:+.3f}, {est['high']:+.3f}] from chance): too few "
                         "questions for a tight interval, or the folds leak; read the selectivities with care.")
    return notes


def _header(cfg: Config, checks: dict[str, dict[str, Any]], info: dict[str, Any]) -> list[str]:
    data = cfg.debates or f"{cfg.n_debates} synthetic {cfg.kind} ({cfg.tier})"
    rules = "; ".join(f"{c['criterion'].claim_text}: {c['criterion'].describe()}" for c in checks.values())
    return [
        f"# Agent subspaces: {cfg.base} (base) vs {cfg.distilled} (distilled), floor {cfg.untrained} (untrained)", "",
        f"Command: `{command_line('agent_subspaces')}` (wall time {info['wall_time_s']:.0f} s)", "",
        (f"Debates: {data} per seed; seeds {', '.join(map(str, cfg.seeds))} (each: its own debates, folds and label "
         f"shuffle); {info['n_units']} (seed, question) units. Turns read at `{cfg.positions}`, site `{cfg.site}`; "
         f"turns per seed and model {info['turns']}, dropped beyond context {info['dropped']}."), "",
        (f"Criteria (predeclared, in config.json): {rules}. A verdict is confirmed when the whole 95% CI (paired "
         f"bootstrap over (seed, question) units, {cfg.resamples} resamples) is on the claim's side, refuted when it "
         "is wholly on the other, inconclusive otherwise, and also when the interval touches a one-sided threshold "
         "or the per-seed values fall on both sides."), ""]


def _table(title: str, columns: dict[str, str], per_layer: dict[int, dict[str, Measure]]) -> list[str]:
    """A markdown table of `columns` (heading -> measure key) per layer, each cell ``value [low, high]``."""
    lines = [title, "", "| layer | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for layer, row in per_layer.items():
        lines.append(f"| {layer} | " + " | ".join(_cell(row.get(k)) for k in columns.values()) + " |")
    return [*lines, ""]


def _seed_table(checks: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## The criteria per seed", "", "| measure | pooled [95% CI] | per seed | sd over seeds |",
             "|---|---|---|---|"]
    for check in checks.values():
        m = check["measure"]
        seeds = ", ".join(f"{s}: {v:+.3f}" for s, v in m["per_seed"].items())
        lines.append(f"| {m['name']} | {m['value']:+.3f} [{m['low']:+.3f}, {m['high']:+.3f}] | {seeds} | "
                     f"{m['seed_spread']['sd']:.3f} |")
    return [*lines, ""]


def _caveats(cfg: Config, info: dict[str, Any], figures: list[str]) -> list[str]:
    best = {r: info["descriptive"][r]["best_layer"] for r in ("base", "distilled")}
    lines = ["Figures: " + ", ".join(f"[{Path(f).stem}]({f})" for f in figures if f.endswith(".html")), "",
             (f"Descriptive, first seed only (not evidence: the best layer is chosen after the fact): best layer "
              f"base {best['base']}, distilled {best['distilled']}; principal angles, directions and PCA in "
              "analysis.json and vectors/.")]
    if len(cfg.seeds) < 3:
        lines += ["", f"Caveat: {len(cfg.seeds)} seed(s); the protocol asks for at least 3 to show a spread."]
    if cfg.base == cfg.distilled:
        lines += ["", "Caveat: base and distilled are the same checkpoint, so the comparison is a self-check."]
    if cfg.positions == "agent_tag":
        lines += ["", ("Caveat: at `agent_tag`, a checkpoint whose tokenizer has the debate tags as special tokens "
                       "reads a different token per agent, so it separates agents from layer 0 on; a tokenizer "
                       "without them splits the tag into pieces and must gather the agent number by attention.")]
    return lines


_CAPTIONS = {
    "probe_accuracy_baselines": "Held-out agent-identity probe accuracy per layer, with 95 % CI bands. The dashed "
                                "controls (shuffled labels, the untrained model) must sit well below the trained "
                                "curves for the probe to measure something the training put there.",
    "probe_learning_curve": "Accuracy against the number of training questions: the curve that rises sooner "
                            "separates the agents from fewer examples (the measure that still differs near ceiling).",
    "probe_accuracy_trait": "Probe accuracy for the trait label per layer.",
    "pca": "Turns projected on the first two principal components at the best layer: clusters that separate by "
           "agent mean the agents sit in distinct directions.",
    "cosine": "Cosine similarity between agent directions: near 0, the agents have independent directions.",
    "principal_angles": "Principal angles between the two checkpoints' agent subspaces per layer, in degrees: "
                        "0 is the same subspace, 90 orthogonal.",
}


def figure_caption(stem: str) -> str:
    """The sentence under a figure in report.html, by its file stem (``pca_base_by_agent`` -> ``pca``)."""
    return _CAPTIONS.get(stem) or _CAPTIONS[stem.split("_")[0]]


def _takeaway(checks: dict[str, Any]) -> str:
    verdicts = {name: c["verdict"] for name, c in checks.items()}
    confirmed = [n.replace("_", " ") for n, v in verdicts.items() if v == "confirmed"]
    return (f"{len(confirmed)} of {len(verdicts)} predeclared checks confirmed"
            + (f" ({', '.join(confirmed)})." if confirmed else ".") + " Each check's line and CI is below.")


def _summary(cfg: Config, checks: dict[str, dict[str, Any]], per_layer: dict[int, dict[str, Measure]],
             curve: dict[str, dict[int, Measure]], info: dict[str, Any], figures: list[str]) -> str:
    """Verdict lines first, then what failed plainly, the setup, the per-layer tables and the caveats."""
    chance = info["chance"]["base"]
    lines = [*(c["line"] for c in checks.values()), "", *_floor_note(checks, cfg), "", *_header(cfg, checks, info)]
    lines += _table(f"## Held-out 3-way agent-identity probe accuracy per layer (95% CI; chance {chance:.3f})",
                    {"base": "base", "distilled": "distilled", "shuffled labels (base)": shuffled("base"),
                     "shuffled labels (distilled)": shuffled("distilled"), "untrained": "untrained"}, per_layer)
    lines += _table("## Selectivity per layer (real minus shuffled-label accuracy, 95% CI)",
                    {"base": "base_selectivity", "distilled": "distilled_selectivity",
                     "untrained": "untrained_selectivity", "distilled - base": "distilled_minus_base_selectivity"},
                    per_layer)
    lines += _curve_table(curve, "mean over every layer" if cfg.criterion_layer < 0 else f"layer {cfg.criterion_layer}")
    lines += _seed_table(checks) + _caveats(cfg, info, figures)
    return "\n".join(lines) + "\n"


def main(cfg: Config) -> Path:
    """Run the experiment and return the finished results folder."""
    crit = criteria(cfg)
    start = time.perf_counter()
    with run_folder("agent_subspaces", cfg, root=cfg.out_dir, seed=cfg.seeds[0]) as run:
        models = {role: load(name, backend=cfg.backend)
                  for role, name in zip(ROLES, (cfg.base, cfg.distilled, cfg.untrained), strict=True)}
        layers = _criterion_layers(cfg, models)
        opts: dict[str, Any] = {"truncate": cfg.truncate, "batch_tokens": cfg.batch_tokens or None,
                                "cache_dir": cfg.cache_dir or None, "progress": cfg.progress}
        by_seed, turns, dropped = {}, {}, {}
        for seed, debates in _debates(cfg).items():
            acts = {role: collect_turns(m, debates, layer_sites(m, cfg.site), cfg.positions, cfg.mask, **opts)
                    for role, m in models.items()}
            turns[seed] = {role: len(a) for role, a in acts.items()}
            dropped[seed] = {role: a.info.get("dropped_beyond_context", 0) for role, a in acts.items()}
            by_seed[seed] = {**condition_tallies(acts, folds=cfg.folds, seed=seed),
                             **fewshot_tallies(acts, cfg.curve_sizes, cfg.curve_draws, seed)}
            if seed == cfg.seeds[0]:
                analyses = {role: analyze_checkpoint(
                    models[role], debates, role, site=cfg.site, positions=cfg.positions, eq3=cfg.eq3,
                    eq3_positions=cfg.eq3_positions, k=cfg.pca_k, folds=cfg.folds, seed=seed, acts=acts[role],
                    **opts) for role in ("base", "distilled")}
        table = TallyTable.pool(by_seed)
        per_layer = layer_measures(table, ROLES, compare=("distilled", "base"), resamples=cfg.resamples)
        checks = _checks(table, crit, layers, cfg.curve_sizes, cfg.resamples)
        curve = _learning_curve(table, cfg.curve_sizes, layers, cfg.resamples)

        for role in ("base", "distilled"):
            save_vectors(analyses[role], run.path / "vectors" / role)
        comparison = compare_checkpoints(analyses["base"], analyses["distilled"])
        descriptive = comparison_metrics(analyses, comparison)
        for key in ("comparison", "distilled_separates_agents_better", "distilled_minus_base_best_accuracy"):
            descriptive.pop(key)  # a verdict from the folds' spread at a post-hoc layer: superseded by `verdicts`
        figs = comparison_figures(analyses, comparison)
        figs.pop("probe_accuracy_agent")  # replaced by the curves with their baselines and CIs
        figs = {"probe_accuracy_baselines": probe_baselines_figure(
            {r: {la: row[r].estimate for la, row in per_layer.items() if r in row} for r in ("base", "distilled")},
            {name: {la: row[cond].estimate for la, row in per_layer.items() if cond in row}
             for name, cond in (("shuffled labels (base)", shuffled("base")),
                                ("shuffled labels (distilled)", shuffled("distilled")),
                                (f"untrained ({cfg.untrained})", "untrained"))},
            table.chance["base"]),
            "probe_learning_curve": probe_baselines_figure(
                {r: {k: m.estimate for k, m in curve[r].items()} for r in ("base", "distilled")},
                {f"untrained ({cfg.untrained})": {k: m.estimate for k, m in curve["untrained"].items()}},
                table.chance["base"], x_name="training questions",
                title="Agent-identity probe accuracy with few training questions (mean over the criterion layers; "
                      "bands: 95% CI over held-out questions)"), **figs}
        figures = [str(p.relative_to(run.path)) for stem, fig in figs.items()
                   for p in run.figure(fig, stem, figure_caption(stem))]
        info = {"wall_time_s": time.perf_counter() - start, "n_units": len(table.units), "turns": turns,
                "dropped": dropped, "chance": table.chance, "descriptive": descriptive}
        run.json("metrics.json", {
            "verdicts": checks, "layers": {la: {k: m.to_json() for k, m in row.items()} for la, row in per_layer.items()},
            "learning_curve": {r: {k: m.to_json() for k, m in c.items()} for r, c in curve.items()},
            "criterion_layers": layers, "seeds": cfg.seeds, **info})
        run.json("analysis.json", {"tallies": {s: {c: t.to_json() for c, t in ts.items()} for s, ts in by_seed.items()},
                                   "analyses": {n: a.to_json() for n, a in analyses.items()}, "comparison": comparison})
        run.text("summary.md", _summary(cfg, checks, per_layer, curve, info, figures))
        run.headline(f"Agent identity in {cfg.base} vs {cfg.distilled}", _takeaway(checks),
                     [c["line"] for c in checks.values()])
    print(f"results: {run.path} ({time.perf_counter() - start:.0f} s)\nreport: {report_path(run)}")
    for check in checks.values():
        print(check["line"])
    return run.path


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(run_cli(main, Config, prog="experiments/agent_subspaces.py", description=__doc__))
