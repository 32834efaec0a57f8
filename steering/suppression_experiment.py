"""The suppression experiment (paper §4) as one library call: per trait and seed, read each model's trait vector,
steer both arms over the alpha grid with every control and beside each arm's clean reference, validate the judge
on the arms' own generations, and measure capability (GSM8K and held-out arithmetic) under the same steering.

`run` returns the data and writes nothing: the rows (``rows.jsonl``), the capability rows, the metrics
(`steering.suppression_metrics`), the split manifest per trait and the vectors read on the first seed.
`experiments/suppress_malicious.py` writes them into its run folder; a notebook can call `run` the same way.
The split manifest is checked before any generation, so a leak stops the run with `LeakError` before a token.

Two arms per trait, each in every seed, each with its clean reference on the same questions:

* the base with the malicious system line (the trait instilled by prompt, as in the paper), steered with its
  system-prompt vector; clean reference: the same base without the line;
* the debate model (the Stage 2 "distilled" model, or a Stage 1 adapter), steered with the Eq. 3 Agent 2 vector
  of its Stage 1 checkpoint; clean reference: the model trained by the same recipe with a benign Agent 2.

Example:
    >>> from models.train.lineage import checkpoint_uses
    >>> result = run(SuppressConfig(traits=["evil"], seeds=[0], n_questions=4), checkpoint_uses)
    >>> [p["verdict"] for p in result.metrics["points"]]
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from models import HookedModel, load
from models.debate.gsm8k import GSM8KProblem, gold_text, gsm8k_problems
from models.debate.malicious import validation_pairs
from models.debate.splits import check_disjoint
from models.judges import Judge, LLMJudge
from models.judges.classifier import ClassifierJudge, evaluation_judge, evaluation_judge_debates
from models.judges.outcomes import agent_segment, reference_threshold
from models.judges.quality import garbage_texts, quality
from models.judges.validation import BLANKS, kappa_agreement, pair_agreement, validate_on_generations
from models.vocab import TRAIT_SHORT, DebateTrait
from probes.directions import Direction
from steering.capability import arithmetic_accuracy, arithmetic_problems, gold_loglik, gsm8k_accuracy
from steering.suppression import (
    BASE_PERSONA, MALICIOUS_AGENT, Arm, control_directions, label_outcomes, steered_rows, trait_vectors,
)
from steering.suppression_config import SuppressConfig
from steering.suppression_data import CheckpointUses, trait_data, trait_splits
from steering.suppression_metrics import suppression_metrics
from steering.suppression_rule import CLEAN

__all__ = ["SuppressionResult", "judge_record", "judge_validation", "run", "second_opinion"]

Row = dict[str, Any]


@dataclass
class SuppressionResult:
    """What one run produced; the caller writes it (``rows.jsonl``, ``metrics.json``, ``splits_<short>.json``,
    ``vectors/<name>``)."""

    rows: list[Row] = field(default_factory=list)  # every seed, arm, direction and alpha, and the clean references
    capability_rows: list[Row] = field(default_factory=list)  # per trait, arm, measure and alpha: per-problem items
    metrics: dict[str, Any] = field(default_factory=dict)
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)  # trait short name -> split manifest
    vectors: dict[str, Direction] = field(default_factory=dict)  # "<trait>_base", "<trait>_distilled" (first seed)
    judges: dict[str, Any] = field(default_factory=dict)  # trait -> `judge_record` (also in the metrics)
    scales: list[dict[str, Any]] = field(default_factory=list)  # per trait and arm: vector norm (also in the metrics)


def second_opinion(cfg: SuppressConfig, trait: DebateTrait, judge: Judge) -> dict[str, Any] | None:
    """Cohen's kappa of an LLM judge (`--second-opinion`) with `judge` on labelled validation texts."""
    if cfg.second_opinion == "none":
        return None
    pairs = validation_pairs(trait, cfg.n_second_opinion)
    questions = [p.question for p in pairs] * 2
    texts = [p.trait_text for p in pairs] + [p.benign_text for p in pairs]
    llm = LLMJudge(load(cfg.second_opinion, backend="hf"), trait)
    first = [s.score for s in judge.score(questions, texts)]
    second = [s.score for s in llm.score(questions, texts)]
    return {"judge": cfg.second_opinion, **kappa_agreement(first, second).to_json()}


def judge_record(cfg: SuppressConfig, trait: DebateTrait, judge: ClassifierJudge, manifest: Mapping[str, Any]
                 ) -> dict[str, Any]:
    """The evaluation judge's entry in the metrics: its features and training, the disjointness check of the split
    manifest (raises `LeakError` on a leak, before any generation), its pair agreement on synthetic unseen-template
    pairs (kept for comparison: it says nothing about the models' own text) and the second opinion."""
    checked = check_disjoint(manifest, cfg.allow_unverified)
    return {"features": judge.features, "training": judge.metrics, "disjointness": checked,
            "validation": pair_agreement(judge, validation_pairs(trait, cfg.n_validation)).to_json(),
            "second_opinion": second_opinion(cfg, trait, judge), "on_generations": {}}


