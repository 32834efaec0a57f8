"""Debate vs internalized debate on held-out arithmetic: accuracy and tokens per question (paper Table 1).

Systems, each on the same held-out problems (never seen in any training stage), all decoded the same way
(greedy by default; ``--temperature``/``--top-p`` sample every system alike, seeded by the sample's seed):

* base, single answer (the Du et al. round-1 prompt);
* base, explicit debate: 3 agents (CoT / self-critique / program personas), 2 rounds, majority vote of the
  last round (on every problem by default; ``--debate-n`` scores only the first problems of each sample);
* Stage 1 (SFT): writes a whole debate from ``Problem: q``; answer = the consensus (`committed_answer`);
* internalized (IMAD, SFT + GRPO): same prompt, same reading.

Stage 1 and IMAD are given once per training seed (``--sft`` and ``--imad`` pair up by position; the
defaults are the three shipped seeds), and every criterion is decided per training seed: it is
confirmed (or refuted) only when every training seed confirms (or refutes) it.

Every seed draws its own sample of ``--n`` problems (the samples are disjoint). The predeclared criteria
(config fields, written to config.json before any generation) are decided from paired-bootstrap CIs over
all problems; when one seed's own CI decides against the pooled verdict, it is inconclusive. The run folder
holds config.json, env.json, metrics.json (every number with its CI), rows.jsonl, summary.md (verdicts
first), figures/accuracy_tokens.html and figures/grpo_iterations.html (each IMAD checkpoint's Stage 2
iterations, read from its manifest: l, mean completion length, correct share, format reward). The summary also
says how each transcript's consensus line reads its agents: where they disagree, whether it copies the last
agent's answer or follows their vote, and what that vote, taken by code, would score.

``--problems validation`` scores the same systems on problems outside the held-out set and outside every
Stage 1 and Stage 2 prompt of the checkpoints (proven from their manifests in splits.json), so that Stage 2
settings can be chosen without looking at the evaluation problems:

    python experiments/evaluate_internalization.py --problems validation --n 50 --sft tiny-sft --imad runs/trial

The default (3 seeds x 100 problems, the explicit debate on all of them, 3 training seeds) took 7.3 minutes on
2 idle cores with ``--threads 2`` (100 explicit debates take about a minute, the six transcript systems most
of the rest):

    python experiments/evaluate_internalization.py --threads 2
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from experiments._results import command_line, report_path, run_folder
from models.cli import check_fields, option, parse_config
from models.cli import run as run_cli
from models.errors import ConfigError
from models.stats import Criterion, Estimate, Verdict, seed_spread, verdict_line

if TYPE_CHECKING:  # the library loads torch; --help stays fast without it
    from models.train.evaluate import System

LABELS = {"single": "base · single answer", "debate": "base · explicit debate (3 agents × 2 rounds, vote)",
          "sft": "Stage 1 (SFT)", "imad": "internalized (IMAD)",
          "debate_round1": "base · the same debates stopped after round 1 (vote)"}
SHORT = {"single": "single", "debate": "explicit debate", "sft": "SFT", "imad": "IMAD"}


def run_key(stage: str, k: int) -> str:
    """The system key of training run k (0-based) of `stage` (``sft`` / ``imad``): ``imad``, ``imad_2``, ..."""
    return stage if k == 0 else f"{stage}_{k + 1}"


def _stage(key: str) -> str:
    return key.split("_")[0] if key.startswith(("sft", "imad")) else key


def _run_number(key: str) -> str | None:
    """The training run number of a later run's key (``imad_2`` -> ``2``); None for the first run and the base."""
    return key.rpartition("_")[2] if key.startswith(("sft_", "imad_")) else None


def label(key: str) -> str:
    n = _run_number(key)
    return LABELS[_stage(key)] + (f", training seed run {n}" if n else "")


def short(key: str) -> str:
    n = _run_number(key)
    return SHORT[_stage(key)] + (f" {n}" if n else "")


