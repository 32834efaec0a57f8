"""Debate vs internalized debate on held-out arithmetic, as library calls (paper Table 1).

`prepare` fixes what a run evaluates before any generation (the checkpoints, one disjoint problem sample
per seed, the criteria); `score` runs every system on every sample, decoded alike, and returns the
metrics and rows. Criteria are decided per training seed: pooled CI first, then one sample's own CI
deciding the other way makes it inconclusive (`decide`), and a criterion holds over training seeds only
when every one of them agrees (`across_runs`). The run-folder writing stays with the caller, so
``experiments/evaluate_internalization.py`` and a notebook run the same evaluation.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from models.cli import check_fields, option
from models.errors import ConfigError
from models.stats import Criterion, Estimate, Verdict, seed_spread, verdict_line

if TYPE_CHECKING:  # the scoring library loads the debate runner; the config stays light
    from models.train.evaluate import System, SystemScore

LABELS = {"single": "base · single answer", "debate": "base · explicit debate (3 agents × 2 rounds, vote)",
          "sft": "Stage 1 (SFT)", "imad": "internalized (IMAD)",
          "debate_round1": "base · the same debates stopped after round 1 (vote)"}
SHORT = {"single": "single", "debate": "explicit debate", "sft": "SFT", "imad": "IMAD"}


def run_key(stage: str, k: int) -> str:
    """The system key of training run k (0-based) of `stage` (``sft`` / ``imad``): ``imad``, ``imad_2``, ..."""
    return stage if k == 0 else f"{stage}_{k + 1}"


def stage_of(key: str) -> str:
    """``sft`` / ``imad`` for any training run's key, else the key itself (``single``, ``debate``, ...)."""
    return key.split("_")[0] if key.startswith(("sft", "imad")) else key


def _run_number(key: str) -> str | None:
    """The training run number of a later run's key (``imad_2`` -> ``2``); None for the first run and the base."""
    return key.rpartition("_")[2] if key.startswith(("sft_", "imad_")) else None


def label(key: str) -> str:
    """The table's name of a system key: ``internalized (IMAD), training seed run 2``."""
    n = _run_number(key)
    return LABELS[stage_of(key)] + (f", training seed run {n}" if n else "")


def short(key: str) -> str:
    """The comparison table's short name of a system key: ``IMAD 2``."""
    n = _run_number(key)
    return SHORT[stage_of(key)] + (f" {n}" if n else "")


@dataclass
class EvalConfig:
    """Every field is a flag of ``experiments/evaluate_internalization.py`` (``--n``, ``--max-new-tokens``, ...)."""

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


def draw_samples(imad_folders: list[Path], n: int, seeds: tuple[int, ...], problems: str = "heldout",
                 trained: list[str] = ()) -> tuple[list[list[Any]], dict[str, Any]]:
    """Disjoint samples of `n` problems per seed, drawn in seed order: from the held-out set of the IMAD manifests
    (which every training seed must share), or from the validation problems outside it and outside `trained`.
    Also returns that held-out set's record (tier, size, seed, question format)."""
    from models.debate.splits import heldout_problems, validation_problems
    from models.manifest import Manifest

    def held_out(folder: Path) -> dict[str, Any]:
        manifest = Manifest.load(folder)
        cfg = manifest.config if manifest else {}
        return {"tier": cfg.get("tier", "easy"), "heldout": cfg.get("heldout", 500),
                "heldout_seed": cfg.get("heldout_seed", 0), "question_format": cfg.get("question_format", "spaced")}

    sets = [held_out(f) for f in imad_folders]
    if any(x != sets[0] for x in sets):
        raise ConfigError(f"the --imad checkpoints hold out different problems ({sets}); train every seed with the "
                          "same --tier, --heldout and --heldout-seed")
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


def decide(criterion: Criterion, pooled: Estimate, per_seed: list[Estimate]) -> tuple[Verdict, list[Verdict]]:
    """The pooled CI's verdict, unless one seed's own CI decides the opposite way (then inconclusive)."""
    seeds = [criterion.decide(e) for e in per_seed]
    outcome = criterion.decide(pooled)
    opposite = {"confirmed": "refuted", "refuted": "confirmed"}.get(outcome)
    return ("inconclusive" if opposite in seeds else outcome), seeds


def across_runs(verdicts: list[Verdict]) -> Verdict:
    """One verdict over training seeds: confirmed (refuted) only when every training seed confirms (refutes)."""
    return verdicts[0] if len(set(verdicts)) == 1 else "inconclusive"


