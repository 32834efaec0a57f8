"""The debate transcript: typed transcript, exact render/parse and spans (tags come from `models.vocab`).

A trace is laid out as in the paper's released data (blocks separated by one blank line)::

    <|Round 1 - Initial Solutions|>

    <|Agent 1 Solution|>: ...

    <|Agent 2 Solution|>: ...

    <|Agent 3 Solution|>: ...

    <|Round 2 - Revision|>

    <|Agent 1 Revision|>: ...
    ...
    <|Consensus|>
    All agents reached a consensus of \\boxed{X}

    <|endofdebate|>

`render(parse(t)) == t` holds byte for byte for every well-formed trace; anything else raises
`DebateFormatError` saying what is wrong and at which character.

Example:
    >>> parsed = parse(trace)
    >>> trace[parsed.turns[1].text.start:parsed.turns[1].text.end]   # Agent 2's round-1 text
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.vocab import (
    AGENT_TAG,
    CONSENSUS_TAG,
    DEBATE_TAGS,
    END_TAG,
    MALICIOUS_PERSONAS,
    N_AGENTS,
    N_ROUNDS,
    ROUND_TAGS,
    TAG_LIKE,
    TurnTrait,
    agent_tag_text,
)
from models.errors import ModelsError

SFT_PREFIX = "Problem: "


def agent_tag(agent: int, round: int) -> str:
    """The tag that opens `agent`'s turn in `round`, e.g. ``<|Agent 2 Revision|>``."""
    if agent not in range(1, N_AGENTS + 1):
        raise DebateFormatError(f"agent {agent} does not exist; agents are 1..{N_AGENTS}")
    if round not in ROUND_TAGS:
        raise DebateFormatError(f"round {round} does not exist; rounds are 1..{N_ROUNDS}")
    return agent_tag_text(agent, round)


# Order in which tags occur in a full two-round trace.
_TRACE_ORDER: tuple[str, ...] = (
    ROUND_TAGS[1], *DEBATE_TAGS[2:5], ROUND_TAGS[2], *DEBATE_TAGS[5:8], CONSENSUS_TAG, END_TAG,
)
_BOXED = "\\boxed{"


class DebateFormatError(ModelsError, ValueError):
    """A trace or data file that does not follow the debate format; the message says where."""

    def __init__(self, message: str, *, source: str | None = None, entry: int | str | None = None,
                 field: str | None = None) -> None:
        self.message = message
        self.source = source
        self.entry = entry
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.entry is not None:
            where.append(f"entry {self.entry}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{' '.join(where)}: {self.message}" if where else self.message

    def located(self, source: str | None = None, entry: int | str | None = None,
                field: str | None = None) -> DebateFormatError:
        """A copy of this error that also names the file, entry index and field it came from."""
        return DebateFormatError(
            self.message,
            source=self.source if source is None else source,
            entry=self.entry if entry is None else entry,
            field=self.field if field is None else field,
        )


# --------------------------------------------------------------------------- records

Persona = str
Trait = TurnTrait
MALICIOUS_TRAITS = MALICIOUS_PERSONAS


@dataclass(frozen=True)
class TurnLabel:
    """Ground truth about one turn: who wrote it in which style, and what it did.

    `persona` is the style (``chain_of_thought``, ``self_critique``, ``program_of_thought``,
    ``helpful``, ``evil``, ``honest``, ``hallucinating`` or ``unknown``); `trait` is the behaviour a
    judge scores; `error` is the arithmetic slip in the turn (``wrong_product``, ``wrong_sum``) or None.
    """

    persona: Persona
    trait: Trait = "neutral"
    error: str | None = None

    @property
    def malicious(self) -> bool:
        return self.trait in MALICIOUS_TRAITS

    def to_json(self) -> dict[str, Any]:
        return {"persona": self.persona, "trait": self.trait, "error": self.error}


@dataclass(frozen=True)
class AgentTurn:
    """One agent's response in one round (`round` 1 = initial solution, 2 = revision)."""

    agent: int
    round: int
    text: str
    label: TurnLabel | None = None

    @property
    def tag(self) -> str:
        return agent_tag(self.agent, self.round)

    @property
    def answer(self) -> str | None:
        """The last ``\\boxed{}`` in this turn, or None."""
        return final_answer(self.text)


@dataclass(frozen=True)
class Transcript:
    """A whole debate: question, turns in trace order, consensus line and optional gold answer.

    Turns are ordered round by round, agents 1..3 within a round; round 2 is optional (a debate that
    was unanimous after round 1 stops there). `metadata` holds schema extras such as
    ``consensus_type`` or ``task`` and is not part of equality.
    """

    question: str
    turns: tuple[AgentTurn, ...]
    consensus: str
    gold_answer: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "turns", tuple(self.turns))
        expected = [(r, a) for r in range(1, N_ROUNDS + 1) for a in range(1, N_AGENTS + 1)]
        found = [(t.round, t.agent) for t in self.turns]
        if found not in (expected[:N_AGENTS], expected):
            raise DebateFormatError(
                f"turns must be agents 1..{N_AGENTS} of round 1, optionally followed by agents "
                f"1..{N_AGENTS} of round 2; got (round, agent) = {found}"
            )
        for t in self.turns:
            if not isinstance(t.text, str):
                raise DebateFormatError(f"agent {t.agent} round {t.round} text must be a string")

    @property
    def n_rounds(self) -> int:
        return len(self.turns) // N_AGENTS

    @property
    def rounds(self) -> tuple[tuple[AgentTurn, ...], ...]:
        """Turns grouped by round: ``rounds[0]`` is round 1."""
        return tuple(self.turns[i:i + N_AGENTS] for i in range(0, len(self.turns), N_AGENTS))

    def turn(self, agent: int, round: int) -> AgentTurn:
        for t in self.turns:
            if t.agent == agent and t.round == round:
                return t
        raise KeyError(f"no turn for agent {agent} in round {round} (debate has {self.n_rounds} round(s))")

    @property
    def final_answer(self) -> str | None:
        """The last ``\\boxed{}`` of the rendered trace (normally the consensus line)."""
        return final_answer(render(self))

    @property
    def labels(self) -> tuple[TurnLabel | None, ...]:
        return tuple(t.label for t in self.turns)


