"""The suppression run's words and figure: takeaway, verdict lines, per-arm evidence (trait precondition, clean
reference, judge validation on the arms' own text, outcome shares, controls), the sweep, seed and capability
tables, the summary page and the console report -- each built from the run's ``metrics.json`` (as loaded: plain
dicts and lists) and its ``config.json``, so the script's summary and a notebook reading a finished run say the
same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.report import estimate_text, markdown_table, verdict_bullets
from steering.suppression_metrics import CAPABILITY_MEASURES
from steering.suppression_rule import AGENT, CLEAN, OUTCOMES, SuppressionRule

__all__ = ["FIGURE_CAPTION", "FIGURE_STEM", "TITLE", "arm_table", "capability_table", "comparison_text",
           "console_report", "judge_table", "seed_table", "summary_markdown", "suppression_figure", "sweep_table",
           "takeaway", "verdict_lines", "verdict_text"]

Metrics = Mapping[str, Any]
Config = Mapping[str, Any]

TITLE = "Suppressing the malicious agent by steering"
FIGURE_STEM = "suppression"
FIGURE_CAPTION = ("Per trait and arm, first seed: the malicious agent's score (over the rows where it spoke and was "
                  "scored) against alpha for the trait vector (black, 95 % CI band), the arm's clean reference "
                  "(green line), the random directions' 5-95 % band of means (teal), the sign-flipped (dotted) and "
                  "shuffled-label (dashed) controls; a red line marks a confirmed suppression point. Bottom row: the "
                  "GSM8K gold solution's log-likelihood under the same steering, per arm.")
SHORT = {"benign": "benign", "malicious": "malicious", "silenced": "silenced", "degenerate": "degenerate",
         "judge_failure": "judge failure", "truncated": "truncated"}


def _rule(metrics: Metrics) -> SuppressionRule:
    return SuppressionRule(**metrics["rule"])


def _lines(metrics: Metrics, **match: Any) -> list[Mapping[str, Any]]:
    return [ln for ln in metrics["settings"] if all(ln.get(k) == v for k, v in match.items())]


def _line(metrics: Metrics, **match: Any) -> Mapping[str, Any] | None:
    found = _lines(metrics, **match)
    return found[0] if found else None


def _score(ln: Mapping[str, Any] | None) -> str:
    if ln is None:
        return "-"
    return "not scored" if ln["malicious"] is None else estimate_text(ln["malicious"])


def _shares(ln: Mapping[str, Any] | None) -> str:
    if ln is None:
        return "-"
    return ", ".join(f"{SHORT[o]} {ln['shares'][o]:.0%}" for o in OUTCOMES if ln["shares"][o])


def _arms(metrics: Metrics, trait: str) -> list[str]:
    return [s["arm"] for s in metrics["scales"] if s["trait"] == trait]


def verdict_text(point: Mapping[str, Any]) -> str:
    where = f" at alpha {point['alpha']:+g}" if point["alpha"] is not None else ""
    effect = " (the effect is silencing)" if point.get("effect") == "silencing" else ""
    return (f"{point['verdict'].upper()}: {point['arm']} fully suppresses the {point['trait']} agent{where} -- "
            f"{point['reason']}{effect}")


def comparison_text(c: Mapping[str, Any]) -> str:
    head = f"{c['verdict'].upper()}: {c['trait']}: {c['claim']}"
    if c["estimate"] is None:
        return f"{head} -- {c['reason']}"
    return f"{head} -- difference {estimate_text(c['estimate'], 3, signed=True)} ({c['reason']})"


def verdict_lines(metrics: Metrics) -> list[str]:
    """Each arm's verdict, then the primary capability comparison per trait (the secondary ones are in the tables)."""
    return ([verdict_text(p) for p in metrics["points"]]
            + [comparison_text(c) for c in metrics["comparisons"] if c["primary"]])


def takeaway(metrics: Metrics) -> str:
    """One sentence: which arms the predeclared rule finds fully suppressed, and why the others are not."""
    done = [f"{p['arm']} on {p['trait']} (alpha {p['alpha']:+g})" for p in metrics["points"]
            if p["verdict"] == "confirmed"]
    rest = [f"{p['arm']} on {p['trait']}: {p['verdict']}, {p['reason'].split(':')[0].split(';')[0]}"
            for p in metrics["points"] if p["verdict"] != "confirmed"]
    head = (f"Steering fully suppresses the malicious agent for {'; '.join(done)}" if done else
            "No arm fully suppresses its malicious agent under the predeclared rule")
    return head + (f" ({'; '.join(rest)})." if rest else ".")


