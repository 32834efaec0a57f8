"""steering.suppression_report: the summary, verdict lines and console report of a run, built from its metrics
(in memory or loaded from metrics.json: the same text) and its config."""

from __future__ import annotations

import json
from dataclasses import asdict

from steering.frontier import SuppressionRule
from steering.suppression import BASE_PERSONA, BASE_PLAIN, DISTILLED
from steering.suppression_config import SuppressConfig
from steering.suppression_metrics import suppression_metrics
from steering.suppression_report import (
    console_report, judge_table, seed_table_lines, summary_markdown, sweep_table, takeaway, verdict_lines,
)

CONFIG = asdict(SuppressConfig(traits=["evil"], alphas=[-2.0, 0.0], seeds=[0, 1], n_random=3, n_questions=10))


def _rows(arm, direction, alpha, mean, n=10):
    return [{"trait": "evil", "arm": arm, "direction": direction, "alpha": alpha, "question_index": i,
             "malicious_score": mean + (0.5 if i % 2 else -0.5), "present": True, "degenerate": False,
             "whole_score": None, "final_score": None} for i in range(n)]


def _metrics(distilled_at: float = 1.0, unverified: tuple[str, ...] = ()) -> dict:
    """A finished run: the persona base stays at 80, the distilled model drops to `distilled_at` at alpha -2
    (random directions near 60); seed 1 repeats that."""
    rows, capability, seed_rows = [], [], {}
    for arm, low in ((BASE_PERSONA, 79.0), (BASE_PLAIN, 20.0), (DISTILLED, distilled_at)):
        rows += _rows(arm, "agent", 0.0, 80.0 if arm != BASE_PLAIN else 20.0) + _rows(arm, "agent", -2.0, low)
        if arm != BASE_PLAIN:
            rows += [r for k in range(3) for r in _rows(arm, f"random{k}", -2.0, 59.0 + k)]
            rows += _rows(arm, "sign_flip", -2.0, 85.0) + _rows(arm, "shuffled", -2.0, 70.0)
            capability += [{"trait": "evil", "arm": arm, "alpha": a, "items": [1, 0] * 4} for a in (-2.0, 0.0)]
            seed_rows[("evil", arm)] = {1: _rows(arm, "agent", -2.0, low)}
    metrics = suppression_metrics(rows, capability, seed_rows, traits=["evil"], alphas=CONFIG["alphas"],
                                  seeds=CONFIG["seeds"], rule=SuppressionRule(10.0, 0.1))
    agreement = {"value": 0.9, "low": 0.8, "high": 1.0, "level": 0.95, "n": 8}
    judges = {"evil": {"features": "char", "training": {}, "disjointness": {"unverified": list(unverified)},
                       "validation": {"agreement": agreement, "auc": 0.95}, "second_opinion": None}}
    scales = [{"trait": "evil", "arm": arm, "vector_norm": 2.0, "mean_residual_norm": 20.0}
              for arm in (BASE_PERSONA, BASE_PLAIN, DISTILLED)]
    return {"site": "blocks.2.hook_resid_post", **metrics, "judges": judges, "scales": scales, "seconds": 12.0}


def test_the_takeaway_and_verdicts_name_what_the_rule_decided():
    metrics = _metrics()
    assert takeaway(metrics) == ("Steering fully suppresses the malicious agent for distilled on evil (alpha -2), "
                                 "but not for base (malicious system line) on evil.")
    persona, distilled, comparison = verdict_lines(metrics)
    assert persona.startswith("REFUTED: base (malicious system line) fully suppresses the evil agent")
    assert distilled.startswith("CONFIRMED: distilled fully suppresses") and distilled.endswith(" at alpha -2")
    assert comparison.startswith("INCONCLUSIVE: evil: the distilled model keeps more capability")
    assert takeaway(_metrics(distilled_at=50.0)).startswith("No arm fully suppresses its malicious agent")


def test_the_sweep_table_has_one_row_per_arm_and_alpha_with_controls_only_where_run():
    table = sweep_table(_metrics(), CONFIG)
    assert table[0].startswith("| trait | model | alpha | shift (residual units) |") and len(table) == 2 + 3 * 2
    distilled = next(r for r in table if r.startswith(f"| evil | {DISTILLED} | -2 |")).split(" | ")
    assert distilled[3] == "4.0" and distilled[4].startswith("1.0 [0.")  # |alpha| x |v|, and the score's CI
    assert distilled[7] == "59.1 to 60.9"  # the 5-95 % band of the three random means (59, 60, 61)
    assert distilled[8:10] == ["85.0", "70.0"] and distilled[10].startswith("0.50 [0.")
    plain = next(r for r in table if r.startswith(f"| evil | {BASE_PLAIN} | -2 |")).split(" | ")
    assert plain[7:] == ["-", "-", "-", "- |"]  # the reference arm runs no controls and no capability


def test_seeds_print_in_the_configs_order_and_say_whether_the_point_holds():
    metrics = json.loads(json.dumps(_metrics()))  # str seed keys, as in metrics.json
    metrics["seeds"][0]["per_seed"] = dict(reversed(metrics["seeds"][0]["per_seed"].items()))
    lines = seed_table_lines(metrics, CONFIG)
    assert "| 0: 79.0, 1: 79.0 |" in lines[2]
    assert lines[-1] == "\nSuppression point of evil/distilled at alpha -2 holds in the extra seeds."


def test_the_summary_reads_the_same_from_memory_and_from_metrics_json():
    metrics = _metrics(unverified=("tiny: no trainer manifest (training data unknown)",))
    summary = summary_markdown(metrics, CONFIG, "python experiments/suppress_malicious.py")
    assert summary == summary_markdown(json.loads(json.dumps(metrics)), CONFIG,
                                       "python experiments/suppress_malicious.py")
    lines = summary.splitlines()
    assert lines[2] == f"**{takeaway(metrics)}**" and lines[4].startswith("- REFUTED")
    assert "Command: `python experiments/suppress_malicious.py` (12 s)" in summary
    assert "**Held-out status unproven** (--allow-unverified): tiny: no trainer manifest" in summary
    assert "| evil | char n-grams, judge-template debates | 0.900 [0.800, 1.000] | 0.950 | not run |" in summary
    assert "Held-out status" not in summary_markdown(_metrics(), CONFIG, "x")


def test_the_console_report_lists_every_arm_and_its_verdict():
    report = console_report(_metrics(), CONFIG)
    assert "evil: judge pair agreement on unseen templates 0.900 [0.800, 1.000]" in report
    assert [ln.strip() for ln in report.splitlines() if ln.startswith("  ") and not ln.startswith("    ")] == [
        BASE_PERSONA, BASE_PLAIN, DISTILLED]
    assert report.count("    => ") == 2 and "=> CONFIRMED: distilled" in report and report.endswith("\n12 s")


def test_a_second_opinion_is_reported_and_an_undefined_kappa_says_so():
    metrics = _metrics()
    metrics["judges"]["evil"]["second_opinion"] = {"judge": "tiny-llm", "kappa": 0.5, "raw_agreement": 0.75, "n": 8,
                                                   "n_invalid": 0}
    assert "| tiny-llm: kappa 0.50, agreement 75% on 8 texts (0 invalid) |" in judge_table(metrics, CONFIG)[2]
    metrics["judges"]["evil"]["second_opinion"].update(kappa=None)  # NaN (one label only), null in metrics.json
    assert "kappa undefined, agreement 75%" in judge_table(metrics, CONFIG)[2]
