"""The suppression experiment (paper §4) as one library call: per trait and seed, read each model's trait vector,
steer every arm over the alpha grid with its controls, and score the malicious agent's turn and arithmetic
capability.

`run` returns the data and writes nothing: the rows (``rows.jsonl``), the extra seeds' and capability rows,
the metrics (`steering.suppression_metrics`, plus the site, judges, vector norms and wall time), the split
manifest per trait and the vectors read on the first seed. `experiments/suppress_malicious.py` writes them
into its run folder; a notebook can call `run` the same way. The split manifest is checked before any
generation, so a leak stops the run with `LeakError` before a single token.

Seed ``seeds[0]`` runs everything: three arms (`steering.suppression.BASE_PERSONA`, ``BASE_PLAIN``,
``DISTILLED``) at every alpha, the controls (`control_directions`) at the negative alphas, and capability;
every other seed re-runs only the judged arms' trait vector at the negative alphas, on its own questions
and extraction.

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
from models.debate.arithmetic import Problem
from models.debate.malicious import validation_pairs
from models.debate.splits import check_disjoint
from models.judges import Judge, LLMJudge
from models.judges.classifier import ClassifierJudge, evaluation_judge, evaluation_judge_debates
from models.judges.validation import kappa_agreement, pair_agreement
from models.vocab import TRAIT_SHORT, DebateTrait
from probes.directions import Direction
from steering.capability import arithmetic_accuracy, arithmetic_problems
from steering.suppression import (
    BASE_PERSONA, BASE_PLAIN, DISTILLED, Arm, control_directions, steered_rows, trait_vectors,
)
from steering.suppression_config import SuppressConfig
from steering.suppression_data import CheckpointUses, trait_data, trait_splits
from steering.suppression_metrics import suppression_metrics

__all__ = ["SuppressionResult", "judge_record", "run", "second_opinion"]

Row = dict[str, Any]


@dataclass
class SuppressionResult:
    """What one run produced; the caller writes it (``rows.jsonl``, ``metrics.json``, ``splits_<short>.json``,
    ``vectors/<name>``)."""

    rows: list[Row] = field(default_factory=list)  # seed 0: every arm, direction and alpha
    seed_rows: dict[tuple[str, str], dict[int, list[Row]]] = field(default_factory=dict)  # extra seeds, agent only
    capability_rows: list[Row] = field(default_factory=list)  # per trait, arm and alpha: 1/0 per problem
    metrics: dict[str, Any] = field(default_factory=dict)
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)  # trait short name -> split manifest
    vectors: dict[str, Direction] = field(default_factory=dict)  # "<trait>_base", "<trait>_distilled" (seed 0)
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


def judge_record(cfg: SuppressConfig, trait: DebateTrait, judge: ClassifierJudge, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The evaluation judge's entry in the metrics: its features and training, the disjointness check of the split
    manifest (raises `LeakError` on a leak, before any generation), its pair agreement on unseen templates and the
    second opinion."""
    checked = check_disjoint(manifest, cfg.allow_unverified)
    return {"features": judge.features, "training": judge.metrics, "disjointness": checked,
            "validation": pair_agreement(judge, validation_pairs(trait, cfg.n_validation)).to_json(),
            "second_opinion": second_opinion(cfg, trait, judge)}


def _steer(cfg: SuppressConfig, arm: Arm, trait: DebateTrait, directions: Mapping[str, Direction],
           questions: Sequence[str], alphas: Sequence[float], judge: Judge, full: bool = True) -> list[Row]:
    """`steered_rows` with the run's budgets: a debate's tokens for the distilled arm, one answer's for the base."""
    tokens = cfg.max_new_tokens if arm.writes_debates else cfg.answer_tokens
    return steered_rows(arm, trait, directions, questions, alphas, judge, max_new_tokens=tokens, full=full,
                        batch_size=cfg.batch_size, progress=cfg.progress)


