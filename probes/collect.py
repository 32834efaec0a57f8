"""Collect per-turn activations from debate transcripts, for any `HookedModel` backend.

A debate is run once as its SFT text (``"Problem: {q}\\n\\n<|Round 1 ...|> ..."``) and every turn is
read from that one forward pass (the model is causal, so a turn's activations do not depend on what
follows it). Each turn is read at a `ReadPosition` (`probes.activations`):

* ``agent_tag``: the agent's tag token (the tag's last token when the tokenizer splits the tag).
* ``turn_last``: the last token of the turn's response text (the original code's read position).
* ``turn_mean``: the mean over the turn's response tokens.

Rows are batched by length and read through ``model.activations(batch, sites, positions=Spans(...))``;
a debate longer than the model's context raises, or with ``truncate=True`` loses only the turns
that do not fit (counted in ``info["dropped_beyond_context"]``). With ``cache_dir`` the rows stream
to disk in shards (`probes.shards`), so memory stays flat however many debates are collected, and a
stopped or repeated run reuses what is already there.

Example:
    >>> acts = collect_turns(model, debates, sites=["blocks.2.hook_resid_post"], positions="turn_mean")
    >>> acts.where(agent=3, round=1)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from models.debate.format import Transcript, parse_sft, render_sft
from models.debate.tokens import masked_tokens, token_spans
from models.hooked import Batch, HookedModel
from probes.activations import READ_POSITIONS, ActivationSet, ReadPosition, Row, concat
from probes.batching import Batching, Input, Read, BatchedReader
from probes.errors import ProbeError
from models.identity import model_fingerprint
from probes.shards import ShardKey, ShardStore

@dataclass(frozen=True)
class Source:
    """Items to collect and how one item becomes model inputs; `data_hash` and `params` key the cache."""

    kind: str  # "turn", "eq3", "system_prompt"
    read_position: str  # a ReadPosition, or a prompt index such as "-2"
    items: Sequence[Any]
    build: Callable[[int, Any, HookedModel], list[Input]]
    data_hash: str
    params: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------- debate turns
def question_id(question: str) -> str:
    """A stable id for a question text (groups rows of one question in cross-validation)."""
    return hashlib.sha256(question.encode()).hexdigest()[:12]


def debates_hash(debates: Sequence[Transcript]) -> str:
    """Hash of the debates' texts and labels, in order."""
    h = hashlib.sha256()
    for t in debates:
        labels = [lab.to_json() if lab else None for lab in t.labels]
        h.update(json.dumps([render_sft(t), labels], sort_keys=True).encode())
    return h.hexdigest()[:16]


def turn_row(item: int, t: Transcript, agent: int, round: int, **extra: Any) -> Row:
    """The `Row` of agent `agent`'s turn in round `round` of debate `t`."""
    label = t.turn(agent, round).label
    return Row(item=item, question_id=question_id(t.question), round=round, agent=agent,
               label=label.persona if label else "", trait=label.trait if label else "neutral",
               response_agent=agent, **extra)


def _check_read_position(positions: str) -> None:
    if positions not in READ_POSITIONS:
        raise ProbeError(f"positions={positions!r} is not a turn read position; use one of {', '.join(READ_POSITIONS)}")


def turn_inputs(item: int, debate: Transcript, model: HookedModel, positions: ReadPosition,
                mask: Sequence[str] = ()) -> list[Input]:
    """The debate's SFT text as one input, with one read per turn at `positions`, skipping `mask` tokens."""
    _check_read_position(positions)
    parsed = parse_sft(render_sft(debate))
    spans = token_spans(parsed, model.tokenizer)
    key = f"debate {item} (question {question_id(debate.question)})"
    reads = []
    for ts, chars in zip(spans.turns, parsed.turns, strict=True):
        span = ts.tag if positions == "agent_tag" else ts.text
        if len(span) == 0:
            part = "tag" if positions == "agent_tag" else "response"
            raise ProbeError(
                f"{key}: agent {ts.agent} round {ts.round} has no {part} tokens, so positions={positions!r} "
                "selects nothing; drop the empty turn or read at positions='agent_tag'"
            )
        tokens = tuple(range(span.start, span.end))
        if mask and positions != "agent_tag":
            dropped = masked_tokens(parsed.text, spans.offsets, chars.text, mask)
            tokens = tuple(t for t in tokens if t not in dropped)
            if not tokens:
                raise ProbeError(f"{key}: agent {ts.agent} round {ts.round} has only masked tokens "
                                 f"(mask={list(mask)!r}); nothing is left to read")
        tokens = tokens if positions == "turn_mean" else tokens[-1:]
        row = turn_row(item, debate, ts.agent, ts.round, kind="turn", n_tokens=len(tokens))
        reads.append(Read(row, tokens))
    return [Input(spans.input_ids, tuple(reads), key)]


