"""Agent-style steering, base vs distilled (paper §3), on the evidence protocol: does steering toward a
debate persona make the output read more like that persona, more than random directions do, and more
in the distilled model than in the base model?

The persona directions are the paper's Eq. 3 agent-vs-others contrasts, read from the Stage 1 (SFT)
checkpoint; the same vectors steer the base and the distilled model at generated positions, and both
models get the *same prompt* for every question. Each output is scored with ROUGE against a held-out,
correct solution written in the target persona's style. The primary metric is the steering gain: per
question, ROUGE at alpha minus ROUGE unsteered, as an area over the alpha grid, with 95 % paired
bootstrap CIs over questions. Controls at the same alphas: random directions of the vector's norm and
the sign-flipped vector. Seeds redraw the questions, the references' wording, the extraction debates
and the random directions. Verdicts are computed from the CIs against the criteria in config.json.

    python experiments/agent_style.py                                  # the tiny embedded checkpoints
    python experiments/agent_style.py --n-test 40 --seeds 0 1 2 3 --min-gain-difference 0.05
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from experiments._report import REPORT
from experiments._results import command_line, run_folder
from models import load
from models.cli import check_fields, config_dict, option, parse_config
from models.cli import run as run_cli
from models.debate import read_transcripts
from models.debate.arithmetic import TIERS
from models.debate.format import strip_tags
from models.debate.prompts import present
from models.debate.splits import heldout_problems, seeded_sample
from models.errors import ConfigError
from models.stats import Criterion, Estimate, seed_spread, verdict_line
from steering import adopt
from steering.persona_style import (
    HELDOUT_POOL,
    MODELS,
    PERSONA_NAMES,
    persona_vectors,
    steering_arms,
    style_prompts,
    style_references,
    style_rows,
)
from steering.style_evidence import (
    MEAN,
    ArmEvidence,
    ScoreTable,
    arm_evidence,
    decide,
    gain_curve,
    gain_difference,
    gain_figure,
    score_table,
    seed_values,
)
from steering.style_metrics import ROUGE_TYPES

log = logging.getLogger("agent_style")
METRIC_NAMES = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L"}


@dataclass
class StyleConfig:
    """Every field is a flag of this script (``--n-test``, ``--min-gain-difference``, ...)."""

    base: str = option("Base checkpoint (registry name, folder or .gguf).", default="tiny-base", min_len=1)
    distilled: str = option("Distilled (internalized) checkpoint.", default="tiny-imad", min_len=1)
    sft: str = option("Stage 1 checkpoint the persona vectors are read from.", default="tiny-sft", min_len=1)
    backend: Literal["hf", "tl", "nnsight"] = option("Hooked-model backend.", default="hf")
    layer: int | None = option("Block whose resid_post is read and steered; negative counts from the end as "
                               "everywhere in the toolkit (-1 is the last block); default: the middle block.",
                               default=None)
    alphas: tuple[float, ...] = option("Steering strengths, including 0 (the unsteered reference of every gain).",
                                 min=0.0, min_len=2, default_factory=lambda: (0.0, 1.0, 2.0, 4.0))
    scale: Literal["residual", "unit", "raw"] = option(
        "Vector scale: 'residual' (alpha 1 shifts a typical activation at the site by 10%% of its norm, comparable "
        "across models), 'unit' (the original code) or 'raw' (Eq. 3 difference of means).", default="residual")
    prompt: Literal["chat", "problem"] = option(
        "The one prompt both models get: 'chat' (the round-1 math request in the base model's chat format, which "
        "both were trained on in Stage 0) or 'problem' ('Problem: q', the Stage 1/2 format the base never saw).",
        default="chat")
    metric: Literal["rouge1", "rouge2", "rougeL"] = option("ROUGE F-measure the gain is computed on.",
                                                           default="rougeL")
    n_test: int = option("Held-out questions per seed; seeds draw disjoint samples, pooled for the CIs.", default=20,
                         min=1, max=500)
    n_extract: int = option("Training debates the persona vectors are read from, per seed.", default=16, min=1,
                            max=100_000)
    debates: str | None = option(
        "Persona debate file the vectors are read from (agent k speaks persona k: chain of thought, self-critique, "
        "program of thought), any schema models.debate reads, or a fetched published file (paper:arithmetic-diverse); "
        "each seed samples --n-extract of it, leaving out debates on evaluation questions; default: generate.",
        default=None, min_len=1)
    n_random: int = option("Random directions of the vector's norm per seed (the controls' band).", default=10,
                           min=1, max=1000)
    seeds: tuple[int, ...] = option("Seeds: each redraws the questions, the references' wording, the extraction debates "
                              "and the random directions.", default_factory=lambda: (0, 1, 2), min_len=1)
    min_gain_difference: float = option(
        "PREDECLARED primary criterion: the distilled model's persona directions steer style more than the base's "
        "when the whole 95%% CI of distilled - base steering-gain AUC (mean over personas) lies above this.", default=0.0)
    min_over_random: float = option(
        "PREDECLARED per-model criterion: the persona direction steers more than random directions when the whole "
        "95%% CI of its gain AUC minus the random directions' 95th percentile (mean over personas) lies above this.",
        default=0.0)
    tier: str = option("Arithmetic tier of the problems.", default="easy", choices=sorted(TIERS))
    question_format: Literal["spaced", "compact"] = option(
        "How questions are shown: spaced (the tiny trainer's) or compact.", default="spaced")
    max_new_tokens: int = option("Tokens generated per answer (80 holds the base model's whole answer and about one "
                                 "persona turn of the distilled model's).", default=80, min=1, max=1_000_000)
    batch_size: int = option("Rows per generation batch (directions and alphas mixed).", default=256, min=1,
                             max=100_000)
    threads: int | None = option("torch threads; the tiny model's matrices are too small to gain from more than 1 "
                                 "(null: torch's choice, for larger models).", default=1, min=1, max=4096)
    progress: bool = option("Progress bars (--no-progress: none at all, the libraries' own included).", default=True)
    out: str = option("Results root folder.", default="results", min_len=1)

    def __post_init__(self) -> None:
        check_fields(self)
        if len(set(self.alphas)) < 2 or 0.0 not in self.alphas:
            raise ConfigError(f"alphas needs at least two distinct values including 0 (gains are measured from the "
                              f"unsteered output), got {self.alphas}")
        if len(set(self.alphas)) != len(self.alphas):
            raise ConfigError(f"alphas must be distinct, got {self.alphas}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be distinct, got {self.seeds}")
        if self.n_test * len(self.seeds) > HELDOUT_POOL:
            raise ConfigError(f"n_test {self.n_test} x {len(self.seeds)} seeds exceeds the {HELDOUT_POOL} held-out "
                              f"problems the disjoint samples are drawn from")

    def criteria(self) -> dict[str, Criterion]:
        """The predeclared claims, decided from the CIs (written to config.json before any generation)."""
        return {
            "distilled_vs_base": Criterion(
                "the distilled model's persona directions steer style more than the base's",
                "distilled - base steering-gain AUC (mean over personas)", "above", self.min_gain_difference),
            "over_random": Criterion(
                "the persona direction steers more than random directions",
                "steering-gain AUC minus the random directions' 95th percentile (mean over personas)", "above",
                self.min_over_random)}


def parse_args(argv: list[str] | None = None) -> StyleConfig:
    return parse_config(StyleConfig, argv, "experiments/agent_style.py", __doc__)


# --------------------------------------------------------------------------- analysis

TARGETS = (*PERSONA_NAMES, MEAN)
TITLES = {**PERSONA_NAMES, MEAN: "mean over personas"}


def evidence(table: ScoreTable, cfg: StyleConfig) -> dict[str, Any]:
    """Every estimate with its CI, the per-seed values and the verdicts (computed, never chosen)."""
    arms = {t: {m: arm_evidence(table, m, t) for m in MODELS} for t in TARGETS}
    diffs = {t: {s: gain_difference(table, t, s) for s in ("gain", "area", "unsteered")} for t in TARGETS}
    seeds = {t: seed_values(table, t) for t in TARGETS}
    criteria = cfg.criteria()
    primary, over = criteria["distilled_vs_base"], criteria["over_random"]
    per_model = {m: replace(over, claim_text=f"{m}: {over.claim_text}") for m in MODELS}
    verdicts: dict[str, dict[str, Any]] = {}
    for t in TARGETS:
        outcome, note = decide(primary, diffs[t]["gain"], [v["difference"] for _, v in seeds[t]])
        verdicts[f"distilled_vs_base/{t}"] = _verdict(primary, diffs[t]["gain"], outcome, note)
        for m in MODELS:
            outcome, note = decide(per_model[m], arms[t][m].over_band, [v[f"{m}_over_band"] for _, v in seeds[t]])
            verdicts[f"over_random/{m}/{t}"] = _verdict(per_model[m], arms[t][m].over_band, outcome, note)
    spread = {k: seed_spread([v[k] for _, v in seeds[MEAN]])
              for k in ("difference", "base_gain", "distilled_gain", "base_over_band", "distilled_over_band")}
    return {"arms": arms, "differences": diffs, "per_seed": seeds, "seed_spread": spread, "verdicts": verdicts}


def _verdict(criterion: Criterion, estimate: Estimate, outcome: str, note: str) -> dict[str, Any]:
    line = verdict_line(criterion, estimate, outcome)  # type: ignore[arg-type]
    return {"verdict": outcome, "estimate": estimate, "criterion": criterion, "note": note,
            "line": f"{line}; {note}" if note else line}


def degenerate_rates(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Share of outputs flagged degenerate, per model and arm kind."""
    out: dict[str, dict[str, float]] = {}
    for m in MODELS:
        for kind in ("unsteered", "persona", "sign_flip", "random"):
            picked = [r["degenerate"] for r in rows if r["model"] == m and r["kind"] == kind]
            out.setdefault(m, {})[kind] = sum(picked) / len(picked) if picked else 0.0
    return out


