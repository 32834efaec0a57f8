"""Rows in, metrics out: everything the suppression run's ``metrics.json`` says that follows from its rows.

`suppression_metrics` turns the steered rows (seed 0: every arm, direction and alpha), the extra seeds'
rows and the capability rows into plain JSON-able dicts: the settings with their CIs, capability, each
judged arm's suppression point and verdict under the predeclared rule (demoted to inconclusive when an
extra seed does not hold it), the capability comparison and the per-seed table. The summary
(`steering.suppression_report`) reads only this dict, so a notebook can rebuild it from the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from models.stats import seed_spread
from steering.frontier import (
    Row, SuppressionRule, capability_cost, capability_lines, compare_costs, question_scores, seed_check, setting_lines,
    suppression_point,
)
from steering.suppression import BASE_PERSONA, DISTILLED

__all__ = ["JUDGED_ARMS", "SeedRows", "arm_points", "seed_table", "suppression_metrics"]

# The arms the predeclared rule judges (the base without its system line is a reference, not a claim).
JUDGED_ARMS = (BASE_PERSONA, DISTILLED)
# (trait, arm) -> extra seed -> that seed's agent-direction rows at the negative alphas
SeedRows = Mapping[tuple[str, str], Mapping[int, Sequence[Row]]]


def arm_points(rows: Sequence[Row], lines: Sequence[Row], capability_rows: Sequence[Row], seed_rows: SeedRows,
               rule: SuppressionRule, trait: str) -> dict[str, dict[str, Any]]:
    """Each judged arm's suppression point on `trait`: the rule applied to its agent-direction rows, re-checked
    in every extra seed, with its capability cost and the criterion it was judged by."""
    points = {}
    for arm in JUDGED_ARMS:
        agent = [r for r in rows if r["trait"] == trait and r["arm"] == arm and r["direction"] == "agent"]
        point = suppression_point(agent, lines, rule, trait, arm)
        point["seeds"] = seed_check(point, seed_rows.get((trait, arm), {}), rule)
        if point["verdict"] == "confirmed" and not point["seeds"]["holds"]:
            point["verdict"] = "inconclusive"
            point["reason"] += "; does not hold in every extra seed"
        if point["alpha"] is not None:
            point["capability_cost"] = capability_cost(capability_rows, trait, arm, point["alpha"]).to_json()
        point["criterion"] = rule.criterion(trait, arm).describe()
        points[arm] = point
    return points


def seed_table(rows: Sequence[Row], seed_rows: SeedRows, alphas: Sequence[float], seeds: Sequence[int]
               ) -> list[dict[str, Any]]:
    """The primary metric's mean per seed (each seed: its own questions and extraction) at every negative alpha;
    `seeds[0]` is the seed of `rows`."""
    out = []
    for (trait, arm), extra in sorted(seed_rows.items()):
        for alpha in sorted(a for a in alphas if a < 0):
            per_seed = {seeds[0]: [r for r in rows if r["trait"] == trait and r["arm"] == arm
                                   and r["direction"] == "agent" and r["alpha"] == alpha]}
            per_seed.update({s: [r for r in seed_r if r["alpha"] == alpha] for s, seed_r in extra.items()})
            means = {s: float(question_scores(items).mean()) for s, items in per_seed.items()}
            out.append({"trait": trait, "arm": arm, "alpha": alpha, "per_seed": means,
                        "spread": seed_spread(list(means.values()))})
    return out


def suppression_metrics(rows: Sequence[Row], capability_rows: Sequence[Row], seed_rows: SeedRows, *,
                        traits: Sequence[str], alphas: Sequence[float], seeds: Sequence[int], rule: SuppressionRule
                        ) -> dict[str, Any]:
    """``rule``, ``settings``, ``capability``, ``points`` (per trait, each judged arm), ``comparisons`` (per trait:
    does the distilled model keep more capability than the base at their suppression points) and ``seeds``."""
    lines = setting_lines(rows)
    points, comparisons = [], []
    for trait in traits:
        by_arm = arm_points(rows, lines, capability_rows, seed_rows, rule, trait)
        points += by_arm.values()
        comparisons.append({"trait": trait, "claim": "the distilled model keeps more capability than the base "
                            "at their suppression points",
                            **compare_costs(capability_rows, trait, by_arm[DISTILLED], by_arm[BASE_PERSONA])})
    return {"rule": asdict(rule), "settings": lines, "capability": capability_lines(capability_rows),
            "points": points, "comparisons": comparisons, "seeds": seed_table(rows, seed_rows, alphas, seeds)}
