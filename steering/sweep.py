"""Sweeps: every (prompt, direction, alpha) generated in batches, one row of results each.

A steering result needs controls at the same alpha grid (random directions, the sign-flipped vector),
which multiplies the generations by the number of directions. `multi_sweep` puts each batch row under
one direction: every direction in a batch is installed with a ``[batch]`` alpha that is zero outside its
own rows (`steer` nests them at one site), so a batch mixes directions freely and a whole control set
costs about as much as one large batched generation. Alpha 0 is the identity for every direction, so
the unsteered output is generated once per prompt. `alpha_sweep` is the one-direction case.

Steering at generated positions leaves the prompt unwritten, so its keys and values are the same for
every setting: the sweep computes each prompt once (`HookedModel.prefill`) and decodes every
(prompt, direction, alpha) row from a copy of that cache. With ~800-token prompts the prompt pass is
most of a generation's cost, so an 11-alpha sweep runs several times faster (`make bench`, sweep_speedup).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from models import Batch, HookedModel
from models.debate.format import stop_token_ids
from models.interventions import Kind
from models.positions import Positions
from models.prefix import shareable_length
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
    share_prompts: bool | None = None,
) -> list[SweepRow]:
    """Generate every prompt under every alpha (greedy); rows are ordered by alpha (as given), then prompt.

    `stop_token_ids` defaults to `stop_ids` (EOS, and end-of-debate for Stage 1 models); `share_prompts`
    as in `multi_sweep` (each prompt computed once by default)."""
    rows = multi_sweep(model, {"direction": direction}, prompts, alphas, max_new_tokens=max_new_tokens,
                       positions=positions, kind=kind, batch_size=batch_size, layer=layer, progress=progress,
                       desc=desc, stop_token_ids=stop_token_ids, share_prompts=share_prompts)
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
    share_prompts: bool | None = None,
) -> list[MultiRow]:
    """Generate every prompt under every direction and alpha (greedy), in batches that mix directions.

    Rows come in job order: the unsteered rows first (when 0 is among `alphas`), then by direction,
    alpha and prompt. `layer` moves every direction to that layer; `stop_token_ids` defaults to `stop_ids`.

    `share_prompts`: compute each prompt's keys and values once (`HookedModel.prefill`) and decode every
    setting from them, which removes all but one prompt pass per prompt. ``None`` (default) shares
    whenever the backend can and `positions` leave the cached part unwritten, and warns when it cannot;
    ``True`` requires sharing; ``False`` never shares. Greedy outputs are the same either way.
    `batch_size` bounds both the prompts computed together and the rows decoded together.
    """
    if batch_size < 1:
        raise SteeringError(f"batch_size must be >= 1, got {batch_size}")
    jobs = sweep_jobs(list(directions), alphas, len(prompts))
    stops = list(stop_token_ids) if stop_token_ids is not None else stop_ids(model)
    texts: list[str | None] = [None] * len(jobs)
    counts: list[int] = [0] * len(jobs)
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress, leave=False)
    for group in _prompt_groups(model, prompts, positions, batch_size, share_prompts):
        mine = [j for j, job in enumerate(jobs) if job[2] in group.members]
        cache = model.prefill(group.batch, upto=group.cached) if group.cached else None
        for start in range(0, len(mine), batch_size):
            at = mine[start:start + batch_size]
            chunk = [jobs[j] for j in at]
            inputs = cache.rows([group.members[i] for _, _, i in chunk]) if cache else [prompts[i] for _, _, i in chunk]
            pairs = [(directions[k], a) for k, a in row_alphas(chunk).items()]
            with steer(model, pairs, positions=positions, kind=kind, layer=layer) if pairs else contextlib.nullcontext():
                out = model.generate(inputs, max_new_tokens=max_new_tokens, stop_token_ids=stops)
            for j, text, n in zip(at, out.texts, out.n_new_tokens):
                texts[j], counts[j] = text, n
            bar.update(len(at))
    bar.close()
    return [MultiRow(k, a, i, t or "", n) for (k, a, i), t, n in zip(jobs, texts, counts)]


@dataclass
class _Group:
    """Prompts computed together: `members` maps a prompt's index to its row in `batch`; `cached` is 0 when
    the group is decoded without a prompt cache."""

    members: dict[int, int]
    batch: Batch | None
    cached: int


def _prompt_groups(model: HookedModel, prompts: Sequence[str], positions: Positions, size: int,
                   share: bool | None) -> list[_Group]:
    """Split the prompts into groups of at most `size`, each with how much of it can be cached (0: none)."""
    groups = []
    for start in range(0, len(prompts), size):
        index = list(range(start, min(start + size, len(prompts))))
        members = {i: r for r, i in enumerate(index)}
        if share is False:
            groups.append(_Group(members, None, 0))
            continue
        reason = None if model.supports_prompt_cache else f"the {model.backend} backend has no prompt cache"
        batch = model.tokenize([prompts[i] for i in index]) if reason is None else None
        cached = shareable_length([positions], batch) if batch is not None else 0
        if reason is None and cached == 0:
            reason = f"positions={positions!r} write to the prompt's first tokens"
        if reason is not None:
            if share:
                raise SteeringError(f"share_prompts=True, but the prompts cannot be shared: {reason}")
            warnings.warn(f"multi_sweep recomputes every prompt for every setting: {reason}", stacklevel=3)
            share = False  # warn once per sweep
        groups.append(_Group(members, batch, cached))
    return groups
