"""Everything per layer about one checkpoint's agents, and how two checkpoints differ.

`analyze_agents` runs, at every collected site: the 3-way agent-identity probe (and a trait probe
when the rows carry more than one trait), the Fisher ratio, agent-vs-others directions overall and
per round, the original code's own-turn contrast, optionally the paper's Eq. 3 contrast, the cosine
matrix of the agent directions, and PCA jointly and per agent. `compare_checkpoints` gives principal
angles between two checkpoints' subspaces and same-agent cosines, layer by layer.

Example:
    >>> base = analyze_agents(collect_turns(base_model, debates, sites), name="base")
    >>> imad = analyze_agents(collect_turns(imad_model, debates, sites), name="imad")
    >>> base.sweep.statement, compare_checkpoints(base, imad)["blocks.2.hook_resid_post"]["pca_joint"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor
from tqdm.auto import tqdm

from models.sites import site_layer
from probes.activations import ActivationSet
from probes.contrasts import eq3_directions, own_turn_directions
from probes.directions import Direction, Subspace, agent_directions
from probes.layers import LayerSweep, fisher_ratio, pick_best
from probes.linear import ProbeScore, probe_accuracy
from probes.pca import PCAResult, agent_pca
from probes.subspaces import cosine_matrix, principal_angles, span


@dataclass(frozen=True)
class LayerAnalysis:
    """One site's measurements; directions are unit-normalised."""

    site: str
    agent_probe: ProbeScore
    trait_probe: ProbeScore | None
    fisher: float
    directions: dict[str, Direction]  # "agent1": agent 1 vs the other agents (difference of means)
    round_directions: dict[str, Direction]  # "agent1_round2": the same within one round
    own_turn: dict[str, Direction]  # original code's contrast over complete (debate, round) groups
    eq3: dict[str, Direction]  # paper Eq. 3 contrast (empty when not collected)
    cosine: Tensor  # [agent, agent] between `directions`
    pca: dict[str, PCAResult]  # "joint", "agent1", ...
    provenance: dict[str, str] = field(default_factory=dict)  # of the rows: model, checkpoint, read position, data

    @property
    def layer(self) -> int:
        return site_layer(self.site)

    def subspaces(self) -> dict[str, Subspace]:
        """Joint and per-agent PCA subspaces, plus the span of the agent directions (``"agents"``)."""
        out = {name: fit.subspace(self.site, f"pca_{name}", self.provenance) for name, fit in self.pca.items()}
        out["agents"] = span(list(self.directions.values()), label="agent_directions")
        return out

    def to_json(self) -> dict[str, Any]:
        labels = list(self.directions)
        eq3_vs_own = {a: self.eq3[a].cosine(self.own_turn[a]) for a in self.eq3 if a in self.own_turn}
        return {
            "site": self.site, "layer": self.layer, "agent_probe": self.agent_probe.to_json(),
            "trait_probe": self.trait_probe.to_json() if self.trait_probe else None, "fisher_ratio": self.fisher,
            "cosine_labels": labels, "cosine": self.cosine.tolist(),
            "rows_per_agent": {a: d.params.get("n_positive") for a, d in self.directions.items()},
            "eq3_vs_own_turn_cosine": eq3_vs_own,
            "pca_explained_variance": {k: v.explained_variance_ratio.tolist() for k, v in self.pca.items()},
        }


@dataclass(frozen=True)
class AgentAnalysis:
    """Per-site `LayerAnalysis` of one checkpoint, and the layer where its agents separate best."""

    name: str
    acts: ActivationSet = field(repr=False)
    layers: dict[str, LayerAnalysis]
    sweep: LayerSweep

    @property
    def best(self) -> LayerAnalysis:
        return self.layers[self.sweep.best_site]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.acts.model, "checkpoint": self.acts.checkpoint,
                "read_position": self.acts.read_position, "n_rows": len(self.acts), "info": dict(self.acts.info),
                "sweep": self.sweep.to_json(), "layers": {s: la.to_json() for s, la in self.layers.items()}}


def analyze_layer(acts: ActivationSet, site: str, k: int = 3, folds: int = 5, seed: int = 0,
                  eq3_acts: ActivationSet | None = None) -> LayerAnalysis:
    """All agent measurements at one site (see the module docstring)."""
    traits = set(acts.column("trait"))
    directions = agent_directions(acts, site, normalize=True)
    return LayerAnalysis(
        site=site,
        agent_probe=probe_accuracy(acts, site, "agent", folds=folds, seed=seed),
        trait_probe=probe_accuracy(acts, site, "trait", folds=folds, seed=seed) if len(traits) > 1 else None,
        fisher=fisher_ratio(acts, site, "agent"),
        directions=directions,
        round_directions=agent_directions(acts, site, normalize=True, by_round=True),
        own_turn=own_turn_directions(acts, site, normalize=True),
        eq3=eq3_directions(eq3_acts, site, normalize=True) if eq3_acts is not None else {},
        cosine=cosine_matrix(directions),
        pca=agent_pca(acts, site, k),
        provenance=acts.provenance(),
    )


def analyze_agents(acts: ActivationSet, name: str = "", k: int = 3, folds: int = 5, seed: int = 0,
                   eq3_acts: ActivationSet | None = None, progress: bool = False) -> AgentAnalysis:
    """`analyze_layer` at every site of `acts`; the best layer is the one with the highest agent-probe accuracy."""
    layers = {site: analyze_layer(acts, site, k, folds, seed, eq3_acts)
              for site in tqdm(acts.sites, desc=f"analyse {name or acts.model}", disable=not progress, leave=False)}
    scores = {s: la.agent_probe.accuracy for s, la in layers.items()}
    sweep = pick_best(scores, "probe_accuracy",
                      "held-out 3-way agent-identity accuracy of a logistic probe (standardised features, "
                      f"{folds}-fold cross-validation grouped by question)", "agent",
                      {s: la.agent_probe for s, la in layers.items()})
    return AgentAnalysis(name or acts.model, acts, layers, sweep)


def compare_checkpoints(a: AgentAnalysis, b: AgentAnalysis) -> dict[str, dict[str, Any]]:
    """Per common site: principal angles (radians) between `a`'s and `b`'s subspaces, and same-agent cosines."""
    out: dict[str, dict[str, Any]] = {}
    for site in a.layers:
        if site not in b.layers:
            continue
        sa, sb = a.layers[site].subspaces(), b.layers[site].subspaces()
        angles = {f"pca_{n}" if n != "agents" else "agents": principal_angles(sa[n], sb[n]).tolist()
                  for n in sa if n in sb}
        cos = {agent: d.cosine(b.layers[site].directions[agent])
               for agent, d in a.layers[site].directions.items() if agent in b.layers[site].directions}
        out[site] = {"principal_angles": angles, "same_agent_cosine": cos}
    return out

