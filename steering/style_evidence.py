"""What the agent-style rows say, with its uncertainty: steering gains with paired bootstrap CIs over
questions, the random directions' band, the spread over seeds, and verdicts computed from intervals.

The primary statistic is the *steering gain*: per question, the score at alpha minus the score of the
same question unsteered, integrated over the alpha grid (trapezoid). The paper's statistic, the area
under the score itself, also counts the unsteered output, so a model whose plain answer already
resembles a persona wins it without any steering; it is kept as a secondary column (``area``).

Rows are the pooled (seed, question) pairs of every seed: each seed has its own question sample,
persona vectors and random directions, and both models answer the same questions, so every model
comparison is paired by row. A random direction is one (seed, index) pair; its outcome is its mean
over its own seed's questions, and the controls' band is the 5-95 % range of those outcomes. The
persona direction counts as steering when its gain minus the band's top (recomputed on each
bootstrap resample) has a CI above the threshold.

A verdict is `models.stats.Criterion.decide` on the pooled CI, made inconclusive when the seeds'
point estimates fall on different sides of the threshold (a claim that flips across seeds is not
established, whatever the pooled interval says). `evidence` gathers all of it for a run's metrics.

Example:
    >>> table = score_table(rows, "rougeL", alphas=[0, 1, 2, 4])
    >>> base = arm_evidence(table, "base", "mean")                 # gain, sign flip, band, over-band, ...
    >>> diff = gain_difference(table, "mean")                      # distilled - base, paired
    >>> decide(criterion, diff, [d for _, d in seed_values(table, "mean")])
    >>> evidence(table, {"distilled_vs_base": primary, "over_random": over}, targets=["self_critique", "mean"])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from models.stats import (
    Criterion,
    Estimate,
    Verdict,
    bootstrap_mean,
    bootstrap_paired_difference,
    paired_bootstrap,
    seed_spread,
    verdict_line,
)
from steering.controls import Band, control_band
from steering.prepare import SteeringError

MEAN = "mean"  # the target name of the average over personas
MODELS = ("base", "distilled")
BAND = (5.0, 95.0)
Key = tuple[int, int]  # (seed, question)
Cell = tuple[str, str, str, int]  # (model, arm kind, target persona, control index or -1)


@dataclass(frozen=True)
class ScoreTable:
    """Scores as ``[n_rows, n_alphas]`` arrays per (model, arm kind, target, control); column 0 is alpha 0."""

    keys: tuple[Key, ...]
    alphas: tuple[float, ...]
    personas: tuple[str, ...]
    n_controls: int
    cells: Mapping[Cell, np.ndarray]

    @property
    def seeds(self) -> np.ndarray:
        return np.array([s for s, _ in self.keys])

    def scores(self, model: str, kind: str, target: str, control: int = -1) -> np.ndarray:
        """``[n_rows, n_alphas]`` scores of one arm against one persona's references, or their mean (`MEAN`)."""
        targets = self.personas if target == MEAN else (target,)
        try:
            return np.mean([self.cells[(model, kind, t, control)] for t in targets], axis=0)
        except KeyError as e:
            raise SteeringError(f"no scores for {e.args[0]} (model, arm kind, target, control)") from None

    def controls(self, model: str, target: str) -> np.ndarray:
        """``[n_rows, n_alphas, n_controls]``: every random direction's scores against `target`."""
        return np.stack([self.scores(model, "random", target, k) for k in range(self.n_controls)], axis=-1)