# --------------------------------------------------------------------------- summary

def _ci(e: Estimate, signed: bool = True) -> str:
    f = "+.3f" if signed else ".3f"
    return f"{e.value:{f}} [{e.low:{f}}, {e.high:{f}}]"


def _band(ev: ArmEvidence) -> str:
    return f"[{ev.band.low:+.3f}, {ev.band.high:+.3f}]"


def _setup(cfg: StyleConfig, info: dict[str, Any], alphas: str) -> str:
    source = f"sampled from {cfg.debates}" if cfg.debates else "generated"
    return (f"**Setup.** Persona vectors: Eq. 3 agent-vs-others on {cfg.sft} ({cfg.n_extract} training debates per "
            f"seed, {source}), site {info['site']}, scale '{cfg.scale}'; the same vectors steer {cfg.base} (base) and "
            f"{cfg.distilled} (distilled) at generated positions, alpha {alphas}. **Both models get the same prompt** "
            f"('{cfg.prompt}'): `{info['example_prompt']!r}`. {cfg.n_test} held-out questions per seed (disjoint "
            f"samples), seeds {list(cfg.seeds)}, {info['n_rows']} (seed, question) rows pooled. Controls per seed: "
            f"{cfg.n_random} random directions of the vector's norm and the sign-flipped vector, at the same alphas.")


