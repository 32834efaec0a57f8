"""Rows in, metrics out: everything the suppression run's ``metrics.json`` says that follows from its rows.

`suppression_metrics` turns the steered rows (every seed, arm, direction and alpha, and each arm's clean
reference), the capability rows and the judge validations into plain JSON-able dicts: per setting the
malicious-agent score (BCa CI, over the rows where the agent spoke and was scored) and the share of each
outcome; per arm the verdict of the predeclared rule (`steering.suppression_rule`); capability per
measure with its floor check; and the base-vs-debate-model comparison at matched suppression
(`steering.matched_cost`). The summary (`steering.suppression_report`) reads only this dict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from models.stats import bootstrap_mean, bootstrap_paired_difference
from steering.capability import capability_measurable
from steering.matched_cost import compare_at_matched_suppression
from steering.suppression_rule import AGENT, CLEAN, decide_arm, mean_score, outcome_shares

__all__ = ["CAPABILITY_MEASURES", "capability_lines", "setting_lines", "suppression_metrics"]

Row = Mapping[str, Any]
# measure -> (what it is, the floor below which its cost is not measurable)
CAPABILITY_MEASURES = {"gsm8k_loglik": "GSM8K gold solution, mean log-likelihood per token",
                       "gsm8k_exact": "GSM8K exact-match accuracy", "arithmetic": "held-out arithmetic accuracy"}
ACCURACIES = ("gsm8k_exact", "arithmetic")


def _group(rows: Sequence[Row], *keys: str) -> dict[tuple[Any, ...], list[Row]]:
    out: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in keys)].append(r)
    return dict(out)


def setting_lines(rows: Sequence[Row], interval: str = "bca") -> list[dict[str, Any]]:
    """One line per (trait, arm, seed, direction, alpha): the score with its CI (None when nothing was scored) and
    every outcome's share."""
    lines = []
    for (trait, arm, seed, direction, alpha), items in sorted(
            _group(rows, "trait", "arm", "seed", "direction", "alpha").items(), key=lambda kv: tuple(map(str, kv[0]))):
        score = mean_score(items, seed=int(seed), interval=interval)
        shares = outcome_shares(items)
        lines.append({"trait": trait, "arm": arm, "seed": seed, "direction": direction, "alpha": float(alpha),
                      "n": len(items), "malicious": None if score is None else score.to_json(), "shares": shares,
                      "present_rate": float(np.mean([bool(r["present"]) for r in items])),
                      "degenerate_rate": shares["degenerate"]})
    return lines


def capability_lines(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Per (trait, arm, measure, alpha): the mean with its CI; for the accuracies, whether the unsteered arm is
    above the floor (else its cost is "not measurable", never 0 [0, 0]); and the paired change from alpha 0."""
    out = []
    for (trait, arm, measure), items in _group(rows, "trait", "arm", "measure").items():
        by_alpha = {float(r["alpha"]): np.asarray(r["items"], float) for r in items}
        measurable = (capability_measurable(by_alpha[0.0]) if measure in ACCURACIES and 0.0 in by_alpha else None)
        for alpha, values in sorted(by_alpha.items()):
            change = (bootstrap_paired_difference(values, by_alpha[0.0]).to_json()
                      if alpha != 0.0 and 0.0 in by_alpha and (measurable is None or measurable) else None)
            out.append({"trait": trait, "arm": arm, "measure": measure, "alpha": alpha,
                        "estimate": bootstrap_mean(values).to_json(), "change": change,
                        "measurable": None if measurable is None else bool(measurable),
                        "why_not": None if measurable is None or measurable else measurable.reason})
    return out


def _matched_inputs(rows: Sequence[Row], capability: Sequence[Row], point: Mapping[str, Any], trait: str, arm: str,
                    seed: int, measure: str) -> dict[str, Any]:
    mine = [r for r in rows if r["trait"] == trait and r["arm"] == arm and r["seed"] == seed]
    scores = {}
    for (alpha,), items in _group([r for r in mine if r["direction"] == AGENT], "alpha").items():
        est = mean_score(items, seed=seed)
        scores[float(alpha)] = None if est is None else est.value
    clean = mean_score([r for r in mine if r["direction"] == CLEAN], seed=seed)
    items = {float(r["alpha"]): np.asarray(r["items"], float) for r in capability
             if r["trait"] == trait and r["arm"] == arm and r["measure"] == measure}
    ok = not point["reason"].startswith(("nothing to suppress", "the judge failed", "no clean reference"))
    return {"scores": scores, "clean": None if clean is None else clean.value, "items": items, "ok": ok,
            "why": point["reason"]}


def suppression_metrics(rows: Sequence[Row], capability_rows: Sequence[Row], judges: Mapping[str, Any],
                        scales: Sequence[Mapping[str, Any]], cfg: Any) -> dict[str, Any]:
    """``rule``, ``judge_rule``, ``settings``, ``points`` (per trait and arm, the rule's verdict with every check),
    ``capability`` and ``comparisons`` (per trait and capability measure, at matched suppression)."""
    rule = cfg.rule
    points, comparisons = [], []
    for trait in cfg.traits:
        arms = [s["arm"] for s in scales if s["trait"] == trait]
        by_arm = {}
        for arm in arms:
            validation = judges[trait]["on_generations"].get(arm)
            point = decide_arm([r for r in rows if r["trait"] == trait and r["arm"] == arm], rule, seeds=cfg.seeds,
                               judge_passes=validation is None or validation["passes"],
                               judge_reason="; ".join(validation["failures"]) if validation else "")
            points.append({"trait": trait, "arm": arm, "criterion": rule.criterion(trait, arm).describe(), **point})
            by_arm[arm] = point
        if len(arms) == 2:
            debate, base = arms[1], arms[0]
            for measure in CAPABILITY_MEASURES:
                if not any(r["measure"] == measure and r["trait"] == trait for r in capability_rows):
                    continue
                inputs = {a: _matched_inputs(rows, capability_rows, by_arm[a], trait, a, cfg.seeds[0], measure)
                          for a in arms}
                for a in arms if measure in ACCURACIES else ():  # an accuracy at its floor has no cost to compare
                    floor = capability_measurable(inputs[a]["items"][0.0])
                    if not floor:
                        inputs[a] |= {"ok": False, "why": floor.reason}
                comparisons.append({"trait": trait, "measure": measure, "primary": measure == "gsm8k_loglik",
                                    "claim": f"the {debate} model keeps more capability ({CAPABILITY_MEASURES[measure]})"
                                             f" than the {base} at matched suppression",
                                    **compare_at_matched_suppression(inputs, debate, base, target=cfg.target_fraction,
                                                                     seed=cfg.seeds[0], measure=measure)})
    return {"rule": asdict(rule), "judge_rule": cfg.judge_rule.to_json(), "settings": setting_lines(rows),
            "points": points, "capability": capability_lines(capability_rows), "comparisons": comparisons}
