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