# --------------------------------------------------------------------------- render

def render(transcript: Transcript) -> str:
    """The trace text of `transcript`, in the paper's exact layout (no ``Problem:`` header)."""
    blocks: list[str] = []
    for round_turns in transcript.rounds:
        blocks.append(ROUND_TAGS[round_turns[0].round])
        blocks.extend(f"{t.tag}: {t.text}" for t in round_turns)
    blocks.append(f"{CONSENSUS_TAG}\n{transcript.consensus}")
    blocks.append(END_TAG)
    return "\n\n".join(blocks)


def strip_tags(text: str) -> str:
    """`text` without debate tags, whitespace collapsed: what a judge or ROUGE should read."""
    for tag in DEBATE_TAGS:
        text = text.replace(tag + ":", " ").replace(tag, " ")
    return " ".join(text.split())


def sft_prompt(question: str) -> str:
    """The SFT/GRPO prompt: ``"Problem: {question}\\n\\n"`` (no instruction, no chat template)."""
    return f"{SFT_PREFIX}{question}\n\n"


def render_sft(transcript: Transcript) -> str:
    """The SFT training text ``"Problem: {question}\\n\\n{trace}"``."""
    return sft_prompt(transcript.question) + render(transcript)


# --------------------------------------------------------------------------- parse

