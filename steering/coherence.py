"""Coherence: perplexity of response tokens under a reference model, and a degenerate-output detector.

The paper's own examples show "suppression" produced by broken, looping text, so every trait score
in this toolkit is reported next to these two numbers. The repetition detector (`degeneracy`) lives in
`models.judges.quality`, beside the word-salad detector, so judges and outcomes in `models` use the
same copy; it is re-exported here unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from models import HookedModel
from models.hooked import Batch
from models.judges.quality import Degeneracy, degeneracy

__all__ = ["Degeneracy", "degeneracy", "response_perplexity"]


@torch.no_grad()
def response_perplexity(
    reference: HookedModel, prompts: Sequence[str], responses: Sequence[str], batch_size: int = 16
) -> list[float]:
    """Perplexity of each response's tokens given its prompt, under `reference` (prompt tokens excluded).

    Prompt and response are tokenized separately and concatenated as ids, so the boundary is exact
    and special tokens are never re-tokenized as text. Empty responses give ``nan``.
    """
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    tok = reference.tokenizer
    pairs = [
        (tok(p, add_special_tokens=True)["input_ids"], tok(r, add_special_tokens=False)["input_ids"])
        for p, r in zip(prompts, responses)
    ]
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    out: list[float] = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        seqs = [p + r for p, r in chunk]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, width - len(s) :] = torch.tensor(s)
            mask[i, width - len(s) :] = 1
        logits = reference.forward(Batch(ids.to(reference.device), mask.to(reference.device))).float().cpu()
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        for i, (p, r) in enumerate(chunk):
            if not r:
                out.append(float("nan"))
                continue
            n = len(r)
            nll = -logprobs[i, width - 1 - n :].mean().item()  # the last n targets are the response tokens
            out.append(math.exp(nll))
    return out