def _method(metric: str, alphas: str) -> str:
    return (f"**Primary metric.** Steering gain = {metric} (against the target persona's held-out solution) at alpha "
            f"minus {metric} of the same question unsteered, as an area over alpha {alphas} (trapezoid). "
            "Intervals: 95 % paired bootstrap over rows (2,000 resamples, seeded); model comparisons are paired "
            "on the same questions. A persona direction counts as steering when its gain minus the random "
            "directions' 95th percentile (recomputed on every resample) clears the threshold with its whole CI. "
            "A verdict whose seeds fall on both sides of the threshold is inconclusive.")


def summary_markdown(cfg: StyleConfig, ev: dict[str, Any], info: dict[str, Any], examples: list[dict[str, Any]]
                     ) -> str:
    metric = METRIC_NAMES[cfg.metric]
    arms, diffs, verdicts = ev["arms"], ev["differences"], ev["verdicts"]
    alphas = ", ".join(f"{a:g}" for a in sorted(cfg.alphas))
    lines = [verdicts[f"distilled_vs_base/{MEAN}"]["line"],
             *(verdicts[f"over_random/{m}/{MEAN}"]["line"] for m in MODELS), "",
             "# Agent-style steering: base vs distilled", "",
             (f"Command: `{command_line('agent_style')}`; wall time {info['wall_s'] / 60:.1f} min "
              f"({info['n_generations']} generations of up to {cfg.max_new_tokens} tokens, "
              f"{1000 * info['generation_s'] / max(info['n_generations'], 1):.0f} ms each, {cfg.threads} torch "
              "thread(s))."),
             "",
             _setup(cfg, info, alphas), "", _method(metric, alphas), "",
             f"## Steering gain ({metric} gain AUC, 95 % CI)", "",
             "| persona | base | distilled | distilled − base | verdict |", "|---|---|---|---|---|"]
    for t in TARGETS:
        name = f"**{TITLES[t]}**" if t == MEAN else TITLES[t]
        lines.append(f"| {name} | {_ci(arms[t]['base'].gain)} | {_ci(arms[t]['distilled'].gain)} | "
                     f"{_ci(diffs[t]['gain'])} | {verdicts[f'distilled_vs_base/{t}']['verdict']} |")
    lines += ["", "## Against the controls (same alphas, same norm)", "",
              ("| persona | model | persona direction | random 5–95 % band | gain − band top | leaves band | "
               "sign-flipped | questions with gain > 0 |"), "|---|---|---|---|---|---|---|---|"]
    for t in TARGETS:
        for m in MODELS:
            a = arms[t][m]
            lines.append(f"| {TITLES[t]} | {m} | {_ci(a.gain)} | {_band(a)} | {_ci(a.over_band)} | "
                         f"{verdicts[f'over_random/{m}/{t}']['verdict']} | {_ci(a.sign_flip)} | "
                         f"{_ci(a.steerable, signed=False)} |")
    lines += ["", f"## The paper's statistic (secondary): area under {metric} itself, counting the unsteered output", "",
              ("| persona | base AUC | distilled AUC | distilled − base | unsteered base | unsteered distilled | "
               "unsteered distilled − base |"), "|---|---|---|---|---|---|---|"]
    for t in TARGETS:
        lines.append(f"| {TITLES[t]} | {_ci(arms[t]['base'].area, False)} | {_ci(arms[t]['distilled'].area, False)} | "
                     f"{_ci(diffs[t]['area'])} | {_ci(arms[t]['base'].unsteered, False)} | "
                     f"{_ci(arms[t]['distilled'].unsteered, False)} | {_ci(diffs[t]['unsteered'])} |")
    lines += ["", "## Seeds (mean over personas; point estimates on each seed's own questions)", "",
              ("| seed | questions | base gain | distilled gain | distilled − base | base gain − band top | "
               "distilled gain − band top |"), "|---|---|---|---|---|---|---|"]
    keys = ("base_gain", "distilled_gain", "difference", "base_over_band", "distilled_over_band")
    for s, v in ev["per_seed"][MEAN]:
        lines.append(f"| {s} | {int(v['n'])} | " + " | ".join(f"{v[k]:+.3f}" for k in keys) + " |")
    spread = ev["seed_spread"]
    lines.append("| mean ± sd [min, max] | | " + " | ".join(
        f"{spread[k]['mean']:+.3f} ± {spread[k]['sd']:.3f} [{spread[k]['min']:+.3f}, {spread[k]['max']:+.3f}]"
        for k in keys) + " |")
    if len(cfg.seeds) < 3:
        lines += ["", f"Only {len(cfg.seeds)} seed(s): the protocol asks for at least 3."]
    rates = info["degenerate"]
    lines += ["", "Degenerate outputs (share): " + "; ".join(
        f"{m}: " + ", ".join(f"{k} {v:.2f}" for k, v in rates[m].items()) for m in MODELS), "",
        f"## Examples (seed {cfg.seeds[0]}, first question, alpha {max(cfg.alphas):g} unless unsteered)", ""]
    for e in examples:
        lines.append(f"* **{e['model']}**, {e['arm']}: `{strip_tags(e['text'])[:200]!r}`")
    lines += ["", "Figure: [figures/agent_style.html](figures/agent_style.html) (gain vs alpha, random band shaded)",
              ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- run

def main(cfg: StyleConfig) -> Path:
    """Run the experiment and return the finished results folder."""
    import torch

    start, threads = time.perf_counter(), torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        path, lines = _run(cfg, start)
    finally:
        torch.set_num_threads(threads)
    print(f"results: {path}\nreport: {path / REPORT}")
    print("\n".join(lines))
    return path


def extraction_debates(cfg: StyleConfig) -> dict[int, list[Any] | None]:
    """Each seed's sample of ``--debates`` (the file read once; none on a held-out question), or None for every
    seed: `persona_vectors` then generates."""
    if cfg.debates is None:
        return dict.fromkeys(cfg.seeds)
    heldout = {present(p.question, f) for p in heldout_problems(cfg.tier, HELDOUT_POOL, seed=0)
               for f in ("spaced", "compact")}
    pool = [d for d in read_transcripts(cfg.debates) if d.question not in heldout]
    return {s: seeded_sample(pool, min(cfg.n_extract, len(pool)), f"agent-style-debates-{s}",
                             f"{cfg.debates} (less debates on held-out questions)") for s in cfg.seeds}


def _run(cfg: StyleConfig, start: float) -> tuple[Path, list[str]]:
    config = {**config_dict(cfg), "criteria": {k: asdict(c) for k, c in cfg.criteria().items()}}
    # config.json (with the criteria) is written on entering the folder, before any model runs.
    with run_folder("agent_style", config, root=cfg.out, seed=cfg.seeds[0]) as run:
        sft = load(cfg.sft, backend=cfg.backend)
        layer = cfg.layer if cfg.layer is not None else sft.info.n_layers // 2
        site = str(sft.site(("resid_post", layer)))
        vectors = {s: persona_vectors(sft, site, n_extract=cfg.n_extract, tier=cfg.tier, seed=s, scale=cfg.scale,
                                      progress=cfg.progress, debates=debates)
                   for s, debates in extraction_debates(cfg).items()}
        for s, by_persona in vectors.items():
            for persona, v in by_persona.items():
                v.save(run.path / "vectors" / f"seed{s}" / persona)
        del sft
        samples: dict[int, tuple[list[str], dict[str, list[str]]]] = {}
        for s in cfg.seeds:  # disjoint samples: each seed avoids the questions drawn before it
            taken = [q for questions, _ in samples.values() for q in questions]
            samples[s] = style_references(cfg.tier, cfg.n_test, s, cfg.question_format, exclude=taken)
        base = load(cfg.base, backend=cfg.backend)
        # One rendering, made once and given to both models: the comparison is then between the models alone.
        prompts = {s: style_prompts(base, samples[s][0], cfg.prompt) for s in cfg.seeds}
        run.json("prompts.json", {str(s): [{"question": q, "prompt": p} for q, p in zip(samples[s][0], prompts[s])]
                                  for s in cfg.seeds})
        rows: list[dict[str, Any]] = []
        generation_s = 0.0
        for name in MODELS:
            model = base if name == "base" else load(cfg.distilled, backend=cfg.backend)
            for s in cfg.seeds:
                # The same vectors steer both models, as in the paper (their tokenizers differ by the debate tags).
                arms = steering_arms({p: adopt(v, model) for p, v in vectors[s].items()}, cfg.n_random, seed=s)
                t0 = time.perf_counter()
                rows += style_rows(name, model, prompts[s], arms, samples[s][1], alphas=cfg.alphas, seed=s,
                                   max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size,
                                   progress=cfg.progress)
                generation_s += time.perf_counter() - t0
            del model
        del base
        run.jsonl("rows.jsonl", rows)
        table = score_table(rows, cfg.metric, cfg.alphas)
        ev = evidence(table, cfg)
        curves = {m: {t: gain_curve(table, m, t) for t in TARGETS} for m in MODELS}
        run.figure(gain_figure(curves, TITLES, METRIC_NAMES[cfg.metric]), "agent_style",
                   f"{METRIC_NAMES[cfg.metric]} gain over the unsteered output against alpha, per model (rows) and "
                   "persona (columns), with 95 % CI bands; the grey band is the random directions of the same norm. "
                   "A persona direction steers style where its curve rises above that band.")
        info = {"site": site, "n_rows": len(table.keys), "n_generations": len(rows), "generation_s": generation_s,
                "example_prompt": prompts[cfg.seeds[0]][0], "degenerate": degenerate_rates(rows),
                "wall_s": time.perf_counter() - start}
        run.json("metrics.json", {**info, "metric": cfg.metric, "alphas": sorted(cfg.alphas),
                                  "rouge_types_scored": ROUGE_TYPES, **ev, "curves": curves})
        shown = {f"persona:{p}" for p in PERSONA_NAMES} | {"unsteered"}
        examples = [r for r in rows if r["seed"] == cfg.seeds[0] and r["question"] == 0 and r["arm"] in shown
                    and r["alpha"] in (0.0, max(cfg.alphas))]
        run.text("summary.md", summary_markdown(cfg, ev, info, examples))
        primary = ev["verdicts"][f"distilled_vs_base/{MEAN}"]
        run.headline(f"Persona steering: {cfg.base} vs {cfg.distilled}",
                     f"The distilled model's persona directions steer style more than the base's: "
                     f"{primary['verdict'].upper()} (the primary, predeclared criterion).",
                     [primary["line"], *(ev["verdicts"][f"over_random/{m}/{MEAN}"]["line"] for m in MODELS)])
    lines = [ev["verdicts"][f"distilled_vs_base/{MEAN}"]["line"],
             *(ev["verdicts"][f"over_random/{m}/{MEAN}"]["line"] for m in MODELS)]
    metric = METRIC_NAMES[cfg.metric]
    for t in TARGETS:
        a = ev["arms"][t]
        lines.append(f"  {TITLES[t]:<19} {metric} gain AUC  base {_ci(a['base'].gain)}  distilled "
                     f"{_ci(a['distilled'].gain)}  distilled - base {_ci(ev['differences'][t]['gain'])}")
    lines.append(f"wall time {info['wall_s'] / 60:.1f} min")
    return run.path, lines


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(run_cli(main, StyleConfig, prog="experiments/agent_style.py", description=__doc__))
