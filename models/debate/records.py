"""The published JSON records (paper §8): transcripts to entries, steering pairs, atomic writes.

Readers (`models.debate.readers`) validate these same shapes on the way in, and what is written here
reads back: an unknown gold answer is written as ``null`` (never ``""``, which readers refuse), and a
malicious entry's ``consensus_type`` and ``consensus_explanation`` always agree with its consensus
line. A malicious debate of one round and an empty explanation (what the published generator stores
for a bare verdict) are written and read back as they are. Entries may carry one extra field the
published files do not have, ``labels`` (one ``{agent, round, persona, trait, error}`` object per
turn), which the readers pick up when present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from models.debate.format import (
    DebateFormatError,
    Transcript,
    agent_tag,
    render,
    sft_prompt,
)
from models.files import write_json

Schema = Literal["arithmetic", "malicious", "questions", "steering_pairs", "mixture"]
SCHEMAS: tuple[Schema, ...] = ("arithmetic", "malicious", "questions", "steering_pairs", "mixture")

ConsensusType = Literal["full_consensus", "majority", "disagreement", "error"]
CONSENSUS_PREFIXES: dict[str, str] = {
    "full_consensus": "All agents reached consensus: ",
    "majority": "A majority of agents agreed: ",
    "disagreement": "All agents disagreed: ",
    "error": "Consensus status unclear: ",
}
"""How the malicious-debate consensus line starts, per ``consensus_type``."""


def malicious_consensus_line(consensus_type: str, explanation: str) -> str:
    """The ``<|Consensus|>`` line of a malicious debate, e.g. ``A majority of agents agreed: ...``."""
    if consensus_type not in CONSENSUS_PREFIXES:
        raise DebateFormatError(
            f"consensus_type {consensus_type!r} is not one of {', '.join(CONSENSUS_PREFIXES)}"
        )
    return CONSENSUS_PREFIXES[consensus_type] + explanation


@dataclass(frozen=True)
class SteeringPair:
    """One turn-level contrast: a context ending at an agent's tag, its response, and the others'.

    `question` and `round` are derived from `context` (``"Problem: {q}\\n\\n<|Round 1 ...|>..."``).
    """

    turn_identifier: str
    context: str
    positive_agent_id: int
    positive_response: str
    negatives: tuple[tuple[int, str], ...]
    question: str
    round: int

    def to_json(self) -> dict[str, Any]:
        """The published record; agent ids are strings there (``"1"``), as in the paper's files."""
        return {
            "turn_identifier": self.turn_identifier,
            "context": self.context,
            "positive_agent_id": str(self.positive_agent_id),
            "positive_response": self.positive_response,
            "negative_pairs": [
                {"negative_agent_id": str(agent), "negative_response": text} for agent, text in self.negatives
            ],
        }


def steering_pairs(transcript: Transcript, index: int) -> list[SteeringPair]:
    """One pair per (round, agent) of a debate: the context up to that agent's tag, its text as
    positive and the same-round texts of the other agents as negatives (same context for all)."""
    trace = render(transcript)
    prompt = sft_prompt(transcript.question)
    pairs = []
    for turn in transcript.turns:
        tag = agent_tag(turn.agent, turn.round)
        context = prompt + trace[: trace.index(tag) + len(tag)]
        others = tuple((o.agent, o.text) for o in transcript.rounds[turn.round - 1] if o.agent != turn.agent)
        pairs.append(SteeringPair(
            turn_identifier=f"question_{index}_round_{turn.round}_agent_{turn.agent}",
            context=context,
            positive_agent_id=turn.agent,
            positive_response=turn.text,
            negatives=others,
            question=transcript.question,
            round=turn.round,
        ))
    return pairs


def _labels_json(transcript: Transcript) -> list[dict[str, Any]] | None:
    if all(t.label is None for t in transcript.turns):
        return None
    return [
        {"agent": t.agent, "round": t.round, **(t.label.to_json() if t.label else {})} for t in transcript.turns
    ]


def transcript_entry(transcript: Transcript, schema: Schema, include_labels: bool = True) -> dict[str, Any]:
    """The published entry for `transcript` in `schema` (arithmetic, malicious or mixture)."""
    trace = render(transcript)
    meta = transcript.metadata
    if schema == "arithmetic":
        entry: dict[str, Any] = {
            "question": transcript.question, "debate_trace": trace, "gold_answer": transcript.gold_answer or None,
        }
    elif schema == "malicious":
        ctype, explanation = _malicious_consensus(transcript)
        entry = {"question": transcript.question, "debate_trace": trace, "consensus_type": ctype,
                 "consensus_explanation": explanation}
    elif schema == "mixture":
        entry = {"task": meta.get("task", "arithmetic"), "question": transcript.question, "trace": trace,
                 "answer": transcript.gold_answer or transcript.final_answer or None}
        if meta.get("subtask") is not None:
            entry["subtask"] = meta["subtask"]
    else:
        raise ValueError(f"schema {schema!r} does not hold transcripts; use arithmetic, malicious or mixture")
    labels = _labels_json(transcript) if include_labels else None
    if labels is not None:
        entry["labels"] = labels
    return entry


def _malicious_consensus(transcript: Transcript) -> tuple[str, str]:
    """``(consensus_type, consensus_explanation)`` that agree with the consensus line, as readers require.

    Taken from the metadata when it matches the line, else read off the line's prefix; a line that
    starts with no known prefix cannot be written as a malicious entry.
    """
    line, meta = transcript.consensus, transcript.metadata
    ctype, explanation = meta.get("consensus_type"), meta.get("consensus_explanation")
    if ctype in CONSENSUS_PREFIXES and explanation is not None and line == CONSENSUS_PREFIXES[ctype] + explanation:
        return ctype, explanation
    for ctype, prefix in CONSENSUS_PREFIXES.items():
        if line.startswith(prefix.rstrip()):  # "A majority of agents agreed:" alone: an empty explanation
            return ctype, line[len(prefix.rstrip()):].strip()
    raise DebateFormatError(
        f"cannot write a malicious entry: the consensus line {line[:40]!r} starts with none of "
        f"{', '.join(repr(p) for p in CONSENSUS_PREFIXES.values())}", field="debate_trace")


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write `obj` as indented UTF-8 JSON (keys in the caller's order) atomically via `models.files`:
    readers never see a half-written file, and NaN/Infinity are refused rather than written."""
    return write_json(path, obj, sort_keys=False)
