"""Logistic-regression probes: cross-validated held-out accuracy per site, and probe weights as directions.

Features are standardised and the folds are grouped by question, so turns of one debate never sit
on both sides of a split. Any `Row` field can be the target: ``agent`` (3-way identity), ``trait``
(e.g. evil vs ethical), ``round``, ``label``.

Example:
    >>> score = probe_accuracy(acts, "blocks.2.hook_resid_post", target="agent")
    >>> score.accuracy, score.chance
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from models.sites import site_layer
from probes.activations import ActivationSet
from probes.vectors import Direction, to_direction
from probes.errors import ProbeError

if TYPE_CHECKING:
    from jaxtyping import Float


@dataclass(frozen=True)
class ProbeScore:
    """Held-out accuracy of one probe: mean and spread over folds, with chance (majority class) beside it."""

    site: str
    target: str
    accuracy: float
    std: float
    fold_accuracies: tuple[float, ...]
    n_rows: int
    classes: tuple[Any, ...]
    chance: float
    converged: bool = True

    @property
    def layer(self) -> int:
        return site_layer(self.site)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "classes": [str(c) for c in self.classes]}


@dataclass(frozen=True)
class LinearProbe:
    """A fitted probe in activation units: ``logits = x @ coef.T + intercept``."""

    classes: tuple[Any, ...]
    coef: Tensor  # [n_classes, d_model], or [1, d_model] for two classes (positive = classes[1])
    intercept: Tensor


def _model(C: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed))


def _fit(model: Any, X: np.ndarray, y: np.ndarray) -> bool:
    """Fit and report whether the solver converged (the warning is turned into a flag, not printed)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)
    return not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def _targets(acts: ActivationSet, target: str) -> np.ndarray:
    y = np.array(acts.column(target))
    classes = sorted(set(y.tolist()))
    if len(classes) < 2:
        raise ProbeError(f"a probe for {target!r} needs at least two classes; every row has {target}={classes}")
    return y


def probe_accuracy(acts: ActivationSet, site: str, target: str = "agent", folds: int = 5, C: float = 1.0,
                   seed: int = 0) -> ProbeScore:
    """Cross-validated held-out accuracy of a logistic probe for `target` at `site`, folds grouped by question."""
    from sklearn.model_selection import StratifiedGroupKFold

    X = acts.at(site).double().numpy()
    y = _targets(acts, target)
    groups = np.array(acts.column("question_id"))
    n_splits = min(folds, len(set(groups.tolist())))
    if n_splits < 2:
        raise ProbeError(f"cross-validation needs rows from at least two questions; {site} has {n_splits}")
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    accs, converged = [], True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class has fewer members than n_splits"
        splits = list(splitter.split(X, y, groups))
    for train, test in splits:
        if len(set(y[train].tolist())) < 2:
            continue
        model = _model(C, seed)
        converged &= _fit(model, X[train], y[train])
        accs.append(float((model.predict(X[test]) == y[test]).mean()))
    if not accs:
        raise ProbeError(f"no fold of {site} had two classes of {target!r} to train on; add more debates")
    values, counts = np.unique(y, return_counts=True)
    return ProbeScore(site, target, float(np.mean(accs)), float(np.std(accs)), tuple(accs), len(y),
                      tuple(v.item() for v in values), float(counts.max() / counts.sum()), converged)


def probe_accuracy_by_layer(acts: ActivationSet, target: str = "agent", sites: Sequence[str] | None = None,
                            progress: bool = False, **options: Any) -> dict[str, ProbeScore]:
    """`probe_accuracy` at every (or each given) site."""
    chosen = list(sites or acts.sites)
    return {s: probe_accuracy(acts, s, target, **options)
            for s in tqdm(chosen, desc=f"probe {target}", disable=not progress, leave=False)}


def fit_probe(X: Float[Tensor, "n d_model"], y: Sequence[Any], C: float = 1.0, seed: int = 0) -> LinearProbe:
    """Fit on all rows; the weights are mapped back through the standardisation into activation units."""
    model = _model(C, seed)
    _fit(model, X.double().numpy(), np.asarray(y))
    scaler, lr = model.steps[0][1], model.steps[1][1]
    coef = lr.coef_ / scaler.scale_
    intercept = lr.intercept_ - coef @ scaler.mean_
    return LinearProbe(tuple(lr.classes_.tolist()), torch.from_numpy(coef).float(), torch.from_numpy(intercept).float())


def logistic_direction(pos: Float[Tensor, "n d_model"], neg: Float[Tensor, "m d_model"], C: float = 0.1
                       ) -> Float[Tensor, "d_model"]:
    """Normal of the logistic decision boundary between `neg` and `pos`, pointing to `pos` (not normalised).

    The default C=0.1 regularises more than scikit-learn's 1.0: when the classes are nearly separable
    (agents usually are), a weakly regularised weight follows the few rows at the margin instead of
    the classes' bulk, and transfers worse as a steering vector.
    """
    if len(pos) == 0 or len(neg) == 0:
        raise ProbeError(f"a logistic direction needs rows on both sides; got {len(pos)} positive, {len(neg)} negative")
    probe = fit_probe(torch.cat([pos, neg]), [1] * len(pos) + [0] * len(neg), C=C)
    return probe.coef[0]


def probe_direction(acts: ActivationSet, site: str, target: str, positive: Any, normalize: bool = True,
                    C: float = 0.1) -> Direction:
    """The weight of a `positive`-vs-rest probe on `target` at `site`, as a `Direction`."""
    y = _targets(acts, target)
    is_pos = y == positive
    if not is_pos.any():
        raise ProbeError(f"no row has {target}={positive!r}; values are {sorted(set(y.tolist()))}")
    X = acts.at(site)
    mask = torch.from_numpy(is_pos)
    vector = logistic_direction(X[mask], X[~mask], C=C)
    return to_direction(acts, site, vector, method="logistic", label=f"{target}_{positive}_vs_rest",
                        normalize=normalize, params={"target": target, "positive": str(positive), "C": C})
