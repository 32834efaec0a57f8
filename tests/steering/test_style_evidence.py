"""steering.style_evidence on synthetic rows whose answers are known: gains against the unsteered output, paired
differences, the random band, the over-band statistic and verdicts computed from the intervals."""

from __future__ import annotations

import numpy as np
import pytest

from models.stats import Criterion, Estimate
from steering.prepare import SteeringError
from steering.style_evidence import (
    MEAN,
    area_auc,
    arm_evidence,
    control_outcomes,
    decide,
    evidence,
    gain_auc,
    gain_curve,
    gain_difference,
    gain_figure,
    over_band,
    score_table,
    seed_values,
)

PERSONAS = ("chain_of_thought", "self_critique", "program_of_thought")
ALPHAS = (0.0, 1.0, 2.0)


def _rows(slope: dict[str, float], n: int = 12, seeds=(0, 1), n_controls: int = 5, noise: float = 0.02):
    """Scores = unsteered level + slope * alpha (+ noise): persona arms rise by `slope[model]`, controls stay flat."""
    rng = np.random.default_rng(0)
    rows = []
    for model, level in (("base", 0.2), ("distilled", 0.5)):
        for s in seeds:
            for q in range(n):
                rows.append({"model": model, "seed": s, "question": q, "alpha": 0.0, "kind": "unsteered",
                             "control": None, "scores": {p: {"rougeL": level} for p in PERSONAS}})
                for a in ALPHAS[1:]:
                    for kind, rise in (("persona", slope[model]), ("sign_flip", -slope[model])):
                        for p in PERSONAS:
                            value = level + rise * a + noise * rng.standard_normal()
                            rows.append({"model": model, "seed": s, "question": q, "alpha": a, "kind": kind,
                                         "control": None, "scores": {p: {"rougeL": value}}})
                    for k in range(n_controls):
                        rows.append({"model": model, "seed": s, "question": q, "alpha": a, "kind": "random",
                                     "control": k, "scores": {p: {"rougeL": level + noise * rng.standard_normal()}
                                                              for p in PERSONAS}})
    return rows


def test_gain_is_the_area_over_the_unsteered_score_and_area_counts_it():
    scores = np.array([[0.8, 0.8, 0.8], [0.1, 0.3, 0.5]])
    assert gain_auc(scores, ALPHAS).tolist() == pytest.approx([0.0, 0.4])  # (0 + 0.2)/2 + (0.2 + 0.4)/2
    assert area_auc(scores, ALPHAS).tolist() == pytest.approx([1.6, 0.6])
    assert gain_auc(np.stack([scores, 2 * scores], axis=-1), ALPHAS).shape == (2, 2)  # controls on the last axis


def test_score_table_fills_alpha_zero_from_the_unsteered_rows_and_refuses_holes():
    rows = _rows({"base": 0.1, "distilled": 0.0})
    table = score_table(rows, "rougeL", [2.0, 0.0, 1.0])
    assert table.alphas == ALPHAS and table.personas == tuple(sorted(PERSONAS)) and table.n_controls == 5
    assert len(table.keys) == 24 and set(table.seeds) == {0, 1}
    base = table.scores("base", "persona", "self_critique")
    assert base.shape == (24, 3) and np.allclose(base[:, 0], 0.2)
    assert table.controls("base", MEAN).shape == (24, 3, 5)
    with pytest.raises(SteeringError, match="unscored"):
        score_table([r for r in rows if not (r["kind"] == "random" and r["question"] == 3)], "rougeL", ALPHAS)
    with pytest.raises(SteeringError, match="include 0"):
        score_table(rows, "rougeL", [1.0, 2.0])


def test_a_direction_that_steers_leaves_the_band_and_one_that_does_not_stays_in_it():
    table = score_table(_rows({"base": 0.0, "distilled": 0.1}), "rougeL", ALPHAS)
    steers, flat = arm_evidence(table, "distilled", MEAN), arm_evidence(table, "base", "chain_of_thought")
    assert steers.gain.value == pytest.approx(0.2, abs=0.01) and steers.gain.low > 0.15
    assert steers.sign_flip.value == pytest.approx(-0.2, abs=0.01)
    assert steers.band.n == 2 * 5 and steers.band.high < 0.05  # one outcome per (seed, random direction)
    assert steers.over_band.low > 0.1 and steers.steerable.value == 1.0
    assert steers.unsteered.value == pytest.approx(0.5) and steers.area.value == pytest.approx(1.0 + 0.2, abs=0.01)
    assert flat.band.contains(flat.gain.value) and flat.over_band.high < 0.05


def test_over_band_is_the_mean_gain_minus_the_controls_95th_percentile():
    seeds = np.array([0, 0, 1, 1])
    controls = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [2.0, 3.0]])
    assert control_outcomes(controls, seeds).tolist() == [0.0, 1.0, 2.0, 3.0]
    gain = np.full(4, 5.0)
    assert over_band(gain, controls, seeds) == pytest.approx(5.0 - np.percentile([0, 1, 2, 3], 95))


