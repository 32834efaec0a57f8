"""Directions, probes, PCA and subspaces on synthetic activations with planted directions."""

from __future__ import annotations

import math

import pytest
import torch

from probes import (
    DIRECTION_METHODS,
    ActivationSet,
    Row,
    Direction,
    DirectionError,
    ProbeError,
    Subspace,
    agent_directions,
    agent_pca,
    contrast_direction,
    cosine_matrix,
    fit_pca,
    principal_angles,
    probe_accuracy,
    probe_direction,
    span,
    sweep_layers,
)
from tests.probes._data import planted_set

SITE = "blocks.0.hook_resid_post"


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))


@pytest.mark.parametrize("method", sorted(DIRECTION_METHODS))
def test_each_method_recovers_a_planted_direction(method):
    g = torch.Generator().manual_seed(1)
    u = torch.nn.functional.normalize(torch.randn(16, generator=g), dim=0)
    pos = torch.randn(2000, 16, generator=g) + 2 * u
    neg = torch.randn(2000, 16, generator=g) - 2 * u
    v = DIRECTION_METHODS[method](pos, neg)
    assert _cos(v, u) > 0.99, f"{method} missed the planted direction"


def test_agent_directions_recover_each_agent(tmp_path):
    acts, u = planted_set(n_per_agent=1000)
    dirs = agent_directions(acts, SITE, normalize=True)
    assert sorted(dirs) == ["agent1", "agent2", "agent3"]
    for agent in (1, 2, 3):
        others = torch.stack([u[a] for a in (1, 2, 3) if a != agent]).mean(0)
        assert _cos(dirs[f"agent{agent}"].vector, u[agent] - others) > 0.99
        assert dirs[f"agent{agent}"].normalized and math.isclose(float(dirs[f"agent{agent}"].vector.norm()), 1, rel_tol=1e-5)
    d = dirs["agent2"]
    assert d.site == SITE and d.model == "synthetic" and d.read_position == "turn_mean" and d.params["n_layers"] == 4
    loaded = Direction.load(d.save(tmp_path / "blocks.0.agent2"))  # a dotted stem stays whole
    assert (tmp_path / "blocks.0.agent2.safetensors").exists()
    assert torch.equal(loaded.vector, d.vector) and loaded.label == "agent2_vs_others"
    per_round = agent_directions(acts, SITE, by_round=True)
    assert sorted(per_round) == [f"agent{a}_round{r}" for a in (1, 2, 3) for r in (1, 2)]


def test_probe_accuracy_and_probe_direction():
    acts, u = planted_set()
    score = probe_accuracy(acts, SITE, "agent")
    assert score.accuracy > 0.95 and math.isclose(score.chance, 1 / 3) and score.classes == (1, 2, 3)
    shuffled = acts.take(torch.arange(len(acts)))
    noise = type(acts)(shuffled.rows, {SITE: torch.randn(len(acts), 32, generator=torch.Generator().manual_seed(3))})
    assert probe_accuracy(noise, SITE, "agent").accuracy < 0.5
    g = torch.Generator().manual_seed(2)
    w = torch.nn.functional.normalize(torch.randn(16, generator=g), dim=0)
    rows = tuple(Row(item=i, question_id=f"q{i % 50}", round=1, agent=2, trait="evil" if i % 2 else "ethical")
                 for i in range(4000))
    values = torch.randn(4000, 16, generator=g) + 2 * w * torch.tensor([1.0 if r.malicious else -1.0 for r in rows])[:, None]
    traits = ActivationSet(rows, {SITE: values})
    assert probe_accuracy(traits, SITE, "trait").accuracy > 0.95
    d = probe_direction(traits, SITE, "trait", positive="evil")
    assert _cos(d.vector, w) > 0.99 and d.method == "logistic" and d.label == "trait_evil_vs_rest"


def test_pca_recovers_the_planted_plane_and_angles_to_itself_are_zero(tmp_path):
    acts, u = planted_set(scale=6.0)
    fits = agent_pca(acts, SITE, k=2)
    assert sorted(fits) == ["agent1", "agent2", "agent3", "joint"]
    joint = fits["joint"].subspace(SITE, label="joint")
    planted = span([Direction(u[1] - u[3], SITE), Direction(u[2] - u[3], SITE)])
    assert float(principal_angles(joint, planted).max()) < math.radians(8)
    assert float(principal_angles(joint, joint).max()) < 1e-7
    assert sum(joint.explained_variance) > 0.4  # noise alone would give 2/32
    loaded = Subspace.load(joint.save(tmp_path / "joint"))
    assert torch.equal(loaded.basis, joint.basis) and loaded.explained_variance == joint.explained_variance
    orthogonal = Subspace(torch.eye(32)[5:7], SITE)
    first = Subspace(torch.eye(32)[:2], SITE)
    torch.testing.assert_close(principal_angles(first, orthogonal), torch.full((2,), math.pi / 2, dtype=torch.float64))


def test_pca_direction_points_to_the_positive_group():
    acts, u = planted_set(scale=5.0)
    fit = fit_pca(acts.where(agent=[1, 2]).at(SITE), 1)
    assert abs(_cos(fit.components[0], u[1] - u[2])) > 0.99
    d = contrast_direction(acts, SITE, {"agent": 1}, {"agent": 2}, method="pca")
    assert _cos(d.vector, u[1] - u[2]) > 0.99


def test_cosine_matrix_is_symmetric_with_unit_diagonal():
    acts, _ = planted_set()
    m = cosine_matrix(agent_directions(acts, SITE))
    torch.testing.assert_close(m, m.T)
    torch.testing.assert_close(torch.diagonal(m), torch.ones(3))
    assert float(m[0, 1]) < 0  # agent 1 vs others and agent 2 vs others point apart


def test_layer_sweep_picks_the_planted_layer_and_states_why():
    sites = tuple(f"blocks.{i}.hook_resid_post" for i in range(3))
    acts, _ = planted_set(scale=0.3, sites=sites)
    strong, _ = planted_set(scale=3.0, seed=0)
    values = {**acts.values, sites[1]: strong.at(SITE)}
    acts = type(acts)(acts.rows, values)
    for criterion in ("probe_accuracy", "fisher_ratio"):
        sweep = sweep_layers(acts, criterion)
        assert sweep.best_layer == 1 and sweep.best_site == sites[1]
        assert "agent" in sweep.statement and "earliest layer" in sweep.statement
    with pytest.raises(ProbeError, match="criterion='silhouette' is not known"):
        sweep_layers(acts, "silhouette")


def test_empty_agent_group_is_a_clear_error():
    acts, _ = planted_set()
    with pytest.raises(ProbeError, match=r"positive group \{'agent': 7\} is empty .* \{'agent': \[1, 2, 3\]\}"):
        contrast_direction(acts, SITE, {"agent": 7})
    with pytest.raises(ProbeError, match="at least two agents"):
        agent_directions(acts.where(agent=1), SITE)
    with pytest.raises(ProbeError, match="needs at least two classes"):
        probe_accuracy(acts.where(agent=2), SITE, "agent")
    with pytest.raises(DirectionError, match="cannot combine a direction at"):
        cosine_matrix([Direction(torch.ones(4), SITE), Direction(torch.ones(4), "blocks.1.hook_resid_post")])