def criterion_line(entry: Mapping[str, Any]) -> str:
    """The verdict line of one decided criterion of ``metrics["criteria"]`` (its json form): one estimate, or one
    per training seed."""
    criterion = Criterion(entry["claim_text"], entry["metric"], entry["claim"], entry["threshold"])
    estimates = [Estimate(**r["estimate"]) for r in entry["runs"]]
    if len(estimates) == 1:
        return verdict_line(criterion, estimates[0], entry["verdict"])
    values = "; ".join(str(e) for e in estimates)
    return (f"{entry['verdict'].upper()}: {criterion.claim_text} -- {criterion.metric}, per training seed: {values} "
            f"(criterion: {criterion.describe()}, decided for every training seed)")


def estimators(k: int) -> dict[str, Callable[[Mapping[str, SystemScore]], Estimate]]:
    """Criterion name -> function of a {system: score} mapping giving training run k's estimate."""
    from models.train.evaluate import align, compare, token_ratio

    imad, sft = run_key("imad", k), run_key("sft", k)
    return {"imad_vs_sft": lambda s: compare(*align(s[imad], s[sft])).accuracy_difference,
            "tokens": lambda s: token_ratio(*align(s[imad], s[sft])),
            "tokens_half": lambda s: token_ratio(*align(s[imad], s[sft])),
            "imad_vs_debate": lambda s: compare(*align(s[imad], s["debate"])).accuracy_difference,
            "tokens_vs_debate": lambda s: token_ratio(*align(s[imad], s["debate"])),
            "debate_vs_single": lambda s: compare(*align(s["debate"], s["single"])).accuracy_difference}


def statistics(by_seed: Mapping[str, list[SystemScore]], cfg: EvalConfig) -> dict[str, Any]:
    """Every number of the table with its CI and seed spread, the paired tests and the decided criteria, from each
    system's scores (one per seed, in `cfg.seeds` order)."""
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
    for name, criterion in cfg.criteria().items():
        shared = name == "debate_vs_single"  # the same for every training seed: decided once
        per_run = []
        for k in range(1 if shared else len(cfg.imad)):
            estimate = estimators(k)[name]
            est = estimate(pooled)
            decided, verdicts = decide(criterion, est, [estimate({x: v[i] for x, v in by_seed.items()}) for i in seeds])
            per_run.append({"run": k + 1, "estimate": est.to_json(), "verdict": decided, "seed_verdicts": verdicts})
        entry = {**asdict(criterion), "estimate": per_run[0]["estimate"],
                 "verdict": across_runs([r["verdict"] for r in per_run]), "runs": per_run}
        criteria[name] = {**entry, "line": criterion_line(entry)}
    return {"systems": systems, "comparisons": comparisons, "criteria": criteria, "consensus": consensus(pooled)}


def consensus(pooled: Mapping[str, SystemScore]) -> dict[str, Any]:
    """Per transcript system: does its consensus line copy the last agent or follow the agents' vote, and what the
    vote taken by code would score (a diagnostic reading of the same outputs, not a system of the table)."""
    from models.train.evaluate import accuracy_estimate, agents_vote_score, compare, consensus_agreement

    out = {}
    for key, score in pooled.items():
        if stage_of(key) not in ("sft", "imad"):
            continue
        vote = agents_vote_score(score)
        out[key] = {"system": label(key), **consensus_agreement(score),
                    "vote_accuracy": accuracy_estimate(vote).to_json(),
                    "vote_minus_consensus": compare(vote, score).to_json()}
    return out