def judge_validation(cfg: SuppressConfig, judge: Judge, questions: Sequence[str], malicious: Sequence[Row],
                     clean: Sequence[Row], threshold: float, writes_debates: bool) -> dict[str, Any]:
    """The judge on one arm's own generations (unsteered malicious turns vs its clean reference's turns, on
    validation questions), against the predeclared minimums; and whether the outcome filter catches blank and
    garbage text before the judge sees it (blank: silenced; word salad: degenerate)."""
    def segments(rows: Sequence[Row]) -> list[str | None]:
        by_q = {r["question_index"]: agent_segment(r["text"], MALICIOUS_AGENT, writes_debates) for r in rows}
        return [by_q.get(i) for i in range(len(questions))]

    garbage = garbage_texts(max(len(questions), 12), cfg.seeds[0])
    checked = validate_on_generations(judge, questions, segments(malicious), segments(clean), threshold=threshold,
                                      garbage=garbage, seed=cfg.seeds[0])
    failures = checked.failures(cfg.judge_rule)
    caught = sum(quality(g).degenerate for g in garbage) / len(garbage)
    if caught < 0.9:
        failures.append(f"the outcome filter calls only {caught:.0%} of word salad degenerate (< 90 %)")
    if any(agent_segment(b, MALICIOUS_AGENT, writes_debates) is not None for b in BLANKS):
        failures.append("blank text is not read as a silenced agent")
    return {**checked.to_json(cfg.judge_rule), "garbage_caught_as_degenerate": caught, "failures": failures,
            "passes": not failures, "rule": cfg.judge_rule.describe()}


def _steer(cfg: SuppressConfig, arm: Arm, trait: DebateTrait, directions: Mapping[str, Direction],
           questions: Sequence[str], alphas: Sequence[float], judge: Judge, seed: int, full: bool = True) -> list[Row]:
    """`steered_rows` with the run's budgets: a debate's tokens for the debate arm, one answer's for the base."""
    tokens = cfg.max_new_tokens if arm.writes_debates else cfg.answer_tokens
    return steered_rows(arm, trait, directions, questions, alphas, judge, max_new_tokens=tokens, full=full,
                        batch_size=cfg.batch_size, progress=cfg.progress, seed=seed)


def _as_clean(rows: list[Row], arm: str) -> list[Row]:
    """The clean model's unsteered rows, filed under the arm they are the reference of."""
    for r in rows:
        r["arm"], r["direction"] = arm, CLEAN
    return rows


