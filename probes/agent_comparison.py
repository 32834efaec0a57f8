"""Agent subspaces of two checkpoints side by side: per-layer analysis, saved vectors, figures, headline metrics.

The analysis of `experiments/agent_subspaces.py` and the agent-subspaces notebook:

* `layer_sites` -- one site kind at every block of a model;
* `analyze_checkpoint` -- per-turn activations of a model at every layer (plus the Eq. 3 contrast),
  then `probes.analysis.analyze_agents`: directions, probes, PCA at every layer, the best layer;
* `save_vectors` -- every direction and subspace of an analysis as safetensors + JSON, one folder per layer;
* `comparison_figures` -- probe accuracy per layer, PCA scatters and direction cosines at each
  checkpoint's best layer, and principal angles between the two checkpoints per layer (by file stem);
* `comparison_metrics` -- best layer and accuracy per checkpoint, whether the distilled checkpoint
  separates agents better than the base (beyond the folds' spread), principal angles in degrees.

Example:
    >>> analyses = {n: analyze_checkpoint(load(c), debates, n) for n, c in (("base", "tiny-base"), ("distilled", "tiny-imad"))}
    >>> comparison = compare_checkpoints(analyses["base"], analyses["distilled"])
    >>> figures = comparison_figures(analyses, comparison)   # {"probe_accuracy_agent": fig, ...}
    >>> metrics = comparison_metrics(analyses, comparison)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from models.debate.format import Transcript
from models.hooked import HookedModel
from models.sites import site_layer
from probes.activations import ActivationSet, ReadPosition
from probes.analysis import AgentAnalysis, analyze_agents
from probes.collect import collect_activations, collect_turns
from probes.contrasts import eq3_source
from probes.plots import cosine_heatmap, pca_scatter, principal_angle_figure, probe_accuracy_figure
from probes.subspaces import cosine_matrix


def layer_sites(model: HookedModel, site: Literal["resid_pre", "resid_post"] = "resid_post") -> list[str]:
    """`site` at every block of `model`: ``["blocks.0.hook_resid_post", ...]``."""
    return [f"blocks.{layer}.hook_{site}" for layer in range(model.info.n_layers)]


def analyze_checkpoint(model: HookedModel, debates: Sequence[Transcript], name: str, *,
                       site: Literal["resid_pre", "resid_post"] = "resid_post", positions: ReadPosition = "turn_mean",
                       eq3: bool = True, eq3_positions: str = "", k: int = 3, folds: int = 5, seed: int = 0,
                       truncate: bool = True, batch_tokens: int | None = None, cache_dir: str | Path | None = None,
                       progress: bool = False, acts: ActivationSet | None = None) -> AgentAnalysis:
    """Collect every turn of `debates` at `site` of every layer, read at `positions`, and analyse it.

    With `eq3`, also collects the paper's Eq. 3 contrast, read at `eq3_positions` over the response
    ('' = as `positions`, or 'turn_last' for 'agent_tag', which has no response counterpart). `acts`, when
    given, are those turns already collected (`collect_turns` of the same model, debates, sites and positions).
    """
    sites = layer_sites(model, site)
    opts: dict[str, Any] = dict(truncate=truncate, batch_tokens=batch_tokens, cache_dir=cache_dir, progress=progress)
    if acts is None:
        acts = collect_turns(model, debates, sites, positions, **opts)
    eq3_read = eq3_positions or ("turn_last" if positions == "agent_tag" else positions)
    eq3_acts = collect_activations(model, eq3_source(debates, eq3_read), sites, **opts) if eq3 else None  # type: ignore[arg-type]
    return analyze_agents(acts, name, k=k, folds=folds, seed=seed, eq3_acts=eq3_acts, progress=progress)


def save_vectors(analysis: AgentAnalysis, folder: str | Path) -> None:
    """Every direction and subspace of `analysis` under ``folder/layerNN/`` (safetensors + JSON each)."""
    for layer in analysis.layers.values():
        out = Path(folder) / f"layer{layer.layer:02d}"
        for prefix, dirs in (("", layer.directions), ("", layer.round_directions), ("own_turn_", layer.own_turn),
                             ("eq3_", layer.eq3)):
            for key, d in dirs.items():
                d.save(out / f"{prefix}{key}")
        for key, sub in layer.subspaces().items():
            sub.save(out / f"subspace_{key}")


def comparison_figures(analyses: Mapping[str, AgentAnalysis], comparison: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of a two-checkpoint comparison, by file stem, in the order they are listed in a summary.

    `comparison` is `probes.analysis.compare_checkpoints` of the first two analyses.
    """
    figs = {"probe_accuracy_agent": probe_accuracy_figure({n: a.sweep.details for n, a in analyses.items()})}
    traits = {n: {s: la.trait_probe for s, la in a.layers.items()} for n, a in analyses.items()
              if a.best.trait_probe is not None}
    if traits:
        figs["probe_accuracy_trait"] = probe_accuracy_figure(traits)
    for name, a in analyses.items():
        best = a.best
        for by in ("agent", "round"):
            title = f"{name}: turns on the top two joint principal axes at layer {best.layer}, coloured by {by}"
            figs[f"pca_{name}_by_{by}"] = pca_scatter(a.acts, best.pca["joint"], best.site, by, title)
        dirs = {f"mean-diff {k}": d for k, d in best.directions.items()}
        dirs |= {f"Eq.3 {k}": d for k, d in best.eq3.items()}
        title = f"{name}: cosine between agent-vs-others directions at layer {best.layer}"
        figs[f"cosine_{name}"] = cosine_heatmap(cosine_matrix(dirs), list(dirs), title)
    kinds = {"joint PCA": "pca_joint", "agent-direction span": "agents"}
    curves = {label: {site_layer(s): c["principal_angles"][key] for s, c in comparison.items()}
              for label, key in kinds.items()}
    names = list(analyses)
    figs["principal_angles"] = principal_angle_figure(
        curves, f"Principal angles between {names[0]} and {names[1]} subspaces, per layer")
    return figs


