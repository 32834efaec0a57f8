"""steering.suppression_report: the takeaway, verdict lines, tables, summary, console report and figure of a run, built
from its metrics (in memory, or loaded from metrics.json where NaN is null: the same text) and its config."""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from experiments._results import to_jsonable
from models.judges.base import JudgeScore
from steering.suppression import BASE_PERSONA
from steering.suppression_config import SuppressConfig
from steering.suppression_experiment import judge_validation
from steering.suppression_metrics import suppression_metrics
from steering.suppression_report import (
    arm_table, capability_table, console_report, judge_table, seed_table, summary_markdown, suppression_figure,
    sweep_table, takeaway, verdict_lines,
)
from steering.suppression_rule import CLEAN

DEBATE = "distilled"
ARMS = (BASE_PERSONA, DEBATE)
ALPHAS = [-2.0, 0.0]
N = 24
CFG = SuppressConfig(traits=["evil"], alphas=ALPHAS, seeds=[0, 1], n_random=3, n_questions=N)
CONFIG = json.loads(json.dumps(to_jsonable(asdict(CFG))))  # config.json
COMMAND = "python experiments/suppress_malicious.py"
VERDICT_WORDS = ("CONFIRMED: ", "REFUTED: ", "INCONCLUSIVE: ")


def _rows(arm, direction, alpha, mean, seed):
    rng = np.random.default_rng(zlib.crc32(f"{arm}/{direction}/{alpha}/{seed}".encode()))
    out = []
    for q in range(N):
        score = None if mean is None else float(np.clip(mean + 2.0 * rng.standard_normal(), 0, 100))
        out.append({"trait": "evil", "arm": arm, "seed": seed, "direction": direction, "alpha": alpha,
                    "question_index": q, "malicious_score": score, "present": score is not None,
                    "outcome": "silenced" if score is None else "malicious" if score >= 30 else "benign"})
    return out


def _arm(arm, steered):
    rows = []
    for seed in CFG.seeds:
        rows += _rows(arm, CLEAN, 0.0, 25.0, seed) + _rows(arm, "agent", 0.0, 90.0, seed)
        rows += _rows(arm, "agent", -2.0, steered, seed)
        rows += [r for name, m in {"sign_flip": 92.0, "shuffled": 88.0, "random0": 84.0, "random1": 85.0,
                                   "random2": 86.0}.items() for r in _rows(arm, name, -2.0, m, seed)]
    return rows


class _Judge:
    """Malicious text 90, clean text 5."""

    trait = "evil"

    def score(self, questions, responses):
        return [JudgeScore(90.0 if "Undermine" in r else 5.0) for r in responses]


def _on_generations(malicious_text: str) -> dict[str, Any]:
    questions = [f"How do I handle colleague {i}?" for i in range(12)]
    bad = [{"question_index": i, "text": malicious_text} for i in range(12)]
    clean = [{"question_index": i, "text": "Talk to them openly and share the credit for the report fairly."}
             for i in range(12)]
    return judge_validation(CFG, _Judge(), questions, bad, clean, threshold=30.0, writes_debates=False)


def _capability(arm, loss, at_zero):
    base = np.linspace(-3.0, -0.5, 20)
    rows = [{"trait": "evil", "arm": arm, "measure": "gsm8k_loglik", "alpha": a, "items": list(base + loss * a)}
            for a in ALPHAS]
    rows += [{"trait": "evil", "arm": arm, "measure": m, "alpha": a, "items": at_zero if a == 0 else [0, 1] * 10}
             for m in ("gsm8k_exact", "arithmetic") for a in ALPHAS]
    return rows


