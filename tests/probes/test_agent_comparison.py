"""probes.agent_comparison: the headline numbers of a base-vs-distilled comparison (the collection, vectors and
figures run end to end in tests/experiments/test_agent_subspaces.py)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest


class _Acts(SimpleNamespace):
    def __len__(self) -> int:
        return self.n


def _analysis(name: str, accuracies: dict[int, float], std: float, dropped: int = 0) -> SimpleNamespace:
    layers = {f"blocks.{i}.hook_resid_post": SimpleNamespace(
        layer=i, agent_probe=SimpleNamespace(accuracy=acc, std=std, chance=1 / 3)) for i, acc in accuracies.items()}
    best = max(layers.values(), key=lambda la: la.agent_probe.accuracy)
    acts = _Acts(n=12, model=f"{name}-model", checkpoint=f"{name}-fp",
                 info={"dropped_beyond_context": dropped} if dropped else {})
    return SimpleNamespace(name=name, acts=acts, layers=layers, best=best, sweep=SimpleNamespace(statement="crit"))


COMPARISON = {"blocks.0.hook_resid_post": {"principal_angles": {"pca_joint": [0.0, math.pi / 2],
                                                                "pca_agent1": [0.1], "agents": [math.pi / 4]},
                                           "same_agent_cosine": {}}}


@pytest.mark.parametrize("distilled_best, std, verdict", [
    (0.9, 0.05, "better"),
    (0.3, 0.05, "worse"),
    (0.62, 0.05, "indistinguishable (difference within the cross-validation spread)"),
])
def test_comparison_metrics_call_a_difference_only_beyond_the_fold_spread(distilled_best, std, verdict):
    from probes.agent_comparison import comparison_metrics

    analyses = {"base": _analysis("base", {0: 0.4, 1: 0.6}, std, dropped=2),
                "distilled": _analysis("distilled", {0: distilled_best, 1: 0.5}, std)}
    metrics = comparison_metrics(analyses, COMPARISON)
    assert metrics["comparison"] == verdict
    assert metrics["distilled_separates_agents_better"] is (verdict == "better")
    assert metrics["distilled_minus_base_best_accuracy"] == pytest.approx(max(distilled_best, 0.5) - 0.6)
    base = metrics["base"]
    assert (base["best_layer"], base["best_agent_probe_accuracy"], base["n_turns"]) == (1, 0.6, 12)
    assert base["dropped_beyond_context"] == 2 and metrics["distilled"]["dropped_beyond_context"] == 0
    assert base["agent_probe_accuracy_by_layer"] == {0: 0.4, 1: 0.6} and base["criterion"] == "crit"
    angles = metrics["principal_angles_deg_by_layer"]["blocks.0.hook_resid_post"]
    assert angles == {"pca_joint": [0.0, 90.0], "agents": [45.0]}  # degrees, per-agent PCA left out
