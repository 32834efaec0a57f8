"""Probes: per-agent activations from debates, agent directions, linear probes and subspaces.

* `collect`: per-turn activations at a `ReadPosition` (``agent_tag``, ``turn_last``, ``turn_mean``) → `ActivationSet`; `batching` packs
  inputs into forward passes.
* `contrasts`: paper Eq. 3, the original code's own-turn variant, the base-model system-prompt contrast.
* `shards`: streamed, resumable, cached activation shards on disk.
* `directions`, `linear`, `pca`, `subspaces`, `layers`: directions, probes, PCA, angles, layer sweeps.
* `analysis`: all of the above per layer for one checkpoint, and two checkpoints compared.
* `heldout`, `control_task`, `selectivity`: held-out predictions tallied per question, the shuffled-label
  control, and probe accuracy beside its baselines with paired-bootstrap CIs and computed verdicts.
* `plots`: plotly figures.

Modules that pull in scikit-learn or plotly load on first use, so ``import probes`` stays fast.

Example:
    >>> from probes import collect_turns, agent_directions, probe_accuracy
    >>> acts = collect_turns(model, debates, sites=["blocks.2.hook_resid_post"], positions="turn_mean")
    >>> agent_directions(acts, "blocks.2.hook_resid_post")["agent2"].save("vectors/agent2")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from probes.activations import READ_POSITIONS, ActivationSet, ReadPosition, Row, concat
from probes.batching import Batching, Input, Read
from probes.collect import (
    Source,
    collect_activations,
    collect_to_store,
    collect_turns,
    plan_batches,
    turn_source,
)
from probes.contrasts import (
    eq3_directions,
    eq3_source,
    own_turn_directions,
    system_prompt_direction,
    system_prompt_source,
)
from probes.directions import (
    DIRECTION_METHODS,
    Direction,
    DirectionError,
    Subspace,
    agent_directions,
    contrast_direction,
    diff_of_means,
)
from probes.errors import ProbeError, ShardError
from probes.shards import ShardKey, ShardStore

_LAZY: dict[str, str] = {
    "ProbeScore": "probes.linear", "LinearProbe": "probes.linear", "probe_accuracy": "probes.linear",
    "probe_accuracy_by_layer": "probes.linear", "probe_direction": "probes.linear", "fit_probe": "probes.linear",
    "PCAResult": "probes.pca", "fit_pca": "probes.pca", "agent_pca": "probes.pca",
    "cosine_matrix": "probes.subspaces", "principal_angles": "probes.subspaces", "span": "probes.subspaces",
    "angles_by_layer": "probes.subspaces",
    "CRITERIA": "probes.layers", "LayerSweep": "probes.layers", "sweep_layers": "probes.layers",
    "fisher_ratio": "probes.layers",
    "AgentAnalysis": "probes.analysis", "analyze_agents": "probes.analysis", "compare_checkpoints": "probes.analysis",
    "QuestionTally": "probes.heldout", "heldout_tally": "probes.heldout",
    "control_labels": "probes.control_task", "shuffle_within": "probes.control_task",
    "Measure": "probes.selectivity", "TallyTable": "probes.selectivity", "condition_tallies": "probes.selectivity",
    "decide": "probes.selectivity", "layer_measures": "probes.selectivity", "measure": "probes.selectivity",
}

if TYPE_CHECKING:
    from probes.analysis import AgentAnalysis, analyze_agents, compare_checkpoints
    from probes.control_task import control_labels, shuffle_within
    from probes.heldout import QuestionTally, heldout_tally
    from probes.layers import CRITERIA, LayerSweep, fisher_ratio, sweep_layers
    from probes.linear import LinearProbe, ProbeScore, fit_probe, probe_accuracy, probe_accuracy_by_layer, probe_direction
    from probes.pca import PCAResult, agent_pca, fit_pca
    from probes.selectivity import (
        Measure,
        TallyTable,
        condition_tallies,
        decide,
        layer_measures,
        measure,
    )
    from probes.subspaces import angles_by_layer, cosine_matrix, principal_angles, span


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'probes' has no attribute {name!r}")


__all__ = [
    "CRITERIA", "DIRECTION_METHODS", "READ_POSITIONS", "ActivationSet", "AgentAnalysis", "Batching", "Direction",
    "DirectionError", "Input", "LayerSweep", "LinearProbe", "Measure", "PCAResult", "ProbeError", "ProbeScore",
    "QuestionTally", "Read", "ReadPosition", "Row", "ShardError", "ShardKey", "ShardStore", "Source", "Subspace",
    "TallyTable", "agent_directions", "agent_pca", "analyze_agents", "angles_by_layer", "collect_activations",
    "collect_to_store", "collect_turns", "compare_checkpoints", "concat", "condition_tallies",
    "contrast_direction", "control_labels", "cosine_matrix", "decide", "diff_of_means", "eq3_directions",
    "eq3_source", "fisher_ratio", "fit_pca", "fit_probe", "heldout_tally", "layer_measures", "measure",
    "own_turn_directions", "plan_batches", "principal_angles", "probe_accuracy", "probe_accuracy_by_layer",
    "probe_direction", "shuffle_within", "span", "sweep_layers", "system_prompt_direction",
    "system_prompt_source", "turn_source",
]
