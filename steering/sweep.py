"""Alpha sweeps: every (prompt, alpha) pair generated in batches, one row of results each.

Prompts are repeated once per alpha and each batch row gets its own alpha (a ``[batch]`` alpha
tensor), so a whole sweep costs about as much as one batched generation per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from models import HookedModel
from models.debate.format import stop_token_ids
from models.interventions import Kind
from models.positions import Positions
from probes.directions import Direction
from steering.apply import steer


def stop_ids(model: HookedModel) -> list[int]:
    """EOS, plus ``<|endofdebate|>`` when the model's tokenizer has it (Stage 1 models stop there)."""
    return stop_token_ids(model.tokenizer)


@dataclass(frozen=True)
class SweepRow:
    """One steered generation."""

    prompt_index: int
    alpha: float
    text: str
    n_new_tokens: int


def alpha_sweep(
    model: HookedModel,
    direction: Direction,
    prompts: Sequence[str],
    alphas: Sequence[float],
    max_new_tokens: int = 48,
    positions: Positions = "generated",
    kind: Kind = "add",
    batch_size: int = 32,
    layer: int | None = None,
    progress: bool = True,
    desc: str = "alpha sweep",
    stop_token_ids: Sequence[int] | None = None,
) -> list[SweepRow]:
    """Generate every prompt under every alpha (greedy); rows are ordered by alpha, then prompt.

    `stop_token_ids` defaults to `stop_ids` (EOS, and end-of-debate for Stage 1 models)."""
    stops = list(stop_token_ids) if stop_token_ids is not None else stop_ids(model)
    jobs = [(a, i) for a in alphas for i in range(len(prompts))]
    rows: list[SweepRow] = []
    for start in tqdm(range(0, len(jobs), batch_size), desc=desc, disable=not progress, leave=False):
        chunk = jobs[start : start + batch_size]
        alpha = torch.tensor([a for a, _ in chunk], dtype=torch.float32)
        with steer(model, direction, alpha=alpha, positions=positions, kind=kind, layer=layer):
            out = model.generate([prompts[i] for _, i in chunk], max_new_tokens=max_new_tokens,
                                 stop_token_ids=stops)
        rows += [SweepRow(i, float(a), text, n) for (a, i), text, n in zip(chunk, out.texts, out.n_new_tokens)]
    return rows
