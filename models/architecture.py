"""Where the decoder blocks and their sublayers live in an HF causal LM, across model families."""

from __future__ import annotations

from torch import nn

from models.errors import CheckpointError

# Attribute paths of the decoder block list, most common first.
_BLOCK_PATHS = ("model.layers", "transformer.h", "gpt_neox.layers", "model.decoder.layers", "transformer.blocks")
_ATTN_NAMES = ("self_attn", "attn", "attention")
_MLP_NAMES = ("mlp", "feed_forward")


def _get_path(root: nn.Module, path: str) -> nn.Module | None:
    obj: object = root
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, nn.Module) else None


def find_blocks(model: nn.Module) -> nn.ModuleList:
    """The ModuleList of decoder blocks; raises naming the paths tried if none is found."""
    for path in _BLOCK_PATHS:
        blocks = _get_path(model, path)
        if isinstance(blocks, nn.ModuleList) and len(blocks) > 0:
            return blocks
    raise CheckpointError(
        f"cannot find the decoder blocks of {type(model).__name__}; tried {', '.join(_BLOCK_PATHS)}"
    )


def block_path(model: nn.Module) -> str:
    """Dotted attribute path of the block list, e.g. ``model.layers``."""
    for path in _BLOCK_PATHS:
        if isinstance(_get_path(model, path), nn.ModuleList):
            return path
    find_blocks(model)  # raises with the message
    raise AssertionError("unreachable")


def sublayer_name(block: nn.Module, kind: str) -> str:
    """Attribute name of a block's attention (``kind="attn"``) or MLP (``kind="mlp"``) module."""
    names = _ATTN_NAMES if kind == "attn" else _MLP_NAMES
    for name in names:
        if isinstance(getattr(block, name, None), nn.Module):
            return name
    raise CheckpointError(f"{type(block).__name__} has no {kind} sublayer; tried {', '.join(names)}")
