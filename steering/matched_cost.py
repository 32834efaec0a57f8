"""What suppression costs, compared at matched suppression: the claim the toolkit exists for.

"The distilled model suppresses more cleanly than the base" compares two models at two different
alphas, so the comparison needs a common footing. Each arm's *suppression fraction* at alpha,

    f(alpha) = (unsteered score - steered score) / (unsteered score - clean reference score),

is 0 unsteered and 1 when the malicious agent scores like the arm's clean reference. At a predeclared
target fraction (say 0.8), each arm's alpha* is read off its curve by linear interpolation between
the two grid alphas that bracket the target, and its capability change at alpha* is interpolated the
same way, problem by problem (capability is measured at every grid alpha on the same problems for
both arms). The paired difference of the two arms' changes, with a bootstrap CI over problems, decides
"the distilled model keeps more capability at matched suppression".

An alpha where no row was scored (the agent silenced or broken everywhere) has no score, so it cannot
reach the target: silencing is not suppression. alpha* carries the sampling noise of the score curve,
which this interval leaves out (the problems' noise is in it); the summary says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.stats import Estimate, bootstrap_paired_difference, verdict

__all__ = ["compare_at_matched_suppression", "fraction_curve", "matched_alpha", "matched_change"]


def fraction_curve(scores: Mapping[float, float | None], clean: float) -> dict[float, float | None]:
    """alpha -> suppression fraction, from mean scores per alpha (alpha 0 must be there); None where unscored."""
    unsteered = scores.get(0.0)
    if unsteered is None:
        raise ValueError("the fraction curve needs the unsteered (alpha 0) score")
    gap = unsteered - clean
    if gap <= 0:
        return {a: None for a in scores}
    return {a: None if s is None else (unsteered - s) / gap for a, s in scores.items()}


def matched_alpha(fractions: Mapping[float, float | None], target: float) -> tuple[float, float, float] | None:
    """(alpha before, alpha after, t): alpha* = before + t * (after - before), the first crossing of `target`
    walking from 0 towards stronger suppression (negative alphas); None when the curve never reaches it."""
    alphas = sorted((a for a in fractions if a <= 0), reverse=True)
    previous = alphas[0]
    for alpha in alphas[1:]:
        f, f_prev = fractions[alpha], fractions[previous]
        if f is None:
            return None  # silenced or broken at this strength: the walk stops, later alphas are not reached cleanly
        if f >= target:
            assert f_prev is not None
            t = 1.0 if f == f_prev else (target - f_prev) / (f - f_prev)
            return previous, alpha, float(min(max(t, 0.0), 1.0))
        previous = alpha
    return None


def matched_change(items: Mapping[float, np.ndarray], crossing: tuple[float, float, float]) -> np.ndarray:
    """Per-problem capability change at alpha* relative to alpha 0, interpolated between the bracketing alphas."""
    before, after, t = crossing
    at = (1.0 - t) * np.asarray(items[before], float) + t * np.asarray(items[after], float)
    return at - np.asarray(items[0.0], float)


def compare_at_matched_suppression(arms: Mapping[str, Mapping[str, Any]], first: str, second: str, *,
                                   target: float, seed: int = 0, measure: str = "gold log-likelihood"
                                   ) -> dict[str, Any]:
    """Does `first` keep more capability than `second` at the same suppression fraction `target`?

    Each arm maps ``scores`` (alpha -> mean malicious-agent score, None where unscored), ``clean`` (its
    clean reference's mean score, None when it has none), ``items`` (alpha -> per-problem capability, the
    same problems for both arms) and ``ok`` / ``why`` (its preconditions: judge validated, trait present).
    """
    out: dict[str, Any] = {"target": target, "measure": measure, "estimate": None, "alpha_star": {}}
    for name in (first, second):
        arm = arms[name]
        if not arm.get("ok", True):
            return out | {"verdict": "inconclusive", "reason": f"{name}: {arm.get('why', 'precondition failed')}"}
        if arm.get("clean") is None:
            return out | {"verdict": "inconclusive", "reason": f"{name} has no clean reference"}
        crossing = matched_alpha(fraction_curve(arm["scores"], arm["clean"]), target)
        if crossing is None:
            return out | {"verdict": "inconclusive",
                          "reason": f"{name} never removes {target:.0%} of its trait on the alpha grid while it "
                                    "still speaks, so there is no matched point"}
        before, after, t = crossing
        out["alpha_star"][name] = before + t * (after - before)
        out.setdefault("_crossings", {})[name] = crossing
    crossings = out.pop("_crossings")
    a = matched_change(arms[first]["items"], crossings[first])
    b = matched_change(arms[second]["items"], crossings[second])
    diff: Estimate = bootstrap_paired_difference(a, b, seed=seed)
    decided = verdict(diff, 0.0, "above")
    return out | {"estimate": diff.to_json(), "verdict": decided,
                  "first_change": float(a.mean()), "second_change": float(b.mean()),
                  "reason": f"{measure} change at {target:.0%} suppression: {first} {a.mean():+.3f} at alpha "
                            f"{out['alpha_star'][first]:+.2f}, {second} {b.mean():+.3f} at alpha "
                            f"{out['alpha_star'][second]:+.2f} (alpha* from the score curve; its own noise is "
                            "not in the interval)"}
