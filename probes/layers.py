"""Layer sweeps: score every site by how well agents separate and pick the best, stating the criterion.

Criteria (`CRITERIA`, higher is better):

* ``probe_accuracy``: held-out accuracy of a logistic probe for the target (3-way agent identity by
  default), cross-validated with folds grouped by question (`probes.linear.probe_accuracy`).
* ``fisher_ratio``: trace of the between-class scatter over trace of the within-class scatter;
  no training, scale-free, but blind to separations that are not in the class means.

Ties go to the earliest layer.

Example:
    >>> sweep = sweep_layers(acts, "probe_accuracy")
    >>> sweep.best_layer, sweep.statement
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from models.sites import site_layer
from probes.activations import ActivationSet
from probes.errors import ProbeError
from probes.linear import probe_accuracy

Criterion = Callable[..., tuple[float, Any]]  # (acts, site, target, **options) -> (score, details)


def fisher_ratio(acts: ActivationSet, site: str, target: str = "agent") -> float:
    """tr(S_between) / tr(S_within) of the rows grouped by `target`."""
    X = acts.at(site).double()
    groups = acts.groups(target)
    if len(groups) < 2:
        raise ProbeError(f"fisher_ratio needs at least two {target} groups; the set has {list(groups)}")
    mean = X.mean(0)
    between = sum(len(idx) * float(((X[idx].mean(0) - mean) ** 2).sum()) for idx in groups.values())
    within = sum(float(((X[idx] - X[idx].mean(0)) ** 2).sum()) for idx in groups.values())
    return between / within if within > 0 else float("inf")


def _probe(acts: ActivationSet, site: str, target: str, **options: Any) -> tuple[float, Any]:
    score = probe_accuracy(acts, site, target, **options)
    return score.accuracy, score


def _fisher(acts: ActivationSet, site: str, target: str, **_: Any) -> tuple[float, Any]:
    value = fisher_ratio(acts, site, target)
    return value, value


CRITERIA: dict[str, tuple[Criterion, str]] = {
    "probe_accuracy": (_probe, "held-out accuracy of a logistic-regression probe for {target} "
                               "(standardised features, cross-validation with folds grouped by question)"),
    "fisher_ratio": (_fisher, "Fisher ratio for {target}: trace of between-{target} scatter / trace of "
                              "within-{target} scatter"),
}


@dataclass(frozen=True)
class LayerSweep:
    """Scores per site, the best site, and the criterion in words."""

    criterion: str
    description: str
    target: str
    scores: dict[str, float]
    best_site: str
    details: Mapping[str, Any] = field(default_factory=dict, compare=False)  # e.g. ProbeScore per site

    @property
    def best_layer(self) -> int:
        return site_layer(self.best_site)

    @property
    def best_score(self) -> float:
        return self.scores[self.best_site]

    @property
    def statement(self) -> str:
        return (f"best layer {self.best_layer} ({self.best_site}): highest {self.description} = "
                f"{self.best_score:.3f}; ties go to the earliest layer")

    def to_json(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "description": self.description, "target": self.target,
                "scores": self.scores, "best_site": self.best_site, "best_layer": self.best_layer,
                "best_score": self.best_score, "statement": self.statement}


def pick_best(scores: Mapping[str, float], criterion: str, description: str, target: str = "agent",
              details: Mapping[str, Any] | None = None) -> LayerSweep:
    """The highest-scoring site; among equals, the earliest layer."""
    if not scores:
        raise ProbeError("no layer scores to choose from")
    ordered = sorted(scores, key=lambda s: (-scores[s], site_layer(s)))
    return LayerSweep(criterion, description, target, dict(scores), ordered[0], dict(details or {}))


def sweep_layers(acts: ActivationSet, criterion: str = "probe_accuracy", target: str = "agent",
                 sites: Sequence[str] | None = None, progress: bool = False, **options: Any) -> LayerSweep:
    """Score every (or each given) site with `criterion` and pick the best layer."""
    if criterion not in CRITERIA:
        raise ProbeError(f"criterion={criterion!r} is not known; use one of {', '.join(CRITERIA)}")
    fn, text = CRITERIA[criterion]
    scores, details = {}, {}
    for site in tqdm(list(sites or acts.sites), desc=f"sweep {criterion}", disable=not progress, leave=False):
        scores[site], details[site] = fn(acts, site, target, **options)
    return pick_best(scores, criterion, text.format(target=target), target, details)
