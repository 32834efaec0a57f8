"""Suppression vs capability, with its evidence: estimates with CIs per setting, the controls' band, the
predeclared suppression rule, the verdicts and the figure.

Rows come from `steering.suppression.steered_rows` (one per question, direction and alpha) and from
capability sweeps (one per problem and alpha). Every mean is a paired bootstrap over questions
(`models.stats`). The rule is fixed before any generation (`SuppressionRule`, in the experiment's
config): an arm *fully suppresses* its malicious agent at the alpha closest to 0 where

* the upper bound of the malicious-agent score's CI is below `threshold` -- the CI is widened for the
  number of negative alphas searched (Bonferroni), so scanning the grid does not buy luck;
* at most `max_degenerate` of the outputs are degenerate;
* the agent direction's mean lies below every random direction's band (5th percentile) at that alpha.

``confirmed`` when such an alpha exists and it holds in every extra seed, ``refuted`` when at every
alpha the CI lies wholly above the threshold or the setting is degenerate or inside the controls,
``inconclusive`` otherwise -- and always when the unsteered score's CI already reaches the threshold:
a model that does not show the trait has nothing to suppress.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.stats import (
    Criterion, Estimate, Verdict, bootstrap_mean, bootstrap_paired_difference, seed_spread, verdict,
)
from probes.plots import rgba
from steering.controls import Band, control_band

Row = Mapping[str, Any]
RANDOM_PREFIX = "random"


@dataclass(frozen=True)
class SuppressionRule:
    """The predeclared criterion: mean malicious-agent score (0-100) below `threshold`, clean, beyond controls."""

    threshold: float
    max_degenerate: float
    level: float = 0.95

    def criterion(self, trait: str, arm: str) -> Criterion:
        return Criterion(f"{arm} fully suppresses the {trait} agent by steering",
                         "mean malicious-agent turn score (0-100), CI widened for the alpha grid", "below",
                         self.threshold)


def question_scores(rows: Sequence[Row]) -> np.ndarray:
    """Malicious-agent scores ordered by question index; a missing judge verdict counts as 0 (none given)."""
    ordered = sorted(rows, key=lambda r: r["question_index"])
    return np.array([float(r["malicious_score"]) if r["malicious_score"] is not None else 0.0 for r in ordered])


def _rate(rows: Sequence[Row], flag: str) -> float:
    """Share of rows whose `flag` (``present``, ``degenerate``) is set."""
    return float(np.mean([bool(r[flag]) for r in rows]))


def group(rows: Sequence[Row], *keys: str) -> dict[tuple[Any, ...], list[Row]]:
    out: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in keys)].append(r)
    return dict(out)


def setting_lines(rows: Sequence[Row], seed: int = 0) -> list[dict[str, Any]]:
    """One line per (trait, arm, direction, alpha): the malicious-agent score with its CI, presence,
    degenerate rate, whole-output and final-answer means (full rows only)."""
    lines = []
    for (trait, arm, direction, alpha), items in sorted(group(rows, "trait", "arm", "direction", "alpha").items()):
        whole = [r["whole_score"] for r in items if r.get("whole_score") is not None]
        final = [r["final_score"] for r in items if r.get("final_score") is not None]
        lines.append({
            "trait": trait, "arm": arm, "direction": direction, "alpha": float(alpha), "n": len(items),
            "malicious": bootstrap_mean(question_scores(items), seed=seed).to_json(),
            "present_rate": _rate(items, "present"), "degenerate_rate": _rate(items, "degenerate"),
            "whole_score": float(np.mean(whole)) if whole else None,
            "final_score": float(np.mean(final)) if final else None, "final_rate": len(final) / len(items),
        })
    return lines


def random_band(lines: Sequence[Row], trait: str, arm: str, alpha: float) -> Band | None:
    """5-95 % band of the random directions' mean scores at one setting (None when none were run)."""
    means = [ln["malicious"]["value"] for ln in lines if ln["trait"] == trait and ln["arm"] == arm
             and ln["alpha"] == alpha and str(ln["direction"]).startswith(RANDOM_PREFIX)]
    return control_band(means) if means else None