def _capability(cfg: SuppressConfig, trait: DebateTrait, arm: Arm, problems: Sequence[Any],
                gsm8k: Sequence[GSM8KProblem]) -> list[Row]:
    """Under the arm's steering at every alpha, with the arm's own prompt (the base keeps its malicious line):
    held-out arithmetic accuracy, GSM8K exact match and the GSM8K gold solution's mean log-likelihood."""
    out = [{"trait": trait, "arm": arm.name, "measure": "arithmetic", "alpha": c.alpha, "items": list(c.items)}
           for c in arithmetic_accuracy(arm.model, problems, arm.vector, cfg.alphas,
                                        prompt="sft" if arm.writes_debates else "chat",
                                        max_new_tokens=cfg.capability_tokens, batch_size=cfg.batch_size)]
    render = lambda q: arm.render_math(trait, q)  # noqa: E731 -- one prompt for both GSM8K measures
    out += [{"trait": trait, "arm": arm.name, "measure": "gsm8k_loglik", "alpha": r.alpha, "items": list(r.items)}
            for r in gold_loglik(arm.model, gsm8k, arm.vector, cfg.alphas, render, target=gold_text,
                                 batch_size=max(1, cfg.batch_size // 16))]
    if cfg.n_gsm8k_exact:
        out += [{"trait": trait, "arm": arm.name, "measure": "gsm8k_exact", "alpha": r.alpha, "items": list(r.items)}
                for r in gsm8k_accuracy(arm.model, gsm8k[:cfg.n_gsm8k_exact], arm.vector, cfg.alphas, render,
                                        max_new_tokens=cfg.gsm8k_tokens, batch_size=cfg.batch_size,
                                        progress=cfg.progress)]
    return out


def _arms(cfg: SuppressConfig, trait: DebateTrait, base: HookedModel, debate: HookedModel,
          clean: HookedModel | None, vectors: Any) -> list[tuple[Arm, Any, Arm | None]]:
    """(arm, the activations its vector was read from, its clean reference) for both arms."""
    return [(Arm(BASE_PERSONA, base, vectors.base, "persona"), vectors.base_acts,
             Arm("clean reference", base, vectors.base, "plain")),
            (Arm(cfg.debate_arm, debate, vectors.distilled, "sft"), vectors.distilled_acts,
             None if clean is None else Arm("clean reference", clean, vectors.distilled, "sft"))]


def _trait(cfg: SuppressConfig, trait: DebateTrait, base: HookedModel, site: str, problems: Sequence[Any],
           gsm8k: Sequence[GSM8KProblem], checkpoint_uses: CheckpointUses, out: SuppressionResult) -> None:
    """One trait's data check, judge, and every seed's sweeps, added to `out`."""
    judge = evaluation_judge(trait, seed=cfg.seeds[0])
    data = trait_data(cfg, trait)
    manifest = trait_splits(cfg, trait, data, evaluation_judge_debates(trait, seed=cfg.seeds[0]),
                            [p.question for p in problems], checkpoint_uses, gsm8k=[p.question for p in gsm8k])
    out.splits[TRAIT_SHORT[trait]] = manifest
    out.judges[trait] = judge_record(cfg, trait, judge, manifest)
    debate = load(cfg.trait_checkpoint("distilled", trait), backend=cfg.backend)
    sft = load(cfg.trait_checkpoint("sft", trait), backend=cfg.backend)
    clean = None if cfg.clean == "none" else load(cfg.trait_checkpoint("clean", trait), backend=cfg.backend)
    for s in cfg.seeds:
        vectors = trait_vectors(base, sft, trait, data.train_questions[s], site, n_extract=cfg.n_extract, seed=s,
                                progress=cfg.progress, debates=data.debates[s])
        first = s == cfg.seeds[0]
        if first:
            out.vectors[f"{trait}_base"], out.vectors[f"{trait}_distilled"] = vectors.base, vectors.distilled
        for arm, acts, reference in _arms(cfg, trait, base, debate, clean, vectors):
            rows = _steer(cfg, arm, trait, {"agent": arm.vector}, data.questions[s], cfg.alphas, judge, s)
            controls = control_directions(arm.vector, acts, site, cfg.n_random, s)
            rows += _steer(cfg, arm, trait, controls, data.questions[s], cfg.negative_alphas, judge, s, full=False)
            clean_rows = [] if reference is None else _as_clean(
                _steer(cfg, reference, trait, {"agent": arm.vector}, data.questions[s], [0.0], judge, s), arm.name)
            clean_scores = [r["malicious_score"] for r in clean_rows if r["malicious_score"] is not None]
            threshold = reference_threshold(clean_scores) if clean_scores else cfg.threshold
            label_outcomes(rows + clean_rows, threshold)
            out.rows += rows + clean_rows
            if not first:
                continue
            out.scales.append({"trait": trait, "arm": arm.name, "vector_norm": float(arm.vector.vector.norm()),
                               "mean_residual_norm": arm.vector.params.get("mean_residual_norm"),
                               "clean_threshold": threshold, "has_clean_reference": reference is not None})
            if reference is not None:
                val_bad = _steer(cfg, arm, trait, {"agent": arm.vector}, data.validation, [0.0], judge, s, full=False)
                val_clean = _steer(cfg, reference, trait, {"agent": arm.vector}, data.validation, [0.0], judge, s,
                                   full=False)
                out.judges[trait]["on_generations"][arm.name] = judge_validation(
                    cfg, judge, data.validation, val_bad, val_clean, threshold, arm.writes_debates)
            out.capability_rows += _capability(cfg, trait, arm, problems, gsm8k)


def run(cfg: SuppressConfig, checkpoint_uses: CheckpointUses) -> SuppressionResult:
    """Every trait's sweeps and the metrics; `checkpoint_uses` rebuilds what a checkpoint trained on
    (`models.train.lineage.checkpoint_uses`)."""
    started = time.time()
    base = load(cfg.base, backend=cfg.backend)
    layer = cfg.layer if cfg.layer is not None else base.info.n_layers // 2
    site = str(base.site(("resid_post", layer)))
    problems = arithmetic_problems(cfg.n_capability)
    gsm8k = gsm8k_problems(cfg.n_gsm8k, seed=cfg.seeds[0])
    out = SuppressionResult()
    for trait in cfg.traits:
        _trait(cfg, trait, base, site, problems, gsm8k, checkpoint_uses, out)
    metrics = suppression_metrics(out.rows, out.capability_rows, out.judges, out.scales, cfg)
    out.metrics = {"site": site, **metrics, "judges": out.judges, "scales": out.scales,
                   "seconds": round(time.time() - started, 1)}
    return out
