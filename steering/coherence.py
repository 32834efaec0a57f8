"""Coherence: perplexity of response tokens under a reference model, and a degenerate-output detector.

The paper's own examples show "suppression" produced by broken, looping text, so every trait score
in this toolkit is reported next to these two numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from models import HookedModel
from models.hooked import Batch


@dataclass(frozen=True)
class Degeneracy:
    """Repetition statistics of one text; `degenerate` is the verdict used in reports."""

    repetition_ratio: float  # share of word 3-grams that repeat an earlier 3-gram
    distinct_1: float  # unique words / words
    distinct_2: float  # unique word bigrams / bigrams
    longest_run: int  # longest run of one repeated word or character
    degenerate: bool


def _ngrams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def _longest_run(items: Sequence[str]) -> int:
    best = run = 1 if items else 0
    for a, b in zip(items, items[1:]):
        run = run + 1 if a == b else 1
        best = max(best, run)
    return best


_PERIODIC = re.compile(r"(\S{1,8}?)\1+")


def _periodic_run(text: str) -> int:
    """Most consecutive repeats of one short unit, spaces ignored: ``aaaa`` is 4, ``1.1.1.1.`` is 4 (``1.``)."""
    squeezed = text.replace(" ", "")
    return max((len(m.group(0)) // len(m.group(1)) for m in _PERIODIC.finditer(squeezed)), default=0)


def degeneracy(text: str, max_repetition: float = 0.5, min_distinct_2: float = 0.4, max_run: int = 6) -> Degeneracy:
    """Flag looping or collapsed text: many repeated 3-grams, few distinct bigrams, or long runs."""
    words = text.split()
    trigrams = _ngrams(words, 3)
    bigrams = _ngrams(words, 2)
    repeated = len(trigrams) - len(set(trigrams))
    repetition = repeated / len(trigrams) if trigrams else 0.0
    distinct_1 = len(set(words)) / len(words) if words else 0.0
    distinct_2 = len(set(bigrams)) / len(bigrams) if bigrams else 1.0
    # a word repeated, or one short unit looping inside a "word" (``1.1.1.1...`` is one word of 80 characters)
    run = max(_longest_run(words), _periodic_run(text) // 4)
    empty = len(words) == 0
    verdict = empty or repetition > max_repetition or (len(bigrams) >= 8 and distinct_2 < min_distinct_2) or run > max_run
    return Degeneracy(round(repetition, 4), round(distinct_1, 4), round(distinct_2, 4), run, bool(verdict))


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