@dataclass
class EvalConfig:
    """Every field is a flag of this script (``--n``, ``--max-new-tokens``, ...)."""

    base: str = option("Base checkpoint (registry name or folder): single answer and explicit debate.",
                       "tiny-base", min_len=1)
    sft: tuple[str, ...] = option("Stage 1 checkpoints, one per training seed: each writes a whole tagged debate.",
                                  default_factory=lambda: ("tiny-sft", "tiny-sft-s1", "tiny-sft-s2"), min_len=1)
    imad: tuple[str, ...] = option("Internalized checkpoints (Stage 2), paired with --sft by position; their manifests "
                                   "name the held-out problems.",
                                   default_factory=lambda: ("tiny-imad", "tiny-imad-s1", "tiny-imad-s2"), min_len=1)
    problems: Literal["heldout", "validation"] = option(
        "heldout: the problems every training stage left out (the evaluation). validation: problems outside them "
        "that no Stage 1 or Stage 2 run of these checkpoints trained on (rebuilt from the manifests; Stage 0's drills "
        "cover most of the tier), for choosing Stage 2 settings without looking at the held-out problems.",
        "heldout")
    n: int = option("Problems per seed (the seeds' samples are disjoint).", 100, min=1, max=100_000)
    seeds: tuple[int, ...] = option("Seeds of the problem samples (and of sampling, if --temperature > 0); at least 3.",
                              default_factory=lambda: (0, 1, 2), min=0, min_len=3)
    debate_n: int = option("Problems per seed for the explicit debate: the first DEBATE_N of each sample (a DEBATE_N "
                           "of at least --n runs it on every problem; 20 per seed left the IMAD - debate interval "
                           "about +/-12 pp wide, wider than the 5 pp margin it is judged against).", 100,
                           min=1, max=100_000)
    temperature: float = option("Decoding of every system: 0 = greedy; > 0 samples all systems alike.", 0.0,
                                min=0.0, max=10.0)
    top_p: float = option("Nucleus mass when sampling (every system alike).", 1.0, gt=0.0, max=1.0)
    sft_margin: float = option("Criterion (a): IMAD - SFT accuracy must lie within +/- this margin (whole CI).",
                               0.05, gt=0.0, lt=1.0)
    token_ratio: float = option("Criterion (b): IMAD / SFT mean tokens per question must be below this (whole CI; "
                                "0.9 = at least 10 % fewer; the paper reports 35-66 % fewer).", 0.9, gt=0.0)
    token_half: float = option("Criterion (b2): IMAD / SFT tokens below this (whole CI): the Stage 2 issue's target "
                               "of at most half, declared before the retrained checkpoints were evaluated; (b) "
                               "stays as it was declared.", 0.5, gt=0.0)
    debate_margin: float = option("Criterion (c): IMAD - explicit debate accuracy must be >= -margin (whole CI): "
                                  "non-inferiority.", 0.05, gt=0.0, lt=1.0)
    debate_token_share: float = option("Criterion (d): IMAD / explicit-debate tokens (input + output) below this "
                                       "(whole CI).", 0.10, gt=0.0)
    progress: bool = option("Progress bars (--no-progress: none at all, the libraries' own included).", True)
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
        if len(self.sft) != len(self.imad):
            raise ConfigError(f"--sft and --imad pair up by position (one Stage 1 and one IMAD per training seed); "
                              f"got {len(self.sft)} --sft and {len(self.imad)} --imad checkpoints")

    def systems(self) -> dict[str, tuple[str, System]]:
        """System key -> (checkpoint key, evaluation system); every system decodes the same way."""
        out: dict[str, tuple[str, System]] = {"single": ("base", "single"), "debate": ("base", "debate")}
        for k in range(len(self.sft)):
            out[run_key("sft", k)] = (run_key("sft", k), "transcript")
            out[run_key("imad", k)] = (run_key("imad", k), "transcript")
        return out

    def pairs(self) -> list[tuple[str, str]]:
        """Every paired comparison the summary makes."""
        out = [("debate", "single")]
        for k in range(len(self.imad)):
            imad = run_key("imad", k)
            out += [(imad, run_key("sft", k)), (imad, "debate"), (imad, "single")]
        return out

    def criteria(self) -> dict[str, Criterion]:
        """The predeclared claims, decided from the CIs (written to config.json before any generation)."""
        return {
            "imad_vs_sft": Criterion("the internalized model matches the Stage 1 model's accuracy",
                                     "accuracy IMAD - SFT (paired)", "within", self.sft_margin),
            "tokens": Criterion("the internalized model uses fewer tokens than the Stage 1 model",
                                "mean tokens per question IMAD / SFT (paired)", "below", self.token_ratio),
            "tokens_half": Criterion("the internalized model uses at most half the Stage 1 model's tokens",
                                     "mean tokens per question IMAD / SFT (paired)", "below", self.token_half),
            "imad_vs_debate": Criterion("the internalized model is as accurate as the explicit debate",
                                        "accuracy IMAD - explicit debate (paired)", "above", -self.debate_margin),
            "tokens_vs_debate": Criterion("the internalized model uses a tenth of the explicit debate's tokens",
                                          "mean tokens per question IMAD / explicit debate (paired, input + output)",
                                          "below", self.debate_token_share),
            "debate_vs_single": Criterion("the explicit debate is more accurate than a single answer",
                                          "accuracy explicit debate - single answer (paired)", "above", 0.0)}


