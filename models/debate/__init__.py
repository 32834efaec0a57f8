"""Debate data: the transcript format, readers for the published datasets, synthetic debates and a runner.

* `format`: tag vocabulary (`DEBATE_TAGS`), `Transcript`, exact `render`/`parse` with character spans.
* `tokens`: character spans to token spans (`token_spans`).
* `readers` / `records`: the five published JSON schemas, in and out.
* `generate`: seeded offline debates (arithmetic personas, evil, hallucination), split by question.
* `prompts`: persona system prompts and Du et al.-style debate prompts.
* `runner`: the explicit three-agent debate baseline, run with any `HookedModel`.
* `summary`: counts and mean token lengths of a debate data file (`summarize_debate_file`).

Example:
    >>> from models.debate import parse_sft, read_debate_file, render_sft, token_spans
    >>> data = read_debate_file("data/arithmetic_3_2.json")          # schema detected, entries validated
    >>> parsed = parse_sft(render_sft(data.transcripts[0]))           # spans of every tag and turn
    >>> token_spans(parsed, tokenizer).turn_span(agent=2, round=1).text
"""

from typing import TYPE_CHECKING, Any

from models.debate.arithmetic import TIERS, Problem, Tier, sample_problem, work_out
from models.debate.format import (
    CONSENSUS_TAG,
    DEBATE_TAGS,
    END_TAG,
    N_AGENTS,
    N_ROUNDS,
    ROUND_TAGS,
    AgentTurn,
    DebateFormatError,
    ParsedDebate,
    Span,
    Transcript,
    TurnLabel,
    TurnSpan,
    agent_tag,
    boxed_contents,
    final_answer,
    parse,
    parse_sft,
    parse_transcript,
    render,
    render_sft,
    sft_prompt,
    stop_token_ids,
)
from models.debate.malicious import PersonaSample, malicious_debate, persona_samples
from models.debate.prompts import (
    SYSTEM_PROMPTS,
    PersonaChat,
    agent_system_prompts,
    persona_chats,
    persona_system_prompts,
)
from models.debate.readers import (
    DebateFile,
    detect_schema,
    read_debate_file,
    read_questions,
    read_steering_pairs,
    read_transcripts,
)
from models.debate.records import SCHEMAS, Schema, SteeringPair, atomic_write_json, steering_pairs, transcript_entry
from models.debate.tokens import TokenSpans, TokenTurnSpan, char_to_token_span, token_spans

if TYPE_CHECKING:
    from models.debate.generate import (
        GENERATOR_VERSION,
        KINDS,
        GenerateConfig,
        generate_debates,
        split_by_question,
        write_dataset,
    )
    from models.debate.summary import Summary, summarize_debate_file

# `generate` and `summary` are also scripts (python -m models.debate.generate / .summary); importing them here
# eagerly would make runpy warn that the module was imported before it ran, so their names load on first access.
_LAZY = {name: "models.debate.generate" for name in (
    "GENERATOR_VERSION", "KINDS", "GenerateConfig", "generate_debates", "split_by_question", "write_dataset")}
_LAZY.update({name: "models.debate.summary" for name in ("Summary", "summarize_debate_file")})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'models.debate' has no attribute {name!r}")


__all__ = [
    "CONSENSUS_TAG", "DEBATE_TAGS", "END_TAG", "GENERATOR_VERSION", "KINDS", "N_AGENTS", "N_ROUNDS", "ROUND_TAGS",
    "SCHEMAS", "SYSTEM_PROMPTS", "Summary", "TIERS", "AgentTurn", "DebateFile", "DebateFormatError", "GenerateConfig",
    "ParsedDebate", "PersonaChat", "PersonaSample", "Problem", "Schema", "Span", "SteeringPair", "Tier",
    "TokenSpans", "TokenTurnSpan", "Transcript", "TurnLabel", "TurnSpan", "agent_system_prompts", "agent_tag",
    "atomic_write_json", "boxed_contents", "char_to_token_span", "detect_schema", "final_answer", "stop_token_ids",
    "generate_debates", "malicious_debate", "parse", "parse_sft", "parse_transcript", "persona_chats",
    "persona_samples", "persona_system_prompts", "read_debate_file", "read_questions", "read_steering_pairs",
    "read_transcripts", "render", "render_sft", "sample_problem", "sft_prompt", "split_by_question",
    "steering_pairs", "summarize_debate_file", "token_spans", "transcript_entry", "work_out", "write_dataset",
]
