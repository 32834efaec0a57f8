"""steering.suppression: vector scaling and the one-line report (the sweep runs end to end
in tests/experiments/test_experiments.py)."""

from __future__ import annotations

import pytest
import torch


def test_scaled_leaves_unit_vectors_alone_and_rescales_to_the_residual():
    from probes.directions import Direction
    from steering.suppression import scaled

    vector = Direction(torch.tensor([3.0, 4.0]) / 5, site="blocks.0.hook_resid_post")
    acts = torch.tensor([[10.0, 0.0], [0.0, 10.0]])
    assert scaled(vector, acts, "unit") is vector
    residual = scaled(vector, acts, "residual")
    assert float(residual.vector.norm()) == pytest.approx(1.0)  # 10% of the mean activation norm (10)
    assert residual.cosine(vector) == pytest.approx(1.0)


def test_describe_point_reports_never_and_a_clean_point():
    from steering.suppression import describe_point

    never = {"trait": "evil", "arm": "base", "alpha": None, "capability": None, "trait_score_at_0": 15.0,
             "capability_at_0": 0.5, "best_clean_alpha": None, "best_clean_score": None, "best_clean_capability": None}
    line = describe_point(never)
    assert line.startswith("evil          base ") and "full suppression: never" in line and line.endswith("best clean -")
    found = dict(never, alpha=-2.0, capability=0.25, best_clean_alpha=-2.0, best_clean_score=1.5,
                 best_clean_capability=0.25)
    line = describe_point(found)
    assert "full suppression: alpha=-2.0, capability 0.25" in line
    assert line.endswith("best clean alpha=-2.0: score 1.5, capability 0.25")