def score_table(rows: Sequence[Mapping[str, Any]], metric: str, alphas: Sequence[float]) -> ScoreTable:
    """Arrange the rows of `steering.persona_style.style_rows` by arm; every cell must be scored."""
    grid = tuple(sorted(float(a) for a in alphas))
    if len(grid) < 2 or grid[0] != 0.0 or len(set(grid)) != len(grid):
        raise SteeringError(f"alphas must be distinct, >= 0 and include 0 (the unsteered point), got {list(alphas)}")
    keys = tuple(sorted({(int(r["seed"]), int(r["question"])) for r in rows}))
    if not keys:
        raise SteeringError("score_table needs at least one row")
    index, column = {k: i for i, k in enumerate(keys)}, {a: j for j, a in enumerate(grid)}
    unsteered: dict[tuple[str, str], np.ndarray] = {}
    cells: dict[Cell, np.ndarray] = {}
    for r in rows:
        i = index[(int(r["seed"]), int(r["question"]))]
        for target, scores in r["scores"].items():
            if r["kind"] == "unsteered":
                unsteered.setdefault((r["model"], target), np.full(len(keys), np.nan))[i] = scores[metric]
                continue
            if float(r["alpha"]) not in column:
                raise SteeringError(f"row at alpha {r['alpha']} is not on the grid {list(grid)}")
            cell = (r["model"], r["kind"], target, -1 if r["control"] is None else int(r["control"]))
            cells.setdefault(cell, np.full((len(keys), len(grid)), np.nan))[i, column[float(r["alpha"])]] = scores[metric]
    for (model, _, target, _), values in cells.items():
        if (model, target) not in unsteered:
            raise SteeringError(f"no unsteered scores of {model} against {target}")
        values[:, 0] = unsteered[(model, target)]
    for cell, values in cells.items():
        if np.isnan(values).any():
            missing = [(keys[i], grid[j]) for i, j in zip(*np.nonzero(np.isnan(values)))][:3]
            raise SteeringError(f"{cell} has unscored (seed, question), alpha cells, e.g. {missing}")
    personas = tuple(sorted({c[2] for c in cells if c[1] == "persona"}))
    n_controls = len({c[3] for c in cells if c[1] == "random"})
    return ScoreTable(keys, grid, personas, n_controls, cells)


def _trapezoid(values: np.ndarray, alphas: Sequence[float]) -> np.ndarray:
    """Area under the last axis (alpha) by the trapezoid rule."""
    x = np.asarray(alphas, dtype=float)
    return ((values[..., 1:] + values[..., :-1]) / 2 * np.diff(x)).sum(axis=-1)


def gain_auc(scores: np.ndarray, alphas: Sequence[float]) -> np.ndarray:
    """Per row: area under score(alpha) - score(0), i.e. what steering adds to that question's own output."""
    return _trapezoid(np.moveaxis(scores - scores[:, :1], 1, -1), alphas)


def area_auc(scores: np.ndarray, alphas: Sequence[float]) -> np.ndarray:
    """Per row: area under score(alpha) itself, the paper's statistic (counts the unsteered score)."""
    return _trapezoid(np.moveaxis(scores, 1, -1), alphas)


def control_outcomes(controls: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """One outcome per random direction, i.e. per (seed, index): its mean over that seed's rows."""
    return np.concatenate([controls[seeds == s].mean(axis=0) for s in np.unique(seeds)])


def over_band(gain: np.ndarray, controls: np.ndarray, seeds: np.ndarray, high: float = BAND[1]) -> float:
    """Mean gain of the persona direction minus the `high` percentile of the random directions' outcomes."""
    return float(gain.mean() - np.percentile(control_outcomes(controls, seeds), high))


@dataclass(frozen=True)
class ArmEvidence:
    """One model's persona direction toward one target (or the mean over personas), against its controls."""

    gain: Estimate  # persona direction's gain AUC
    sign_flip: Estimate  # the negated vector's gain AUC
    band: Band  # 5-95 % of the random directions' gain AUCs
    over_band: Estimate  # gain minus the band's top, recomputed per resample
    steerable: Estimate  # share of questions whose gain AUC is above 0 (Tan et al. 2024)
    area: Estimate  # the paper's AUC of the score itself
    unsteered: Estimate  # the score at alpha 0


def arm_evidence(table: ScoreTable, model: str, target: str, seed: int = 0) -> ArmEvidence:
    """Estimates with 95 % bootstrap CIs over the pooled rows (`seed` seeds the resampling)."""
    persona = table.scores(model, "persona", target)
    gain = gain_auc(persona, table.alphas)
    controls = gain_auc(table.controls(model, target), table.alphas)
    seeds = table.seeds
    data = np.column_stack([seeds, gain, controls])
    over = paired_bootstrap(data, lambda d: over_band(d[:, 1], d[:, 2:], d[:, 0]), seed=seed)
    return ArmEvidence(
        gain=bootstrap_mean(gain, seed=seed),
        sign_flip=bootstrap_mean(gain_auc(table.scores(model, "sign_flip", target), table.alphas), seed=seed),
        band=control_band(control_outcomes(controls, seeds), *BAND),
        over_band=over,
        steerable=bootstrap_mean((gain > 0).astype(float), seed=seed),
        area=bootstrap_mean(area_auc(persona, table.alphas), seed=seed),
        unsteered=bootstrap_mean(persona[:, 0], seed=seed),
    )


def gain_difference(table: ScoreTable, target: str, statistic: str = "gain", seed: int = 0,
                    models: tuple[str, str] = ("distilled", "base")) -> Estimate:
    """Paired mean difference (first model minus second) of 'gain', 'area' or 'unsteered' over the same rows."""
    pick: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "gain": lambda s: gain_auc(s, table.alphas), "area": lambda s: area_auc(s, table.alphas),
        "unsteered": lambda s: s[:, 0]}
    if statistic not in pick:
        raise SteeringError(f"statistic must be one of {sorted(pick)}, got {statistic!r}")
    a, b = (pick[statistic](table.scores(m, "persona", target)) for m in models)
    return bootstrap_paired_difference(a, b, seed=seed)


