"""The agent-subspaces experiment as one library call: its config, its predeclared criteria, and the loop over seeds.

`experiments/agent_subspaces.py` is this module's command line: it parses a `Config`, loads the three
checkpoints (`Config.checkpoints`) inside its run folder, so ``config.json`` holds the criteria before
anything is computed, calls `run`, and writes what it returns. A notebook can call `run` the same way.

Per seed, `run` collects every turn of each model at every layer, tallies the held-out agent probe beside
its shuffled-label control and the few-shot probes (`probes.selectivity`), and at the first seed also
runs the descriptive analysis (`probes.agent_comparison`). Pooled over seeds, it measures every layer,
each criterion and the learning curve with paired-bootstrap CIs over (seed, question) units.

Example:
    >>> cfg = Config(n_debates=3, template="a*b", folds=2, curve_sizes=(1,), seeds=(0, 1))
    >>> result = run(cfg, {role: load(name) for role, name in cfg.checkpoints.items()})
    >>> result.metrics["verdicts"]["distilled_minus_base_selectivity"]["line"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from models.cli import check_fields, option
from models.debate import GenerateConfig, Transcript, generate_debates, read_transcripts
from models.debate.arithmetic import TIERS
from models.debate.splits import seeded_sample
from models.errors import ConfigError
from models.hooked import HookedModel
from models.stats import Criterion, verdict_line
from models.vocab import DebateTrait
from probes.agent_comparison import analyze_checkpoint, comparison_figures, comparison_metrics, layer_sites
from probes.analysis import AgentAnalysis, compare_checkpoints
from probes.collect import collect_turns
from probes.plots import probe_baselines_figure
from probes.selectivity import (
    Measure,
    TallyTable,
    accuracy_terms,
    condition_tallies,
    decide,
    difference_terms,
    fewshot_tallies,
    fewshot_terms,
    layer_measures,
    learning_curve,
    measure,
    shuffled,
)
from probes.subspace_report import layer_scope

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
    """Every field is a flag of experiments/agent_subspaces.py (``--n-debates``, ...)."""

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

    @property
    def checkpoints(self) -> dict[str, str]:
        """The checkpoint each role reads, in `ROLES` order."""
        return {"base": self.base, "distilled": self.distilled, "untrained": self.untrained or DEFAULT_UNTRAINED}


def criteria(cfg: Config) -> dict[str, Criterion]:
    """The predeclared claims, built from config fields only (so config.json fixes them before any computation)."""
    where = layer_scope(cfg.criterion_layer)
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


def seed_debates(cfg: Config) -> dict[int, list[Transcript]]:
    """Each seed's debates: generated with it, or a seeded sample of the file (read once; all of it when small)."""
    if cfg.debates:
        pool = read_transcripts(cfg.debates)
        return {seed: seeded_sample(pool, min(cfg.n_debates, len(pool)), seed, cfg.debates) for seed in cfg.seeds}
    return {seed: generate_debates(GenerateConfig(kind=cfg.kind, n=cfg.n_debates, seed=seed, tier=cfg.tier,
                                                  template=cfg.template or None, personas=cfg.personas))[0]
            for seed in cfg.seeds}


def criterion_layers(cfg: Config, n_layers: Mapping[str, int]) -> dict[str, list[int]]:
    """Layers each criterion averages over, per role (from its number of layers); a --criterion-layer beyond a
    model fails before any work. Without one, base and distilled share the layers both have."""
    if cfg.criterion_layer >= 0:
        short = {r: n for r, n in n_layers.items() if cfg.criterion_layer >= n}
        if short:
            raise ConfigError(f"--criterion-layer {cfg.criterion_layer} is beyond the last block of "
                              + ", ".join(f"{r} ({n} layers)" for r, n in short.items()))
        return {role: [cfg.criterion_layer] for role in n_layers}
    common = list(range(min(n_layers["base"], n_layers["distilled"])))
    return {"base": common, "distilled": common, "untrained": list(range(n_layers["untrained"]))}


def checks(table: TallyTable, crit: Mapping[str, Criterion], layers: Mapping[str, list[int]],
           sizes: tuple[int, ...], resamples: int) -> dict[str, dict[str, Any]]:
    """Each criterion's measure, computed verdict and verdict line (``metrics.json``'s ``verdicts``)."""
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


