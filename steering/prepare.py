"""Preparing a `probes.Direction` to steer a model: check that it fits, stamp, adopt or rescale it, build the intervention.

There is no separate steering-vector type: a steering vector is a `Direction` from extraction to application.

A vector that steers silently wrong is worse than none, so `load_vector` reads a vector file with
every check `Direction.load` makes (finite values, sidecar field types, width, hash) and, given a
model, `check_fits` too; `check_fits` also refuses a NaN/inf vector built in memory.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor

from probes.directions import Direction, DirectionError

from models import HookedModel, Intervention
from models.interventions import Kind
from models.positions import Positions
from models.sites import parse_site

class SteeringError(DirectionError):
    """A steering vector that does not fit the model it is applied to."""


def check_fits(direction: Direction, model: HookedModel, layer: int | None = None) -> str:
    """Return the site to steer at, or raise naming both sides of the mismatch.

    Checks width (d_model), that the layer exists, and — when the direction recorded them in
    ``params`` — the layer count and vocabulary size of the model it was extracted from (a different
    tokenizer means the vector was read from differently-tokenized text).
    """
    info = model.info
    if not bool(torch.isfinite(direction.vector).all()):
        raise SteeringError(f"direction {direction.label or direction.site!r} holds NaN or infinite values")
    if direction.d_model != info.d_model:
        raise SteeringError(
            f"direction {direction.label or direction.site!r} has width {direction.d_model} "
            f"(from {direction.model or 'unknown model'}) but {info.name} has d_model {info.d_model}"
        )
    for key, have in (("n_layers", info.n_layers), ("vocab_size", info.vocab_size)):
        want = direction.params.get(key)
        if want is not None and int(want) != have:
            raise SteeringError(
                f"direction {direction.label or direction.site!r} was extracted from a model with {key}={want} "
                f"({direction.model or 'unknown'}) but {info.name} has {key}={have}"
            )
    site = parse_site(direction.site, info.n_layers)
    if layer is not None:
        site = parse_site((site.name, layer), info.n_layers)
    return str(site)


def load_vector(path: str | Path, model: HookedModel | None = None, layer: int | None = None) -> Direction:
    """Read a steering vector file (stem, ``.json`` or ``.safetensors``), refusing any defect as a `SteeringError`.

    With `model`, the vector must also fit it (`check_fits`), so a bad file fails here, naming the
    file, not later inside a generation.
    """
    try:
        direction = Direction.load(path)
    except SteeringError:
        raise
    except DirectionError as e:
        raise SteeringError(str(e)) from None
    if model is not None:
        try:
            check_fits(direction, model, layer)
        except SteeringError as e:
            raise SteeringError(f"{path}: {e}") from None
    return direction


def save_vector(direction: Direction, path: str | Path) -> Path:
    """Write a steering vector file pair atomically; NaN/inf vectors are refused. Returns the ``.json`` path."""
    try:
        return direction.save(path)
    except SteeringError:
        raise
    except DirectionError as e:
        raise SteeringError(str(e)) from None


def stamp(direction: Direction, model: HookedModel) -> Direction:
    """Record the model's layer count and vocabulary in the direction, so `check_fits` can verify them."""
    params = {**direction.params, "n_layers": model.info.n_layers, "vocab_size": model.info.vocab_size}
    return replace(direction, params=params, model=direction.model or model.info.name)


def adopt(direction: Direction, model: HookedModel) -> Direction:
    """Re-target a vector read from a fine-tuned relative of `model`, keeping where it came from.

    The paper steers the base model with vectors read from its Stage 1 fine-tune, whose tokenizer is
    the base one plus the debate tags; `check_fits` would refuse that vocabulary difference, so the
    cross-model use is declared here. Width and layer count must still match.
    """
    info = model.info
    if direction.d_model != info.d_model or direction.params.get("n_layers", info.n_layers) != info.n_layers:
        raise SteeringError(
            f"direction {direction.label or direction.site!r} (d_model {direction.d_model}, "
            f"{direction.params.get('n_layers', '?')} layers, from {direction.model or 'unknown'}) cannot be adopted by "
            f"{info.name} (d_model {info.d_model}, {info.n_layers} layers)")
    origin = {k: direction.params[k] for k in ("n_layers", "vocab_size") if k in direction.params}
    params = {**direction.params, "vocab_size": info.vocab_size, "n_layers": info.n_layers,
              "adopted_from": {"model": direction.model, **origin}}
    return replace(direction, params=params)


def scale_to_residual(direction: Direction, activations: Tensor, fraction: float = 0.1) -> Direction:
    """`direction` as a unit vector times `fraction` of the mean residual norm in `activations` ``[n, d_model]``.

    With unit vectors, a given alpha moves a 4-layer toy model and an 8B model by very different
    shares of their activations; scaled this way, alpha = 1 shifts a typical activation at the site
    by `fraction` of its length in any model, so alpha grids compare across models.
    """
    if activations.ndim != 2 or activations.shape[1] != direction.d_model:
        raise SteeringError(f"activations must be [n, {direction.d_model}], got {tuple(activations.shape)}")
    norm = float(activations.float().norm(dim=-1).mean())
    unit = direction.vector / direction.vector.norm().clamp_min(1e-12)
    params = {**direction.params, "scale": "residual", "residual_fraction": fraction, "mean_residual_norm": norm}
    return replace(direction, vector=unit * fraction * norm, normalized=False, params=params)


def intervention(
    direction: Direction,
    model: HookedModel,
    alpha: float | object = 1.0,
    positions: Positions = "generated",
    kind: Kind = "add",
    layer: int | None = None,
) -> Intervention:
    """The `models.Intervention` that applies `direction` to `model` (checked with `check_fits`)."""
    site = check_fits(direction, model, layer)
    return Intervention(site, direction.vector, kind=kind, alpha=alpha, positions=positions)  # type: ignore[arg-type]