def parse_args(argv: list[str] | None = None) -> EvalConfig:
    return parse_config(EvalConfig, argv, "experiments/evaluate_internalization.py", __doc__)


def _samples(imad_folders: list[Path], n: int, seeds: tuple[int, ...], problems: str = "heldout",
             trained: list[str] = ()) -> tuple[list[list[Any]], dict]:
    """Disjoint samples of `n` problems per seed, drawn in seed order: from the held-out set of the IMAD manifests
    (which every training seed must share), or from the validation problems outside it and outside `trained`."""
    from models.debate.splits import heldout_problems, validation_problems
    from models.manifest import Manifest

    def held_out(folder: Path) -> dict[str, Any]:
        manifest = Manifest.load(folder)
        cfg = manifest.config if manifest else {}
        return {"tier": cfg.get("tier", "easy"), "heldout": cfg.get("heldout", 500),
                "heldout_seed": cfg.get("heldout_seed", 0), "question_format": cfg.get("question_format", "spaced")}

    sets = [held_out(f) for f in imad_folders]
    if any(x != sets[0] for x in sets):
        raise ConfigError(f"the --imad checkpoints hold out different problems ({sets}); train every seed with the same "
                          "--tier, --heldout and --heldout-seed")
    tier, total, seed = sets[0]["tier"], sets[0]["heldout"], sets[0]["heldout_seed"]
    if problems == "validation":
        held = [p.question for p in heldout_problems(tier, total, seed)]
        pool = validation_problems(tier, n * len(seeds), [*held, *trained])
        return [pool[i * n:(i + 1) * n] for i in range(len(seeds))], sets[0]
    if n * len(seeds) > total:
        raise ConfigError(f"--n {n} x {len(seeds)} seeds exceeds the {total} problems held out of training; use "
                          f"--n {total // len(seeds)} or fewer")
    pool, samples = heldout_problems(tier, total, seed), []
    for s in seeds:
        picked = set(random.Random(f"evaluate_internalization-{s}").sample(range(len(pool)), n))
        samples.append([p for i, p in enumerate(pool) if i in picked])
        pool = [p for i, p in enumerate(pool) if i not in picked]
    return samples, sets[0]


def _decide(criterion: Criterion, pooled: Estimate, per_seed: list[Estimate]) -> tuple[Verdict, list[Verdict]]:
    """The pooled CI's verdict, unless one seed's own CI decides the opposite way (then inconclusive)."""
    seeds = [criterion.decide(e) for e in per_seed]
    outcome = criterion.decide(pooled)
    opposite = {"confirmed": "refuted", "refuted": "confirmed"}.get(outcome)
    return ("inconclusive" if opposite in seeds else outcome), seeds


def _across_runs(verdicts: list[Verdict]) -> Verdict:
    """One verdict over training seeds: confirmed (refuted) only when every training seed confirms (refutes)."""
    return verdicts[0] if len(set(verdicts)) == 1 else "inconclusive"