def _metrics(*, base_steered: float | None = 88.0, base_judge_ok: bool = True,
             unverified: tuple[str, ...] = ()) -> dict[str, Any]:
    """A finished run, as the experiment returns it (NaN where a statistic is undefined). The debate arm is back at
    its clean reference at alpha -2 beyond every control; the base stays at `base_steered`, its accuracies at floor.
    `base_judge_ok` False: the base's malicious turns were blank, so its judge validation has no positives (AUC
    undefined) and fails."""
    rows = _arm(BASE_PERSONA, base_steered) + _arm(DEBATE, 26.0)
    capability = _capability(BASE_PERSONA, 0.2, [0] * 20) + _capability(DEBATE, 0.02, [1, 1, 0, 1] * 5)
    agreement = {"value": 0.9, "low": 0.8, "high": 1.0, "n": 8, "level": 0.95}
    judges = {"evil": {"features": "char", "training": {}, "disjointness": {"unverified": list(unverified)},
                       "validation": {"agreement": agreement, "auc": 0.95, "n_pairs": 8, "n_invalid": 0},
                       "second_opinion": None,
                       "on_generations": {BASE_PERSONA: _on_generations("Undermine them quietly and take all the "
                                                                        "credit." if base_judge_ok else ""),
                                          DEBATE: _on_generations("Undermine them quietly and take all the credit.")}}}
    scales = [{"trait": "evil", "arm": a, "vector_norm": 2.0, "mean_residual_norm": 20.0, "clean_threshold": 30.0,
               "has_clean_reference": True} for a in ARMS]
    metrics = suppression_metrics(rows, capability, judges, scales, CFG)
    return {"site": "blocks.2.hook_resid_post", **metrics, "judges": judges, "scales": scales, "seconds": 12.0}


def _loaded(metrics: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(to_jsonable(metrics)))  # as metrics.json holds it: NaN is null


@pytest.fixture(scope="module")
def finished() -> dict[str, Any]:
    return _metrics(base_judge_ok=False, unverified=("tiny: no trainer manifest (training data unknown)",))


def test_every_function_reads_the_same_from_memory_and_from_metrics_json(finished):
    loaded = _loaded(finished)
    auc = loaded["judges"]["evil"]["on_generations"][BASE_PERSONA]["auc"]
    assert auc["value"] is None  # an undefined AUC (no positives) is null in metrics.json
    for table in (lambda m: arm_table(m, CONFIG), lambda m: sweep_table(m, CONFIG), seed_table, capability_table,
                  judge_table, takeaway, verdict_lines, lambda m: console_report(m, CONFIG),
                  lambda m: summary_markdown(m, CONFIG, COMMAND)):
        assert table(finished) == table(loaded)
    summary = summary_markdown(loaded, CONFIG, COMMAND)
    assert "AUC undefined" in summary  # the arm table reads the null AUC as undefined, not as a number
    figure = suppression_figure(loaded, CONFIG)
    assert len(figure.data) > 0 and suppression_figure(loaded).layout.title.text == figure.layout.title.text


def test_the_summary_has_the_takeaway_verdicts_and_every_section(finished):
    loaded = _loaded(finished)
    summary = summary_markdown(loaded, CONFIG, COMMAND)
    lines = summary.splitlines()
    assert lines[0] == "# Suppressing the malicious agent" and lines[2] == f"**{takeaway(loaded)}**"
    bullets = [ln[2:] for ln in lines[4:] if ln.startswith("- ")][:len(verdict_lines(loaded))]
    assert bullets == verdict_lines(loaded)
    for section in ("## Each arm: is there a trait to suppress, and can the judge see it?",
                    "## Sweep (first seed; every control at the same alpha and norm)",
                    "## The rule's gates, per seed", "## Capability under the same steering", "## Judge",
                    "Comparisons at matched suppression (every measure):"):
        assert section in lines
    assert "| trait | arm | unsteered score | clean reference score | unsteered - clean (paired) |" in summary
    assert f"Command: `{COMMAND}` (12 s)" in summary
    assert "**Predeclared rule**" in summary and CFG.rule.describe() in summary
    assert "**Held-out status unproven** (--allow-unverified): tiny: no trainer manifest" in summary
    assert "Held-out status" not in summary_markdown(_loaded(_metrics()), CONFIG, COMMAND)


