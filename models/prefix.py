"""Prompt caches: compute each prompt's keys and values once, decode many steered rows from copies of them.

A steering sweep generates the same prompt under many settings (alphas, control directions, vectors).
When the steered positions lie after the prompt (``"generated"``, ``"response"``, ``"last"``), the
prompt's keys and values are the same for every setting, so `HookedModel.prefill` computes them once
per unique prompt, and `PromptCache.rows` hands out a batch whose rows point at those prompts. The
backend decodes each batch from a fresh copy of its rows' prefix, preallocated for the whole
generation, so no step re-concatenates the cache.

The cache holds every padded position before `cached` (by default all but the prompt's last token, so
``"response"`` and ``"last"`` can still write there). A call refuses any installed intervention that
would write to a cached position: those positions were computed without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from models.errors import CallError, InterventionError
from models.batch import Batch
from models.positions import CallState, Positions, Spans, position_mask, validate_positions


@dataclass
class PromptCache:
    """Keys and values of the first `cached` padded positions of some prompts, computed once.

    `layers` holds ``(keys, values)`` per layer, each ``[n_prompts, kv_heads, cached, head_dim]``, on
    the device the prompts ran on.
    """

    prompts: Batch
    cached: int
    layers: list[tuple[Tensor, Tensor]] = field(repr=False)

    @property
    def n_prompts(self) -> int:
        return self.prompts.input_ids.shape[0]

    def rows(self, prompt_index: Sequence[int]) -> CachedBatch:
        """A batch whose row r is prompt ``prompt_index[r]`` (repeats allowed), decoded from this cache."""
        index = [int(i) for i in prompt_index]
        if not index:
            raise CallError("PromptCache.rows needs at least one prompt index")
        bad = [i for i in index if not 0 <= i < self.n_prompts]
        if bad:
            raise CallError(f"PromptCache.rows: index {bad[0]} is outside the cache's {self.n_prompts} prompts")
        at = torch.tensor(index, device=self.prompts.input_ids.device)
        return CachedBatch(self.prompts.input_ids[at], self.prompts.attention_mask[at], self, at.cpu())

    def nbytes(self) -> int:
        """Memory the cached keys and values take."""
        return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in self.layers)


@dataclass
class CachedBatch(Batch):
    """A left-padded batch whose first `prefix.cached` positions come from a `PromptCache`."""

    prefix: PromptCache = field(repr=False)
    index: Tensor = field(repr=False)  # [batch] row -> prompt of `prefix`

    @property
    def cached(self) -> int:
        return self.prefix.cached

    def state(self) -> CallState:
        """Position state that starts after the cached tokens, with their ids (for `AgentSpan`) already seen."""
        state = CallState(prompt_len=self.input_ids.shape[1], pad=self.pad, next_start=self.cached)
        state.tokens = [self.input_ids[:, : self.cached].cpu()]
        return state

    def copy_layers(self, capacity: int) -> list[tuple[Tensor, Tensor]]:
        """Per layer, this batch's rows of the prefix in fresh buffers with room for `capacity` positions.

        One copy per unique prompt (broadcast into its rows), into memory that decoding then fills in
        place, so a step never re-concatenates the cache.
        """
        out = []
        rows = {int(u): (self.index == u).nonzero().flatten() for u in self.index.unique()}
        n = self.cached
        for keys, values in self.prefix.layers:
            pair = []
            for t in (keys, values):
                buf = t.new_empty(len(self.index), t.shape[1], capacity, t.shape[3])
                for u, where in rows.items():
                    buf[where.to(t.device), :, :n] = t[u]
                pair.append(buf)
            out.append((pair[0], pair[1]))
        return out


def _written(positions: Positions, batch: Batch, n: int) -> Tensor | None:
    """Which of the first `n` padded positions `positions` writes in each row, ``[batch, n]``; None for
    per-row spans of another batch (nothing is known about them)."""
    if isinstance(positions, Spans) and len(positions.rows) != batch.input_ids.shape[0]:
        return None
    state = CallState(prompt_len=batch.input_ids.shape[1], pad=batch.pad.cpu())
    state.advance(n, batch.input_ids[:, :n])
    return position_mask(positions, state, n)


def first_written(positions: Positions, prompts: Batch) -> int:
    """The first padded prompt position `positions` writes to in any row (the prompt length if none).

    Everything before it is the same under every steering setting, so it can be cached and shared.
    """
    validate_positions(positions)
    n = prompts.input_ids.shape[1]
    mask = _written(positions, prompts, n)
    if mask is None:
        return 0
    written = mask.any(dim=0).nonzero()
    return int(written[0]) if len(written) else n


def shareable_length(positions: Sequence[Positions], prompts: Batch) -> int:
    """How many padded prompt positions can be cached for these write positions (0: nothing to share).

    At most all but the last token, and only if every row keeps a real token in the cached part (a row
    whose cached part is all padding would attend to nothing there).
    """
    n = min([prompts.input_ids.shape[1] - 1] + [first_written(p, prompts) for p in positions])
    return n if n > int(prompts.pad.max()) else 0


def check_unwritten(spec_positions: Positions, batch: CachedBatch, what: str) -> None:
    """Refuse an intervention that would write to a position the batch's cache computed without it."""
    mask = _written(spec_positions, batch, batch.cached)  # None: the generic fit check reports the row mismatch
    if mask is not None and bool(mask.any()):
        raise InterventionError(
            f"{what} writes to prompt positions before {batch.cached}, which the prompt cache computed unsteered; "
            "prefill fewer positions (prefill(..., upto=shareable_length(...))) or generate without the cache"
        )


class _FilledLayer(DynamicLayer):
    """A cache layer over preallocated buffers that already hold the prefix; decoding writes in place.

    `DynamicLayer` concatenates at every step, which copies the whole cache each token: with long
    prompts that copy costs more than the step itself.
    """

    def __init__(self, keys: Tensor, values: Tensor, filled: int):
        super().__init__()
        self._keys, self._values, self._filled = keys, values, filled
        self.dtype, self.device = keys.dtype, keys.device
        self.is_initialized = True
        self._view()

    def _view(self) -> None:
        self.keys = self._keys[:, :, : self._filled]
        self.values = self._values[:, :, : self._filled]

    def update(self, key_states: Tensor, value_states: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
        end = self._filled + key_states.shape[-2]
        if end > self._keys.shape[2]:
            raise CallError(f"prompt cache buffer holds {self._keys.shape[2]} positions; decoding needs {end}")
        self._keys[:, :, self._filled : end] = key_states
        self._values[:, :, self._filled : end] = value_states
        self._filled = end
        self._view()
        return self.keys, self.values


def decoding_cache(batch: CachedBatch, max_new_tokens: int, config: Any) -> DynamicCache:
    """An HF cache for one generation from `batch`: its rows' prefix copied into buffers with room for the
    whole prompt and `max_new_tokens`."""
    cache = DynamicCache(config=config)
    capacity = batch.input_ids.shape[1] + max_new_tokens
    cache.layers = [_FilledLayer(k, v, batch.cached) for k, v in batch.copy_layers(capacity)]
    return cache
