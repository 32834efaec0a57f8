"""`steer`: apply one or several directions to a model for the duration of a block, in any backend."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from torch import Tensor

from models import HookedModel, Intervention
from models.interventions import Kind
from models.positions import AgentSpan, Positions
from probes.directions import Direction
from steering.prepare import intervention


@contextlib.contextmanager
def steer(
    model: HookedModel,
    directions: Direction | Sequence[tuple[Direction, float]],
    alpha: float | Tensor = 1.0,
    positions: Positions = "generated",
    kind: Kind = "add",
    layer: int | None = None,
) -> Iterator[list[Intervention]]:
    """Add ``alpha * direction`` (or ablate it with ``kind="project_out"``) while the block runs.

    Args:
        directions: one Direction (scaled by `alpha`), or ``[(direction, alpha), ...]`` to apply several.
        alpha: strength; a ``[batch]`` tensor gives each prompt row its own alpha.
        positions: where to write: ``"generated"`` (the paper's choice), ``"response"``, ``"all"``, ...
        layer: move every direction to this layer (same site name); default: each direction's own site.

    Example:
        >>> with steer(model, evil_direction, alpha=-3.0):
        ...     out = model.generate(prompts, max_new_tokens=64)
    """
    pairs = [(directions, alpha)] if isinstance(directions, Direction) else list(directions)
    ivs = [intervention(d, model, a, positions=positions, kind=kind, layer=layer) for d, a in pairs]
    with model.intervene(*ivs) as installed:
        yield installed


def while_speaking(tokenizer: object, agent: int) -> AgentSpan:
    """Positions for steering only while `agent` writes its turns of a debate (its tags open, any other tag closes).

    The debate tags must be single tokens (added as special tokens by Stage 1 training).
    """
    from models.debate.format import DEBATE_TAGS, agent_tag

    def token_id(tag: str) -> int:
        ids = tokenizer(tag, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
        if len(ids) != 1:
            raise ValueError(f"tag {tag!r} is {len(ids)} tokens in this tokenizer; train Stage 1 (tags as special tokens) first")
        return int(ids[0])

    own = {agent_tag(agent, r) for r in (1, 2)}
    return AgentSpan(
        open_ids=tuple(token_id(t) for t in sorted(own)),
        close_ids=tuple(token_id(t) for t in DEBATE_TAGS if t not in own),
    )