def _criterion_line(criterion: Criterion, estimates: list[Estimate], decided: Verdict) -> str:
    if len(estimates) == 1:
        return verdict_line(criterion, estimates[0], decided)
    values = "; ".join(str(e) for e in estimates)
    return (f"{decided.upper()}: {criterion.claim_text} -- {criterion.metric}, per training seed: {values} "
            f"(criterion: {criterion.describe()}, decided for every training seed)")


def _estimators(cfg: EvalConfig, k: int) -> dict[str, Any]:
    """Criterion name -> function of a {system: score} mapping giving training run k's estimate."""
    from models.train.evaluate import align, compare, token_ratio

    imad, sft = run_key("imad", k), run_key("sft", k)
    return {"imad_vs_sft": lambda s: compare(*align(s[imad], s[sft])).accuracy_difference,
            "tokens": lambda s: token_ratio(*align(s[imad], s[sft])),
            "tokens_half": lambda s: token_ratio(*align(s[imad], s[sft])),
            "imad_vs_debate": lambda s: compare(*align(s[imad], s["debate"])).accuracy_difference,
            "tokens_vs_debate": lambda s: token_ratio(*align(s[imad], s["debate"])),
            "debate_vs_single": lambda s: compare(*align(s["debate"], s["single"])).accuracy_difference}


def _statistics(by_seed: dict[str, list[Any]], cfg: EvalConfig) -> dict[str, Any]:
    """Every number of the table with its CI and seed spread, the paired tests and the decided criteria."""
    from models.train.evaluate import accuracy_estimate, align, compare, pool, round1_vote, token_estimate

    by_seed = {**by_seed, "debate_round1": [round1_vote(s) for s in by_seed["debate"]]}
    pooled = {k: pool(v) for k, v in by_seed.items()}
    debate_tokens = pooled["debate"].mean_tokens
    systems = {k: {"system": label(k), "n": p.n, "decoding": p.decoding, "accuracy": accuracy_estimate(p).to_json(),
                   "tokens": token_estimate(p).to_json(), "mean_input_tokens": round(p.mean_input_tokens, 1),
                   "mean_output_tokens": round(p.mean_output_tokens, 1), "tag_rate": p.tag_rate,
                   "pct_of_debate": round(100 * p.mean_tokens / debate_tokens, 2),
                   "seed_accuracy": seed_spread([s.accuracy for s in by_seed[k]]),
                   "seed_tokens": seed_spread([s.mean_tokens for s in by_seed[k]])}
               for k, p in pooled.items()}
    seeds = range(len(cfg.seeds))
    comparisons = {}
    for a, b in cfg.pairs():
        per_seed = [compare(*align(by_seed[a][i], by_seed[b][i])) for i in seeds]
        comparisons[f"{a}_vs_{b}"] = {**compare(*align(pooled[a], pooled[b])).to_json(), "seed_accuracy_difference":
                                      seed_spread([c.accuracy_difference.value for c in per_seed])}
    criteria = {}
    runs = range(len(cfg.imad))
    for name, criterion in cfg.criteria().items():
        shared = name == "debate_vs_single"  # the same for every training seed: decided once
        per_run, estimates = [], []
        for k in (range(1) if shared else runs):
            estimate = _estimators(cfg, k)[name]
            est = estimate(pooled)
            decided, verdicts = _decide(criterion, est, [estimate({x: v[i] for x, v in by_seed.items()}) for i in seeds])
            per_run.append({"run": k + 1, "estimate": est.to_json(), "verdict": decided, "seed_verdicts": verdicts})
            estimates.append(est)
        decided = _across_runs([r["verdict"] for r in per_run])
        line = _criterion_line(criterion, estimates, decided)
        criteria[name] = {**asdict(criterion), "estimate": per_run[0]["estimate"], "verdict": decided,
                          "runs": per_run, "line": line}
    return {"systems": systems, "comparisons": comparisons, "criteria": criteria, "consensus": _consensus(pooled)}


