"""Map the character spans of a parsed debate to token spans of a (fast) tokenizer.

Probes and agent-span steering need token positions, not characters. A token belongs to a span
when its characters overlap the span, so a boundary token that straddles two parts (for example a
byte-level ``" word"`` token whose leading space sits just before a turn's text) counts for the
part it overlaps. Register `DEBATE_TAGS` as special tokens so every tag is exactly one token.

Example:
    >>> tok.add_special_tokens({"additional_special_tokens": list(DEBATE_TAGS)})
    >>> spans = token_spans(parse_sft(text), tok)
    >>> spans.turn_span(agent=2, round=1).text      # Span(start, end) over spans.input_ids
"""

from __future__ import annotations

import bisect

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from models.debate.format import ParsedDebate, Span


@dataclass(frozen=True)
class TokenTurnSpan:
    """Token positions of one turn's tag and of its response text."""

    agent: int
    round: int
    tag: Span
    text: Span


@dataclass(frozen=True)
class TokenSpans:
    """Token ids of the parsed text and the token span of every part of the debate.

    Spans index `input_ids`, which include the tokenizer's special tokens (BOS) when
    `add_special_tokens` was true, so they line up with what the model is fed.
    """

    input_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]
    prompt: Span
    round_tags: tuple[Span, ...]
    turns: tuple[TokenTurnSpan, ...]
    consensus_tag: Span
    consensus: Span
    end_tag: Span

    def turn_span(self, agent: int, round: int) -> TokenTurnSpan:
        for s in self.turns:
            if s.agent == agent and s.round == round:
                return s
        raise KeyError(f"no turn for agent {agent} in round {round}")


def char_to_token_span(offsets: Sequence[tuple[int, int]], span: Span) -> Span:
    """The tokens whose characters overlap `span`; an empty span maps to an empty token span.

    Zero-width tokens (special tokens the tokenizer inserted, such as BOS) never belong to a span.
    """
    return OffsetIndex(offsets).span(span)


class OffsetIndex:
    """Character-to-token lookups by bisection over a tokenization's offsets (in text order, as fast
    tokenizers give them), so mapping every turn of a long debate is not a scan of all tokens per turn."""

    def __init__(self, offsets: Sequence[tuple[int, int]]):
        kept = [(a, b, i) for i, (a, b) in enumerate(offsets) if a < b]
        self.starts = [a for a, _, _ in kept]
        self.ends = [b for _, b, _ in kept]
        self.index = [i for _, _, i in kept]
        self.n = len(offsets)

    def span(self, span: Span) -> Span:
        first = bisect.bisect_right(self.ends, span.start)  # first token ending after the span starts
        last = bisect.bisect_left(self.starts, span.end) - 1  # last token starting before the span ends
        if first <= last:
            return Span(self.index[first], self.index[last] + 1)
        after = bisect.bisect_left(self.starts, span.start)
        at = self.index[after] if after < len(self.index) else self.n
        return Span(at, at)


def token_spans(parsed: ParsedDebate, tokenizer: Any, add_special_tokens: bool = True) -> TokenSpans:
    """Tokenize `parsed.text` once and convert every character span to a token span.

    Args:
        parsed: output of `parse` or `parse_sft`.
        tokenizer: a fast (Rust-backed) HF tokenizer; slow tokenizers have no offset mapping.
        add_special_tokens: whether to add BOS etc. exactly as the model's inputs will have them.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"token_spans needs a fast tokenizer with return_offsets_mapping; got {type(tokenizer).__name__}. "
            "Load it with AutoTokenizer.from_pretrained(..., use_fast=True)."
        )
    enc = tokenizer(parsed.text, return_offsets_mapping=True, add_special_tokens=add_special_tokens)
    offsets = tuple((int(a), int(b)) for a, b in enc["offset_mapping"])
    lookup = OffsetIndex(offsets)

    def conv(span: Span) -> Span:
        return lookup.span(span)

    return TokenSpans(
        input_ids=tuple(int(i) for i in enc["input_ids"]),
        offsets=offsets,
        prompt=conv(parsed.prompt),
        round_tags=tuple(conv(s) for s in parsed.round_tags),
        turns=tuple(TokenTurnSpan(t.agent, t.round, conv(t.tag), conv(t.text)) for t in parsed.turns),
        consensus_tag=conv(parsed.consensus_tag),
        consensus=conv(parsed.consensus),
        end_tag=conv(parsed.end_tag),
    )


def masked_tokens(text: str, offsets: Sequence[tuple[int, int]], within: Span, strings: Sequence[str]) -> set[int]:
    """Token positions (over `offsets`) that overlap an occurrence of any of `strings` inside `within` of `text`.

    Reading a turn without its persona's signature (``SELF-CRITIQUE``, ``//``) means dropping every token
    that carries part of one; a token straddling the signature's edge is dropped too.
    """
    lookup = OffsetIndex(offsets)
    out: set[int] = set()
    for needle in strings:
        if not needle:
            raise ValueError("a masked string must not be empty")
        at = text.find(needle, within.start, within.end)
        while at != -1 and at + len(needle) <= within.end:
            hit = lookup.span(Span(at, at + len(needle)))
            out.update(range(hit.start, hit.end))
            at = text.find(needle, at + 1, within.end)
    return out

