"""Debate vs internalized debate on held-out arithmetic: accuracy and tokens per question (paper Table 1).

Systems, each on the same held-out problems (never seen in any training stage), all decoded the same way
(greedy by default; ``--temperature``/``--top-p`` sample every system alike, seeded by the sample's seed):

* base, single answer (the Du et al. round-1 prompt);
* base, explicit debate: 3 agents (CoT / self-critique / program personas), 2 rounds, majority vote of the
  last round (scored on the first ``--debate-n`` problems of each sample: it costs ~10x the others);
* Stage 1 (SFT): writes a whole debate from ``Problem: q``; answer = last ``\\boxed{}``;
* internalized (IMAD, SFT + GRPO): same prompt.

Every seed draws its own sample of ``--n`` problems (the samples are disjoint). The predeclared criteria
(config fields, written to config.json before any generation) are decided from paired-bootstrap CIs over
all problems; when one seed's own CI decides against the pooled verdict, it is inconclusive. The run folder
holds config.json, env.json, metrics.json (every number with its CI), rows.jsonl, summary.md (verdicts
first) and figures/accuracy_tokens.html.

The default (3 seeds x 100 problems, the debate on 3 x 12) took 7 minutes wall on 2 cores shared with
other jobs (one explicit debate costs ~8 s, ten times the other three systems on one problem together;
keep the run under ~10 minutes when changing the sizes):

    python experiments/evaluate_internalization.py
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments._results import command_line, run_folder
from models.cli import check_fields, option, parse_config
from models.cli import run as run_cli
from models.errors import ConfigError
from models.stats import Criterion, Estimate, Verdict, seed_spread, verdict_line

if TYPE_CHECKING:  # the library loads torch; --help stays fast without it
    from models.train.evaluate import System

# key: (checkpoint, evaluation system); every system decodes the same way.
SYSTEMS: dict[str, tuple[str, System]] = {"single": ("base", "single"), "debate": ("base", "debate"),
                                          "sft": ("sft", "transcript"), "imad": ("imad", "transcript")}
LABELS = {"single": "base · single answer", "debate": "base · explicit debate (3 agents × 2 rounds, vote)",
          "sft": "Stage 1 (SFT)", "imad": "internalized (IMAD)",
          "debate_round1": "base · the same debates stopped after round 1 (vote)"}
SHORT = {"single": "single", "debate": "explicit debate", "sft": "SFT", "imad": "IMAD"}
PAIRS = (("imad", "sft"), ("imad", "debate"), ("imad", "single"))  # every comparison the summary makes


@dataclass
class EvalConfig:
    """Every field is a flag of this script (``--n``, ``--max-new-tokens``, ...)."""

    base: str = option("Base checkpoint (registry name or folder): single answer and explicit debate.",
                       "tiny-base", min_len=1)
    sft: str = option("Stage 1 checkpoint: writes a whole tagged debate.", "tiny-sft", min_len=1)
    imad: str = option("Internalized checkpoint (Stage 2); its manifest names the held-out problems.", "tiny-imad",
                       min_len=1)
    n: int = option("Held-out problems per seed (the seeds' samples are disjoint).", 100, min=1, max=100_000)
    seeds: tuple[int, ...] = option("Seeds of the problem samples (and of sampling, if --temperature > 0); at least 3.",
                              default_factory=lambda: (0, 1, 2), min=0, min_len=3)
    debate_n: int = option("Problems per seed for the explicit debate: the first DEBATE_N of each sample.", 12,
                           min=1, max=100_000)
    temperature: float = option("Decoding of every system: 0 = greedy; > 0 samples all systems alike.", 0.0,
                                min=0.0, max=10.0)
    top_p: float = option("Nucleus mass when sampling (every system alike).", 1.0, gt=0.0, max=1.0)
    sft_margin: float = option("Criterion (a): IMAD - SFT accuracy must lie within +/- this margin (whole CI).",
                               0.05, gt=0.0, lt=1.0)
    token_ratio: float = option("Criterion (b): IMAD / SFT mean tokens per question must be below this (whole CI; "
                                "0.9 = at least 10 % fewer; the paper reports 35-66 % fewer).", 0.9, gt=0.0)
    debate_margin: float = option("Criterion (c): IMAD - explicit debate accuracy must be >= -margin (whole CI): "
                                  "non-inferiority.", 0.05, gt=0.0, lt=1.0)
    out: str = option("Results root; the run goes to <out>/evaluate_internalization/<time>-<hash>/.", "results",
                      min_len=1)
    batch_size: int = option("Prompts per generation batch (the same for every system).", 64, min=1, max=100_000)
    max_new_tokens: int = option("Generation cap of single answers and transcripts.", 1100, min=1, max=1_000_000)
    debate_max_new_tokens: int = option("Generation cap of each agent turn in the explicit debate.", 384,
                                        min=1, max=1_000_000)
    allow_unverified: bool = option("Run even when a checkpoint has no trainer manifest (an outside model): its "
                                    "training data cannot be checked against the evaluation problems.", False)
    threads: int | None = option("torch threads; 1 is fastest on a shared 2-core machine (2 threads ran 15x slower "
                                 "beside other jobs); None = torch's choice.", 1, min=1, max=4096)

    def __post_init__(self) -> None:
        check_fields(self)
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"--seeds must be distinct, got {self.seeds}")

    def criteria(self) -> dict[str, Criterion]:
        """The predeclared claims, decided from the CIs (written to config.json before any generation)."""
        return {
            "imad_vs_sft": Criterion("the internalized model matches the Stage 1 model's accuracy",
                                     "accuracy IMAD - SFT (paired)", "within", self.sft_margin),
            "tokens": Criterion("the internalized model uses fewer tokens than the Stage 1 model",
                                "mean tokens per question IMAD / SFT (paired)", "below", self.token_ratio),
            "imad_vs_debate": Criterion("the internalized model is as accurate as the explicit debate",
                                        "accuracy IMAD - explicit debate (paired)", "above", -self.debate_margin)}


def parse_args(argv: list[str] | None = None) -> EvalConfig:
    return parse_config(EvalConfig, argv, "experiments/evaluate_internalization.py", __doc__)


def _samples(imad_folder: Path, n: int, seeds: tuple[int, ...]) -> tuple[list[list[Any]], dict]:
    """Disjoint samples of `n` held-out problems per seed (drawn in seed order from the IMAD manifest's set)."""
    from models.debate.splits import heldout_problems
    from models.manifest import Manifest

    manifest = Manifest.load(imad_folder)
    cfg = manifest.config if manifest else {}
    tier, total, seed = cfg.get("tier", "easy"), cfg.get("heldout", 500), cfg.get("heldout_seed", 0)
    if n * len(seeds) > total:
        raise ConfigError(f"--n {n} x {len(seeds)} seeds exceeds the {total} problems held out of training; use "
                          f"--n {total // len(seeds)} or fewer")
    pool, samples = heldout_problems(tier, total, seed), []
    for s in seeds:
        picked = set(random.Random(f"evaluate_internalization-{s}").sample(range(len(pool)), n))
        samples.append([p for i, p in enumerate(pool) if i in picked])
        pool = [p for i, p in enumerate(pool) if i not in picked]
    return samples, {"tier": tier, "heldout": total, "heldout_seed": seed,
                     "question_format": cfg.get("question_format", "spaced")}


def _decide(criterion: Criterion, pooled: Estimate, per_seed: list[Estimate]) -> tuple[Verdict, list[Verdict]]:
    """The pooled CI's verdict, unless one seed's own CI decides the opposite way (then inconclusive)."""
    seeds = [criterion.decide(e) for e in per_seed]
    outcome = criterion.decide(pooled)
    opposite = {"confirmed": "refuted", "refuted": "confirmed"}.get(outcome)
    return ("inconclusive" if opposite in seeds else outcome), seeds


def _statistics(by_seed: dict[str, list[Any]], cfg: EvalConfig) -> dict[str, Any]:
    """Every number of the table with its CI and seed spread, the paired tests and the decided criteria."""
    from models.train.evaluate import (
        accuracy_estimate,
        align,
        compare,
        pool,
        round1_vote,
        token_estimate,
        token_ratio,
    )

    by_seed = {**by_seed, "debate_round1": [round1_vote(s) for s in by_seed["debate"]]}
    pooled = {k: pool(v) for k, v in by_seed.items()}
    debate_tokens = pooled["debate"].mean_tokens
    systems = {k: {"system": LABELS[k], "n": p.n, "decoding": p.decoding, "accuracy": accuracy_estimate(p).to_json(),
                   "tokens": token_estimate(p).to_json(), "mean_input_tokens": round(p.mean_input_tokens, 1),
                   "mean_output_tokens": round(p.mean_output_tokens, 1), "tag_rate": p.tag_rate,
                   "pct_of_debate": round(100 * p.mean_tokens / debate_tokens, 2),
                   "seed_accuracy": seed_spread([s.accuracy for s in by_seed[k]]),
                   "seed_tokens": seed_spread([s.mean_tokens for s in by_seed[k]])}
               for k, p in pooled.items()}
    seeds = range(len(cfg.seeds))
    comparisons = {}
    for a, b in PAIRS:
        per_seed = [compare(*align(by_seed[a][i], by_seed[b][i])) for i in seeds]
        comparisons[f"{a}_vs_{b}"] = {**compare(*align(pooled[a], pooled[b])).to_json(), "seed_accuracy_difference":
                                      seed_spread([c.accuracy_difference.value for c in per_seed])}
    estimates = {"imad_vs_sft": lambda s: compare(*align(s["imad"], s["sft"])).accuracy_difference,
                 "tokens": lambda s: token_ratio(*align(s["imad"], s["sft"])),
                 "imad_vs_debate": lambda s: compare(*align(s["imad"], s["debate"])).accuracy_difference}
    criteria = {}
    for name, criterion in cfg.criteria().items():
        est = estimates[name](pooled)
        per_seed = [estimates[name]({k: v[i] for k, v in by_seed.items()}) for i in seeds]
        decided, verdicts = _decide(criterion, est, per_seed)
        criteria[name] = {**asdict(criterion), "estimate": est.to_json(), "verdict": decided,
                          "seed_verdicts": verdicts, "seed_estimates": [e.value for e in per_seed],
                          "line": verdict_line(criterion, est, decided)}
    return {"systems": systems, "comparisons": comparisons, "criteria": criteria}


def _pct(e: dict, scale: float = 100.0, digits: int = 1) -> str:
    return f"{scale * e['value']:.{digits}f} [{scale * e['low']:.{digits}f}, {scale * e['high']:.{digits}f}]"


def _figure(stats: dict) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = list(stats["systems"].values())
    names, debate = [r["system"] for r in rows], stats["systems"]["debate"]["tokens"]["value"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("accuracy (%, 95% CI)",
                                                         "tokens per question (% of explicit debate, 95% CI)"))
    for col, key, scale in ((1, "accuracy", 100.0), (2, "tokens", 100.0 / debate)):
        est = [r[key] for r in rows]
        fig.add_trace(go.Bar(x=names, y=[scale * e["value"] for e in est], name=key,
                             error_y={"type": "data", "symmetric": False,
                                      "array": [scale * (e["high"] - e["value"]) for e in est],
                                      "arrayminus": [scale * (e["value"] - e["low"]) for e in est]},
                             text=[f"{scale * e['value']:.1f}%" for e in est], textposition="outside"), 1, col)
    fig.update_layout(title="Explicit vs internalized debate on held-out arithmetic (matched decoding)",
                      showlegend=False, height=520)
    return fig


def _markdown(stats: dict, cfg: EvalConfig, decoding: str, seconds: float) -> str:
    setup = (f"Decoding: **{decoding}** for every system (one decoding, batch size {cfg.batch_size}, seeds "
             f"{list(cfg.seeds)}). Problems: {len(cfg.seeds)} disjoint samples of {cfg.n} held-out problems, one per "
             f"seed; the explicit debate runs on the first {cfg.debate_n} of each. Intervals: 95 % paired bootstrap "
             f"over problems; seed sd: spread of the per-seed value. Command: "
             f"`{command_line('evaluate_internalization')}` ({seconds:.0f} s).")
    debate = ("The explicit debate's answer is the majority vote of its last round (no answer there: wrong). The "
              "round-1 row scores the same debates' round-1 vote with round-1 tokens only: the difference is what "
              "the revision round adds or destroys.")
    lines = [line for c in stats["criteria"].values() for line in (c["line"], "")]
    lines += ["# Debate vs internalized debate", "", setup, "",
              "| system | n | accuracy % [95% CI] | seed sd (pp) | tokens per question [95% CI] | % of debate | tags |",
              "|---|---|---|---|---|---|---|"]
    for r in stats["systems"].values():
        lines.append(f"| {r['system']} | {r['n']} | {_pct(r['accuracy'])} | {100 * r['seed_accuracy']['sd']:.1f} | "
                     f"{_pct(r['tokens'], 1.0, 0)} | {r['pct_of_debate']:.1f} % | {100 * r['tag_rate']:.0f} % |")
    header = ("| comparison | n | accuracy difference pp [95% CI] | McNemar p (only a / only b) "
              "| token difference [95% CI] | seed sd (pp) |")
    lines += ["", "Paired comparisons (same problems):", "", header, "|---|---|---|---|---|---|"]
    for c in stats["comparisons"].values():
        m = c["mcnemar"]
        lines.append(f"| {SHORT[c['a']]} − {SHORT[c['b']]} | {c['n']} | {_pct(c['accuracy_difference'])} "
                     f"| {m['p_value']:.3g} ({m['only_a']} / {m['only_b']}) | {_pct(c['token_difference'], 1.0, 0)} "
                     f"| {100 * c['seed_accuracy_difference']['sd']:.1f} |")
    per_seed = "; ".join(f"{k}: {', '.join(c['seed_verdicts'])}" for k, c in stats["criteria"].items())
    lines += ["", f"Per-seed verdicts (a seed deciding against the pooled verdict makes it inconclusive): {per_seed}.",
              "", debate, "", "Figure: [figures/accuracy_tokens.html](figures/accuracy_tokens.html)", ""]
    return "\n".join(lines)


def main(cfg: EvalConfig) -> Path:
    """Run the experiment and return the finished results folder."""
    import torch

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(cfg.threads or threads)
        return _run(cfg)
    finally:
        torch.set_num_threads(threads)  # the caller's setting, not ours, outlives the run


def _score_all(cfg: EvalConfig, models: dict[str, Any], samples: list[list[Any]], question_format: str
               ) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    """Every system on every seed's sample, decoded alike; scores per system (one per seed) and all rows."""
    from models.debate.prompts import present
    from models.train.evaluate import Decoding, evaluate

    by_seed: dict[str, list[Any]] = {k: [] for k in SYSTEMS}
    rows: list[dict[str, Any]] = []
    for seed, problems in zip(cfg.seeds, samples):
        match = Decoding(cfg.temperature, cfg.top_p, seed)  # one decoding for every system of this sample
        for key, (which, system) in SYSTEMS.items():
            chosen = problems[:cfg.debate_n] if system == "debate" else problems
            score = evaluate(models[which], system, [present(p.question, question_format) for p in chosen],
                             [str(p.answer) for p in chosen], max_new_tokens=cfg.max_new_tokens,
                             batch_size=cfg.batch_size, progress=True, debate_max_new_tokens=cfg.debate_max_new_tokens,
                             decoding=match)
            by_seed[key].append(replace(score, system=key))
            rows += [{"system": LABELS[key], "key": key, "seed": seed, **r} for r in score.rows]
    return by_seed, rows


def _splits(folders: dict[str, Path], samples: list[list[Any]], cfg: EvalConfig) -> dict[str, Any]:
    """The evaluation problems against the held-out set every stage of every checkpoint excluded (rebuilt
    from their manifests); a problem any stage could have trained on stops the run (`LeakError`)."""
    from models.debate.splits import Use, check_disjoint, split_manifest
    from models.train.lineage import checkpoint_uses

    evaluation = [Use(f"evaluation problems (seed {s})", [p.question for p in sample])
                  for s, sample in zip(cfg.seeds, samples)]
    stages = {u.name: u for f in folders.values() for u in checkpoint_uses(f)}  # parents are shared: once each
    manifest = split_manifest(evaluation, list(stages.values()))
    return {**manifest, "checked": check_disjoint(manifest, cfg.allow_unverified)}


def _run(cfg: EvalConfig) -> Path:
    from models import load
    from models.registry import materialize
    from models.train.evaluate import Decoding

    start = time.time()
    folders = {k: Path(materialize(v)) if not Path(v).exists() else Path(v)
               for k, v in (("base", cfg.base), ("sft", cfg.sft), ("imad", cfg.imad))}
    samples, heldout = _samples(folders["imad"], cfg.n, cfg.seeds)
    decoding = Decoding(cfg.temperature, cfg.top_p).describe()
    config = {**vars(cfg), **heldout, "folders": folders, "decoding": decoding,
              "criteria": {k: asdict(c) for k, c in cfg.criteria().items()}}
    # config.json (with the criteria) is written on entering the folder, before any generation.
    with run_folder("evaluate_internalization", config, root=cfg.out, seed=cfg.seeds[0]) as run:
        run.json("splits.json", _splits(folders, samples, cfg))  # and checked, before any generation
        models = {k: load(f) for k, f in folders.items()}
        by_seed, rows = _score_all(cfg, models, samples, heldout["question_format"])
        stats = _statistics(by_seed, cfg)
        seconds = time.time() - start
        run.json("metrics.json", {**stats, "decoding": decoding, "seeds": cfg.seeds, "seconds": round(seconds, 1)})
        run.jsonl("rows.jsonl", rows)
        run.text("summary.md", _markdown(stats, cfg, decoding, seconds))
        run.figure(_figure(stats), "accuracy_tokens")
    print(f"results: {run.path}")
    for c in stats["criteria"].values():
        print(f"  {c['line']}")
    return run.path

if __name__ == "__main__":
    raise SystemExit(run_cli(main, EvalConfig, prog="experiments/evaluate_internalization.py", description=__doc__))