def _consensus(pooled: dict[str, Any]) -> dict[str, Any]:
    """Per transcript system: does its consensus line copy the last agent or follow the agents' vote, and what the
    vote taken by code would score (a diagnostic reading of the same outputs, not a system of the table)."""
    from models.train.evaluate import accuracy_estimate, agents_vote_score, compare, consensus_agreement

    out = {}
    for key, score in pooled.items():
        if _stage(key) not in ("sft", "imad"):
            continue
        vote = agents_vote_score(score)
        out[key] = {"system": label(key), **consensus_agreement(score),
                    "vote_accuracy": accuracy_estimate(vote).to_json(),
                    "vote_minus_consensus": compare(vote, score).to_json()}
    return out


def _consensus_markdown(consensus: dict[str, Any]) -> list[str]:
    lines = ["How the transcripts' consensus line reads their agents. Where the agents' final answers disagree, a "
             "consensus can copy the last agent's answer or follow the agents' vote; the vote column re-reads every "
             "transcript by code, with the explicit debate's rule, to show what the same agents would score if the "
             "consensus were a vote (a diagnostic, not a system: the model does not take this vote).", "",
             "| system | agents disagree | consensus = last agent % [95% CI] | consensus = agents' vote % [95% CI] "
             "| agents' vote accuracy % [95% CI] | vote − consensus pp [95% CI] (McNemar p) |",
             "|---|---|---|---|---|---|"]
    for c in consensus.values():
        d, m = c["vote_minus_consensus"], c["vote_minus_consensus"]["mcnemar"]
        share = {k: _pct(c[k]) if c[k] else "–" for k in ("copies_last", "follows_vote")}
        lines.append(f"| {c['system']} | {c['agents_disagree']} of {c['n']} | {share['copies_last']} "
                     f"| {share['follows_vote']} | {_pct(c['vote_accuracy'])} "
                     f"| {_pct(d['accuracy_difference'])} ({m['p_value']:.3g}) |")
    return lines


