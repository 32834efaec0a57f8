"""One positions spec shared by reading and writing, resolved against absolute token positions.

Batches are left-padded, so every row's prompt ends at the same absolute position
``prompt_len - 1``. A hook sees a chunk of the sequence (the whole prompt at prefill, one token per
decode step under a KV cache); the chunk's absolute start is tracked by the backend, so a spec such
as ``"generated"`` still knows that a length-1 decode input is token 57.

Specs:

* ``"all"``: every real (non-pad) token, prompt and generated.
* ``"prompt"``: the prompt's real tokens.
* ``"generated"``: tokens that were generated (position >= prompt length). This is the paper's
  choice; the first generated token is *predicted* from the last prompt token, so it is not steered.
* ``"response"``: the last prompt token and every generated token, so every generated token is
  influenced (the CAA off-by-one fix).
* ``"last"``: the last prompt token.
* an ``int`` k: k >= 0 is the row's own k-th token; k < 0 counts back from the prompt's end
  (-1 is the last prompt token, -2 the one before: the paper reads system-prompt contrasts at -2).
* a sequence of ints: their union.
* ``Spans``: per-row half-open token spans in the row's own (unpadded) indices, e.g. an agent's turn.
* ``AgentSpan``: positions whose token lies inside a span opened by one of ``open_ids`` and not yet
  closed by one of ``close_ids`` (the opening tag included), decided on the fly from the tokens seen
  so far, prompt and generated. With a debate's tag ids this steers only while one agent is speaking.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Union

import torch
from torch import Tensor

from models.errors import InterventionError

NamedPositions = Literal["all", "prompt", "generated", "response", "last"]
NAMED_POSITIONS: tuple[str, ...] = ("all", "prompt", "generated", "response", "last")


@dataclass(frozen=True)
class Spans:
    """Per-row token spans ``[(start, end), ...]`` (end exclusive), in the row's unpadded indices.

    A row may have no spans (nothing is written there; a read of it fails). Each span must satisfy
    ``0 <= start < end``: an empty or reversed span is a bug in whoever built it, not a no-op.
    """

    rows: tuple[tuple[tuple[int, int], ...], ...]

    def __post_init__(self) -> None:
        if isinstance(self.rows, (str, bytes)) or not isinstance(self.rows, Sequence):
            raise InterventionError(f"Spans rows must be a sequence of per-row span lists, got {type(self.rows).__name__}")
        if len(self.rows) == 0:
            raise InterventionError("Spans has no rows; give one (possibly empty) span list per batch row")
        # Stored as tuples, so a Spans built from lists is still hashable and immutable.
        object.__setattr__(self, "rows", tuple(tuple(_span(i, s) for s in _row(i, r)) for i, r in enumerate(self.rows)))

    @classmethod
    def single(cls, spans: Sequence[tuple[int, int]]) -> "Spans":
        """One span per row: ``Spans.single([(3, 9), (2, 5)])``."""
        return cls(tuple((span,) for span in spans))


def _is_int(x: object) -> bool:
    """A real integer index: bools are ints to Python but never a position someone meant."""
    return isinstance(x, int) and not isinstance(x, bool)


def _row(i: int, row: object) -> Sequence:
    if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
        raise InterventionError(f"Spans row {i} must be a list of (start, end) pairs, got {row!r}")
    return row


def _span(i: int, span: object) -> tuple[int, int]:
    if isinstance(span, (str, bytes)) or not isinstance(span, Sequence) or len(span) != 2:
        raise InterventionError(f"Spans row {i}: {span!r} is not a (start, end) pair")
    try:  # operator.index takes numpy and 0-d tensor ints but refuses floats (3.5 is no token)
        start, end = (operator.index(x) for x in span if not isinstance(x, bool))
    except (TypeError, ValueError):
        raise InterventionError(f"Spans row {i}: span {tuple(span)!r} must hold two ints") from None
    if not 0 <= start < end:
        raise InterventionError(
            f"Spans row {i}: span ({start}, {end}) is empty or negative; need 0 <= start < end (end exclusive)"
        )
    return (start, end)


@dataclass(frozen=True)
class AgentSpan:
    """Select tokens from an opening token (e.g. an agent's tag) until a closing token (any other tag)."""

    open_ids: tuple[int, ...]
    close_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("open_ids", "close_ids"):
            ids = getattr(self, name)
            if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence) or not all(_is_int(t) and t >= 0 for t in ids):
                raise InterventionError(f"AgentSpan {name} must be a sequence of token ids (ints >= 0), got {ids!r}")
            object.__setattr__(self, name, tuple(ids))
        if not self.open_ids:
            raise InterventionError("AgentSpan needs at least one opening token id")
        if set(self.open_ids) & set(self.close_ids):
            raise InterventionError(f"AgentSpan token ids {set(self.open_ids) & set(self.close_ids)} both open and close")


Positions = Union[NamedPositions, int, Sequence[int], Spans, AgentSpan]


@dataclass
class CallState:
    """What a hook needs to map its chunk to absolute positions; owned by one forward/generate call."""

    prompt_len: int  # padded prompt length
    pad: Tensor  # [batch] number of left-pad tokens per row
    start: int = 0  # absolute position of the current chunk's first token
    next_start: int = 0
    tokens: list[Tensor] | None = None  # input ids of every chunk so far, when the backend can see them
    masks: dict[tuple[int, int, int], Tensor] = field(default_factory=dict, repr=False)  # see `call_mask`

    def advance(self, chunk_len: int, ids: Tensor | None = None) -> None:
        """Called once per model forward (before any block runs) with that forward's input length and ids."""
        self.start = self.next_start
        self.next_start += chunk_len
        if ids is not None:
            self.tokens = ([] if self.tokens is None or self.start == 0 else self.tokens) + [ids.detach().cpu()]