def turn_source(debates: Sequence[Transcript], positions: ReadPosition = "turn_mean",
                mask: Sequence[str] = ()) -> Source:
    """Every turn of every debate, read at `positions`; a token overlapping any `mask` string is not read.

    The tag tokens are never part of a response read; `mask` removes what else would give an agent away
    (a persona's signature, such as ``SELF-CRITIQUE`` or ``//``).
    """
    _check_read_position(positions)
    if mask and positions == "agent_tag":
        raise ProbeError("mask applies to the response tokens; positions='agent_tag' reads the tag itself")
    mask = tuple(mask)
    return Source("turn", positions, debates, lambda i, t, m: turn_inputs(i, t, m, positions, mask),
                  debates_hash(debates), params={"mask": list(mask)} if mask else {})


def collect_turns(
    model: HookedModel,
    debates: Sequence[Transcript],
    sites: Sequence[str],
    positions: ReadPosition = "turn_mean",
    mask: Sequence[str] = (),
    **options: Any,
) -> ActivationSet:
    """Activations of every debate turn at `sites`, one row per (debate, round, agent).

    Args:
        model: any backend; activations equal across backends to float tolerance.
        debates: transcripts (round-1-only debates keep all three agents).
        sites: TL site names, e.g. ``[f"blocks.{l}.hook_resid_post" for l in range(n_layers)]``.
        positions: the `ReadPosition` of each turn: ``agent_tag``, ``turn_last`` or ``turn_mean``.
        mask: strings whose tokens are left out of every response read (``turn_last`` then reads the
            last token that is not masked), e.g. ``["SELF-CRITIQUE", "//"]``.
        options: see `collect_activations` (``truncate``, ``cache_dir``, ``batch_tokens``, ``progress``, ...).

    Example:
        >>> acts = collect_turns(model, debates, ["blocks.1.hook_resid_post"], positions="turn_last")
    """
    return collect_activations(model, turn_source(debates, positions, mask), sites, **options)


# ----------------------------------------------------------------- the engine
def collect_activations(
    model: HookedModel,
    source: Source,
    sites: Sequence[str],
    *,
    cache_dir: str | Path | None = None,
    shard_items: int = 256,
    progress: bool = False,
    **batching: Any,
) -> ActivationSet:
    """Run `source` through `model` and read every requested row at `sites`.

    Args:
        cache_dir: stream rows to shards under this folder and reuse them when model, data and
            settings are unchanged (see `probes.shards`); None keeps everything in memory.
        shard_items: source items per shard (the unit of resuming).
        progress: show a tqdm bar over items.
        batching: fields of `Batching` (``truncate``, ``batch_tokens``, ``max_batch``, ``max_read_mb``).
    """
    if cache_dir is not None:
        store, info = collect_to_store(model, source, sites, cache_dir, shard_items=shard_items, progress=progress,
                                       **batching)
        return store.load(info=info)
    run, chunks, header = _prepare(model, source, sites, shard_items, Batching(**batching))
    parts = []
    info: dict[str, Any] = {}
    with _bar(model, source, progress) as bar:
        for start, end in chunks:
            rows, values, counts = run.rows(_inputs(model, source, start, end))
            parts.append(ActivationSet(tuple(rows), values))
            info = {k: info.get(k, 0) + counts.get(k, 0) for k in counts | info}
            bar.update(end - start)
    merged = concat(parts)
    return ActivationSet(merged.rows, merged.values, **{k: header[k] for k in _PROVENANCE}, info=info)