@dataclass(frozen=True)
class SubspaceRun:
    """What `run` computed: ``metrics.json`` (all but the wall time) and ``analysis.json`` (dataclasses and int
    keys left for the writer to turn into JSON), the first seed's analyses (their vectors are saved from
    them) and the figures by file stem."""

    metrics: dict[str, Any]
    analysis: dict[str, Any]
    analyses: dict[str, AgentAnalysis]
    figures: dict[str, Any]


def run(cfg: Config, models: Mapping[str, HookedModel]) -> SubspaceRun:
    """Every seed's tallies pooled into per-layer measures, the criteria's verdicts and the learning curve,
    plus the first seed's descriptive base-vs-distilled analysis. `models` is keyed by `ROLES`."""
    crit = criteria(cfg)
    layers = criterion_layers(cfg, {role: m.info.n_layers for role, m in models.items()})
    opts: dict[str, Any] = {"truncate": cfg.truncate, "batch_tokens": cfg.batch_tokens or None,
                            "cache_dir": cfg.cache_dir or None, "progress": cfg.progress}
    by_seed, turns, dropped, analyses = {}, {}, {}, {}
    for seed, debates in seed_debates(cfg).items():
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
    verdicts = checks(table, crit, layers, cfg.curve_sizes, cfg.resamples)
    curve = learning_curve(table, ROLES, cfg.curve_sizes, layers, compare=("distilled", "base"),
                           resamples=cfg.resamples)

    comparison = compare_checkpoints(analyses["base"], analyses["distilled"])
    descriptive = comparison_metrics(analyses, comparison)
    for key in ("comparison", "distilled_separates_agents_better", "distilled_minus_base_best_accuracy"):
        descriptive.pop(key)  # a verdict from the folds' spread at a post-hoc layer: superseded by `verdicts`
    figures = _figures(cfg, table, per_layer, curve, comparison_figures(analyses, comparison))
    metrics = {
        "verdicts": verdicts, "layers": {la: {k: m.to_json() for k, m in row.items()} for la, row in per_layer.items()},
        "learning_curve": {r: {k: m.to_json() for k, m in c.items()} for r, c in curve.items()},
        "criterion_layers": layers, "seeds": cfg.seeds, "n_units": len(table.units), "turns": turns,
        "dropped": dropped, "chance": table.chance, "descriptive": descriptive}
    analysis = {"tallies": {s: {c: t.to_json() for c, t in ts.items()} for s, ts in by_seed.items()},
                "analyses": {n: a.to_json() for n, a in analyses.items()}, "comparison": comparison}
    return SubspaceRun(metrics, analysis, analyses, figures)


def _figures(cfg: Config, table: TallyTable, per_layer: dict[int, dict[str, Measure]],
             curve: dict[str, dict[int, Measure]], descriptive: dict[str, Any]) -> dict[str, Any]:
    """The accuracy and learning curves with their baselines and CIs first, then the descriptive figures (whose
    accuracy curve, without baselines or CIs, they replace)."""
    descriptive.pop("probe_accuracy_agent")
    untrained = f"untrained ({cfg.untrained})"
    accuracy = probe_baselines_figure(
        {r: {la: row[r].estimate for la, row in per_layer.items() if r in row} for r in ("base", "distilled")},
        {name: {la: row[cond].estimate for la, row in per_layer.items() if cond in row}
         for name, cond in (("shuffled labels (base)", shuffled("base")),
                            ("shuffled labels (distilled)", shuffled("distilled")), (untrained, "untrained"))},
        table.chance["base"])
    fewshot_curve = probe_baselines_figure(
        {r: {k: m.estimate for k, m in curve[r].items()} for r in ("base", "distilled")},
        {untrained: {k: m.estimate for k, m in curve["untrained"].items()}},
        table.chance["base"], x_name="training questions",
        title="Agent-identity probe accuracy with few training questions (mean over the criterion layers; "
              "bands: 95% CI over held-out questions)")
    return {"probe_accuracy_baselines": accuracy, "probe_learning_curve": fewshot_curve, **descriptive}