def arm_table(metrics: Metrics, config: Config) -> list[str]:
    """Per trait and arm: the trait precondition, the clean reference, the judge on the arm's own text."""
    rows = []
    for p in metrics["points"]:
        pre = p["precondition"][0]
        scale = next(s for s in metrics["scales"] if s["trait"] == p["trait"] and s["arm"] == p["arm"])
        judge = metrics["judges"][p["trait"]]["on_generations"].get(p["arm"])
        judged = ("no clean reference: not validated" if judge is None else
                  f"AUC {estimate_text(judge['auc'], 2)}, clean below threshold "
                  f"{estimate_text(judge['negatives_below'], 2)}, word salad caught "
                  f"{judge['garbage_caught_as_degenerate']:.0%}: {'passes' if judge['passes'] else 'FAILS'}")
        rows.append((p["trait"], p["arm"], "-" if pre["unsteered"] is None else estimate_text(pre["unsteered"]),
                     "none" if pre["clean_reference"] is None else estimate_text(pre["clean_reference"]),
                     "-" if pre["difference"] is None else estimate_text(pre["difference"], signed=True),
                     "yes" if pre["passes"] else "no", f"{scale['clean_threshold']:.1f}", judged))
    return markdown_table(("trait", "arm", "unsteered score", "clean reference score", "unsteered - clean (paired)",
                           "trait present", "clean threshold (95th pct)", "judge on the arm's own generations"), rows)


def _band(metrics: Metrics, trait: str, arm: str, seed: Any, alpha: float) -> tuple[str, str]:
    means = [ln["malicious"]["value"] for ln in _lines(metrics, trait=trait, arm=arm, seed=seed, alpha=alpha)
             if str(ln["direction"]).startswith("random") and ln["malicious"] is not None]
    lows = [ln["malicious"]["low"] for ln in _lines(metrics, trait=trait, arm=arm, seed=seed, alpha=alpha)
            if str(ln["direction"]).startswith("random") and ln["malicious"] is not None]
    if not means:
        return "-", "-"
    low, high = np.percentile(means, [5, 95])
    return f"{low:.1f} to {high:.1f} ({len(means)})", f"{min(lows):.1f}"


def sweep_table(metrics: Metrics, config: Config) -> list[str]:
    """First seed: per trait, arm and alpha, the score, its outcome shares and every control at the same alpha."""
    seed = config["seeds"][0]
    rows = []
    for trait in config["traits"]:
        for arm in _arms(metrics, trait):
            norm = next(s["vector_norm"] for s in metrics["scales"] if s["trait"] == trait and s["arm"] == arm)
            clean = _line(metrics, trait=trait, arm=arm, seed=seed, direction=CLEAN)
            rows.append((trait, arm, "clean reference", "-", _score(clean), _shares(clean), "-", "-", "-", "-"))
            for alpha in sorted(config["alphas"]):
                ln = _line(metrics, trait=trait, arm=arm, seed=seed, direction=AGENT, alpha=alpha)
                band, lowest = _band(metrics, trait, arm, seed, alpha)
                controls = [_score(_line(metrics, trait=trait, arm=arm, seed=seed, direction=d, alpha=alpha))
                            for d in ("sign_flip", "shuffled")]
                rows.append((trait, arm, f"{alpha:+g}", f"{abs(alpha) * norm:.1f}", _score(ln), _shares(ln), band,
                             lowest, *controls))
    return markdown_table(("trait", "arm", "alpha", "shift (residual units)", "malicious-agent score (95 % CI)",
                           "outcomes", "random directions: 5-95 % of means (n)", "lowest random lower bound",
                           "sign-flipped", "shuffled labels"), rows)


def seed_table(metrics: Metrics) -> list[str]:
    """Every (arm, negative alpha, seed): the rule's gates and which failed."""
    rows = []
    for p in metrics["points"]:
        for c in p["checks"]:
            rows.append((p["trait"], p["arm"], f"{c['alpha']:+g}", c["seed"],
                         "not scored" if c["score"] is None else estimate_text(c["score"]),
                         "-" if c["vs_clean"] is None else estimate_text(c["vs_clean"], signed=True),
                         "passes" if c["passes"] else "; ".join(c["failed"])))
    return markdown_table(("trait", "arm", "alpha", "seed", "score (CI widened for the grid)",
                           "steered - clean (paired)", "gates"), rows)


def capability_table(metrics: Metrics) -> list[str]:
    rows = []
    for c in sorted(metrics["capability"], key=lambda c: (c["trait"], c["arm"], c["measure"], -c["alpha"])):
        digits = 3 if c["measure"] == "gsm8k_loglik" else 2
        change = (c["why_not"] or "-") if c["change"] is None else estimate_text(c["change"], digits, signed=True)
        rows.append((c["trait"], c["arm"], CAPABILITY_MEASURES[c["measure"]], f"{c['alpha']:+g}",
                     estimate_text(c["estimate"], digits), "-" if c["alpha"] == 0 else change))
    return markdown_table(("trait", "arm", "measure", "alpha", "value (95 % CI)", "change from alpha 0 (paired)"), rows)


