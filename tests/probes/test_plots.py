"""probes.plots: the probe-with-baselines figure, per layer and as a learning curve."""

from __future__ import annotations

from models.stats import Estimate
from probes.plots import probe_baselines_figure


def _curve(xs, value):
    return {x: Estimate(value, value - 0.05, value + 0.05, 30) for x in xs}


def test_bands_draw_no_markers_and_a_learning_curve_gets_a_log_axis():
    """Regression: with fewer than 20 points plotly put a stray marker, in another colour, at every band vertex."""
    sizes = (1, 2, 4, 8)
    fig = probe_baselines_figure({"base": _curve(sizes, 0.8)}, {"untrained": _curve(sizes, 0.5)}, 1 / 3,
                                 x_name="training questions")
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(bands) == 2 and all(t.mode == "lines" for t in bands)
    assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.tickvals) == list(sizes)
    assert "training questions" in fig.layout.xaxis.title.text and "training questions 1" not in str(fig.data[1].x)
    per_layer = probe_baselines_figure({"base": _curve(range(4), 0.8)}, {}, 1 / 3)
    assert per_layer.layout.xaxis.type is None and per_layer.layout.xaxis.title.text.startswith("layer")