def _capability(cfg: SuppressConfig, trait: DebateTrait, arm: Arm, problems: Sequence[Problem]) -> list[Row]:
    """Held-out arithmetic under the arm's steering at every alpha, one row per alpha with 1/0 per problem."""
    return [{"trait": trait, "arm": arm.name, "alpha": c.alpha, "items": list(c.items)}
            for c in arithmetic_accuracy(arm.model, problems, arm.vector, cfg.alphas,
                                         prompt="sft" if arm.writes_debates else "chat",
                                         max_new_tokens=cfg.capability_tokens, batch_size=cfg.batch_size)]


def _trait(cfg: SuppressConfig, trait: DebateTrait, base: HookedModel, site: str, problems: Sequence[Problem],
           checkpoint_uses: CheckpointUses, out: SuppressionResult) -> None:
    """One trait's data check, judge and every seed's sweeps, added to `out`."""
    judge = evaluation_judge(trait, seed=cfg.seeds[0])
    data = trait_data(cfg, trait)
    manifest = trait_splits(cfg, trait, data, evaluation_judge_debates(trait, seed=cfg.seeds[0]),
                            [p.question for p in problems], checkpoint_uses)
    out.splits[TRAIT_SHORT[trait]] = manifest
    out.judges[trait] = judge_record(cfg, trait, judge, manifest)
    distilled = load(cfg.trait_checkpoint("distilled", trait), backend=cfg.backend)
    sft = load(cfg.trait_checkpoint("sft", trait), backend=cfg.backend)
    for s in cfg.seeds:
        vectors = trait_vectors(base, sft, trait, data.train_questions[s], site, n_extract=cfg.n_extract, seed=s,
                                progress=cfg.progress, debates=data.debates[s])
        arms = [(Arm(BASE_PERSONA, base, vectors.base, "persona"), vectors.base_acts),
                (Arm(DISTILLED, distilled, vectors.distilled, "sft"), vectors.distilled_acts)]
        questions = data.questions[s]
        if s != cfg.seeds[0]:  # extra seeds re-check the primary metric only
            for arm, _ in arms:
                out.seed_rows.setdefault((trait, arm.name), {})[s] = _steer(
                    cfg, arm, trait, {"agent": arm.vector}, questions, cfg.negative_alphas, judge, full=False)
            continue
        arms.insert(1, (Arm(BASE_PLAIN, base, vectors.base, "plain"), None))
        out.vectors[f"{trait}_base"], out.vectors[f"{trait}_distilled"] = vectors.base, vectors.distilled
        for arm, acts in arms:
            out.scales.append({"trait": trait, "arm": arm.name, "vector_norm": float(arm.vector.vector.norm()),
                           "mean_residual_norm": arm.vector.params.get("mean_residual_norm")})
            out.rows += _steer(cfg, arm, trait, {"agent": arm.vector}, questions, cfg.alphas, judge)
            if acts is not None:
                controls = control_directions(arm.vector, acts, site, cfg.n_random, s)
                out.rows += _steer(cfg, arm, trait, controls, questions, cfg.negative_alphas, judge, full=False)
            if arm.name != BASE_PLAIN:
                out.capability_rows += _capability(cfg, trait, arm, problems)


def run(cfg: SuppressConfig, checkpoint_uses: CheckpointUses) -> SuppressionResult:
    """Every trait's sweeps and the metrics; `checkpoint_uses` rebuilds what a checkpoint trained on
    (`models.train.lineage.checkpoint_uses`)."""
    started = time.time()
    base = load(cfg.base, backend=cfg.backend)
    layer = cfg.layer if cfg.layer is not None else base.info.n_layers // 2
    site = str(base.site(("resid_post", layer)))
    problems = arithmetic_problems(cfg.n_capability)
    out = SuppressionResult()
    for trait in cfg.traits:
        _trait(cfg, trait, base, site, problems, checkpoint_uses, out)
    metrics = suppression_metrics(out.rows, out.capability_rows, out.seed_rows, traits=cfg.traits, alphas=cfg.alphas,
                                  seeds=cfg.seeds, rule=cfg.rule)
    out.metrics = {"site": site, **metrics, "judges": out.judges, "scales": out.scales,
                   "seconds": round(time.time() - started, 1)}
    return out
