"""models.batch: left-padded batches, their derived positions, and the refusals that keep positions honest."""

from __future__ import annotations

import pytest
import torch

from models.batch import Batch, check_ids
from models.errors import CallError


def _batch() -> Batch:
    ids = torch.tensor([[0, 0, 5, 6], [7, 8, 9, 10]])
    return Batch(ids, (ids != 0).long())


def test_pad_lengths_and_positions_describe_a_left_padded_batch():
    b = _batch()
    assert b.pad.tolist() == [2, 0] and b.lengths == [2, 4]
    assert b.position_ids.tolist() == [[0, 0, 0, 1], [0, 1, 2, 3]]  # a padded row counts from its first real token
    state = b.state()
    assert state.prompt_len == 4 and state.pad.tolist() == [2, 0]
    b.check(vocab_size=11)


@pytest.mark.parametrize("ids, mask, message", [
    ([[1, 2]], [[1, 0]], "row 0 is not left-padded"),
    ([[1, 2]], [[0, 0]], "row 0 has no real token"),
    ([[1, 2]], [[1, 2]], "only 0 and 1"),
    ([[1, 99]], [[1, 1]], r"must lie in 0\.\.10"),
    ([[1, 2]], [[1, 1, 1]], "must both be"),
])
def test_a_batch_the_positions_would_misread_is_refused(ids, mask, message):
    with pytest.raises(CallError, match=message):
        Batch(torch.tensor(ids), torch.tensor(mask)).check(vocab_size=11)


def test_token_ids_must_be_integers():
    with pytest.raises(CallError, match="integer tensor"):
        check_ids(torch.tensor([[0.5]]), vocab_size=11)
