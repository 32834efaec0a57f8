"""Sweeps: every (prompt, direction, alpha) generated in batches, one row of results each.

A steering result needs controls at the same alpha grid (random directions, the sign-flipped vector),
which multiplies the generations by the number of directions. `multi_sweep` puts each batch row under
one direction: every direction in a batch is installed with a ``[batch]`` alpha that is zero outside its
own rows (`steer` nests them at one site), so a batch mixes directions freely and a whole control set
costs about as much as one large batched generation. Alpha 0 is the identity for every direction, so
the unsteered output is generated once per prompt. `alpha_sweep` is the one-direction case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from models import HookedModel
from models.debate.format import stop_token_ids
from models.interventions import Kind
from models.positions import Positions
from probes.directions import Direction
from steering.apply import steer
from steering.prepare import SteeringError


def stop_ids(model: HookedModel) -> list[int]:
    """EOS, plus ``<|endofdebate|>`` when the model's tokenizer has it (Stage 1 models stop there)."""
    return stop_token_ids(model.tokenizer)


@dataclass(frozen=True)
class SweepRow:
    """One steered generation."""

    prompt_index: int
    alpha: float
    text: str
    n_new_tokens: int


def alpha_sweep(
    model: HookedModel,
    direction: Direction,
    prompts: Sequence[str],
    alphas: Sequence[float],
    max_new_tokens: int = 48,
    positions: Positions = "generated",
    kind: Kind = "add",
    batch_size: int = 32,
    layer: int | None = None,
    progress: bool = True,
    desc: str = "alpha sweep",
    stop_token_ids: Sequence[int] | None = None,
) -> list[SweepRow]:
    """Generate every prompt under every alpha (greedy); rows are ordered by alpha (as given), then prompt.

    `stop_token_ids` defaults to `stop_ids` (EOS, and end-of-debate for Stage 1 models)."""
    rows = multi_sweep(model, {"direction": direction}, prompts, alphas, max_new_tokens=max_new_tokens,
                       positions=positions, kind=kind, batch_size=batch_size, layer=layer, progress=progress,
                       desc=desc, stop_token_ids=stop_token_ids)
    order = {float(a): k for k, a in enumerate(alphas)}
    out = [SweepRow(r.prompt_index, r.alpha, r.text, r.n_new_tokens) for r in rows]
    return sorted(out, key=lambda r: (order[r.alpha], r.prompt_index))


@dataclass(frozen=True)
class MultiRow:
    """One generation: `direction` is its key in the sweep's mapping, None for the shared unsteered row."""

    direction: str | None
    alpha: float
    prompt_index: int
    text: str
    n_new_tokens: int


def sweep_jobs(keys: Sequence[str], alphas: Sequence[float], n_prompts: int) -> list[tuple[str | None, float, int]]:
    """(direction, alpha, prompt) per generation: alpha 0 once per prompt (key None), others per direction."""
    if n_prompts < 1:
        raise SteeringError(f"multi_sweep needs at least one prompt, got {n_prompts}")
    if len(set(alphas)) != len(alphas):
        raise SteeringError(f"alphas must be distinct, got {list(alphas)}")
    jobs: list[tuple[str | None, float, int]] = []
    if 0.0 in alphas:
        jobs += [(None, 0.0, i) for i in range(n_prompts)]
    jobs += [(k, float(a), i) for k in keys for a in alphas if a != 0.0 for i in range(n_prompts)]
    return jobs


def row_alphas(chunk: Sequence[tuple[str | None, float, int]]) -> dict[str, torch.Tensor]:
    """Per direction in `chunk`, a ``[len(chunk)]`` alpha tensor holding its alpha on its own rows, 0 elsewhere."""
    out: dict[str, torch.Tensor] = {}
    for row, (key, alpha, _) in enumerate(chunk):
        if key is not None:
            out.setdefault(key, torch.zeros(len(chunk), dtype=torch.float32))[row] = alpha
    return out


def multi_sweep(
    model: HookedModel,
    directions: Mapping[str, Direction],
    prompts: Sequence[str],
    alphas: Sequence[float],
    max_new_tokens: int = 48,
    positions: Positions = "generated",
    kind: Kind = "add",
    batch_size: int = 128,
    progress: bool = True,
    desc: str = "multi sweep",
    layer: int | None = None,
    stop_token_ids: Sequence[int] | None = None,
) -> list[MultiRow]:
    """Generate every prompt under every direction and alpha (greedy), in batches that mix directions.

    Rows come in job order: the unsteered rows first (when 0 is among `alphas`), then by direction,
    alpha and prompt. `layer` moves every direction to that layer; `stop_token_ids` defaults to `stop_ids`.
    """
    if batch_size < 1:
        raise SteeringError(f"batch_size must be >= 1, got {batch_size}")
    jobs = sweep_jobs(list(directions), alphas, len(prompts))
    stops = list(stop_token_ids) if stop_token_ids is not None else stop_ids(model)
    rows: list[MultiRow] = []
    for start in tqdm(range(0, len(jobs), batch_size), desc=desc, disable=not progress, leave=False):
        chunk = jobs[start:start + batch_size]
        pairs = [(directions[k], a) for k, a in row_alphas(chunk).items()]
        texts = [prompts[i] for _, _, i in chunk]
        if pairs:
            with steer(model, pairs, positions=positions, kind=kind, layer=layer):
                out = model.generate(texts, max_new_tokens=max_new_tokens, stop_token_ids=stops)
        else:
            out = model.generate(texts, max_new_tokens=max_new_tokens, stop_token_ids=stops)
        rows += [MultiRow(k, a, i, t, n) for (k, a, i), t, n in zip(chunk, out.texts, out.n_new_tokens)]
    return rows
