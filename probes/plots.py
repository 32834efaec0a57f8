"""Plotly figures of agent probes and subspaces, written as interactive HTML (PNG only when kaleido exists).

Each figure names what is plotted in its title, axes and legend, so it reads without the code:
probe accuracy per layer for several checkpoints (with fold spread, or with CI bands and the
shuffled-label and untrained baselines beside them), a PCA scatter of turns coloured by agent or
round, a cosine heatmap of agent directions, and principal angles between checkpoints per layer.

Example:
    >>> fig = probe_accuracy_figure({"base": base.sweep.details, "distilled": imad.sweep.details})
    >>> write_figure(fig, run / "figures" / "probe_accuracy")
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from models.stats import Estimate
from probes.activations import ActivationSet
from probes.linear import ProbeScore
from probes.pca import PCAResult

_DASHES = ("solid", "dash", "dot", "dashdot")
# The one colour sequence of every figure and report page (plotly's default, named so pages can share it).
COLORWAY = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf")


def _go() -> Any:
    import plotly.graph_objects as go  # imported when a figure is made, so `import probes` stays fast

    return go


def probe_accuracy_figure(curves: Mapping[str, Mapping[str, ProbeScore]], title: str | None = None) -> Any:
    """Held-out probe accuracy per layer, one line per checkpoint, error bars = std over folds, chance dashed."""
    go = _go()
    fig = go.Figure()
    target, chance = "agent", None
    for i, (name, scores) in enumerate(curves.items()):
        ordered = sorted(scores.values(), key=lambda s: s.layer)
        target, chance = ordered[0].target, ordered[0].chance
        fig.add_trace(go.Scatter(
            x=[s.layer for s in ordered], y=[s.accuracy for s in ordered], mode="lines+markers", name=name,
            error_y={"type": "data", "array": [s.std for s in ordered], "visible": True},
            line={"dash": _DASHES[i % len(_DASHES)]},
            hovertemplate="layer %{x}<br>accuracy %{y:.3f}<extra>" + name + "</extra>",
        ))
    if chance is not None:
        fig.add_hline(y=chance, line_dash="dot", line_color="grey",
                      annotation_text=f"chance (majority class) {chance:.2f}", annotation_position="bottom right")
    what = "3-way agent identity" if target == "agent" else target
    fig.update_layout(
        title=title or f"Held-out probe accuracy for {what}, per layer",
        xaxis_title="layer (0-based block index, residual stream after the block)",
        yaxis_title="held-out accuracy (cross-validated, grouped by question)",
        yaxis_range=[0, 1.05], legend_title_text="checkpoint", template="plotly_white",
    )
    fig.update_xaxes(dtick=1)
    return fig


def rgba(hex_color: str, alpha: float) -> str:
    """``#1f77b4`` at opacity `alpha` as a CSS ``rgba(...)`` colour (the shaded bands of CI plots)."""
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def probe_baselines_figure(curves: Mapping[str, Mapping[int, Estimate]], baselines: Mapping[str, Mapping[int, Estimate]],
                           chance: float, title: str | None = None, x_name: str = "layer") -> Any:
    """Held-out probe accuracy per layer with its 95 % CI as a band; the controls dashed, beside the curves.

    `curves` are the models read on the real labels; `baselines` the controls (shuffled labels, an untrained
    model). A curve means something only where it leaves the baselines' bands. With another `x_name` (such
    as ``"training questions"``, a learning curve) the x axis is that quantity on a log scale.
    """
    import plotly.colors

    go = _go()
    fig = go.Figure()
    palette = plotly.colors.qualitative.Plotly
    for i, (name, by_layer) in enumerate([*curves.items(), *baselines.items()]):
        layers = sorted(by_layer)
        color, control = palette[i % len(palette)], i >= len(curves)
        est = [by_layer[la] for la in layers]
        # mode="lines": below 20 points plotly's default adds a marker at every vertex of the band
        fig.add_trace(go.Scatter(x=layers + layers[::-1], y=[e.high for e in est] + [e.low for e in est][::-1],
                                 mode="lines", fill="toself", fillcolor=rgba(color, 0.15 if control else 0.2), line={"width": 0},
                                 hoverinfo="skip", showlegend=False, legendgroup=name))
        fig.add_trace(go.Scatter(
            x=layers, y=[e.value for e in est], mode="lines+markers", name=name, legendgroup=name,
            line={"color": color, "dash": "dash" if control else "solid"},
            customdata=[[e.low, e.high] for e in est],
            hovertemplate=x_name + " %{x}<br>accuracy %{y:.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]<extra>"
                          + name + "</extra>"))
    fig.add_hline(y=chance, line_dash="dot", line_color="grey",
                  annotation_text=f"chance (majority class) {chance:.2f}", annotation_position="bottom right")
    fig.update_layout(
        title=title or "Held-out 3-way agent-identity probe accuracy per layer, with shuffled-label and untrained "
                       "baselines (bands: 95% CI over questions)",
        xaxis_title="layer (0-based block index)" if x_name == "layer" else f"{x_name} (log scale)",
        yaxis_title="held-out accuracy (folds grouped by question)", yaxis_range=[0, 1.05],
        legend_title_text="probe (dashed: control)", template="plotly_white",
    )
    if x_name == "layer":
        fig.update_xaxes(dtick=1)
    else:
        fig.update_xaxes(type="log", tickvals=sorted({x for c in [*curves.values(), *baselines.values()] for x in c}))
    return fig