def grpo_figure(imad_folders: dict[str, Path]) -> Any:
    """Each IMAD checkpoint's Stage 2 iterations from its manifest: l and the mean completion length (tokens), and
    the correct share, format reward and (when trained with one) brevity reward of the completions, at the end of
    each iteration."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from models.manifest import Manifest

    fig = make_subplots(rows=1, cols=2, subplot_titles=("length: clip l (dashed), mean (solid)",
                                                         "correct share (solid), format (dotted), brevity (dash-dot)"))
    palette = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
    for (name, folder), colour in zip(imad_folders.items(), palette):
        manifest = Manifest.load(folder)
        iters = manifest.metrics.get("iterations", []) if manifest else []
        x = [i["iteration"] for i in iters]
        fig.add_trace(go.Scatter(x=x, y=[i["clip_tokens"] for i in iters], name=f"{name}: l", mode="lines+markers",
                                 line={"dash": "dash", "color": colour}), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=[i.get("last_completions/mean_length") for i in iters], mode="lines+markers",
                                 name=f"{name}: mean length", line={"color": colour}), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=[i.get("last_rewards/correct_reward/mean") for i in iters], mode="lines+markers",
                                 name=f"{name}: correct share", line={"color": colour}), 1, 2)
        fig.add_trace(go.Scatter(x=x, y=[i.get("last_rewards/format_reward/mean") for i in iters], mode="lines+markers",
                                 name=f"{name}: format reward", line={"dash": "dot", "color": colour}), 1, 2)
        if any("last_rewards/brevity_reward/mean" in i for i in iters):
            fig.add_trace(go.Scatter(x=x, y=[i.get("last_rewards/brevity_reward/mean") for i in iters],
                                     mode="lines+markers", name=f"{name}: brevity reward",
                                     line={"dash": "dashdot", "color": colour}), 1, 2)
    fig.update_xaxes(title_text="GRPO iteration", dtick=1)
    fig.update_yaxes(title_text="tokens", row=1, col=1)
    fig.update_yaxes(title_text="share of completions / reward", range=[0, 1.05], row=1, col=2)
    fig.update_layout(title="Stage 2 iterations per training seed, at the end of each iteration (from the manifests)",
                      height=480)
    return fig


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


def _takeaway(stats: dict) -> str:
    """One sentence: what the internalized model costs and scores against Stage 1 and the explicit debate."""
    sy = stats["systems"]
    imads = [k for k in sy if k.startswith("imad")]
    share = [sy[k]["tokens"]["value"] / sy[k.replace("imad", "sft")]["tokens"]["value"] for k in imads]
    def acc(key: str) -> str:
        return f"{100 * sy[key]['accuracy']['value']:.1f} %"

    return (f"**In one sentence:** over {len(imads)} training seed(s) the internalized model writes "
            f"{100 * min(share):.0f}–{100 * max(share):.0f} % of Stage 1's tokens "
            f"({', '.join(acc(k) for k in imads)} accuracy against "
            f"{', '.join(acc(k.replace('imad', 'sft')) for k in imads)} for Stage 1), and the explicit debate scores "
            f"{acc('debate')} against {acc('single')} for a single answer.")


def _pool(cfg: EvalConfig) -> str:
    if cfg.problems == "heldout":
        return "held-out problems"
    return ("**validation** problems (outside the held-out set and every Stage 1 and Stage 2 prompt; for choosing "
            "settings, not the evaluation)")


def _markdown(stats: dict, cfg: EvalConfig, decoding: str, seconds: float) -> str:
    setup = (f"Decoding: **{decoding}** for every system (one decoding, batch size {cfg.batch_size}, seeds "
             f"{list(cfg.seeds)}). Problems: {len(cfg.seeds)} disjoint samples of {cfg.n} {_pool(cfg)}, one per "
             f"seed; the explicit debate runs on the first {cfg.debate_n} of each. Intervals: 95 % paired bootstrap "
             f"over problems; seed sd: spread of the per-seed value. Command: "
             f"`{command_line('evaluate_internalization')}` ({seconds:.0f} s).")
    debate = ("The explicit debate's answer is the majority vote of its last round (no answer there: wrong). The "
              "round-1 row scores the same debates' round-1 vote with round-1 tokens only: the difference is what "
              "the revision round adds or destroys.")
    lines = [line for c in stats["criteria"].values() for line in (c["line"], "")]
    lines += [_takeaway(stats), ""]
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
        lines.append(f"| {short(c['a'])} − {short(c['b'])} | {c['n']} | {_pct(c['accuracy_difference'])} "
                     f"| {m['p_value']:.3g} ({m['only_a']} / {m['only_b']}) | {_pct(c['token_difference'], 1.0, 0)} "
                     f"| {100 * c['seed_accuracy_difference']['sd']:.1f} |")
    per_seed = "; ".join(f"{k}: " + " | ".join(", ".join(r["seed_verdicts"]) for r in c["runs"])
                         for k, c in stats["criteria"].items())
    lines += ["", *_consensus_markdown(stats["consensus"])]
    lines += ["", "Per-sample verdicts, one group per training seed (a problem sample deciding against the pooled "
              f"verdict makes that training seed inconclusive): {per_seed}.",
              "", debate, "", "Figures: [figures/accuracy_tokens.html](figures/accuracy_tokens.html) (accuracy and "
              "tokens per system), [figures/grpo_iterations.html](figures/grpo_iterations.html) (each IMAD "
              "checkpoint's Stage 2 iterations: l, mean completion length and rewards, from its manifest).", ""]
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

    systems = cfg.systems()
    by_seed: dict[str, list[Any]] = {k: [] for k in systems}
    rows: list[dict[str, Any]] = []
    for seed, problems in zip(cfg.seeds, samples):
        match = Decoding(cfg.temperature, cfg.top_p, seed)  # one decoding for every system of this sample
        for key, (which, system) in systems.items():
            chosen = problems[:cfg.debate_n] if system == "debate" else problems
            score = evaluate(models[which], system, [present(p.question, question_format) for p in chosen],
                             [str(p.answer) for p in chosen], max_new_tokens=cfg.max_new_tokens,
                             batch_size=cfg.batch_size, progress=cfg.progress,
                             debate_max_new_tokens=cfg.debate_max_new_tokens, decoding=match)
            by_seed[key].append(replace(score, system=key))
            rows += [{"system": label(key), "key": key, "seed": seed, **r} for r in score.rows]
    return by_seed, rows


def _splits(folders: dict[str, Path], samples: list[list[Any]], cfg: EvalConfig, heldout: dict[str, Any],
            trained: list[str]) -> dict[str, Any]:
    """The evaluation problems against the held-out set every stage of every checkpoint excluded (rebuilt
    from their manifests); a problem any stage could have trained on stops the run (`LeakError`).

    Validation problems are checked the other way round: against the held-out problems themselves and against
    every Stage 1 and Stage 2 question of the checkpoints (`trained`)."""
    from models.debate.splits import Use, check_disjoint, heldout_problems, split_manifest, validation_record
    from models.train.lineage import checkpoint_uses

    if cfg.problems == "validation":
        held = heldout_problems(heldout["tier"], heldout["heldout"], heldout["heldout_seed"])
        return validation_record({f"validation problems (seed {s})": [p.question for p in sample]
                                  for s, sample in zip(cfg.seeds, samples)}, [p.question for p in held], trained)
    evaluation = [Use(f"evaluation problems (seed {s})", [p.question for p in sample])
                  for s, sample in zip(cfg.seeds, samples)]
    stages = {u.name: u for f in folders.values() for u in checkpoint_uses(f)}  # parents are shared: once each
    manifest = split_manifest(evaluation, list(stages.values()))
    return {**manifest, "checked": check_disjoint(manifest, cfg.allow_unverified)}


def _run(cfg: EvalConfig) -> Path:
    from models import load
    from models.registry import materialize
    from models.train.evaluate import Decoding
    from models.train.lineage import trained_questions

    start = time.time()
    named = [("base", cfg.base), *((run_key("sft", k), v) for k, v in enumerate(cfg.sft)),
             *((run_key("imad", k), v) for k, v in enumerate(cfg.imad))]
    folders = {k: Path(materialize(v)) if not Path(v).exists() else Path(v) for k, v in named}
    trained = trained_questions(*folders.values()) if cfg.problems == "validation" else []
    samples, heldout = _samples([f for k, f in folders.items() if k.startswith("imad")], cfg.n, cfg.seeds,
                                cfg.problems, trained)
    decoding = Decoding(cfg.temperature, cfg.top_p).describe()
    config = {**vars(cfg), **heldout, "folders": folders, "decoding": decoding,
              "criteria": {k: asdict(c) for k, c in cfg.criteria().items()}}
    # config.json (with the criteria) is written on entering the folder, before any generation.
    with run_folder("evaluate_internalization", config, root=cfg.out, seed=cfg.seeds[0]) as run:
        run.json("splits.json", _splits(folders, samples, cfg, heldout, trained))  # and checked, before generation
        models = {k: load(f) for k, f in folders.items()}
        by_seed, rows = _score_all(cfg, models, samples, heldout["question_format"])
        stats = _statistics(by_seed, cfg)
        seconds = time.time() - start
        run.json("metrics.json", {**stats, "decoding": decoding, "seeds": cfg.seeds, "seconds": round(seconds, 1)})
        run.jsonl("rows.jsonl", rows)
        run.text("summary.md", _markdown(stats, cfg, decoding, seconds))
        run.figure(_figure(stats), "accuracy_tokens",
                   "Accuracy (with 95 % CI) against tokens per question for every system: internalization "
                   "succeeds where a model sits left of the explicit debate without dropping below it.")
        run.figure(grpo_figure({cfg.imad[k]: folders[run_key("imad", k)] for k in range(len(cfg.imad))}),
                   "grpo_iterations", "Per GRPO iteration, from the checkpoints' manifests: mean completion length, "
                                      "the length clip and the rewards; length should fall while correctness holds.")
        lines = [c["line"] for c in stats["criteria"].values()]
        passed = sum(c["verdict"] == "confirmed" for c in stats["criteria"].values())
        run.headline("Internalized debate: accuracy and tokens" + (" (VALIDATION problems, not the evaluation)"
                                                                  if cfg.problems == "validation" else ""),
                     f"{passed} of {len(lines)} predeclared internalization criteria confirmed.", lines)
    print(f"results: {run.path}\nreport: {report_path(run)}")
    for c in stats["criteria"].values():
        print(f"  {c['line']}")
    return run.path

if __name__ == "__main__":
    raise SystemExit(run_cli(main, EvalConfig, prog="experiments/evaluate_internalization.py", description=__doc__))