def test_model_difference_is_paired_over_the_same_questions():
    table = score_table(_rows({"base": 0.05, "distilled": 0.1}, noise=0.0), "rougeL", ALPHAS)
    diff = gain_difference(table, MEAN)
    assert diff.value == pytest.approx(0.1) and diff.low == pytest.approx(0.1) and diff.n == 24
    assert gain_difference(table, MEAN, "unsteered").value == pytest.approx(0.3)
    assert gain_difference(table, "self_critique", "area").value == pytest.approx(0.3 * 2 + 0.1)
    with pytest.raises(SteeringError, match="statistic must be one of"):
        gain_difference(table, MEAN, "ratio")
    per_seed = dict(seed_values(table, MEAN))
    assert set(per_seed) == {0, 1} and per_seed[0]["difference"] == pytest.approx(0.1) and per_seed[0]["n"] == 12


def test_verdicts_are_computed_from_the_interval_and_the_seeds():
    c = Criterion("distilled steers more", "gain difference", "above", 0.0)
    assert decide(c, Estimate(0.1, 0.05, 0.15, 60), [0.1, 0.08, 0.12]) == ("confirmed", "")
    assert decide(c, Estimate(-0.1, -0.15, -0.05, 60), [-0.1, -0.1]) == ("refuted", "")
    assert decide(c, Estimate(0.02, -0.01, 0.05, 60), [0.02, 0.03])[0] == "inconclusive"
    outcome, note = decide(c, Estimate(0.1, 0.05, 0.15, 60), [0.2, -0.01, 0.1])
    assert outcome == "inconclusive" and "seeds fall on both sides" in note
    assert decide(c, Estimate(0.0, 0.0, 0.0, 60), [0.0, 0.0])[0] == "inconclusive"  # nothing moved: no evidence
    table = score_table(_rows({"base": 0.0, "distilled": 0.1}), "rougeL", ALPHAS)
    est = arm_evidence(table, "distilled", MEAN).over_band
    assert decide(c, est, [v["distilled_over_band"] for _, v in seed_values(table, MEAN)])[0] == c.decide(est)


def test_gain_curve_starts_at_zero_and_the_figure_shades_the_band():
    table = score_table(_rows({"base": 0.0, "distilled": 0.1}), "rougeL", ALPHAS)
    curve = gain_curve(table, "distilled", MEAN)
    assert [p.alpha for p in curve] == list(ALPHAS)
    assert curve[0].gain.value == 0.0 and curve[0].band.low == curve[0].band.high == 0.0
    assert curve[2].gain.value == pytest.approx(0.2, abs=0.01) and curve[2].sign_flip == pytest.approx(-0.2, abs=0.01)
    curves = {m: {t: gain_curve(table, m, t) for t in ("self_critique", MEAN)} for m in ("base", "distilled")}
    fig = gain_figure(curves, {MEAN: "mean"}, "ROUGE-L")
    assert len(fig.data) == 2 * 2 * 3 and fig.data[0].fill == "toself"


def test_evidence_decides_every_target_from_its_interval_and_spreads_the_mean_over_seeds():
    table = score_table(_rows({"base": 0.0, "distilled": 0.1}), "rougeL", ALPHAS)
    criteria = {"distilled_vs_base": Criterion("distilled steers more", "gain difference", "above", 0.05),
                "over_random": Criterion("steers more than random", "gain - band top", "above", 0.0)}
    ev = evidence(table, criteria, ["self_critique", MEAN])
    assert set(ev["verdicts"]) == {f"distilled_vs_base/{t}" for t in ("self_critique", MEAN)} | {
        f"over_random/{m}/{t}" for m in ("base", "distilled") for t in ("self_critique", MEAN)}
    primary = ev["verdicts"][f"distilled_vs_base/{MEAN}"]
    assert primary["verdict"] == "confirmed" and primary["note"] == "" and primary["line"].startswith("CONFIRMED: ")
    assert primary["estimate"] == ev["differences"][MEAN]["gain"]
    assert primary["estimate"].value == pytest.approx(0.2, abs=0.01)
    flat = ev["verdicts"][f"over_random/base/{MEAN}"]  # the base never moves: its direction stays in the band
    assert flat["verdict"] != "confirmed" and flat["criterion"].claim_text == "base: steers more than random"
    assert ev["verdicts"][f"over_random/distilled/{MEAN}"]["verdict"] == "confirmed"
    assert ev["arms"]["self_critique"]["distilled"] == arm_evidence(table, "distilled", "self_critique")
    assert [s for s, _ in ev["per_seed"][MEAN]] == [0, 1]
    assert ev["seed_spread"]["difference"]["n_seeds"] == 2
    assert ev["seed_spread"]["difference"]["mean"] == pytest.approx(0.2, abs=0.01)