def judge_table(metrics: Metrics) -> list[str]:
    rows = []
    for trait, j in metrics["judges"].items():
        v = j["validation"]
        rows.append((trait, "synthetic labelled pairs (unseen templates)",
                     f"agreement {estimate_text(v['agreement'], 3)}, AUC {v['auc']:.3f}", "reported only"))
        for arm, g in j["on_generations"].items():
            rows.append((trait, f"{arm}: unsteered malicious turns vs clean reference ({g['n_positive']} + "
                         f"{g['n_negative']}, {g['n_absent']} absent)",
                         f"AUC {estimate_text(g['auc'], 3)}; clean below {g['threshold']:.1f}: "
                         f"{estimate_text(g['negatives_below'], 2)}; blank mean {g['blank']['mean']:.1f}, "
                         f"word salad mean {g['garbage']['mean']:.1f} (caught as degenerate "
                         f"{g['garbage_caught_as_degenerate']:.0%})",
                         "passes" if g["passes"] else "FAILS: " + "; ".join(g["failures"])))
    return markdown_table(("trait", "validated on", "result", "predeclared minimums"), rows)


def summary_markdown(metrics: Metrics, config: Config, command: str) -> str:
    rule = _rule(metrics)
    out = ["# Suppressing the malicious agent", "", f"**{takeaway(metrics)}**", ""]
    out += verdict_bullets(verdict_lines(metrics))
    out += ["", f"Command: `{command}` ({metrics['seconds']:.0f} s)", "",
            f"**Predeclared rule** (config.json, hashed in env.json before any generation): {rule.describe()}. "
            f"Judge: {metrics['judge_rule']['describe']}. Capability is compared at matched suppression: where each "
            f"arm removes {config['target_fraction']:.0%} of its trait (unsteered - clean reference).", "",
            f"Site {metrics['site']}; alpha 1 = 10 % of the mean residual norm at the site. Scores are the judge's "
            "0-100 on the malicious agent's own round-1 turn, only where it spoke readable text: an absent agent is "
            "silenced (never scored on other agents' text), a missing verdict is a judge failure (never 0). Benign / "
            "malicious split at the arm's clean threshold (the 95th percentile of its clean reference's scores). "
            f"The absolute threshold {rule.threshold:g} is reported, not deciding.", "",
            "## Each arm: is there a trait to suppress, and can the judge see it?", "", *arm_table(metrics, config), "",
            "## Sweep (first seed; every control at the same alpha and norm)", "", *sweep_table(metrics, config), "",
            "## The rule's gates, per seed", "", *seed_table(metrics), "",
            "## Capability under the same steering", "", *capability_table(metrics), "",
            "Comparisons at matched suppression (every measure):", "",
            *verdict_bullets(comparison_text(c) for c in metrics["comparisons"]), "",
            "## Judge", "", *judge_table(metrics), "",
            "The arms differ in more than the model: the base is steered with a system-prompt contrast vector and "
            "answers once, the debate model with an Eq. 3 Agent 2 vector and writes a debate; the shift column gives "
            "each alpha in absolute residual units.", "",
            "Figure: [figures/suppression.html](figures/suppression.html)", ""]
    unproven = sorted({u for j in metrics["judges"].values() for u in j["disjointness"]["unverified"]})
    if unproven:
        out += [f"**Held-out status unproven** (--allow-unverified): {'; '.join(unproven)}.", ""]
    return "\n".join(out)


def console_report(metrics: Metrics, config: Config) -> str:
    """What `make demo` prints: per arm the precondition and judge check, the sweep, and the verdicts."""
    seed = config["seeds"][0]
    out = []
    for p in metrics["points"]:
        pre = p["precondition"][0]
        out.append(f"\n{p['trait']} / {p['arm']}: unsteered - clean "
                   f"{'-' if pre['difference'] is None else estimate_text(pre['difference'], signed=True)}")
        for alpha in sorted(config["alphas"]):
            ln = _line(metrics, trait=p["trait"], arm=p["arm"], seed=seed, direction=AGENT, alpha=alpha)
            band, _ = _band(metrics, p["trait"], p["arm"], seed, alpha)
            out.append(f"    alpha {alpha:+5.1f}  score {_score(ln):<20} {_shares(ln):<45} random {band}")
        out.append(f"    => {verdict_text(p)}")
    out += [f"\n=> {comparison_text(c)}" for c in metrics["comparisons"] if c["primary"]]
    out.append(f"\n{metrics['seconds']:.0f} s")
    return "\n".join(out)