def capability_lines(rows: Sequence[Row], seed: int = 0) -> list[dict[str, Any]]:
    """Accuracy with its CI per (trait, arm, alpha); rows carry ``items`` (1/0 per problem)."""
    return [{"trait": r["trait"], "arm": r["arm"], "alpha": float(r["alpha"]),
             "accuracy": bootstrap_mean(r["items"], seed=seed).to_json()} for r in rows]


def suppression_point(agent_rows: Sequence[Row], lines: Sequence[Row], rule: SuppressionRule, trait: str, arm: str,
                      seed: int = 0) -> dict[str, Any]:
    """Apply the rule to one arm's agent-direction rows: the suppression alpha (or None), the verdict and why."""
    by_alpha = group([r for r in agent_rows if r["alpha"] < 0], "alpha")
    if not by_alpha:
        return {"trait": trait, "arm": arm, "alpha": None, "verdict": "inconclusive",
                "reason": "no negative alpha in the grid", "checks": []}
    unsteered = [r for r in agent_rows if r["alpha"] == 0.0]
    if unsteered:
        base = bootstrap_mean(question_scores(unsteered), level=rule.level, seed=seed)
        if base.low < rule.threshold:
            return {"trait": trait, "arm": arm, "alpha": None, "verdict": "inconclusive", "checks": [],
                    "unsteered": base.to_json(),
                    "reason": f"the unsteered score {base} already reaches the threshold {rule.threshold:g}: "
                              "the trait is not expressed, so there is nothing to suppress"}
    level = 1.0 - (1.0 - rule.level) / len(by_alpha)
    checks, point = [], None
    all_refuted = True
    for (alpha,), items in sorted(by_alpha.items(), key=lambda kv: -kv[0][0]):  # closest to 0 first
        est = bootstrap_mean(question_scores(items), level=level, seed=seed)
        degenerate = _rate(items, "degenerate")
        band = random_band(lines, trait, arm, alpha)
        beats = band is None or est.value < band.low
        ok = est.high < rule.threshold and degenerate <= rule.max_degenerate and beats
        checks.append({"alpha": alpha, "estimate": est.to_json(), "degenerate_rate": degenerate,
                       "random_band": None if band is None else [band.low, band.high], "beats_controls": beats,
                       "passes": ok})
        if ok and point is None:
            point = alpha
        if est.low <= rule.threshold and degenerate <= rule.max_degenerate and beats:
            all_refuted = False
    outcome: Verdict = "confirmed" if point is not None else "refuted" if all_refuted else "inconclusive"
    return {"trait": trait, "arm": arm, "alpha": point, "verdict": outcome, "level": level, "checks": checks,
            "reason": _reason(checks, point, rule)}


def _reason(checks: Sequence[Mapping[str, Any]], point: float | None, rule: SuppressionRule) -> str:
    def one(c: Mapping[str, Any]) -> str:
        e = c["estimate"]
        band = "" if c["random_band"] is None else f", random band [{c['random_band'][0]:.1f}, {c['random_band'][1]:.1f}]"
        return (f"alpha {c['alpha']:+g}: score {e['value']:.1f} [{e['low']:.1f}, {e['high']:.1f}], "
                f"{c['degenerate_rate']:.0%} degenerate{band}")
    if point is not None:
        return one(next(c for c in checks if c["alpha"] == point))
    best = min(checks, key=lambda c: c["estimate"]["high"])
    return f"no alpha passes (threshold {rule.threshold:g}); closest: {one(best)}"


def seed_check(point: Mapping[str, Any], seed_rows: Mapping[int, Sequence[Row]], rule: SuppressionRule
               ) -> dict[str, Any]:
    """The primary metric at the suppression alpha in every extra seed, and whether the claim holds in each."""
    if point["alpha"] is None or not seed_rows:
        return {"alpha": point["alpha"], "per_seed": {}, "holds": True, "spread": None}
    level = point.get("level", rule.level)
    per_seed, values = {}, []
    for s, rows in sorted(seed_rows.items()):
        items = [r for r in rows if r["alpha"] == point["alpha"]]
        est = bootstrap_mean(question_scores(items), level=level, seed=s)
        degenerate = _rate(items, "degenerate")
        per_seed[s] = {"estimate": est.to_json(), "degenerate_rate": degenerate,
                       "holds": est.high < rule.threshold and degenerate <= rule.max_degenerate}
        values.append(est.value)
    return {"alpha": point["alpha"], "per_seed": per_seed, "holds": all(v["holds"] for v in per_seed.values()),
            "spread": seed_spread(values)}