def validate_positions(positions: Positions) -> Positions:
    """Reject malformed specs early, with the allowed forms in the message."""
    if isinstance(positions, str):
        if positions not in NAMED_POSITIONS:
            raise InterventionError(
                f"positions={positions!r} is not known; use one of {', '.join(NAMED_POSITIONS)}, "
                "an int, a list of ints or Spans"
            )
    elif isinstance(positions, (Spans, AgentSpan)) or _is_int(positions):
        pass
    elif isinstance(positions, Sequence) and all(_is_int(p) for p in positions):
        if len(positions) == 0:
            raise InterventionError("positions=[] selects nothing; pass at least one index")
    else:
        raise InterventionError(f"positions={positions!r} is not a positions spec")
    return positions


def check_positions_fit(positions: Positions, lengths: Sequence[int], horizon: int = 0, what: str = "positions") -> None:
    """Refuse indices that cannot select a token of this batch, before any forward pass runs.

    `lengths` are the rows' real (unpadded) prompt lengths; `horizon` is how many tokens generation
    may append (0 for a forward pass or a read). A k >= 0 may name a token up to ``length + horizon``;
    a k < 0 counts back from the prompt's end, so it must satisfy ``-k <= length``; a span's end may
    reach ``length + horizon``. Otherwise the index would silently steer or read nothing.
    """
    if isinstance(positions, str) or isinstance(positions, AgentSpan):
        return
    if isinstance(positions, Spans):
        if len(positions.rows) != len(lengths):
            raise InterventionError(f"{what}: Spans has {len(positions.rows)} rows but the batch has {len(lengths)}")
        for i, (spans, n) in enumerate(zip(positions.rows, lengths)):
            for start, end in spans:
                if end > n + horizon:
                    raise InterventionError(
                        f"{what}: Spans row {i} span ({start}, {end}) ends past the row's {_extent(n, horizon)}"
                    )
        return
    for k in [positions] if _is_int(positions) else list(positions):  # type: ignore[arg-type]
        for i, n in enumerate(lengths):
            if k >= n + horizon or -k > n:
                valid = f"-{n}..{n + horizon - 1}"
                raise InterventionError(
                    f"{what}: position {k} is outside row {i}'s {_extent(n, horizon)} (valid: {valid})"
                )


def _extent(n: int, horizon: int) -> str:
    return f"{n} tokens" if horizon == 0 else f"{n} prompt tokens + {horizon} new tokens"


def call_mask(positions: Positions, state: CallState, chunk_len: int) -> Tensor:
    """`position_mask`, built once per spec and chunk of a call: every read or write of one spec at the
    30 layers of a forward pass selects the same tokens, and a `Spans` mask costs a Python loop to build."""
    key = (id(positions), state.start, chunk_len)
    mask = state.masks.get(key)
    if mask is None:
        mask = state.masks[key] = position_mask(positions, state, chunk_len)
    return mask


def chunk_coverage(positions: Positions, state: CallState) -> bool | None:
    """Fast path for decode steps: True if `positions` selects the whole chunk, False if none of it.

    Returns None when a mask has to be built. Generated chunks have no padding, so named specs
    decide them entirely; this keeps per-step steering overhead to one tensor add.
    """
    if state.start < state.prompt_len or not isinstance(positions, str):
        return None
    return positions in ("all", "generated", "response")


def position_mask(positions: Positions, state: CallState, chunk_len: int) -> Tensor:
    """Boolean mask ``[batch, chunk_len]`` of the chunk's tokens that `positions` selects."""
    absolute = torch.arange(state.start, state.start + chunk_len).unsqueeze(0)  # [1, pos]
    pad = state.pad.unsqueeze(1)  # [batch, 1]
    row_index = absolute - pad  # index within the row's own tokens
    real = row_index >= 0
    p = state.prompt_len
    if isinstance(positions, str):
        if positions == "all":
            return real
        if positions == "prompt":
            return real & (absolute < p)
        if positions == "generated":
            return (absolute >= p).expand_as(real)
        if positions == "response":
            return (absolute >= p - 1).expand_as(real)
        return (absolute == p - 1).expand_as(real)  # "last"
    if isinstance(positions, AgentSpan):
        return _agent_span_mask(positions, state, chunk_len)
    if isinstance(positions, Spans):
        if len(positions.rows) != state.pad.shape[0]:
            raise InterventionError(
                f"Spans has {len(positions.rows)} rows but the batch has {state.pad.shape[0]}"
            )
        mask = torch.zeros_like(real)
        for i, spans in enumerate(positions.rows):
            for start, end in spans:
                mask[i] |= (row_index[i] >= start) & (row_index[i] < end)
        return mask
    indices = [positions] if isinstance(positions, int) else list(positions)
    mask = torch.zeros_like(real)
    for k in indices:
        if k < 0:
            mask |= (absolute == p + k).expand_as(real) & real
        else:
            mask |= row_index == k
    return mask


def _agent_span_mask(span: AgentSpan, state: CallState, chunk_len: int) -> Tensor:
    if not state.tokens:
        raise InterventionError("AgentSpan positions need the token ids, but this call did not record them")
    seen = torch.cat(state.tokens, dim=1)  # [batch, start + chunk_len]
    index = torch.arange(seen.shape[1]).expand_as(seen)
    none = torch.full_like(seen, -1)
    opened = torch.where(torch.isin(seen, torch.tensor(span.open_ids)), index, none).cummax(dim=1).values
    closed = torch.where(torch.isin(seen, torch.tensor(span.close_ids)), index, none).cummax(dim=1).values
    inside = opened > closed
    return inside[:, state.start : state.start + chunk_len]
