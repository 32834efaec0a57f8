import pytest
import torch

from models import AgentSpan, InterventionError, Spans
from models.positions import CallState, check_positions_fit, position_mask, validate_positions


def _state(prompt_len: int, pad: list[int], start: int = 0) -> CallState:
    state = CallState(prompt_len=prompt_len, pad=torch.tensor(pad))
    state.next_start = start
    return state


def test_prefill_masks_respect_left_padding():
    state = _state(5, [2, 0])
    state.advance(5)
    assert position_mask("all", state, 5).tolist() == [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]
    assert position_mask("prompt", state, 5).tolist() == [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]
    assert position_mask("last", state, 5).tolist() == [[0, 0, 0, 0, 1], [0, 0, 0, 0, 1]]
    assert position_mask(-2, state, 5).tolist() == [[0, 0, 0, 1, 0], [0, 0, 0, 1, 0]]
    assert position_mask(0, state, 5).tolist() == [[0, 0, 1, 0, 0], [1, 0, 0, 0, 0]]
    assert not position_mask("generated", state, 5).any()
    assert position_mask("response", state, 5).tolist() == position_mask("last", state, 5).tolist()


def test_decode_step_knows_its_absolute_position():
    """Under a KV cache a decode step is a length-1 chunk; it is still token prompt_len + k."""
    state = _state(5, [2, 0])
    state.advance(5)
    state.advance(1)  # first decode step: absolute position 5
    assert state.start == 5
    assert position_mask("generated", state, 1).all()
    assert not position_mask("prompt", state, 1).any()
    assert not position_mask("last", state, 1).any()


def test_spans_are_row_relative():
    state = _state(6, [1, 0])
    state.advance(6)
    mask = position_mask(Spans.single([(1, 3), (0, 2)]), state, 6)
    assert mask.tolist() == [[0, 0, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]]


@pytest.mark.parametrize("bad", ["everything", [], 3.5])
def test_bad_positions_are_rejected(bad):
    with pytest.raises(InterventionError):
        validate_positions(bad)


def test_agent_span_follows_the_tokens_seen_so_far():
    from models import AgentSpan

    span = AgentSpan(open_ids=(7,), close_ids=(8, 9))
    state = _state(5, [0, 0])
    state.advance(5, torch.tensor([[1, 7, 2, 8, 3], [1, 2, 3, 4, 7]]))
    assert position_mask(span, state, 5).tolist() == [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1]]
    state.advance(1, torch.tensor([[7], [5]]))  # row 0 reopens, row 1 keeps speaking
    assert position_mask(span, state, 1).tolist() == [[1], [1]]
    state.advance(1, torch.tensor([[4], [9]]))  # row 1 closes
    assert position_mask(span, state, 1).tolist() == [[1], [0]]


def test_spans_are_checked_when_built():
    assert Spans([[[0, 2]], []]).rows == (((0, 2),), ())  # lists become tuples; a row may be empty
    for bad, message in [([(3, 3)], "empty or negative"), ([(-1, 2)], "empty or negative"), ([(5, 2)], "empty or negative"),
                         ([(1.5, 3)], "must hold two ints"), ([(1, 2, 3)], "not a \\(start, end\\) pair")]:
        with pytest.raises(InterventionError, match=message):
            Spans.single(bad)
    with pytest.raises(InterventionError, match="no rows"):
        Spans(())


@pytest.mark.parametrize(
    "positions, lengths, horizon, message",
    [(5, [5, 3], 0, "position 5 is outside row 0's 5 tokens"),
     (3, [5, 3], 0, "position 3 is outside row 1's 3 tokens"),
     (-4, [5, 3], 0, "position -4 is outside row 1's 3 tokens"),
     (-4, [5, 3], 10, "position -4 is outside row 1's 3 prompt tokens \\+ 10 new tokens"),  # new tokens do not help
     (13, [5, 3], 10, "position 13 is outside row 1's 3 prompt tokens \\+ 10 new tokens \\(valid: -3..12\\)"),
     ([0, 10**6], [5, 3], 0, "position 1000000"),
     (Spans.single([(0, 5), (0, 4)]), [5, 3], 0, "row 1 span \\(0, 4\\) ends past the row's 3 tokens"),
     (Spans.single([(0, 5)]), [5, 3], 0, "Spans has 1 rows but the batch has 2")],
)
def test_positions_outside_the_rows_are_refused(positions, lengths, horizon, message):
    with pytest.raises(InterventionError, match=message):
        check_positions_fit(positions, lengths, horizon)


@pytest.mark.parametrize(
    "positions, lengths, horizon",
    [(4, [5, 5], 0), (-5, [5, 5], 0), (12, [5, 3], 10), (Spans.single([(0, 5), (2, 13)]), [5, 3], 10),
     ("generated", [1], 0), (AgentSpan((1,), (2,)), [1], 0)],
)
def test_positions_inside_the_rows_pass(positions, lengths, horizon):
    check_positions_fit(positions, lengths, horizon)


@pytest.mark.parametrize("bad", [True, [1, False], (1.0,)])
def test_bools_and_floats_are_not_positions(bad):
    with pytest.raises(InterventionError):
        validate_positions(bad)