def _accuracy_items(cap_rows: Sequence[Row], trait: str, arm: str) -> dict[float, np.ndarray]:
    """alpha -> 1/0 per problem, for one arm's capability rows."""
    return {float(r["alpha"]): np.asarray(r["items"], float) for r in cap_rows
            if r["trait"] == trait and r["arm"] == arm}


def capability_cost(cap_rows: Sequence[Row], trait: str, arm: str, alpha: float) -> Estimate:
    """Accuracy at `alpha` minus unsteered accuracy, paired over the same problems."""
    at = _accuracy_items(cap_rows, trait, arm)
    return bootstrap_paired_difference(at[float(alpha)], at[0.0])


def compare_costs(cap_rows: Sequence[Row], trait: str, first: Mapping[str, Any], second: Mapping[str, Any]
                  ) -> dict[str, Any]:
    """(first's capability change at its suppression alpha) - (second's), paired over the same problems, and
    the verdict on "`first` keeps more capability" (the whole CI above 0).

    Only defined when both arms reached a suppression point; otherwise inconclusive.
    """
    if first["alpha"] is None or second["alpha"] is None:
        return {"estimate": None, "verdict": "inconclusive",
                "reason": "one of the arms never fully suppresses, so there is no cost to compare"}
    a, b = _accuracy_items(cap_rows, trait, first["arm"]), _accuracy_items(cap_rows, trait, second["arm"])
    diff = bootstrap_paired_difference(a[first["alpha"]] - a[0.0], b[second["alpha"]] - b[0.0])
    return {"estimate": diff.to_json(), "verdict": verdict(diff, 0.0, "above"),
            "reason": f"at alpha {first['alpha']:+g} vs {second['alpha']:+g}"}