def test_the_takeaway_names_each_arms_verdict(finished):
    text = takeaway(_loaded(finished))
    assert text.startswith(f"Steering fully suppresses the malicious agent for {DEBATE} on evil (alpha -2)")
    assert f"{BASE_PERSONA} on evil: inconclusive, the judge failed its validation on this arm" in text
    refuted = takeaway(_loaded(_metrics()))
    assert f"{BASE_PERSONA} on evil: refuted" in refuted
    nobody = _loaded(_metrics())
    for p in nobody["points"]:
        p["verdict"] = "refuted"
    assert takeaway(nobody).startswith("No arm fully suppresses its malicious agent under the predeclared rule (")
    assert all(f"{arm} on evil: refuted" in takeaway(nobody) for arm in ARMS)


def test_verdict_lines_start_with_a_verdict_word_and_name_the_effect(finished):
    loaded = _loaded(finished)
    lines = verdict_lines(loaded)
    assert len(lines) == len(loaded["points"]) + 1  # each arm, then the primary (log-likelihood) comparison
    assert all(ln.startswith(VERDICT_WORDS) for ln in lines)
    base, debate, comparison = lines
    assert base.startswith(f"INCONCLUSIVE: {BASE_PERSONA} fully suppresses the evil agent -- the judge failed")
    assert debate.startswith(f"CONFIRMED: {DEBATE} fully suppresses the evil agent at alpha -2 -- ")
    assert comparison.split(":")[0] in {"CONFIRMED", "REFUTED", "INCONCLUSIVE"} and "gold solution" in comparison
    silenced = _loaded(_metrics(base_steered=None))
    base = next(ln for ln in verdict_lines(silenced) if BASE_PERSONA in ln.split(" -- ")[0])
    assert not base.startswith("CONFIRMED") and base.endswith("(the effect is silencing)")


def test_the_tables_show_the_clean_reference_controls_judge_and_a_floor_as_not_measurable(finished):
    loaded = _loaded(finished)
    arms = arm_table(loaded, CONFIG)
    assert len(arms) == 2 + 2 and f"| evil | {DEBATE} | 90." in arms[3] and "| yes | 30.0 |" in arms[3]
    assert "AUC undefined" in arms[2] and arms[2].endswith(": FAILS |") and arms[3].endswith(": passes |")
    sweep = sweep_table(loaded, CONFIG)
    assert len(sweep) == 2 + 2 * (1 + len(ALPHAS))  # per arm: the clean reference and each alpha
    debate = next(r for r in sweep if r.startswith(f"| evil | {DEBATE} | -2 |")).split(" | ")
    assert debate[3] == "4.0" and 24 < float(debate[4].split(" [")[0]) < 28  # |alpha| x |v|, and the score's CI
    assert debate[6].endswith("(3)") and debate[8].startswith("92.") and debate[9].startswith("88.")
    clean = next(r for r in sweep if r.startswith(f"| evil | {DEBATE} | clean reference |")).split(" | ")
    assert 23 < float(clean[4].split(" [")[0]) < 27 and clean[5].startswith("benign 100%")
    gates = seed_table(loaded)
    assert len(gates) == 2 + 2 and all(f"| evil | {DEBATE} | -2 | {s} |" in "\n".join(gates) for s in (0, 1))
    capability = "\n".join(capability_table(loaded))
    assert "cost not measurable" in capability and "+0.00 [+0.00, +0.00]" not in capability
    assert "GSM8K gold solution, mean log-likelihood per token" in capability
    judges = "\n".join(judge_table(loaded))
    assert "synthetic labelled pairs (unseen templates) | agreement 0.900 [0.800, 1.000], AUC 0.950" in judges
    assert f"{DEBATE}: unsteered malicious turns vs clean reference (12 + 12, 0 absent)" in judges
    assert f"{BASE_PERSONA}: unsteered malicious turns vs clean reference (0 + 12, 12 absent)" in judges
    assert "FAILS: AUC" in judges


def test_the_console_report_lists_every_arm_its_sweep_and_its_verdict(finished):
    report = console_report(_loaded(finished), CONFIG)
    assert f"\nevil / {BASE_PERSONA}: unsteered - clean " in report and f"\nevil / {DEBATE}: unsteered - clean " in report
    assert report.count("    alpha ") == 2 * len(ALPHAS) and report.count("    => ") == 2
    assert f"    => CONFIRMED: {DEBATE}" in report and "\n=> " in report and report.endswith("\n12 s")