def collect_to_store(
    model: HookedModel,
    source: Source,
    sites: Sequence[str],
    cache_dir: str | Path,
    *,
    shard_items: int = 256,
    progress: bool = False,
    **batching: Any,
) -> tuple[ShardStore, dict[str, int]]:
    """Stream `source` into shards under `cache_dir`, holding at most one shard in memory.

    Returns the complete store and how many shards were reused and written. Read it back with
    ``store.load()`` or shard by shard with ``store.iter_shards()``.
    """
    options = Batching(**batching)
    run, chunks, header = _prepare(model, source, sites, shard_items, options)
    settings = {**_settings(model, source, header["sites"], options.truncate), "shard_items": shard_items}
    store = ShardStore.open(cache_dir, ShardKey.of(model, source.data_hash, settings), header)
    reused = 0
    with _bar(model, source, progress) as bar:
        for index, (start, end) in enumerate(chunks):
            if store.has_shard(index):
                reused += 1
            else:
                rows, values, counts = run.rows(_inputs(model, source, start, end))
                store.write_shard(index, rows, values, counts)
            bar.update(end - start)
    store.mark_complete(len(chunks))
    return store, {"shards_reused": reused, "shards_written": len(chunks) - reused}


def plan_batches(model: HookedModel, source: Source, **batching: Any) -> Iterator[Batch]:
    """The padded batches a collection of `source` runs, in order (for benchmarks and debugging)."""
    run = BatchedReader(model, [], Batching(**batching))
    fitted, _ = run.fit_context(_inputs(model, source, 0, len(source.items)))
    for group in run.plan(fitted):
        yield run.pad(group)


def _prepare(model: HookedModel, source: Source, sites: Sequence[str], shard_items: int, options: Batching
             ) -> tuple["BatchedReader", list[tuple[int, int]], dict[str, Any]]:
    resolved = [str(model.site(s)) for s in sites]  # a bad name or layer fails before any work
    if not resolved:
        raise ProbeError("sites is empty; name at least one site, e.g. 'blocks.0.hook_resid_post'")
    if len(source.items) == 0:
        raise ProbeError(f"nothing to collect: the {source.kind} source has no items")
    if shard_items < 1:
        raise ProbeError(f"shard_items must be >= 1, got {shard_items}")
    chunks = [(s, min(s + shard_items, len(source.items))) for s in range(0, len(source.items), shard_items)]
    return BatchedReader(model, resolved, options), chunks, _header(model, source, resolved)


def _inputs(model: HookedModel, source: Source, start: int, end: int) -> list[Input]:
    return [x for i in range(start, end) for x in source.build(i, source.items[i], model)]


def _bar(model: HookedModel, source: Source, progress: bool) -> tqdm:
    return tqdm(total=len(source.items), desc=f"collect {source.kind} ({model.info.name})", disable=not progress,
                leave=False)


_PROVENANCE = ("model", "checkpoint", "read_position", "kind", "data_hash", "model_info")


def _header(model: HookedModel, source: Source, sites: list[str]) -> dict[str, Any]:
    info = model.info
    return {
        "model": info.name, "checkpoint": model_fingerprint(model), "read_position": source.read_position,
        "kind": source.kind,
        "data_hash": source.data_hash, "sites": sites, "d_model": info.d_model,
        "model_info": {"n_layers": info.n_layers, "d_model": info.d_model, "vocab_size": info.vocab_size,
                       "n_ctx": info.n_ctx, "backend": model.backend, "source": info.source},
    }


def _settings(model: HookedModel, source: Source, sites: list[str], truncate: bool) -> dict[str, Any]:
    dtype = str(next(model.hf_model.parameters()).dtype)
    # The key "positions" is the cache key's historical spelling: renaming it would orphan every stored shard.
    return {"kind": source.kind, "positions": source.read_position, "params": source.params, "sites": sites,
            "truncate": truncate, "backend": model.backend, "dtype": dtype, "n_ctx": model.info.n_ctx}