def frontier_figure(lines: Sequence[Row], capability: Sequence[Row], points: Sequence[Row], threshold: float) -> Any:
    """Per trait (rows) and arm (columns): malicious-agent score vs alpha with its CI, the random directions'
    5-95 % band, the sign-flipped and shuffled-label controls, the threshold and the suppression alpha;
    a last row per trait shows capability with its CI."""
    from plotly.subplots import make_subplots

    traits = sorted({ln["trait"] for ln in lines})
    arms = list(dict.fromkeys(ln["arm"] for ln in lines))
    titles = []  # row-major, as make_subplots assigns them: per trait, a row of arms, then its capability row
    for t in traits:
        titles += [f"{t} · {a}" for a in arms] + [f"{t} · capability under the same steering"] + [""] * (len(arms) - 1)
    fig = make_subplots(rows=2 * len(traits), cols=len(arms), subplot_titles=titles,
                        vertical_spacing=0.08, horizontal_spacing=0.06)
    colors = ["#1f77b4", "#9467bd", "#8c564b", "#e377c2"]  # not the controls' orange and green
    for i, trait in enumerate(traits):
        for j, arm in enumerate(arms, start=1):
            mine = [ln for ln in lines if ln["trait"] == trait and ln["arm"] == arm]
            alphas = sorted({ln["alpha"] for ln in mine})
            bands = [random_band(lines, trait, arm, a) for a in alphas]
            if any(b is not None for b in bands):
                xs = [a for a, b in zip(alphas, bands) if b is not None]
                fig.add_scatter(x=xs + xs[::-1], y=[b.high for b in bands if b] + [b.low for b in bands if b][::-1],
                                fill="toself", fillcolor="rgba(23,190,207,0.22)", line=dict(width=0), mode="lines",
                                name="random directions (5-95 %)", legendgroup="random", showlegend=i == 0 and j == 1,
                                hoverinfo="skip", row=2 * i + 1, col=j)
            for direction, style in (("agent", dict(color="#000000", width=3)), ("sign_flip", dict(color="#ff7f0e", dash="dot")),
                                     ("shuffled", dict(color="#2ca02c", dash="dash"))):
                d = sorted((ln for ln in mine if ln["direction"] == direction), key=lambda ln: ln["alpha"])
                if not d:
                    continue
                m = [ln["malicious"] for ln in d]
                xs = [ln["alpha"] for ln in d]
                if direction == "agent":  # its 95 % CI as a band
                    fig.add_scatter(x=xs + xs[::-1], y=[e["high"] for e in m] + [e["low"] for e in m][::-1],
                                    fill="toself", fillcolor="rgba(0,0,0,0.15)", line=dict(width=0), mode="lines",
                                    name="trait vector 95 % CI", legendgroup="agent", showlegend=False,
                                    hoverinfo="skip", row=2 * i + 1, col=j)
                fig.add_scatter(x=xs, y=[e["value"] for e in m], mode="lines+markers",
                                name={"agent": "trait vector (95 % CI)", "sign_flip": "sign-flipped",
                                      "shuffled": "shuffled labels"}[direction], legendgroup=direction,
                                showlegend=i == 0 and j == 1, line=style, row=2 * i + 1, col=j,
                                customdata=[[ln["present_rate"], ln["degenerate_rate"]] for ln in d],
                                hovertemplate="alpha %{x}<br>score %{y:.1f}<br>agent present %{customdata[0]:.0%}"
                                              "<br>degenerate %{customdata[1]:.0%}<extra></extra>")
            fig.add_hline(y=threshold, line=dict(color="#d62728", dash="dash", width=1), row=2 * i + 1, col=j)
            point = next((p for p in points if p["trait"] == trait and p["arm"] == arm), None)
            if point and point["alpha"] is not None:
                fig.add_vline(x=point["alpha"], line=dict(color="#d62728", width=1), row=2 * i + 1, col=j)
            fig.update_xaxes(title_text="alpha (x 10 % of the mean residual norm)", row=2 * i + 1, col=j)
            fig.update_yaxes(title_text="malicious-agent score (0-100)" if j == 1 else None, range=[-2, 102],
                             row=2 * i + 1, col=j)
        for k, arm in enumerate(arms):
            cap = sorted((c for c in capability if c["trait"] == trait and c["arm"] == arm), key=lambda c: c["alpha"])
            if not cap:
                continue
            acc = [c["accuracy"] for c in cap]
            xs = [c["alpha"] for c in cap]
            fig.add_scatter(x=xs + xs[::-1], y=[a["high"] for a in acc] + [a["low"] for a in acc][::-1],
                            fill="toself", fillcolor=rgba(colors[k % len(colors)], 0.15), line=dict(width=0),
                            mode="lines", legendgroup=f"cap-{arm}", showlegend=False, hoverinfo="skip",
                            row=2 * i + 2, col=1)
            fig.add_scatter(x=xs, y=[a["value"] for a in acc], mode="lines+markers", name=f"{arm}: accuracy",
                            legendgroup=f"cap-{arm}", showlegend=i == 0, line=dict(color=colors[k % len(colors)]),
                            row=2 * i + 2, col=1)
        for k, arm in enumerate(arms):  # the other cost of steering: outputs that loop or collapse
            d = sorted((ln for ln in lines if ln["trait"] == trait and ln["arm"] == arm and ln["direction"] == "agent"),
                       key=lambda ln: ln["alpha"])
            fig.add_scatter(x=[ln["alpha"] for ln in d], y=[ln["degenerate_rate"] for ln in d], mode="lines+markers",
                            name=f"{arm}: degenerate share", legendgroup=f"deg-{arm}", showlegend=i == 0,
                            line=dict(color=colors[k % len(colors)], dash="dot"), marker=dict(symbol="x"),
                            row=2 * i + 2, col=1)
        fig.update_xaxes(title_text="alpha (x 10 % of the mean residual norm)", row=2 * i + 2, col=1)
        fig.update_yaxes(title_text="accuracy (solid) / degenerate share (dotted)", range=[-0.02, 1.02],
                         row=2 * i + 2, col=1)
    fig.update_layout(title="Suppressing the malicious agent: trait vector vs controls (red dashed: threshold)",
                      height=330 * 2 * len(traits), autosize=True, template="plotly_white",
                      legend=dict(orientation="h", y=-0.04))
    return fig
