"""models.stats: bootstrap intervals that cover at their nominal rate, paired tests, computed verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from models.stats import (
    Criterion, Estimate, StatsError, bootstrap_mean, bootstrap_paired_difference, mcnemar, paired_bootstrap,
    seed_spread, verdict, verdict_line,
)


def test_bootstrap_mean_covers_a_known_mean_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for i in range(300):
        est = bootstrap_mean(rng.normal(3.0, 2.0, size=60), resamples=1000, seed=i)
        covered += est.low <= 3.0 <= est.high
    assert 0.90 <= covered / 300 <= 0.98  # percentile bootstrap at n=60 runs slightly under 95 %


def test_pairing_narrows_the_interval_of_a_difference() -> None:
    rng = np.random.default_rng(0)
    difficulty = rng.normal(0.0, 5.0, size=80)  # shared by both conditions: what pairing removes
    a, b = difficulty + 1.0 + rng.normal(0, 0.5, 80), difficulty + rng.normal(0, 0.5, 80)
    paired = bootstrap_paired_difference(a, b)
    unpaired_width = (bootstrap_mean(a).high - bootstrap_mean(a).low) + (bootstrap_mean(b).high - bootstrap_mean(b).low)
    assert paired.low > 0.0 and paired.high - paired.low < unpaired_width / 5
    assert paired.value == pytest.approx(float(np.mean(a - b)))


def test_the_general_bootstrap_matches_the_vectorised_mean() -> None:
    x = np.arange(40.0) % 7
    general = paired_bootstrap(x, lambda rows: float(rows[:, 0].mean()), resamples=500, seed=3)
    fast = bootstrap_mean(x, resamples=500, seed=3)
    assert (general.value, general.low, general.high) == pytest.approx((fast.value, fast.low, fast.high))


def test_verdicts_are_computed_from_the_whole_interval() -> None:
    assert verdict(Estimate(1.0, 0.5, 2.0, 48), 2.5, "below") == "confirmed"
    assert verdict(Estimate(2.4, 1.8, 3.1, 48), 2.5, "below") == "inconclusive"  # a point below is not enough
    assert verdict(Estimate(4.0, 3.0, 5.0, 48), 2.5, "below") == "refuted"
    assert verdict(Estimate(0.3, 0.1, 0.5, 48), 0.0, "above") == "confirmed"
    assert verdict(Estimate(0.1, -0.2, 0.4, 48), 0.0, "above") == "inconclusive"
    assert verdict(Estimate(-0.3, -0.5, -0.1, 48), 0.0, "above") == "refuted"
    assert verdict(Estimate(0.0, 0.0, 0.0, 48), 0.0, "above") == "inconclusive"  # identical systems are not "better"
    assert verdict(Estimate(2.0, 1.0, 2.5, 48), 2.5, "below") == "inconclusive"  # touching the threshold
    with pytest.raises(StatsError, match="claim"):
        verdict(Estimate(0, 0, 0, 1), 0.0, "equal")  # type: ignore[arg-type]


def test_an_equivalence_claim_needs_the_whole_interval_inside_the_margin() -> None:
    assert verdict(Estimate(0.01, -0.03, 0.04, 500), 0.05, "within") == "confirmed"
    assert verdict(Estimate(0.03, -0.01, 0.07, 500), 0.05, "within") == "inconclusive"
    assert verdict(Estimate(-0.1, -0.14, -0.06, 500), 0.05, "within") == "refuted"
    with pytest.raises(StatsError, match="margin"):
        verdict(Estimate(0, 0, 0, 1), -1.0, "within")


def test_a_criterion_decides_and_writes_the_summary_line() -> None:
    c = Criterion("the distilled model suppresses the agent", "mean malicious-agent score", "below", 10.0)
    assert c.decide(Estimate(3.0, 1.0, 6.0, 48)) == "confirmed"
    line = verdict_line(c, Estimate(3.0, 1.0, 6.0, 48))
    assert line.startswith("CONFIRMED: the distilled model suppresses the agent") and "< 10" in line
    assert verdict_line(c, None).startswith("INCONCLUSIVE")
    with pytest.raises(StatsError, match="claim"):
        Criterion("x", "y", "equal", 1.0)  # type: ignore[arg-type]
    spread = seed_spread([1.0, 2.0, 3.0])
    assert spread["mean"] == 2.0 and spread["sd"] == pytest.approx(1.0) and spread["n_seeds"] == 3


def test_mcnemar_is_the_exact_binomial_test_on_discordant_items() -> None:
    a = [True] * 10 + [False] * 2 + [True] * 30
    b = [False] * 10 + [True] * 2 + [True] * 30
    result = mcnemar(a, b)
    assert (result.only_a, result.only_b) == (10, 2)
    assert result.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert mcnemar([True, False], [True, False]).p_value == 1.0


@pytest.mark.parametrize("call, message", [
    (lambda: bootstrap_mean([]), "at least one question"),
    (lambda: bootstrap_mean([1.0, float("nan")]), "NaN"),
    (lambda: bootstrap_mean(["a"]), "numbers per question"),
    (lambda: bootstrap_paired_difference([1.0, 2.0], [1.0]), "same questions"),
    (lambda: bootstrap_mean([1.0], resamples=10), "resamples"),
    (lambda: bootstrap_mean([1.0], level=1.0), "level"),
    (lambda: mcnemar([True], [True, False]), "equal-length"),
])
def test_bad_data_is_a_named_error(call, message: str) -> None:
    with pytest.raises(StatsError, match=message):
        call()


def test_bca_interval_matches_scipys_on_a_skewed_small_sample():
    from scipy.stats import bootstrap

    x = np.random.default_rng(3).exponential(3.0, size=32)
    ours = bootstrap_mean(x, interval="bca", resamples=20000, seed=1)
    ref = bootstrap((x,), np.mean, method="BCa", n_resamples=20000, random_state=2).confidence_interval
    assert abs(ours.low - ref.low) < 0.08 and abs(ours.high - ref.high) < 0.08  # Monte Carlo error only
    percentile = bootstrap_mean(x, resamples=20000, seed=1)
    assert ours.high > percentile.high  # right-skewed scores: BCa moves the interval up, toward the long tail


def test_bca_on_constant_values_is_the_point_and_unknown_intervals_are_named():
    assert (bootstrap_mean([0.0] * 12, interval="bca").low, bootstrap_mean([0.0] * 12, interval="bca").high) == (0, 0)
    with pytest.raises(StatsError, match="interval must be 'percentile' or 'bca'"):
        bootstrap_mean([1.0, 2.0], interval="t")
