"""Control directions: random vectors of the same norm, the sign flip, and the controls' band."""

from __future__ import annotations

import pytest
import torch

from probes.directions import Direction
from steering.controls import control_band, random_directions, sign_flipped
from steering.prepare import SteeringError


@pytest.fixture
def agent2() -> Direction:
    return Direction(torch.tensor([3.0, 4.0, 0.0, 0.0]), "blocks.1.hook_resid_post", label="agent2")


def test_random_directions_match_the_norm_are_seeded_and_differ(agent2: Direction) -> None:
    controls = random_directions(agent2, 12, seed=7)
    assert len(controls) == 12 and all(c.site == agent2.site for c in controls)
    assert all(float(c.vector.norm()) == pytest.approx(5.0) for c in controls)
    assert torch.equal(random_directions(agent2, 12, seed=7)[3].vector, controls[3].vector)
    assert not torch.equal(random_directions(agent2, 12, seed=8)[3].vector, controls[3].vector)
    cosines = [float(c.vector @ agent2.vector) / 25.0 for c in controls]
    assert max(abs(x) for x in cosines) < 0.999  # none is the agent direction itself
    assert controls[0].params["control"] == "random" and controls[0].method == "random_control"


def test_sign_flip_negates_and_is_labelled(agent2: Direction) -> None:
    flipped = sign_flipped(agent2)
    assert torch.equal(flipped.vector, -agent2.vector) and flipped.label == "-agent2"


def test_band_is_the_percentile_range_of_the_controls() -> None:
    band = control_band([float(x) for x in range(101)])
    assert (band.low, band.high, band.n) == (5.0, 95.0, 101)
    assert band.contains(50.0) and not band.contains(97.0)


@pytest.mark.parametrize("call, message", [
    (lambda d: random_directions(d, 0), "n >= 1"),
    (lambda d: random_directions(Direction(torch.zeros(4), d.site), 3), "zero vector"),
    (lambda d: control_band([]), "finite control outcomes"),
    (lambda d: control_band([1.0, float("nan")]), "finite control outcomes"),
    (lambda d: control_band([1.0], low=60, high=40), "low < high"),
])
def test_bad_controls_are_named_errors(agent2: Direction, call, message: str) -> None:
    with pytest.raises(SteeringError, match=message):
        call(agent2)


def test_shuffled_labels_keep_the_norm_and_lose_a_planted_label_signal() -> None:
    from probes.activations import ActivationSet, Row
    from steering.controls import shuffled_label_direction

    torch.manual_seed(0)
    site = "blocks.0.hook_resid_post"
    signal = torch.zeros(64)
    signal[0] = 5.0
    rows, values = [], []
    for item in range(200):  # per question: a shared question offset, and the malicious row carries the signal
        offset = 2.0 * torch.randn(64)  # questions differ far more than the label moves them
        for malicious in (True, False):
            rows.append(Row(item, f"q{item}", 0, 0, "evil" if malicious else "ethical",
                            "evil" if malicious else "neutral", "system_prompt", n_tokens=1))
            values.append(offset + (signal if malicious else 0) + 0.1 * torch.randn(64))
    acts = ActivationSet(tuple(rows), {site: torch.stack(values)}, kind="system_prompt")
    real = Direction(signal, site, label="evil_vs_benign")
    shuffled = shuffled_label_direction(acts, site, real, seed=3)
    assert float(shuffled.vector.norm()) == pytest.approx(5.0)
    assert abs(float(shuffled.vector @ signal) / 25.0) < 0.5  # the label signal mostly averages out
    assert shuffled.params["control"] == "shuffled_labels"
    with pytest.raises(SteeringError, match="agent="):
        shuffled_label_direction(ActivationSet(tuple(rows), {site: torch.stack(values)}, kind="eq3"), site, real)