def seed_values(table: ScoreTable, target: str) -> list[tuple[int, dict[str, float]]]:
    """Per seed, point estimates on that seed's rows: each model's gain and over-band, and distilled - base."""
    out = []
    for s in np.unique(table.seeds):
        mask = table.seeds == s
        values: dict[str, float] = {"n": float(mask.sum())}
        for model in MODELS:
            gain = gain_auc(table.scores(model, "persona", target), table.alphas)[mask]
            controls = gain_auc(table.controls(model, target), table.alphas)[mask]
            values[f"{model}_gain"] = float(gain.mean())
            values[f"{model}_over_band"] = over_band(gain, controls, table.seeds[mask])
        values["difference"] = values["distilled_gain"] - values["base_gain"]
        out.append((int(s), values))
    return out


def decide(criterion: Criterion, estimate: Estimate, per_seed: Sequence[float]) -> tuple[Verdict, str]:
    """The interval's verdict, or inconclusive (with the reason) when the seeds' point estimates disagree."""
    outcome = criterion.decide(estimate)
    sides = {criterion.decide(Estimate(v, v, v, 1)) for v in per_seed}
    if outcome != "inconclusive" and len(sides) > 1:
        shown = ", ".join(f"{v:+.3g}" for v in per_seed)
        return "inconclusive", f"the CI alone says {outcome}, but the seeds fall on both sides ({shown})"
    return outcome, ""


def _verdict(criterion: Criterion, estimate: Estimate, outcome: Verdict, note: str) -> dict[str, Any]:
    line = verdict_line(criterion, estimate, outcome)
    return {"verdict": outcome, "estimate": estimate, "criterion": criterion, "note": note,
            "line": f"{line}; {note}" if note else line}


def evidence(table: ScoreTable, criteria: Mapping[str, Criterion], targets: Sequence[str]) -> dict[str, Any]:
    """Every estimate with its CI, the per-seed values and the verdicts (computed, never chosen), per target.

    `criteria` holds ``distilled_vs_base`` (on the paired gain difference) and ``over_random`` (on each
    model's gain minus the random band's top); verdicts are keyed ``distilled_vs_base/<target>`` and
    ``over_random/<model>/<target>``. The seed spread is of the mean over personas (`MEAN`).
    """
    arms = {t: {m: arm_evidence(table, m, t) for m in MODELS} for t in targets}
    diffs = {t: {s: gain_difference(table, t, s) for s in ("gain", "area", "unsteered")} for t in targets}
    seeds = {t: seed_values(table, t) for t in targets}
    primary, over = criteria["distilled_vs_base"], criteria["over_random"]
    per_model = {m: replace(over, claim_text=f"{m}: {over.claim_text}") for m in MODELS}
    verdicts: dict[str, dict[str, Any]] = {}
    for t in targets:
        outcome, note = decide(primary, diffs[t]["gain"], [v["difference"] for _, v in seeds[t]])
        verdicts[f"distilled_vs_base/{t}"] = _verdict(primary, diffs[t]["gain"], outcome, note)
        for m in MODELS:
            outcome, note = decide(per_model[m], arms[t][m].over_band, [v[f"{m}_over_band"] for _, v in seeds[t]])
            verdicts[f"over_random/{m}/{t}"] = _verdict(per_model[m], arms[t][m].over_band, outcome, note)
    spread = {k: seed_spread([v[k] for _, v in seed_values(table, MEAN)])
              for k in ("difference", "base_gain", "distilled_gain", "base_over_band", "distilled_over_band")}
    return {"arms": arms, "differences": diffs, "per_seed": seeds, "seed_spread": spread, "verdicts": verdicts}


