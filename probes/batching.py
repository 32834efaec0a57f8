"""Batching: many model inputs, grouped by length into forward passes, reduced to one row per read.

An `Input` is one tokenized text and the `Read`s taken from it (each the mean over some of its token
positions). Inputs are sorted by length and packed into batches under a padded-token budget; every
batch is one ``model.activations(batch, sites, positions=Spans(...))`` call in which each row selects
the same number of tokens (the tokens it needs, padded with other tokens of the same row), so no
reduction happens inside the model and any backend can serve it. Rows past the model's context
raise, or with ``truncate`` are dropped and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from models.hooked import Batch, HookedModel
from models.positions import Spans
from probes.activations import Row
from probes.errors import ProbeError


@dataclass(frozen=True)
class Read:
    """One output row: its metadata and the row-relative token indices whose mean it is."""

    row: Row
    tokens: tuple[int, ...]


@dataclass(frozen=True)
class Input:
    """One model input (token ids as the model sees them, BOS included) and the rows read from it."""

    ids: tuple[int, ...]
    reads: tuple[Read, ...]
    key: str  # names the input in errors, e.g. "debate 3 (question 5e1f...)"


@dataclass(frozen=True)
class Batching:
    """How rows are grouped into forward passes and what happens at the context limit."""

    truncate: bool = False  # drop the reads beyond the model's context instead of raising
    batch_tokens: int | None = None  # padded tokens per forward pass; None: 8192, fewer for large vocabularies
    max_logits_mb: float = 512.0  # the model computes logits for every token: with None above, keep them under this
    max_batch: int = 32  # rows per forward pass
    max_read_mb: float = 256.0  # bound on what one forward pass reads before it is reduced to rows


class BatchedReader:
    """Batches inputs by length and reduces each forward pass's reads to rows."""

    def __init__(self, model: HookedModel, sites: list[str], options: Batching):
        self.model, self.sites, self.truncate = model, sites, options.truncate
        self.batch_tokens, self.max_batch = _batch_tokens(model, options), options.max_batch
        per_token = 4 * model.info.d_model * max(1, len(sites))
        self.max_read_tokens = max(1, int(options.max_read_mb * 2**20 / per_token))
        pad = model.tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else model.tokenizer.eos_token_id)

    def rows(self, inputs: list[Input]) -> tuple[list[Row], dict[str, Tensor], dict[str, int]]:
        """Rows of every read of `inputs` (ordered by item, round, agent) and ``{site: [n, d_model]}``.

        Each batch's rows are written straight into their final slots, so the result is the only
        full-size copy held.
        """
        inputs, dropped = self.fit_context(inputs)
        reads = [r for x in inputs for r in x.reads]
        order = sorted(range(len(reads)), key=lambda k: _row_key(reads[k].row))
        slot = {id(reads[k]): i for i, k in enumerate(order)}
        out = {s: torch.empty(len(reads), self.model.info.d_model) for s in self.sites}
        for batch in self.plan(inputs):
            _, values = self.read(batch)
            index = torch.tensor([slot[id(r)] for x in batch for r in x.reads])
            for s in self.sites:
                out[s][index] = values[s]
        return [reads[k].row for k in order], out, {"dropped_beyond_context": dropped}

    def fit_context(self, inputs: list[Input]) -> tuple[list[Input], int]:
        n_ctx = self.model.info.n_ctx
        kept, dropped = [], 0
        for inp in inputs:
            if len(inp.ids) <= n_ctx:
                kept.append(inp)
                continue
            if not self.truncate:
                raise ProbeError(
                    f"{inp.key} has {len(inp.ids)} tokens but {self.model.info.name}'s context is {n_ctx}; "
                    "pass truncate=True to drop the turns beyond the context, or use shorter debates"
                )
            reads = tuple(r for r in inp.reads if max(r.tokens) < n_ctx)
            dropped += len(inp.reads) - len(reads)
            if reads:
                kept.append(Input(inp.ids[: max(max(r.tokens) for r in reads) + 1], reads, inp.key))
        return kept, dropped

    def plan(self, inputs: list[Input]) -> Iterator[list[Input]]:
        """Length-sorted batches in which every row has at least as many tokens as any row needs read."""
        batch: list[Input] = []
        need_max = 0
        for inp in sorted(inputs, key=lambda x: len(x.ids)):
            need = len({t for r in inp.reads for t in r.tokens})
            if batch:
                size, need_new = len(batch) + 1, max(need_max, need)
                if (size > self.max_batch or size * len(inp.ids) > self.batch_tokens
                        or need_new > len(batch[0].ids) or size * need_new > self.max_read_tokens):
                    yield batch
                    batch, need_max = [], 0
            batch.append(inp)
            need_max = max(need_max, need)
        if batch:
            yield batch

    def pad(self, batch: list[Input]) -> Batch:
        """Left-padded ids and attention mask of a group of inputs."""
        width = max(len(x.ids) for x in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for b, x in enumerate(batch):
            ids[b, width - len(x.ids):] = torch.tensor(x.ids)
            mask[b, width - len(x.ids):] = 1
        return Batch(ids.to(self.model.device), mask.to(self.model.device))

    def read(self, batch: list[Input]) -> tuple[list[Row], dict[str, Tensor]]:
        """One forward pass; every row selects the same number of tokens so no reduction is done in the model."""
        needed = [sorted({t for r in x.reads for t in r.tokens}) for x in batch]
        n_sel = max(len(n) for n in needed)
        spans: list[tuple[tuple[int, int], ...]] = []
        members: list[list[int]] = []  # per read: its tokens' positions in the flattened selection
        rows: list[Row] = []
        for b, (x, need) in enumerate(zip(batch, needed)):
            # Pad the selection with unneeded tokens of the same row so every row selects n_sel tokens.
            wanted = set(need)
            filler = [t for t in range(len(x.ids)) if t not in wanted][: n_sel - len(need)]
            selected = sorted(need + filler)
            where = {t: b * n_sel + j for j, t in enumerate(selected)}
            spans.append(_ranges(selected))
            for r in x.reads:
                members.append([where[t] for t in r.tokens])
                rows.append(r.row)
        acts = self.model.activations(self.pad(batch), self.sites, positions=Spans(tuple(spans)))
        reduce = _segment_means(members, len(batch) * n_sel)
        return rows, {site: reduce(value.reshape(-1, value.shape[-1])) for site, value in acts.items()}


def _row_key(row: Row) -> tuple:
    return row.item, row.round, row.agent, row.response_agent, row.label


def _batch_tokens(model: HookedModel, options: Batching) -> int:
    """The padded-token budget: as given, or 8192 capped so one pass's logits stay under `max_logits_mb`."""
    if options.batch_tokens is not None:
        if options.batch_tokens < 1:
            raise ProbeError(f"batch_tokens must be >= 1, got {options.batch_tokens}")
        return options.batch_tokens
    return max(1, min(8192, int(options.max_logits_mb * 2**20 / (4 * model.info.vocab_size))))


def _segment_means(members: list[list[int]], n_tokens: int) -> Callable[[Tensor], Tensor]:
    """A function: ``[token, d_model]`` -> the mean over each read's tokens, ``[read, d_model]``.

    One scatter-add per site for the whole batch rather than a small op per read: under CPU
    contention every parallel op can wait a scheduler slice for its second thread.
    """
    counts = torch.tensor([len(m) for m in members], dtype=torch.float32).unsqueeze(1)
    owner = [len(members)] * n_tokens  # tokens no read uses go to a spare last row
    overlapping = False
    for i, positions in enumerate(members):
        for p in positions:
            overlapping |= owner[p] != len(members)
            owner[p] = i
    if not overlapping:
        index = torch.tensor(owner)
        return lambda flat: torch.zeros(len(members) + 1, flat.shape[1]).index_add_(0, index, flat)[:-1] / counts
    src = torch.tensor([p for m in members for p in m])
    dst = torch.tensor([i for i, m in enumerate(members) for _ in m])
    return lambda flat: torch.zeros(len(members), flat.shape[1]).index_add_(0, dst, flat[src]) / counts


def _ranges(tokens: list[int]) -> tuple[tuple[int, int], ...]:
    """Sorted token indices as half-open contiguous ranges."""
    out: list[list[int]] = []
    for t in tokens:
        if out and out[-1][1] == t:
            out[-1][1] = t + 1
        else:
            out.append([t, t + 1])
    return tuple((a, b) for a, b in out)
