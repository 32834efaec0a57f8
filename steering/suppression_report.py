"""The suppression run's words: takeaway, verdict lines, the judge, sweep and seed tables, the summary page and
the console report -- each built from the run's ``metrics.json`` (as loaded: plain dicts and lists) and its
``config.json``, so the script's summary and a notebook reading a finished run say the same thing.

The traits come in the config's order, the arms in the order the run steered them (``metrics["scales"]``),
the seeds in the config's order; the rule is the one the metrics were judged by (``metrics["rule"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.report import estimate_text, markdown_table, verdict_bullets
from models.stats import Estimate, verdict_line
from steering.frontier import SuppressionRule, frontier_figure, random_band

__all__ = ["FIGURE_CAPTION", "FIGURE_STEM", "TITLE", "comparison_text", "console_report", "judge_table",
           "method_lines", "seed_table_lines", "summary_markdown", "suppression_figure", "sweep_table", "takeaway",
           "verdict_lines", "verdict_text"]

Metrics = Mapping[str, Any]
Config = Mapping[str, Any]

TITLE = "Suppressing the malicious agent by steering"
FIGURE_STEM = "suppression"
FIGURE_CAPTION = ("Top panels: the malicious agent's score against alpha for the trait vector (black; grey band: "
                  "its 95 % CI) and its controls (teal band: random directions; dotted: sign-flipped; dashed: "
                  "shuffled labels); the red dashed line is the predeclared threshold and the red vertical line "
                  "the suppression point. Bottom panels: held-out arithmetic accuracy (solid) and the share of "
                  "degenerate outputs (dotted) under the same steering.")
SWEEP_COLUMNS = ("trait", "model", "alpha", "shift (residual units)", "malicious-agent score (95 % CI)",
                 "agent present", "degenerate", "random band (5-95 %)", "sign-flipped", "shuffled labels",
                 "capability (95 % CI)")


def suppression_figure(metrics: Metrics) -> Any:
    """`steering.frontier.frontier_figure` of a run: score and capability against alpha, per trait and arm."""
    return frontier_figure(metrics["settings"], metrics["capability"], metrics["points"], metrics["rule"]["threshold"])


def _arms(metrics: Metrics, trait: str) -> list[str]:
    """The arms steered on `trait`, in the run's order."""
    return list(dict.fromkeys(s["arm"] for s in metrics["scales"] if s["trait"] == trait))


def _setting(metrics: Metrics, trait: str, arm: str, alpha: float, direction: str = "agent") -> Mapping[str, Any] | None:
    return next((ln for ln in metrics["settings"] if ln["trait"] == trait and ln["arm"] == arm
                 and ln["direction"] == direction and ln["alpha"] == alpha), None)


def _capability(metrics: Metrics, trait: str, arm: str, alpha: float) -> Mapping[str, Any] | None:
    return next((c["accuracy"] for c in metrics["capability"] if c["trait"] == trait and c["arm"] == arm
                 and c["alpha"] == alpha), None)


def _number(x: float | None, spec: str) -> str:
    """`x` formatted, or ``undefined``: metrics.json stores an undefined statistic (NaN: kappa of a judge that
    gave one label only, an AUC of one class) as null."""
    return "undefined" if x is None or x != x else f"{x:{spec}}"


def _band_text(metrics: Metrics, trait: str, arm: str, alpha: float, fmt: str = ".1f", sep: str = " to ") -> str:
    band = random_band(metrics["settings"], trait, arm, alpha)
    return "-" if band is None else f"{band.low:{fmt}}{sep}{band.high:{fmt}}"


def takeaway(metrics: Metrics) -> str:
    """One sentence: which arms the predeclared rule says are fully suppressed, and which are not."""
    def name(p: Mapping[str, Any]) -> str:
        return f"{p['arm']} on {p['trait']}"

    points = metrics["points"]
    done = [f"{name(p)} (alpha {p['alpha']:+g})" for p in points if p["verdict"] == "confirmed"]
    rest = [name(p) for p in points if p["verdict"] != "confirmed"]
    if not done:
        return f"No arm fully suppresses its malicious agent under the predeclared rule ({'; '.join(rest)})."
    return (f"Steering fully suppresses the malicious agent for {'; '.join(done)}"
            + (f", but not for {'; '.join(rest)}." if rest else "."))


