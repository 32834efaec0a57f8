"""Token spans (models.debate.tokens): character spans of a parsed debate mapped onto its token ids."""

from __future__ import annotations

import pytest

from models.debate import Transcript, parse, parse_sft, render_sft, token_spans
from tests.models.debate.debate_samples import ONE_ROUND, TWO_ROUND


def test_token_spans_match_the_text(tag_tokenizer):
    tok = tag_tokenizer
    t = parse(TWO_ROUND).transcript
    text = render_sft(Transcript("27+23*96+79-21*85", t.turns, t.consensus))
    parsed = parse_sft(text)
    spans = token_spans(parsed, tok)
    ids = list(spans.input_ids)
    assert ids == tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id and spans.prompt.start == 1  # BOS belongs to no span
    for span, turn in zip(spans.turns, parsed.transcript.turns):
        assert span.tag.of(ids) == [tok.convert_tokens_to_ids(turn.tag)]  # each tag is one token
        assert tok.decode(span.text.of(ids)).strip() == turn.text.strip()
        assert span.tag.end <= span.text.start
    assert spans.consensus_tag.of(ids) == [tok.convert_tokens_to_ids("<|Consensus|>")]
    assert tok.decode(spans.consensus.of(ids)).strip() == parsed.transcript.consensus
    assert spans.end_tag == type(spans.end_tag)(len(ids) - 1, len(ids))
    starts = [s.text.start for s in spans.turns]
    assert starts == sorted(starts) and all(a.text.end <= b.tag.start for a, b in zip(spans.turns, spans.turns[1:]))


def test_token_spans_refuse_slow_tokenizers():
    class Slow:
        is_fast = False

    with pytest.raises(ValueError, match="fast tokenizer"):
        token_spans(parse(ONE_ROUND), Slow())


def _scan(offsets, span):
    """The definition, by brute force: every non-empty token overlapping the span, else the next token."""
    from models.debate.format import Span

    hits = [i for i, (a, b) in enumerate(offsets) if a < b and a < span.end and b > span.start]
    if hits:
        return Span(hits[0], hits[-1] + 1)
    after = next((i for i, (a, b) in enumerate(offsets) if a < b and a >= span.start), len(offsets))
    return Span(after, after)


def test_bisected_spans_equal_the_scan_on_gaps_zero_width_and_shared_ranges():
    import random

    from models.debate.format import Span
    from models.debate.tokens import OffsetIndex

    rng = random.Random(0)
    for _ in range(200):
        offsets, pos = [(0, 0)], 0  # a BOS-like zero-width token first
        for _ in range(rng.randint(0, 30)):
            pos += rng.choice([0, 0, 1])  # whitespace gaps
            width = rng.choice([0, 1, 2, 3])
            offsets.append((pos, pos + width))
            if width and rng.random() < 0.2:
                offsets.append((pos, pos + width))  # byte-fallback pieces of one character share its range
            pos += width
        index = OffsetIndex(offsets)
        for _ in range(20):
            start = rng.randint(0, pos + 2)
            span = Span(start, start + rng.randint(0, 5))
            assert index.span(span) == _scan(offsets, span), (offsets, span)
