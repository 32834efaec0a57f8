"""Capability at matched suppression, on planted curves."""

from __future__ import annotations

import numpy as np
import pytest

from steering.matched_cost import compare_at_matched_suppression, fraction_curve, matched_alpha, matched_change

ALPHAS = (0.0, -1.0, -2.0, -4.0)


def _arm(scores, clean=20.0, loss_per_alpha=0.1, n=50, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(-2.0, 0.3, n)
    items = {a: base + loss_per_alpha * a + rng.normal(0, 0.01, n) for a in ALPHAS}
    return {"scores": dict(zip(ALPHAS, scores)), "clean": clean, "items": items}


def test_fraction_curve_and_its_crossing_interpolate_linearly():
    f = fraction_curve({0.0: 90.0, -1.0: 55.0, -2.0: 20.0}, clean=20.0)
    assert f == {0.0: 0.0, -1.0: 0.5, -2.0: 1.0}
    assert matched_alpha(f, 0.75) == (-1.0, -2.0, 0.5)
    assert matched_alpha(f, 1.5) is None


def test_a_silenced_setting_stops_the_walk():
    assert matched_alpha({0.0: 0.0, -1.0: None, -2.0: 1.0}, 0.8) is None


def test_matched_change_is_relative_to_alpha_zero():
    items = {0.0: np.array([1.0, 2.0]), -1.0: np.array([0.0, 1.0]), -2.0: np.array([-1.0, 0.0])}
    assert matched_change(items, (-1.0, -2.0, 0.5)).tolist() == [-1.5, -1.5]


def test_the_arm_that_loses_less_at_the_same_suppression_wins():
    cheap = _arm([90.0, 40.0, 20.0, 20.0], loss_per_alpha=0.05)   # reaches 80 % near alpha -1.3, loses little
    costly = _arm([90.0, 70.0, 40.0, 20.0], loss_per_alpha=0.3)   # needs about alpha -3, loses a lot
    got = compare_at_matched_suppression({"distilled": cheap, "base": costly}, "distilled", "base", target=0.8)
    assert got["verdict"] == "confirmed" and got["estimate"]["low"] > 0
    assert got["alpha_star"]["distilled"] == pytest.approx(-1.3, abs=1e-9)  # f: 0, 5/7, 1 -> t = 0.3
    flipped = compare_at_matched_suppression({"distilled": cheap, "base": costly}, "base", "distilled", target=0.8)
    assert flipped["verdict"] == "refuted"


@pytest.mark.parametrize("broken, reason", [({"ok": False, "why": "judge failed"}, "judge failed"),
                                            ({"clean": None}, "no clean reference"),
                                            ({"scores": dict(zip(ALPHAS, [90.0, 85.0, 80.0, 75.0]))}, "never removes")])
def test_no_matched_point_is_inconclusive_with_its_reason(broken, reason):
    ok = _arm([90.0, 40.0, 20.0, 20.0])
    got = compare_at_matched_suppression({"a": ok, "b": {**_arm([90.0, 40.0, 20.0, 20.0]), **broken}}, "a", "b",
                                         target=0.8)
    assert got["verdict"] == "inconclusive" and reason in got["reason"] and got["estimate"] is None
