"""Token batches: left-padded ids and their mask, checked once before any forward pass reads positions from them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from models.errors import CallError
from models.positions import CallState


@dataclass
class Batch:
    """Left-padded token ids with their attention mask."""

    input_ids: Tensor  # [batch, pos]
    attention_mask: Tensor  # [batch, pos]

    @property
    def pad(self) -> Tensor:
        """Number of left-pad tokens per row, ``[batch]``."""
        return (self.attention_mask == 0).sum(dim=1)

    @property
    def lengths(self) -> list[int]:
        return self.attention_mask.sum(dim=1).tolist()

    @property
    def position_ids(self) -> Tensor:
        """Positions that make a left-padded row compute exactly what it computes unpadded."""
        return (self.attention_mask.cumsum(dim=1) - 1).clamp(min=0)

    def state(self) -> CallState:
        return CallState(prompt_len=self.input_ids.shape[1], pad=self.pad)

    def check(self, vocab_size: int) -> None:
        """Refuse batches the position logic would misread: not left-padded, empty rows, ids outside the vocabulary."""
        ids, mask = self.input_ids, self.attention_mask
        if not isinstance(ids, Tensor) or not isinstance(mask, Tensor):
            raise CallError("Batch needs input_ids and attention_mask tensors")
        if ids.ndim != 2 or ids.shape != mask.shape or ids.shape[0] == 0 or ids.shape[1] == 0:
            raise CallError(
                f"Batch input_ids {tuple(ids.shape)} and attention_mask {tuple(mask.shape)} must both be [batch, pos], non-empty"
            )
        check_ids(ids, vocab_size)
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise CallError("Batch attention_mask must hold only 0 and 1")
        if bool((mask[:, 1:] < mask[:, :-1]).any()):  # a 1 followed by a 0: right padding or a hole
            row = int((mask[:, 1:] < mask[:, :-1]).any(dim=1).nonzero()[0])
            raise CallError(
                f"Batch row {row} is not left-padded (a pad follows a real token); positions assume left padding, "
                "so use model.tokenize() or pad on the left"
            )
        if bool((mask.sum(dim=1) == 0).any()):
            raise CallError(f"Batch row {int((mask.sum(dim=1) == 0).nonzero()[0])} has no real token")


def check_ids(ids: Tensor, vocab_size: int) -> None:
    if ids.dtype in (torch.bool,) or ids.is_floating_point() or ids.is_complex():
        raise CallError(f"token ids must be an integer tensor, got dtype {ids.dtype}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise CallError(
            f"token ids must lie in 0..{vocab_size - 1} (the vocabulary), got {int(ids.min())}..{int(ids.max())}"
        )
