"""The agent-style experiment as one call: `run` takes a `StyleConfig` and returns the persona vectors, the
prompts, every generation's row, the gain curves and the metrics, for a script or a notebook to write.

`experiments/agent_style.py` is this with a run folder around it: the config (and its predeclared
criteria) is on file before `run` starts, and the script writes what `run` returns. Nothing here
writes a file, so a notebook can run the same loop and keep the result in memory.

Example:
    >>> result = run(StyleConfig(n_test=4, seeds=(0, 1), max_new_tokens=16))
    >>> result.metrics["verdicts"]["distilled_vs_base/mean"]["verdict"]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from models import load
from models.cli import check_fields, option
from models.debate import read_transcripts
from models.debate.arithmetic import TIERS
from models.debate.prompts import present
from models.debate.splits import heldout_problems, seeded_sample
from models.errors import ConfigError
from models.stats import Criterion
from probes.directions import Direction
from steering.persona_style import (
    ARM_KINDS,
    HELDOUT_POOL,
    TARGETS,
    persona_vectors,
    steering_arms,
    style_prompts,
    style_references,
    style_rows,
)
from steering.prepare import adopt
from steering.style_evidence import (
    MODELS,
    CurvePoint,
    evidence,
    gain_curve,
    score_table,
)
from steering.style_metrics import ROUGE_TYPES

VectorsFn = Callable[..., dict[str, Direction]]  # `persona_vectors`' signature
RowsFn = Callable[..., list[dict[str, Any]]]  # `style_rows`' signature


@dataclass
class StyleConfig:
    """Every field is a flag of ``experiments/agent_style.py`` (``--n-test``, ``--min-gain-difference``, ...)."""

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


@dataclass
class StyleResult:
    """What one run produced: ``vectors[seed][persona]``, ``prompts[str(seed)]`` (question and prompt text), the
    rows of `style_rows`, the gain curves ``curves[model][target]`` and the metrics (curves included)."""

    vectors: dict[int, dict[str, Direction]]
    prompts: dict[str, list[dict[str, str]]]
    rows: list[dict[str, Any]]
    curves: dict[str, dict[str, list[CurvePoint]]]
    metrics: dict[str, Any] = field(repr=False)


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


def degenerate_rates(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Share of outputs flagged degenerate, per model and arm kind."""
    out: dict[str, dict[str, float]] = {}
    for m in MODELS:
        for kind in ARM_KINDS:
            picked = [r["degenerate"] for r in rows if r["model"] == m and r["kind"] == kind]
            out.setdefault(m, {})[kind] = sum(picked) / len(picked) if picked else 0.0
    return out


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with `n` torch threads (None: torch's choice) and give the caller's setting back afterwards."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run(cfg: StyleConfig, *, extract: VectorsFn | None = None, generate: RowsFn | None = None) -> StyleResult:
    """Extract each seed's persona vectors, steer both models with them and their controls, and measure.

    `extract` and `generate` stand in for `persona_vectors` and `style_rows` (same signatures), e.g. to
    record what they are given.
    """
    extract, generate = extract or persona_vectors, generate or style_rows
    start = time.perf_counter()
    with torch_threads(cfg.threads):
        sft = load(cfg.sft, backend=cfg.backend)
        layer = cfg.layer if cfg.layer is not None else sft.info.n_layers // 2
        site = str(sft.site(("resid_post", layer)))
        vectors = {s: extract(sft, site, n_extract=cfg.n_extract, tier=cfg.tier, seed=s, scale=cfg.scale,
                              progress=cfg.progress, debates=debates)
                   for s, debates in extraction_debates(cfg).items()}
        del sft
        samples: dict[int, tuple[list[str], dict[str, list[str]]]] = {}
        for s in cfg.seeds:  # disjoint samples: each seed avoids the questions drawn before it
            taken = [q for questions, _ in samples.values() for q in questions]
            samples[s] = style_references(cfg.tier, cfg.n_test, s, cfg.question_format, exclude=taken)
        base = load(cfg.base, backend=cfg.backend)
        # One rendering, made once and given to both models: the comparison is then between the models alone.
        prompts = {s: style_prompts(base, samples[s][0], cfg.prompt) for s in cfg.seeds}
        rows: list[dict[str, Any]] = []
        generation_s = 0.0
        for name in MODELS:
            model = base if name == "base" else load(cfg.distilled, backend=cfg.backend)
            for s in cfg.seeds:
                # The same vectors steer both models, as in the paper (their tokenizers differ by the debate tags).
                arms = steering_arms({p: adopt(v, model) for p, v in vectors[s].items()}, cfg.n_random, seed=s)
                t0 = time.perf_counter()
                rows += generate(name, model, prompts[s], arms, samples[s][1], alphas=cfg.alphas, seed=s,
                                 max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size, progress=cfg.progress)
                generation_s += time.perf_counter() - t0
            del model
        del base
        table = score_table(rows, cfg.metric, cfg.alphas)
        ev = evidence(table, cfg.criteria(), TARGETS)
        curves = {m: {t: gain_curve(table, m, t) for t in TARGETS} for m in MODELS}
    info = {"site": site, "n_rows": len(table.keys), "n_generations": len(rows), "generation_s": generation_s,
            "example_prompt": prompts[cfg.seeds[0]][0], "degenerate": degenerate_rates(rows),
            "wall_s": time.perf_counter() - start}
    metrics = {**info, "metric": cfg.metric, "alphas": sorted(cfg.alphas), "rouge_types_scored": ROUGE_TYPES, **ev,
               "curves": curves}
    record = {str(s): [{"question": q, "prompt": p} for q, p in zip(samples[s][0], prompts[s])] for s in cfg.seeds}
    return StyleResult(vectors, record, rows, curves, metrics)