@dataclass(frozen=True)
class CurvePoint:
    """Mean gain over rows at one alpha: the persona direction (with its CI), its sign flip, the random band."""

    alpha: float
    gain: Estimate
    sign_flip: float
    band: Band


def gain_curve(table: ScoreTable, model: str, target: str, seed: int = 0) -> list[CurvePoint]:
    """Gain (score minus unsteered) against alpha, with the controls' 5-95 % band at each alpha."""
    persona, flip = (table.scores(model, k, target) for k in ("persona", "sign_flip"))
    controls = table.controls(model, target)
    points = []
    for j, alpha in enumerate(table.alphas):
        outcomes = control_outcomes(controls[:, j] - controls[:, 0], table.seeds)
        points.append(CurvePoint(alpha, bootstrap_mean(persona[:, j] - persona[:, 0], seed=seed),
                                 float((flip[:, j] - flip[:, 0]).mean()), control_band(outcomes, *BAND)))
    return points


def gain_figure(curves: Mapping[str, Mapping[str, Sequence[CurvePoint]]], titles: Mapping[str, str],
                metric: str) -> Any:
    """Gain vs alpha per target (columns) and model (rows): persona direction with its 95 % CI, sign flip,
    and the random directions' 5-95 % band shaded."""
    import plotly.graph_objects as go  # imported when a figure is made
    from plotly.subplots import make_subplots

    models, targets = list(curves), list(next(iter(curves.values())))
    fig = make_subplots(rows=len(models), cols=len(targets), shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=[f"{m}: toward {titles.get(t, t)}" for m in models for t in targets])
    for i, model in enumerate(models, start=1):
        for j, target in enumerate(targets, start=1):
            pts = curves[model][target]
            xs = [p.alpha for p in pts]
            first = i == 1 and j == 1
            fig.add_trace(go.Scatter(x=xs + xs[::-1], y=[p.band.high for p in pts] + [p.band.low for p in pts][::-1],
                                     fill="toself", fillcolor="rgba(128,128,128,0.25)", line={"width": 0},
                                     name="random directions, 5-95 %", legendgroup="band", showlegend=first,
                                     hoverinfo="skip"), row=i, col=j)
            fig.add_trace(go.Scatter(
                x=xs, y=[p.gain.value for p in pts], mode="lines+markers", name="persona direction (95 % CI)",
                legendgroup="persona", showlegend=first, line={"color": "#EF553B"},
                error_y={"type": "data", "symmetric": False, "array": [p.gain.high - p.gain.value for p in pts],
                         "arrayminus": [p.gain.value - p.gain.low for p in pts]}), row=i, col=j)
            fig.add_trace(go.Scatter(x=xs, y=[p.sign_flip for p in pts], mode="lines+markers", name="sign-flipped",
                                     legendgroup="flip", showlegend=first, line={"color": "#636EFA", "dash": "dash"}),
                          row=i, col=j)
            fig.add_hline(y=0.0, line_color="black", line_width=1, row=i, col=j)
        fig.update_yaxes(title_text=f"{metric} gain over unsteered", row=i, col=1)
    for j in range(1, len(targets) + 1):
        fig.update_xaxes(title_text="steering strength alpha", row=len(models), col=j)
    fig.update_layout(title=f"Steering toward each persona: {metric} against its writing, minus the unsteered score",
                      height=380 * len(models), width=320 * len(targets) + 200, template="plotly_white")
    return fig