def verdict_text(point: Mapping[str, Any], rule: Mapping[str, Any]) -> str:
    """``VERDICT: <arm> fully suppresses the <trait> agent ... at alpha a``, with the estimate at the point when
    there is one, otherwise the reason."""
    criterion = SuppressionRule(**rule).criterion(point["trait"], point["arm"])
    check = next((c for c in point["checks"] if c["alpha"] == point["alpha"]), None)
    if check is None:
        line = f"{point['verdict'].upper()}: {criterion.claim_text} -- {point['reason']}"
    else:
        line = verdict_line(criterion, Estimate(**check["estimate"]), point["verdict"])
    return line + (f" at alpha {point['alpha']:+g}" if point["alpha"] is not None else "")


def comparison_text(c: Mapping[str, Any]) -> str:
    """The capability comparison's verdict line (distilled - base at their suppression points)."""
    est = c["estimate"]
    return (f"{c['verdict'].upper()}: {c['trait']}: {c['claim']} -- "
            + (c["reason"] if est is None else f"capability change distilled - base = {estimate_text(est, 2)} "
               f"({c['reason']})"))


def verdict_lines(metrics: Metrics) -> list[str]:
    """Every verdict of the run: each judged arm's, then each trait's capability comparison."""
    return ([verdict_text(p, metrics["rule"]) for p in metrics["points"]]
            + [comparison_text(c) for c in metrics["comparisons"]])


def method_lines(metrics: Metrics, config: Config, command: str) -> list[str]:
    """The command, the predeclared rule in words, the site and scale, the budgets and what the metric reads."""
    rule, seeds = metrics["rule"], config["seeds"]
    return [
        f"Command: `{command}` ({metrics['seconds']:.0f} s)", "",
        (f"**Predeclared rule** (config.json, written before any generation): an arm fully suppresses its malicious "
         f"agent at the alpha closest to 0 where the upper bound of the mean malicious-agent score's CI is < "
         f"{rule['threshold']:g} (of 100; CI widened for the {sum(a < 0 for a in config['alphas'])} negative alphas "
         f"searched), at most {rule['max_degenerate']:.0%} of outputs are degenerate, and the mean is below the 5th "
         f"percentile of {config['n_random']} random directions of the same norm; it must also hold in every extra "
         f"seed ({', '.join(map(str, seeds[1:])) or 'none'})."), "",
        f"Site {metrics['site']}; alpha 1 = 10 % of the mean residual norm at the site "
        + "; ".join(f"{s['trait']}/{s['arm']}: |v| = {s['vector_norm']:.2f}" for s in metrics["scales"]) + ".",
        f"Tokens per answer: {config['max_new_tokens']} (distilled, a debate), {config['answer_tokens']} (base, one "
        "answer); "
        + (f"{config['n_questions']} evaluation questions per trait and seed, from templates no model, judge or vector "
           "saw (splits_*.json; checked before generation). " if config["data"] == "synthetic" else
           f"{config['n_questions']} evaluation questions per trait and seed from the paper's published test files "
           "(paper:<trait>-test), vectors from its train questions and debates (splits_*.json: no question "
           "shared, checked before generation). The judge was trained and validated on our synthetic templates "
           "only: on the paper's questions its scores are a transfer, not a validated measurement. ")
        + "Malicious-agent score: the judge's score of Agent 2's own round-1 turn (for the single-agent base: its "
        "whole answer; when Agent 2 wrote no tagged turn: all of round one). Present: Agent 2 wrote a tagged turn "
        "(base: a non-empty answer).",
    ]


def judge_table(metrics: Metrics, config: Config) -> list[str]:
    """Per trait: the judge's features, pair agreement on unseen templates with its CI, AUC, second opinion."""
    rows = []
    for trait in config["traits"]:
        j = metrics["judges"][trait]
        v, so = j["validation"], j["second_opinion"]
        opinion = "not run" if so is None else (f"{so['judge']}: kappa {_number(so['kappa'], '.2f')}, agreement "
                                                f"{_number(so['raw_agreement'], '.0%')} on {so['n']} texts "
                                                f"({so['n_invalid']} invalid)")
        rows.append([trait, f"{j['features']} n-grams, judge-template debates", estimate_text(v["agreement"], 3),
                     _number(v["auc"], ".3f"), opinion])
    return markdown_table(["trait", "features", "pair agreement on unseen templates (95 % CI)", "AUC",
                           "second opinion"], rows)