def pca_scatter(acts: ActivationSet, fit: PCAResult, site: str, color_by: str = "agent",
                title: str | None = None) -> Any:
    """Turns projected on the first two principal axes of `fit`, coloured by a row field (agent, round, ...)."""
    go = _go()
    coords = fit.project(acts.at(site))
    if coords.shape[1] < 2:  # a one-component fit: draw it on a line
        coords = torch.cat([coords, torch.zeros(coords.shape[0], 2 - coords.shape[1])], dim=1)
    fig = go.Figure()
    names = {"agent": "Agent", "round": "Round"}
    for key, idx in sorted(acts.groups(color_by).items(), key=lambda kv: str(kv[0])):
        value = key[0]
        rows = [acts.rows[int(i)] for i in idx]
        persona = {r.label for r in rows if r.label}
        legend = f"{names.get(color_by, color_by)} {value}" + (
            f" ({', '.join(sorted(persona))})" if color_by == "agent" and persona else "")
        fig.add_trace(go.Scatter(
            x=coords[idx, 0].tolist(), y=coords[idx, 1].tolist(), mode="markers", name=legend,
            marker={"size": 7, "opacity": 0.8},
            text=[f"question {r.question_id}<br>round {r.round}, agent {r.agent}<br>{r.label}" for r in rows],
            hovertemplate="%{text}<extra></extra>",
        ))
    ev = fit.explained_variance_ratio.tolist() + [0.0, 0.0]
    fig.update_layout(
        title=title or f"Turns on the top two principal axes at {site}, coloured by {color_by}",
        xaxis_title=f"PC1 ({100 * ev[0]:.1f}% of variance)", yaxis_title=f"PC2 ({100 * ev[1]:.1f}% of variance)",
        legend_title_text=names.get(color_by, color_by), template="plotly_white",
    )
    return fig


def cosine_heatmap(matrix: Tensor, labels: Sequence[str], title: str) -> Any:
    """Cosine similarities of directions, -1 (blue) to +1 (red), with the values written in the cells."""
    go = _go()
    values = matrix.tolist()
    fig = go.Figure(go.Heatmap(
        z=values, x=list(labels), y=list(labels), zmin=-1, zmax=1, colorscale="RdBu_r",
        text=[[f"{v:.2f}" for v in row] for row in values], texttemplate="%{text}",
        colorbar={"title": "cosine"}, hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>",
    ))
    fig.update_layout(title=title, xaxis_title="direction", yaxis_title="direction", template="plotly_white",
                      yaxis_autorange="reversed")
    return fig


def principal_angle_figure(angles: Mapping[str, Mapping[int, Sequence[float]]], title: str) -> Any:
    """Principal angles (degrees) per layer; one line per subspace and angle index (theta1 = smallest)."""
    go = _go()
    fig = go.Figure()
    for i, (name, by_layer) in enumerate(angles.items()):
        layers = sorted(by_layer)
        n_angles = max((len(by_layer[layer]) for layer in layers), default=0)
        for j in range(n_angles):
            ys = [math.degrees(by_layer[layer][j]) if j < len(by_layer[layer]) else None for layer in layers]
            fig.add_trace(go.Scatter(x=layers, y=ys, mode="lines+markers", name=f"{name}: θ{j + 1}",
                                     line={"dash": _DASHES[i % len(_DASHES)]}))
    fig.update_layout(
        title=title, xaxis_title="layer (0-based block index)", template="plotly_white",
        yaxis_title="principal angle (degrees; 0 = same subspace, 90 = orthogonal)", yaxis_range=[0, 92],
        legend_title_text="subspace: angle",
    )
    fig.update_xaxes(dtick=1)
    return fig


FIGURE_CONFIG = {"responsive": True, "displaylogo": False}


def page_figure(fig: Any) -> Any:
    """A copy of `fig` that takes its page's width (a fixed layout width cut legends off), in `COLORWAY`;
    every figure file and report page draws this copy."""
    page = _go().Figure(fig)
    page.update_layout(colorway=COLORWAY, width=None, autosize=True)
    return page


def write_figure(fig: Any, stem: str | Path, *, plotlyjs: bool | str = True,
                 png_scale: float | None = 2) -> list[Path]:
    """Write ``stem.html`` and, when the kaleido renderer is installed, ``stem.png``. Returns the files written.

    `plotlyjs` is plotly's ``include_plotlyjs``: ``True`` (the default) bundles plotly.js inline, so the
    page works offline and still works when copied elsewhere; ``"directory"`` saves it once beside the
    page (smaller, but a page copied without it goes blank). The page takes the window's width (a
    fixed layout width is dropped). `png_scale` is the PNG's resolution factor (None: plotly's
    default). The one figure writer: run folders use it too.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    html = stem.with_name(stem.name + ".html")
    page_figure(fig).write_html(str(html), include_plotlyjs=plotlyjs, full_html=True, default_width="100%",
                                config=FIGURE_CONFIG)
    written = [html]
    if importlib.util.find_spec("kaleido") is not None:
        png = stem.with_name(stem.name + ".png")
        try:
            fig.write_image(str(png), scale=png_scale)
            written.append(png)
        except Exception:  # kaleido present but without a usable browser: HTML is the figure of record
            pass
    return written