@dataclass(frozen=True)
class Span:
    """Half-open ``[start, end)`` range of character (or token) positions."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start

    def of(self, seq: Any) -> Any:
        """The slice of `seq` (a string or a list of ids) this span covers."""
        return seq[self.start:self.end]


@dataclass(frozen=True)
class TurnSpan:
    """Where one turn sits in the parsed text: its tag and its response text."""

    agent: int
    round: int
    tag: Span
    text: Span


@dataclass(frozen=True)
class ParsedDebate:
    """A transcript plus the character spans of every part of the text it was parsed from.

    `prompt` is the ``"Problem: ...\\n\\n"`` prefix when parsed with `parse_sft` (else empty at 0);
    all other spans index `text` directly.
    """

    transcript: Transcript
    text: str
    prompt: Span
    round_tags: tuple[Span, ...]
    turns: tuple[TurnSpan, ...]
    consensus_tag: Span
    consensus: Span
    end_tag: Span

    def turn_span(self, agent: int, round: int) -> TurnSpan:
        for s in self.turns:
            if s.agent == agent and s.round == round:
                return s
        raise KeyError(f"no turn for agent {agent} in round {round}")


class _Cursor:
    """Walks the tag matches of a trace in order, raising errors that name the position."""

    def __init__(self, text: str) -> None:
        self.text = text
        # TAG_LIKE also matches wrong tags (agent 4, round 3), so `_check_tags` can name the mistake.
        self.tags = [(m.group(0), m.start(), m.end()) for m in TAG_LIKE.finditer(text)]
        self.i = 0
        self._check_tags()

    def _check_tags(self) -> None:
        seen: dict[str, int] = {}
        for tag, start, _ in self.tags:
            agent = AGENT_TAG.fullmatch(tag)
            if agent and not 1 <= int(agent.group(1)) <= N_AGENTS:
                raise DebateFormatError(
                    f"unknown agent {agent.group(1)} in tag {tag} at char {start}; agents are 1..{N_AGENTS}"
                )
            if tag not in DEBATE_TAGS:
                raise DebateFormatError(f"unknown tag {tag} at char {start}; known tags: {', '.join(DEBATE_TAGS)}")
            if tag in seen:
                raise DebateFormatError(f"duplicated tag {tag} at char {start} (first at char {seen[tag]})")
            seen[tag] = start

    def peek(self) -> str | None:
        return self.tags[self.i][0] if self.i < len(self.tags) else None

    def take(self, expected: str, after: str) -> tuple[int, int]:
        if self.i >= len(self.tags):
            raise DebateFormatError(f"missing {expected} after {after} (trace ends at char {len(self.text)})")
        tag, start, end = self.tags[self.i]
        if tag != expected:
            later = any(t == expected for t, _, _ in self.tags[self.i + 1:])
            if not later and _TRACE_ORDER.index(tag) > _TRACE_ORDER.index(expected):
                raise DebateFormatError(f"missing {expected} after {after}: found {tag} at char {start}")
            raise DebateFormatError(f"out-of-order tag: expected {expected} after {after}, found {tag} at char {start}")
        self.i += 1
        return start, end

    def next_start(self) -> int:
        return self.tags[self.i][1] if self.i < len(self.tags) else len(self.text)

    def expect_literal(self, pos: int, literal: str, what: str) -> int:
        if not self.text.startswith(literal, pos):
            found = self.text[pos:pos + len(literal)]
            raise DebateFormatError(f"expected {literal!r} {what} at char {pos}, found {found!r}")
        return pos + len(literal)

    def body_until_next_tag(self, pos: int, what: str, expected: str = "the next tag") -> Span:
        """Text from `pos` up to the blank line that precedes the next tag."""
        stop = self.next_start()
        if stop < len(self.text) and (stop - 2 < pos or self.text[stop - 2:stop] != "\n\n"):
            raise DebateFormatError(f"{what} must be followed by a blank line before the tag at char {stop}")
        if stop == len(self.text):
            raise DebateFormatError(
                f"{what} runs to the end of the text (char {stop}): missing {expected} (truncated trace?)"
            )
        return Span(pos, stop - 2)


def parse(text: str) -> ParsedDebate:
    """Parse a trace (starting at ``<|Round 1 - Initial Solutions|>``) into a transcript with spans.

    The question is unknown from a bare trace and is set to ``""``; use `parse_sft` for
    ``"Problem: ..."`` texts.
    """
    if not isinstance(text, str):
        raise DebateFormatError(f"a trace must be a string, got {type(text).__name__}")
    return _parse_trace(text, 0, question="")


def parse_sft(text: str) -> ParsedDebate:
    """Parse ``"Problem: {question}\\n\\n{trace}"``; spans index the whole text, `prompt` the prefix."""
    if not text.startswith(SFT_PREFIX):
        raise DebateFormatError(f"SFT text must start with {SFT_PREFIX!r}, found {text[:20]!r}")
    marker = "\n\n" + ROUND_TAGS[1]
    cut = text.find(marker)
    if cut < 0:
        raise DebateFormatError(f"SFT text has no {ROUND_TAGS[1]} after the problem")
    question = text[len(SFT_PREFIX):cut]
    return _parse_trace(text, cut + 2, question=question)


def _parse_trace(text: str, offset: int, question: str) -> ParsedDebate:
    cur = _Cursor(text)
    first = cur.peek()
    if first is None or cur.tags[0][1] != offset:
        found = text[offset:offset + 40]
        raise DebateFormatError(f"trace must start with {ROUND_TAGS[1]} at char {offset}, found {found!r}")
    round_tags: list[Span] = []
    turn_spans: list[TurnSpan] = []
    turns: list[AgentTurn] = []
    after = "the start"
    for rnd in range(1, N_ROUNDS + 1):
        if rnd > 1 and cur.peek() != ROUND_TAGS[rnd]:
            break  # a debate may stop after round 1
        start, end = cur.take(ROUND_TAGS[rnd], after)
        round_tags.append(Span(start, end))
        pos = cur.expect_literal(end, "\n\n", f"after {ROUND_TAGS[rnd]}")
        after = ROUND_TAGS[rnd]
        for agent in range(1, N_AGENTS + 1):
            tag = agent_tag(agent, rnd)
            start, end = cur.take(tag, after)
            if start != pos:
                raise DebateFormatError(f"unexpected text before {tag} at char {pos}: {text[pos:start][:40]!r}")
            body_start = cur.expect_literal(end, ": ", f"after {tag}")
            body = cur.body_until_next_tag(body_start, f"the text of {tag}")
            turn_spans.append(TurnSpan(agent, rnd, Span(start, end), body))
            turns.append(AgentTurn(agent, rnd, body.of(text)))
            pos = body.end + 2
            after = tag
    c_start, c_end = cur.take(CONSENSUS_TAG, after)
    if c_start != pos:
        raise DebateFormatError(f"unexpected text before {CONSENSUS_TAG} at char {pos}: {text[pos:c_start][:40]!r}")
    body_start = cur.expect_literal(c_end, "\n", f"after {CONSENSUS_TAG}")
    consensus = cur.body_until_next_tag(body_start, "the consensus line", END_TAG)
    e_start, e_end = cur.take(END_TAG, CONSENSUS_TAG)
    if e_end != len(text):
        raise DebateFormatError(f"unexpected text after {END_TAG} at char {e_end}: {text[e_end:e_end + 40]!r}")
    transcript = Transcript(question=question, turns=tuple(turns), consensus=consensus.of(text))
    return ParsedDebate(
        transcript=transcript,
        text=text,
        prompt=Span(0, offset),
        round_tags=tuple(round_tags),
        turns=tuple(turn_spans),
        consensus_tag=Span(c_start, c_end),
        consensus=consensus,
        end_tag=Span(e_start, e_end),
    )


def parse_transcript(text: str, question: str = "", gold_answer: str | None = None,
                     metadata: Mapping[str, Any] | None = None) -> Transcript:
    """Parse a bare trace and attach the question (and gold answer) it belongs to."""
    t = parse(text).transcript
    return Transcript(question, t.turns, t.consensus, gold_answer, dict(metadata or {}))


# --------------------------------------------------------------------------- answers

def boxed_contents(text: str) -> list[str]:
    """Contents of every complete ``\\boxed{...}`` in `text`, with nested braces kept intact."""
    found: list[str] = []
    pos = text.find(_BOXED)
    while pos >= 0:
        start = pos + len(_BOXED)
        depth, i = 1, start
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found.append(text[start:i - 1])
        pos = text.find(_BOXED, start)
    return found


def final_answer(text: str) -> str | None:
    """The content of the last complete ``\\boxed{...}`` in `text` (nested braces handled), or None."""
    boxed = boxed_contents(text)
    return boxed[-1].strip() if boxed else None


def committed_answer(text: str) -> str | None:
    """The answer a completion commits to: a tagged debate's consensus answer, or an untagged answer's last box.

    A text with any debate tag is a debate; its answer is the last ``\\boxed{}`` after the consensus tag,
    and None when it has no consensus (a debate cut off mid-turn has not answered, whatever an agent
    boxed on the way). A text without tags is a direct answer, scored by its last ``\\boxed{}``. Stage 2
    rewards and the evaluation read answers the same way, so a long transcript never earns credit for
    an agent's early box.
    """
    if not any(tag in text for tag in DEBATE_TAGS):
        return final_answer(text)
    head, consensus, tail = text.partition(CONSENSUS_TAG)
    return final_answer(tail) if consensus else None


def stop_token_ids(tokenizer: Any, tags: Sequence[str] = (END_TAG,)) -> list[int]:
    """Generation stops: EOS, plus each of `tags` (default ``<|endofdebate|>``) that the tokenizer has as one
    token (Stage 1 models)."""
    ids = [tokenizer.eos_token_id]
    for tag in tags:
        tid = tokenizer.convert_tokens_to_ids(tag)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid not in ids:
            ids.append(tid)
    return ids