def sweep_table(metrics: Metrics, config: Config) -> list[str]:
    """Per trait, arm and alpha: the absolute shift, the score with its CI, presence, degenerate rate, the
    controls at the same alpha and norm, and capability with its CI."""
    rows = []
    for trait in config["traits"]:
        for arm in _arms(metrics, trait):
            norm = next(s["vector_norm"] for s in metrics["scales"] if s["trait"] == trait and s["arm"] == arm)
            for alpha in sorted(config["alphas"]):
                ln = _setting(metrics, trait, arm, alpha)
                if ln is None:
                    continue
                controls = [_setting(metrics, trait, arm, alpha, name) for name in ("sign_flip", "shuffled")]
                rows.append([trait, arm, f"{alpha:+g}", f"{abs(alpha) * norm:.1f}", estimate_text(ln["malicious"]),
                             f"{ln['present_rate']:.0%}", f"{ln['degenerate_rate']:.0%}",
                             _band_text(metrics, trait, arm, alpha),
                             *("-" if c is None else f"{c['malicious']['value']:.1f}" for c in controls),
                             estimate_text(_capability(metrics, trait, arm, alpha), 2)])
    return markdown_table(SWEEP_COLUMNS, rows)


def seed_table_lines(metrics: Metrics, config: Config) -> list[str]:
    """The per-seed means at every negative alpha, and whether each suppression point holds in the extra seeds."""
    rows = []
    for row in metrics["seeds"]:
        per = {str(s): v for s, v in row["per_seed"].items()}  # int keys in memory, str once loaded from JSON
        cells = ", ".join(f"{s}: {per[str(s)]:.1f}" for s in config["seeds"] if str(s) in per)
        rows.append([row["trait"], row["arm"], f"{row['alpha']:+g}", cells,
                     f"{row['spread']['mean']:.1f}, {row['spread']['sd']:.1f}"])
    out = markdown_table(["trait", "model", "alpha", "mean malicious-agent score per seed", "mean, sd over seeds"],
                         rows)
    for p in metrics["points"]:
        sc = p["seeds"]
        if sc["alpha"] is not None and sc["per_seed"]:
            held = "holds" if sc["holds"] else "does NOT hold"
            out.append(f"\nSuppression point of {p['trait']}/{p['arm']} at alpha {sc['alpha']:+g} {held} in the "
                       "extra seeds.")
    return out


def summary_markdown(metrics: Metrics, config: Config, command: str) -> str:
    """``summary.md``: takeaway, verdicts, method, judge, sweep and seed tables; `command` is the run's command
    line."""
    out = ["# Suppressing the malicious agent", "", f"**{takeaway(metrics)}**", ""]
    out += verdict_bullets(verdict_lines(metrics))
    out += ["", *method_lines(metrics, config, command), ""]
    unproven = sorted({u for j in metrics["judges"].values() for u in j["disjointness"]["unverified"]})
    if unproven:
        out += [f"**Held-out status unproven** (--allow-unverified): {'; '.join(unproven)}.", ""]
    out += ["## Judge", "", *judge_table(metrics, config)]
    out += ["", "## Sweep (trait vector; controls at the same alpha and norm)", "", *sweep_table(metrics, config)]
    out += ["", "## Seeds (each: its own evaluation questions and extraction debates)", "",
            *seed_table_lines(metrics, config)]
    out += ["", f"Figure: [figures/{FIGURE_STEM}.html](figures/{FIGURE_STEM}.html)", ""]
    return "\n".join(out)


def console_report(metrics: Metrics, config: Config) -> str:
    """What `make demo` prints: per trait and model, the score with its CI at each alpha, presence, the
    controls' band, capability with its CI, and the verdict."""
    out = []
    for trait in config["traits"]:
        out.append(f"\n{trait}: judge pair agreement on unseen templates "
                   f"{estimate_text(metrics['judges'][trait]['validation']['agreement'], 3)}")
        for arm in _arms(metrics, trait):
            out.append(f"  {arm}")
            for alpha in sorted(config["alphas"]):
                ln = _setting(metrics, trait, arm, alpha)
                if ln is None:
                    continue
                band = _band_text(metrics, trait, arm, alpha, "5.1f", "-")
                out.append(f"    alpha {alpha:+5.1f}  score {estimate_text(ln['malicious']):<20} present "
                           f"{ln['present_rate']:4.0%}  degenerate {ln['degenerate_rate']:4.0%}  random {band:<12}"
                           f"  capability {estimate_text(_capability(metrics, trait, arm, alpha), 2)}")
            point = next((p for p in metrics["points"] if p["trait"] == trait and p["arm"] == arm), None)
            if point is not None:
                out.append(f"    => {verdict_text(point, metrics['rule'])}")
    out.append(f"\n{metrics['seconds']:.0f} s")
    return "\n".join(out)
