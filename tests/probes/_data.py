"""Test data for probes: short hand-written debates and synthetic activation sets with planted directions."""

from __future__ import annotations

import torch

from models.debate import AgentTurn, Transcript, TurnLabel
from probes import ActivationSet, Row

PERSONAS = ("chain_of_thought", "self_critique", "program_of_thought")
STYLE = (
    "First, multiply {a} by {b} to get {p}. Then subtract {c}. The answer is \\boxed{{{x}}}.",
    "{a} * {b} - {c} = {p} - {c} = {x}. SELF-CRITIQUE: the product is the risky step. \\boxed{{{x}}}",
    "m = {a} * {b}  // {p}\nres = m - {c}  // {x}\n\\boxed{{{x}}}",
)


def make_debate(a: int, b: int, c: int, rounds: int = 2) -> Transcript:
    """A short, well-formed debate on ``a*b-c`` in which every agent keeps its persona's wording."""
    p, x = a * b, a * b - c
    turns = [AgentTurn(agent, 1, STYLE[agent - 1].format(a=a, b=b, c=c, p=p, x=x), TurnLabel(PERSONAS[agent - 1]))
             for agent in (1, 2, 3)]
    if rounds == 2:
        turns += [AgentTurn(agent, 2, "I agree with the others. " + STYLE[agent - 1].format(a=a, b=b, c=c, p=p, x=x),
                            TurnLabel(PERSONAS[agent - 1])) for agent in (1, 2, 3)]
    return Transcript(f"{a}*{b}-{c}", tuple(turns), f"All agents reached a consensus of \\boxed{{{x}}}", str(x))


def planted_set(n_per_agent: int = 200, d: int = 32, scale: float = 3.0, seed: int = 0,
                sites: tuple[str, ...] = ("blocks.0.hook_resid_post",)) -> tuple[ActivationSet, dict[int, torch.Tensor]]:
    """Isotropic noise plus ``scale * u_agent`` for each agent; returns the set and the unit directions u."""
    g = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(d, 3, generator=g))
    u = {agent: basis[:, agent - 1] for agent in (1, 2, 3)}
    rows, chunks = [], []
    for agent in (1, 2, 3):
        for i in range(n_per_agent):
            q = i % 40
            rows.append(Row(item=q, question_id=f"q{q}", round=1 + i % 2, agent=agent, label=PERSONAS[agent - 1]))
        chunks.append(torch.randn(n_per_agent, d, generator=g) + scale * u[agent])
    values = torch.cat(chunks)
    acts = ActivationSet(tuple(rows), {s: values.clone() for s in sites}, model="synthetic", read_position="turn_mean",
                         model_info={"n_layers": 4, "vocab_size": 10})
    return acts, u