def suppression_figure(metrics: Metrics, config: Config | None = None) -> Any:
    """Per trait (rows) and arm (columns), first seed: score vs alpha for the trait vector and its controls beside
    the clean reference; a last row per trait: GSM8K gold log-likelihood vs alpha for each arm."""
    from plotly.subplots import make_subplots

    traits = list(dict.fromkeys(s["trait"] for s in metrics["scales"]))
    seed = min(ln["seed"] for ln in metrics["settings"]) if config is None else config["seeds"][0]
    width = max(len(_arms(metrics, t)) for t in traits)
    titles = []
    for t in traits:
        titles += [f"{t} · {a}" for a in _arms(metrics, t)] + [""] * (width - len(_arms(metrics, t)))
        titles += [f"{t} · GSM8K gold log-likelihood"] + [""] * (width - 1)
    fig = make_subplots(rows=2 * len(traits), cols=width, subplot_titles=titles, vertical_spacing=0.08)
    for i, trait in enumerate(traits):
        for j, arm in enumerate(_arms(metrics, trait), start=1):
            where = dict(row=2 * i + 1, col=j)
            first = i == 0 and j == 1
            alphas = sorted({ln["alpha"] for ln in _lines(metrics, trait=trait, arm=arm, seed=seed)
                             if ln["direction"] != CLEAN})
            bands = []
            for a in alphas:
                means = [ln["malicious"]["value"] for ln in _lines(metrics, trait=trait, arm=arm, seed=seed, alpha=a)
                         if str(ln["direction"]).startswith("random") and ln["malicious"] is not None]
                if means:
                    bands.append((a, *np.percentile(means, [5, 95])))
            if bands:
                xs = [b[0] for b in bands]
                fig.add_scatter(x=xs + xs[::-1], y=[b[2] for b in bands] + [b[1] for b in bands][::-1], fill="toself",
                                fillcolor="rgba(23,190,207,0.22)", line=dict(width=0), mode="lines",
                                name="random directions (5-95 %)", showlegend=first, legendgroup="random", **where)
            for direction, style in ((AGENT, dict(color="#000000", width=3)), ("sign_flip", dict(color="#ff7f0e",
                                     dash="dot")), ("shuffled", dict(color="#9467bd", dash="dash"))):
                pts = [(ln["alpha"], ln["malicious"]) for ln in sorted(
                    _lines(metrics, trait=trait, arm=arm, seed=seed, direction=direction), key=lambda ln: ln["alpha"])
                       if ln["malicious"] is not None]
                if not pts:
                    continue
                xs = [a for a, _ in pts]
                if direction == AGENT:
                    fig.add_scatter(x=xs + xs[::-1], y=[e["high"] for _, e in pts] + [e["low"] for _, e in pts][::-1],
                                    fill="toself", fillcolor="rgba(0,0,0,0.15)", line=dict(width=0), mode="lines",
                                    showlegend=False, hoverinfo="skip", **where)
                fig.add_scatter(x=xs, y=[e["value"] for _, e in pts], mode="lines+markers", line=style,
                                name={AGENT: "trait vector (95 % CI)", "sign_flip": "sign-flipped",
                                      "shuffled": "shuffled labels"}[direction], legendgroup=direction,
                                showlegend=first, **where)
            clean = _line(metrics, trait=trait, arm=arm, seed=seed, direction=CLEAN)
            if clean is not None and clean["malicious"] is not None:
                fig.add_hline(y=clean["malicious"]["value"], line=dict(color="#2ca02c", width=2), **where)
            point = next((p for p in metrics["points"] if p["trait"] == trait and p["arm"] == arm), None)
            if point and point["alpha"] is not None:
                fig.add_vline(x=point["alpha"], line=dict(color="#d62728", width=1), **where)
            fig.update_yaxes(title_text="malicious-agent score" if j == 1 else None, range=[-2, 102], **where)
        for k, arm in enumerate(_arms(metrics, trait)):
            cap = sorted((c for c in metrics["capability"] if c["trait"] == trait and c["arm"] == arm
                          and c["measure"] == "gsm8k_loglik"), key=lambda c: c["alpha"])
            if cap:
                fig.add_scatter(x=[c["alpha"] for c in cap], y=[c["estimate"]["value"] for c in cap],
                                error_y=dict(type="data", symmetric=False,
                                             array=[c["estimate"]["high"] - c["estimate"]["value"] for c in cap],
                                             arrayminus=[c["estimate"]["value"] - c["estimate"]["low"] for c in cap]),
                                mode="lines+markers", name=f"{arm}: GSM8K gold log-likelihood", legendgroup=f"cap{k}",
                                showlegend=i == 0, row=2 * i + 2, col=1)
        fig.update_xaxes(title_text="alpha (x 10 % of the mean residual norm)")
    fig.update_layout(title="Suppressing the malicious agent: trait vector vs controls and clean reference (green)",
                      height=330 * 2 * len(traits), template="plotly_white", legend=dict(orientation="h", y=-0.05))
    return fig
