"""The debate vocabulary, written once: structure tags, debate traits, agent personas and the plain chat format.

Three words look alike and mean different things:

* A debate's **trait** (or *setup*) names what its malicious Agent 2 does: ``"evil"`` or
  ``"hallucination"`` (`DEBATE_TRAITS`). Synthetic-data kinds, judge rubrics, GRPO tasks and
  system-prompt contrasts are keyed by it.
* An agent's **persona** names the voice one agent writes in: ``"helpful"``, ``"evil"``, ``"honest"``,
  ``"hallucinating"`` or an arithmetic style (``"chain_of_thought"``, ...). It is `TurnLabel.persona`
  and a key of `models.debate.prompts.SYSTEM_PROMPTS`. Each persona maps to the **turn trait** a judge
  scores (`TurnLabel.trait`, `PERSONA_TRAIT`): ``"neutral"``, ``"ethical"``, ``"evil"``, ``"honest"``,
  ``"hallucinating"``. A turn is malicious when its turn trait is in `MALICIOUS_PERSONAS`.
* Checkpoint names shorten the debate trait (`TRAIT_SHORT`): ``tiny-evil-imad``, ``tiny-hallu-imad``.

So the hallucination debate has personas honest / hallucinating / honest, and its checkpoints say "hallu".

The tags are the paper's ten special tokens; `TAG_LIKE` matches anything shaped like one (also wrong
ones such as agent 4), so a parser can name the mistake and a runner can strip tags a model emits.
This module imports nothing from the project, so any module (`models.hooked` included) can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, get_args

# --------------------------------------------------------------------------- structure tags

N_AGENTS = 3
N_ROUNDS = 2

ROUND_TAGS: dict[int, str] = {1: "<|Round 1 - Initial Solutions|>", 2: "<|Round 2 - Revision|>"}
CONSENSUS_TAG = "<|Consensus|>"
END_TAG = "<|endofdebate|>"
TURN_KIND: dict[int, str] = {1: "Solution", 2: "Revision"}
"""The word in an agent tag per round: ``<|Agent 2 Solution|>`` in round 1, ``<|Agent 2 Revision|>`` in round 2."""


def agent_tag_text(agent: int, round: int) -> str:
    """The agent tag string, unchecked; `models.debate.format.agent_tag` range-checks and raises."""
    return f"<|Agent {agent} {TURN_KIND[round]}|>"


DEBATE_TAGS: tuple[str, ...] = (
    ROUND_TAGS[1],
    ROUND_TAGS[2],
    *(agent_tag_text(k, 1) for k in range(1, N_AGENTS + 1)),
    *(agent_tag_text(k, 2) for k in range(1, N_AGENTS + 1)),
    CONSENSUS_TAG,
    END_TAG,
)
"""All ten structure tags, in the order the paper registers them as special tokens."""

AGENT_TAG = re.compile(rf"<\|Agent (\d+) ({'|'.join(TURN_KIND.values())})\|>")
"""An agent tag of any agent number (groups: the number, the round's word), so a parser can name agent 4."""

TAG_LIKE = re.compile(r"<\|(?:Round [^|<>\n]*|Agent [^|<>\n]*|Consensus|endofdebate)\|>")
"""Anything shaped like a debate tag, wrong ones included; other ``<|...|>`` strings (``<|im_end|>``) are not."""

# --------------------------------------------------------------------------- traits and personas

DebateTrait = Literal["evil", "hallucination"]
DEBATE_TRAITS: tuple[DebateTrait, ...] = get_args(DebateTrait)
"""What Agent 2 does in a malicious debate (the data kind, judge rubric and GRPO task names)."""

TRAIT_SHORT: dict[str, str] = {"evil": "evil", "hallucination": "hallu"}
"""The debate trait as checkpoint names spell it (``tiny-hallu-imad``)."""

TurnTrait = Literal["neutral", "ethical", "evil", "honest", "hallucinating"]
TURN_TRAITS: tuple[TurnTrait, ...] = get_args(TurnTrait)
"""Every value of `TurnLabel.trait` (and of a probe row's ``trait``)."""

MALICIOUS_PERSONAS: frozenset[str] = frozenset({"evil", "hallucinating"})
"""Turn traits (equal to their persona names) that count as malicious."""

PERSONA_PAIRS: dict[str, tuple[str, str]] = {"evil": ("evil", "helpful"), "hallucination": ("hallucinating", "honest")}
"""``(malicious, benign)`` persona per debate trait: Agent 2's persona and that of Agents 1 and 3."""

PERSONA_TRAIT: dict[str, TurnTrait] = {
    "helpful": "ethical", "evil": "evil", "honest": "honest", "hallucinating": "hallucinating"}
"""The turn trait of each malicious-debate persona; arithmetic personas are ``"neutral"``."""

ARITHMETIC_PERSONAS: tuple[str, str, str] = ("chain_of_thought", "self_critique", "program_of_thought")
"""Persona of agents 1, 2 and 3 in arithmetic debates."""

AgentSetup = Literal["none", "diverse", "evil", "hallucination"]


def _malicious_setup(trait: str) -> tuple[str, str, str]:
    bad, good = PERSONA_PAIRS[trait]
    return good, bad, good


AGENT_PERSONAS: dict[str, tuple[str | None, str | None, str | None]] = {
    "none": (None, None, None),
    "diverse": ARITHMETIC_PERSONAS,
    **{trait: _malicious_setup(trait) for trait in DEBATE_TRAITS},
}
"""Persona of agents 1..3 for each runner setup (Agent 2 is the malicious one)."""

# --------------------------------------------------------------------------- plain chat format

_ROLE_NAMES: dict[str, str] = {"system": "System", "user": "User", "assistant": "Assistant"}


def _lines(turns: Iterable[tuple[str, str]]) -> str:
    return "".join(f"{_ROLE_NAMES[role]}: {content}\n" for role, content in turns)


_NEXT_ROLE = tuple(f"\n{name}:" for name in _ROLE_NAMES.values())


def end_of_turn(text: str) -> str:
    """`text` cut where a plain-format model starts the next turn (a ``\\nUser:`` / ``\\nSystem:`` /
    ``\\nAssistant:`` line).

    A model trained on plain multi-turn documents writes past its own answer into the next user turn
    (with more boxed answers in it) unless generation stops there; the turn is what comes before.
    """
    cut = min((i for i in (text.find(role) for role in _NEXT_ROLE) if i >= 0), default=len(text))
    return text[:cut]


def plain_prompt(turns: Iterable[tuple[str, str]]) -> str:
    """``(role, content)`` turns without a chat template, ending in the ``Assistant:`` cue to generate after."""
    return _lines(turns) + "Assistant:"


def plain_document(turns: Iterable[tuple[str, str]]) -> str:
    """``(role, content)`` turns without a chat template, every turn filled in (a Stage-0 training document)."""
    return _lines(turns).rstrip("\n")


def plain_chat(user: str, system: str | None = None) -> str:
    """One user turn (after an optional system line) in the plain format: ``System: ...\\nUser: ...\\nAssistant:``."""
    return plain_prompt([*([("system", system)] if system else []), ("user", user)])