@dataclass(frozen=True)
class Evaluation:
    """What a run evaluates, fixed before any generation: the checkpoint folders by key (``base``, ``sft``,
    ``imad_2``, ...), one problem sample per seed, the held-out set they were drawn against, and (for validation
    problems) every Stage 1 and Stage 2 question of the checkpoints."""

    cfg: EvalConfig
    folders: dict[str, Path]
    samples: list[list[Any]]
    heldout: dict[str, Any]
    trained: list[str]

    @property
    def decoding(self) -> str:
        from models.train.evaluate import Decoding

        return Decoding(self.cfg.temperature, self.cfg.top_p).describe()

    @property
    def imad_folders(self) -> dict[str, Path]:
        """Each IMAD checkpoint as named on the command line -> its folder."""
        return {name: self.folders[run_key("imad", k)] for k, name in enumerate(self.cfg.imad)}

    def config(self) -> dict[str, Any]:
        """The run's config.json: the flags, the held-out set, the folders, the decoding and the criteria."""
        return {**vars(self.cfg), **self.heldout, "folders": self.folders, "decoding": self.decoding,
                "criteria": {k: asdict(c) for k, c in self.cfg.criteria().items()}}

    def splits(self) -> dict[str, Any]:
        """The evaluation problems against the held-out set every stage of every checkpoint excluded (rebuilt
        from their manifests); a problem any stage could have trained on stops the run (`LeakError`).

        Validation problems are checked the other way round: against the held-out problems themselves and
        against every Stage 1 and Stage 2 question of the checkpoints (`trained`)."""
        from models.debate.splits import Use, check_disjoint, heldout_problems, split_manifest, validation_record
        from models.train.lineage import checkpoint_uses

        cfg, held = self.cfg, self.heldout
        if cfg.problems == "validation":
            problems = heldout_problems(held["tier"], held["heldout"], held["heldout_seed"])
            return validation_record({f"validation problems (seed {s})": [p.question for p in sample]
                                      for s, sample in zip(cfg.seeds, self.samples)},
                                     [p.question for p in problems], self.trained)
        evaluation = [Use(f"evaluation problems (seed {s})", [p.question for p in sample])
                      for s, sample in zip(cfg.seeds, self.samples)]
        stages = {u.name: u for f in self.folders.values() for u in checkpoint_uses(f)}  # parents are shared: once
        manifest = split_manifest(evaluation, list(stages.values()))
        return {**manifest, "checked": check_disjoint(manifest, cfg.allow_unverified)}


def prepare(cfg: EvalConfig) -> Evaluation:
    """Materialize the checkpoints and draw the problem samples (a ConfigError here leaves nothing behind)."""
    from models.registry import materialize
    from models.train.lineage import trained_questions

    named = [("base", cfg.base), *((run_key("sft", k), v) for k, v in enumerate(cfg.sft)),
             *((run_key("imad", k), v) for k, v in enumerate(cfg.imad))]
    folders = {k: Path(materialize(v)) if not Path(v).exists() else Path(v) for k, v in named}
    trained = trained_questions(*folders.values()) if cfg.problems == "validation" else []
    samples, heldout = draw_samples([f for k, f in folders.items() if k.startswith("imad")], cfg.n, cfg.seeds,
                                    cfg.problems, trained)
    return Evaluation(cfg, folders, samples, heldout, trained)


def score_all(plan: Evaluation, loaded: Mapping[str, Any]) -> tuple[dict[str, list[SystemScore]], list[dict]]:
    """Every system on every seed's sample, decoded alike; scores per system (one per seed) and all rows."""
    import models.train.evaluate as scoring  # called through the module: tests substitute `evaluate`
    from models.debate.prompts import present

    cfg, systems = plan.cfg, plan.cfg.systems()
    by_seed: dict[str, list[SystemScore]] = {k: [] for k in systems}
    rows: list[dict[str, Any]] = []
    for seed, problems in zip(cfg.seeds, plan.samples):
        match = scoring.Decoding(cfg.temperature, cfg.top_p, seed)  # one decoding for every system of this sample
        for key, (which, system) in systems.items():
            chosen = problems[:cfg.debate_n] if system == "debate" else problems
            score = scoring.evaluate(loaded[which], system,
                                     [present(p.question, plan.heldout["question_format"]) for p in chosen],
                                     [str(p.answer) for p in chosen], max_new_tokens=cfg.max_new_tokens,
                                     batch_size=cfg.batch_size, progress=cfg.progress,
                                     debate_max_new_tokens=cfg.debate_max_new_tokens, decoding=match)
            by_seed[key].append(replace(score, system=key))
            rows += [{"system": label(key), "key": key, "seed": seed, **r} for r in score.rows]
    return by_seed, rows


def score(plan: Evaluation) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Load the checkpoints, score every system and decide the criteria: (metrics, rows). The metrics are
    metrics.json without its wall time."""
    from models import load

    loaded = {k: load(f) for k, f in plan.folders.items()}
    by_seed, rows = score_all(plan, loaded)
    return {**statistics(by_seed, plan.cfg), "decoding": plan.decoding, "seeds": plan.cfg.seeds}, rows