def comparison_metrics(analyses: Mapping[str, AgentAnalysis], comparison: Mapping[str, Any]) -> dict[str, Any]:
    """Headline numbers of a base-vs-distilled comparison (`analyses` keyed "base" and "distilled")."""
    out: dict[str, Any] = {}
    for name, a in analyses.items():
        best = a.best
        out[name] = {"checkpoint": a.acts.model, "fingerprint": a.acts.checkpoint, "n_turns": len(a.acts),
                     "dropped_beyond_context": a.acts.info.get("dropped_beyond_context", 0),
                     "best_layer": best.layer, "best_agent_probe_accuracy": best.agent_probe.accuracy,
                     "best_agent_probe_std": best.agent_probe.std, "chance": best.agent_probe.chance,
                     "agent_probe_accuracy_by_layer": {la.layer: la.agent_probe.accuracy for la in a.layers.values()},
                     "criterion": a.sweep.statement}
    base, distilled = (analyses[n] for n in ("base", "distilled"))
    diff = distilled.best.agent_probe.accuracy - base.best.agent_probe.accuracy
    out["distilled_minus_base_best_accuracy"] = diff
    # A difference inside the folds' spread is not evidence either way.
    spread = max(base.best.agent_probe.std, distilled.best.agent_probe.std)
    out["distilled_separates_agents_better"] = diff > spread
    out["comparison"] = ("better" if diff > spread else "worse" if diff < -spread else
                         "indistinguishable (difference within the cross-validation spread)")
    out["principal_angles_deg_by_layer"] = {
        s: {k: [round(float(torch.rad2deg(torch.tensor(v))), 3) for v in vals]
            for k, vals in c["principal_angles"].items() if k in ("pca_joint", "agents")}
        for s, c in comparison.items()}
    return out
