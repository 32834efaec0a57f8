"""Which shorter transcripts a Stage 1 model could write, and whether Stage 2's sampling would ever find them.

GRPO shortens only by reinforcing forms the policy samples. One form a debate model can be asked for
directly: its own greedy transcript cut after Agent k's round-1 turn and closed with the consensus tag,
which the model then completes (`early_consensus`; the answer it commits to is read like any transcript's).
`next_tag_probabilities` gives the chance that sampling at a temperature picks each tag at that point.
A form that is short and accurate but whose first tag is almost never sampled is out of Stage 2's reach:
the brevity it rewards has to come from the forms that are sampled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from models.debate.arithmetic import is_correct
from models.debate.format import CONSENSUS_TAG, DEBATE_TAGS, END_TAG, agent_tag, committed_answer, sft_prompt
from models.debate.format import stop_token_ids
from models.hooked import HookedModel
from models.train.evaluate import SystemScore, generate_answers

TURN_ENDS: tuple[str, ...] = (agent_tag(2, 1), agent_tag(3, 1), CONSENSUS_TAG, END_TAG)
"""Tags that can follow Agent 1's round-1 turn in a Stage 1 transcript."""


def _next_tag(text: str, start: int, skip: Sequence[str] = ()) -> int:
    """Where the first debate tag (other than `skip`) at or after `start` begins; the text's length if none does."""
    return min((i for tag in DEBATE_TAGS if tag not in skip and (i := text.find(tag, start)) >= 0), default=len(text))


def _before_consensus(question: str, head: str) -> str:
    """The prompt and a cut transcript, ending where the next tag would be written."""
    return sft_prompt(question) + head.rstrip() + "\n\n"


def cut_after_agent(transcript: str, agent: int) -> str | None:
    """`transcript` up to the end of `agent`'s round-1 turn (before whatever tag comes next), or None when the
    transcript has no such turn."""
    opening = agent_tag(agent, 1)
    start = transcript.find(opening)
    if start < 0:
        return None
    return transcript[:_next_tag(transcript, start + len(opening))]


def early_consensus(model: HookedModel, questions: Sequence[str], golds: Sequence[str], transcripts: Sequence[str],
                    agent: int = 1, max_new_tokens: int = 48, batch_size: int = 32) -> SystemScore:
    """Each greedy `transcripts[i]` cut after `agent`'s round-1 turn, closed with the consensus tag and completed
    greedily by `model` up to the next tag: accuracy of the answer it commits to, and the tokens of the whole
    shortened output."""
    tok = model.tokenizer
    heads = [cut_after_agent(t, agent) for t in transcripts]
    prompts = [_before_consensus(q, h or "") + CONSENSUS_TAG for q, h in zip(questions, heads)]
    outs = generate_answers(model, prompts, max_new_tokens, batch_size, stop_token_ids(tok))
    rows: list[dict[str, Any]] = []
    for q, gold, head, prompt, (tail, _, _) in zip(questions, golds, heads, prompts, outs):
        # the consensus line only: a model that writes on into further turns is not scored on their boxes
        written = prompt[len(sft_prompt(q)):] + tail[:_next_tag(tail, 0, skip=(END_TAG,))]
        answer = committed_answer(written) if head is not None else None
        rows.append({"question": q, "gold": gold, "answer": answer, "correct": is_correct(answer, gold),
                     # the prompt counted as generation counts it (special tokens included), the output without
                     "input_tokens": len(tok(sft_prompt(q))["input_ids"]),
                     "output_tokens": len(tok(written, add_special_tokens=False)["input_ids"]),
                     "tagged": True, "has_turn": head is not None, "output": written})
    return SystemScore.from_rows(f"consensus after Agent {agent}", rows)


@torch.no_grad()
def next_tag_probabilities(model: HookedModel, questions: Sequence[str], transcripts: Sequence[str], agent: int = 1,
                           temperature: float = 1.0, tags: Sequence[str] = TURN_ENDS,
                           batch_size: int = 16) -> dict[str, float]:
    """Mean probability, at sampling temperature `temperature`, that the token after `agent`'s round-1 turn (and
    its blank line) is each of `tags`; transcripts without that turn are skipped.

    The prefixes go through `HookedModel.forward`, tokenized as generation and Stage 2's sampler tokenize a
    prompt (special tokens included), so the probabilities are those the sampler draws from.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 (a probability under greedy decoding is 0 or 1), got {temperature}")
    ids = [model.tokenizer.convert_tokens_to_ids(tag) for tag in tags]
    prefixes = [_before_consensus(q, head) for q, t in zip(questions, transcripts)
                if (head := cut_after_agent(t, agent)) is not None]
    if not prefixes:
        raise ValueError(f"no transcript has an Agent {agent} round-1 turn")
    totals = torch.zeros(len(ids))
    for start in range(0, len(prefixes), batch_size):
        logits = model.forward(prefixes[start:start + batch_size])[:, -1].float().cpu()  # left-padded: -1 is last
        totals += torch.softmax(logits / temperature, dim=-1)[:, ids].sum(dim=0)
    return {tag: float(total) / len(prefixes) for tag, total in zip(tags, totals)}
