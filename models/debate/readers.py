"""Read and validate the five published debate-data schemas (paper §8) into typed records.

=================  ===========================================================================
schema             file shape
=================  ===========================================================================
arithmetic         list of ``{question, debate_trace, gold_answer}``
malicious          list of ``{question, debate_trace, consensus_type, consensus_explanation}``
questions          list of strings
steering_pairs     list of ``{turn_identifier, context, positive_agent_id, positive_response,
                   negative_pairs: [{negative_agent_id, negative_response}]}``
mixture            dict task -> list of ``{task, question, trace, answer[, subtask]}``
=================  ===========================================================================

The schema is detected from the file (a file of another schema than the one asked for is named as
such). A malformed file raises one `DebateFormatError` naming the file, the entry and the field; with
``strict=False`` bad entries are skipped instead and counted (a file whose every entry is bad is still
an error). Besides types and presence, entries are checked for what a type cannot say: questions and
gold answers are not blank, not NaN/Infinity and not a number that underflows to 0 (``1e-400``), not
the text ``"None"``; a consensus line is not empty and does not contradict the agents' final answers
or the entry's ``consensus_type``; a steering context holds only real tags, in order, a steering pair
has a positive and at least one negative response, none blank, and no pair repeats an earlier one's
``turn_identifier`` or content; a mixture's task keys are not blank and hold entries. Unreadable files
(missing, a folder or FIFO, not UTF-8, bad or absurdly nested JSON) are refused before parsing,
through `models.files`; a UTF-8 byte-order mark is allowed.

Read as the published generators write them: an arithmetic or mixture answer of ``null`` (ours: a
debate run without a known answer; scorers count it as unknown, never as wrong), a malicious debate
of one round (``generate_malicious_debate.py --rounds 1``) and an empty ``consensus_explanation``
(what that script stores when the judge answers a bare ``FULL CONSENSUS:``).

Validation is written here rather than as pydantic models: most checks are across fields and turns
(a consensus line against the agents' boxed answers, tag order inside a context), which pydantic would
hold as validators anyway, and its lax mode would coerce ``"3"`` to 3 where a published file that
changed type should be named; `strict=False` skipping and counting bad entries is ours too.

Example:
    >>> data = read_debate_file("data/arithmetic_3_2.json")
    >>> data.schema, len(data.transcripts), data.n_skipped
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.debate.arithmetic import normalize_answer
from models.debate.format import (
    DEBATE_TAGS,
    N_AGENTS,
    N_ROUNDS,
    ROUND_TAGS,
    SFT_PREFIX,
    AgentTurn,
    DebateFormatError,
    Transcript,
    TurnLabel,
    final_answer,
    parse,
)
from models.debate.paper_data import resolve
from models.debate.records import CONSENSUS_PREFIXES, SCHEMAS, Schema, SteeringPair
from models.errors import FileFormatError
from models.files import parse_json, read_text
from models.vocab import TAG_LIKE, TURN_TRAITS

logger = logging.getLogger(__name__)

_JSON_TYPES = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string",
               list: "a list", dict: "an object"}
_TRAITS = TURN_TRAITS
_TAG_LIKE = TAG_LIKE  # anything shaped like a tag, also wrong ones (agent 4, round 3), so a context can be checked
_CONTEXT_ORDER = (DEBATE_TAGS[0], *DEBATE_TAGS[2:5], DEBATE_TAGS[1], *DEBATE_TAGS[5:8])
_ALL_AGREED = re.compile(r"All agents reached a consensus of ")
_MAJORITY = re.compile(r"A majority of agents converged on the solution of ")
_MISSING_WORDS = ("none", "null", "undefined")  # what str(None) or a JSON-in-JSON export writes for "unknown"
_SCHEMA_WORDS = {"arithmetic": "arithmetic debates", "malicious": "malicious debates", "questions": "questions",
                 "steering_pairs": "steering pairs (turn-level contrasts)", "mixture": "a mixture of task debates"}


@dataclass(frozen=True)
class DebateFile:
    """What one data file held: its schema, the converted records and the entries skipped."""

    path: Path
    schema: Schema
    n_entries: int
    transcripts: tuple[Transcript, ...] = ()
    questions: tuple[str, ...] = ()
    pairs: tuple[SteeringPair, ...] = ()
    skipped: tuple[DebateFormatError, ...] = ()

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _get(entry: dict[str, Any], name: str, kind: type, optional: bool = False) -> Any:
    if name not in entry:
        if optional:
            return None
        raise DebateFormatError(f"missing field; entry has {sorted(entry)}", field=name)
    value = entry[name]
    if optional and value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DebateFormatError(f"expected {_JSON_TYPES[kind]}, got {_type_name(value)}", field=name)
    return value


def _text(entry: dict[str, Any], name: str, optional: bool = False) -> Any:
    """A string field that must say something: blank questions or explanations are defects, not data."""
    value = _get(entry, name, str, optional)
    if value is not None and not value.strip():
        raise DebateFormatError("is empty" if not value else "holds only whitespace", field=name)
    return value


def _object(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise DebateFormatError(f"expected an object, got {_type_name(entry)}")
    return entry


def _agent_id(value: Any, field: str) -> int:
    """Agent ids are strings ("1") in the published files; accept ints too."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not re.fullmatch(r"[0-9]+", str(value).strip()):
        raise DebateFormatError(f"expected an agent id 1..{N_AGENTS}, got {value!r}", field=field)
    agent = int(value)
    if not 1 <= agent <= N_AGENTS:
        raise DebateFormatError(f"agent {agent} does not exist; agents are 1..{N_AGENTS}", field=field)
    return agent


def _trace(entry: dict[str, Any], name: str) -> tuple[tuple[AgentTurn, ...], str]:
    """The turns and consensus line of the trace in field `name`."""
    text = _get(entry, name, str)
    try:
        parsed = parse(text).transcript
    except DebateFormatError as e:
        raise e.located(field=name) from None
    if not parsed.consensus.strip():
        raise DebateFormatError("has an empty consensus line after <|Consensus|>; a debate states its outcome there",
                                field=name)
    return parsed.turns, parsed.consensus


def _answer(entry: dict[str, Any], name: str) -> str | None:
    """Gold answers are strings in the published files; accept plain numbers too, and null for "unknown".

    An empty string or a NaN/Infinity (a JSON overflow such as 1e999, or the text "nan") is refused:
    scoring against it would silently count every debate wrong.
    """
    if name not in entry:
        raise DebateFormatError(f"missing field; entry has {sorted(entry)}", field=name)
    value = entry[name]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DebateFormatError(f"expected a string, got {_type_name(value)}", field=name)
    text = str(value).strip()
    if not text:
        raise DebateFormatError("is empty; write null when the answer is unknown", field=name)
    if text.lower() in _MISSING_WORDS:
        raise DebateFormatError(f"is the text {value!r}, not an answer; write null when the answer is unknown",
                                field=name)
    if _non_finite(text):
        raise DebateFormatError(f"is {value!r}, not a finite answer", field=name)
    if _underflows(text):
        raise DebateFormatError(f"is {value!r}, which underflows to 0 as a number; no answer is that small",
                                field=name)
    return str(value)


def _non_finite(text: str) -> bool:
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def _underflows(text: str) -> bool:
    """``"1e-400"``: a number whose digits are not all zero but which reads as 0.0."""
    try:
        return float(text) == 0.0 and re.search(r"[1-9]", re.split(r"[eE]", text)[0]) is not None
    except ValueError:
        return False


def _same_answer(a: str, b: str) -> bool:
    """Answers equal once normalised as every scorer does (`normalize_answer`), or equal as numbers (3 vs 3.0):
    a published consensus line is only refused when it truly contradicts the agents."""
    x, y = normalize_answer(a), normalize_answer(b)
    if x == y:
        return True
    try:
        return float(x) == float(y)  # type: ignore[arg-type]  # None (an empty answer) is caught below
    except (TypeError, ValueError):
        return False


def _check_vote(turns: tuple[AgentTurn, ...], consensus: str, field: str) -> None:
    """A consensus line claiming all agents (or a majority) agreed on X must not contradict the last round.

    Only boxed answers count against a claim: an agent whose last turn has no ``\\boxed{}`` is not
    taken as disagreeing, since the published files were voted on answers in other spellings too.
    """
    claim = "all" if _ALL_AGREED.match(consensus) else "majority" if _MAJORITY.match(consensus) else None
    said = final_answer(consensus)
    if claim is None or said is None:
        return
    last = [t for t in turns if t.round == turns[-1].round]
    against = [t.agent for t in last if t.answer is not None and not _same_answer(t.answer, said)]
    allowed = 0 if claim == "all" else len(last) - (len(last) // 2 + 1)
    if len(against) > allowed:
        answers = ", ".join(f"agent {t.agent}: {t.answer!r}" for t in last)
        raise DebateFormatError(
            f"consensus line says {'all agents' if claim == 'all' else 'a majority'} agreed on {said!r} but the "
            f"last round answers {answers}", field=field)


def _check_malicious_consensus(consensus: str, ctype: str, explanation: str, field: str) -> None:
    """The consensus line of a malicious debate is ``CONSENSUS_PREFIXES[consensus_type] + explanation``."""
    prefix = CONSENSUS_PREFIXES[ctype].rstrip()  # "...agreed:" alone is the line of an empty explanation
    if not consensus.startswith(prefix):
        others = [k for k, v in CONSENSUS_PREFIXES.items() if consensus.startswith(v.rstrip())]
        found = f"the line of consensus_type {others[0]!r}" if others else repr(consensus[:40])
        raise DebateFormatError(f"consensus_type is {ctype!r} but the consensus line is {found}", field=field)
    if " ".join(consensus[len(prefix):].split()) != " ".join(explanation.split()):
        raise DebateFormatError(
            f"consensus line says {consensus[len(prefix):][:60]!r} but consensus_explanation says "
            f"{explanation[:60]!r}", field=field)


def _labelled(turns: tuple[AgentTurn, ...], entry: dict[str, Any]) -> tuple[AgentTurn, ...]:
    raw = _get(entry, "labels", list, optional=True)
    if raw is None:
        return turns
    if len(raw) != len(turns):
        raise DebateFormatError(f"has {len(raw)} labels for {len(turns)} turns", field="labels")
    out = []
    for i, (turn, lab) in enumerate(zip(turns, raw)):
        where = f"labels[{i}]"
        if not isinstance(lab, dict):
            raise DebateFormatError(f"expected an object, got {_type_name(lab)}", field=where)
        agent, rnd = lab.get("agent", turn.agent), lab.get("round", turn.round)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (agent, rnd)) \
                or (agent, rnd) != (turn.agent, turn.round):
            raise DebateFormatError(
                f"labels agent {lab.get('agent')} round {lab.get('round')} but the turn is agent "
                f"{turn.agent} round {turn.round}", field=where)
        persona, trait, error = lab.get("persona"), lab.get("trait", "neutral"), lab.get("error")
        if not isinstance(persona, str) or trait not in _TRAITS or not isinstance(error, (str, type(None))):
            raise DebateFormatError(
                f"expected persona (string), trait (one of {', '.join(_TRAITS)}) and error (string or null), "
                f"got {persona!r}, {trait!r}, {error!r}", field=where)
        out.append(AgentTurn(turn.agent, turn.round, turn.text, TurnLabel(persona, trait, error)))
    return tuple(out)


# --------------------------------------------------------------------------- one entry per schema

def arithmetic_entry(entry: Any) -> Transcript:
    entry = _object(entry)
    question = _text(entry, "question")
    turns, consensus = _trace(entry, "debate_trace")
    _check_vote(turns, consensus, "debate_trace")
    gold = _answer(entry, "gold_answer")
    return Transcript(question, _labelled(turns, entry), consensus, gold)


def malicious_entry(entry: Any) -> Transcript:
    entry = _object(entry)
    question = _text(entry, "question")
    turns, consensus = _trace(entry, "debate_trace")
    ctype = _get(entry, "consensus_type", str)
    if ctype not in CONSENSUS_PREFIXES:
        raise DebateFormatError(f"expected one of {', '.join(CONSENSUS_PREFIXES)}, got {ctype!r}",
                                field="consensus_type")
    explanation = _get(entry, "consensus_explanation", str)  # may be empty: the published generator writes ""
    _check_malicious_consensus(consensus, ctype, explanation, "debate_trace")
    meta = {"consensus_type": ctype, "consensus_explanation": explanation}
    return Transcript(question, _labelled(turns, entry), consensus, None, meta)


def question_entry(entry: Any) -> str:
    if not isinstance(entry, str):
        raise DebateFormatError(f"expected a string, got {_type_name(entry)}")
    if not entry.strip():
        raise DebateFormatError("is an empty question")
    return entry


def mixture_entry(entry: Any, task: str) -> Transcript:
    entry = _object(entry)
    entry_task = _get(entry, "task", str)
    if entry_task != task:
        raise DebateFormatError(f"entry says task {entry_task!r} but sits under key {task!r}", field="task")
    question = _text(entry, "question")
    turns, consensus = _trace(entry, "trace")
    _check_vote(turns, consensus, "trace")
    answer = _answer(entry, "answer")
    subtask = _get(entry, "subtask", str, optional=True)
    meta = {"task": task} | ({"subtask": subtask} if subtask is not None else {})
    return Transcript(question, _labelled(turns, entry), consensus, answer, meta)


def steering_pair_entry(entry: Any) -> SteeringPair:
    entry = _object(entry)
    ident = _get(entry, "turn_identifier", str)
    context = _get(entry, "context", str)
    if not context.startswith(SFT_PREFIX):
        raise DebateFormatError(f"must start with {SFT_PREFIX!r}, found {context[:20]!r}", field="context")
    cut = context.find("\n\n" + ROUND_TAGS[1])
    if cut < 0:
        raise DebateFormatError(f"has no {ROUND_TAGS[1]} after the problem", field="context")
    if not context[len(SFT_PREFIX):cut].strip():
        raise DebateFormatError("has an empty problem after 'Problem: '", field="context")
    if "positive_agent_id" not in entry:
        raise DebateFormatError(f"missing field; entry has {sorted(entry)}", field="positive_agent_id")
    positive = _agent_id(entry["positive_agent_id"], "positive_agent_id")
    agent, rnd = _context_end(context, cut + 2)
    if agent != positive:
        raise DebateFormatError(f"context ends with agent {agent}'s tag but positive_agent_id is {positive}",
                                field="positive_agent_id")
    response = _said(entry, "positive_response")
    negatives = []
    raw = _get(entry, "negative_pairs", list)
    if not raw:
        raise DebateFormatError("is empty; a contrast needs at least one other agent's response",
                                field="negative_pairs")
    for i, neg in enumerate(raw):
        where = f"negative_pairs[{i}]"
        if not isinstance(neg, dict):
            raise DebateFormatError(f"expected an object, got {_type_name(neg)}", field=where)
        try:
            if "negative_agent_id" not in neg:
                raise DebateFormatError(f"missing field; entry has {sorted(neg)}", field="negative_agent_id")
            neg_agent = _agent_id(neg["negative_agent_id"], "negative_agent_id")
            neg_text = _said(neg, "negative_response")
        except DebateFormatError as e:
            raise e.located(field=f"{where}.{e.field}") from None
        if neg_agent == positive or neg_agent in (a for a, _ in negatives):
            raise DebateFormatError(f"agent {neg_agent} repeats the positive or another negative",
                                    field=f"{where}.negative_agent_id")
        negatives.append((neg_agent, neg_text))
    return SteeringPair(ident, context, positive, response, tuple(negatives), context[len(SFT_PREFIX):cut], rnd)


def _said(entry: dict[str, Any], name: str) -> str:
    """A response text of a steering pair: a blank one has no activations to contrast."""
    value = _get(entry, name, str)
    if not value.strip():
        raise DebateFormatError("is empty" if not value else "holds only whitespace", field=name)
    return value


class _UniquePairs:
    """Refuses a steering pair that repeats an earlier pair's ``turn_identifier`` or its whole content: a copy
    would count one turn twice in every contrast mean."""

    def __init__(self) -> None:
        self.ids: dict[str, int | str] = {}
        self.contents: dict[tuple[Any, ...], int | str] = {}

    def __call__(self, where: int | str, pair: SteeringPair) -> None:
        content = (pair.context, pair.positive_agent_id, pair.positive_response, pair.negatives)
        if pair.turn_identifier in self.ids:
            raise DebateFormatError(f"repeats entry {self.ids[pair.turn_identifier]}'s turn_identifier "
                                    f"{pair.turn_identifier!r}", field="turn_identifier")
        if content in self.contents:
            raise DebateFormatError(f"is a copy of entry {self.contents[content]} (same context, agent and "
                                    "responses) under another turn_identifier", field="turn_identifier")
        self.ids[pair.turn_identifier] = where
        self.contents[content] = where


def _context_end(context: str, start: int) -> tuple[int, int]:
    """The (agent, round) whose tag ends a steering context, after checking every tag in it.

    The context is a debate cut at an agent's tag, so its tags must be real ones (no agent 4, no
    round 3) in trace order from ``<|Round 1 ...|>``, with the last one an agent tag at the very end.
    """
    tags = [(m.group(0), m.start()) for m in _TAG_LIKE.finditer(context, start)]
    for i, (tag, at) in enumerate(tags):
        if tag not in DEBATE_TAGS:
            raise DebateFormatError(f"unknown tag {tag} at char {at}; agents are 1..{N_AGENTS}, rounds "
                                    f"1..{N_ROUNDS}", field="context")
        if i >= len(_CONTEXT_ORDER) or tag != _CONTEXT_ORDER[i]:
            want = _CONTEXT_ORDER[i] if i < len(_CONTEXT_ORDER) else "the end of the context"
            raise DebateFormatError(f"tag {tag} at char {at} is out of order; expected {want}", field="context")
    if not tags or not context.endswith(tags[-1][0]) or tags[-1][0] in ROUND_TAGS.values():
        raise DebateFormatError("must end with the positive agent's tag, e.g. <|Agent 1 Solution|>",
                                field="context")
    k = len(tags) - 1
    rnd = 1 if k < 1 + N_AGENTS else 2
    agent = k if rnd == 1 else k - 1 - N_AGENTS
    return agent, rnd


# --------------------------------------------------------------------------- files

def detect_schema(data: Any) -> Schema:
    """Which published schema `data` (parsed JSON) follows, by majority over its entries' keys."""
    if isinstance(data, dict):
        return "mixture"
    if not isinstance(data, list):
        raise DebateFormatError(f"top level must be a list or an object, got {_type_name(data)}")
    votes: Counter[str] = Counter()
    for entry in data:
        if isinstance(entry, str):
            votes["questions"] += 1
        elif isinstance(entry, dict):
            keys = set(entry)
            if keys & {"turn_identifier", "negative_pairs", "positive_response"}:
                votes["steering_pairs"] += 1
            elif keys & {"consensus_type", "consensus_explanation"}:
                votes["malicious"] += 1
            elif keys & {"debate_trace", "gold_answer"}:
                votes["arithmetic"] += 1
    if not votes:
        raise DebateFormatError("cannot tell the schema of an empty or unrecognised list; pass schema=")
    return votes.most_common(1)[0][0]  # type: ignore[return-value]


def _load_json(path: Path) -> Any:
    """The parsed file, or one `DebateFormatError` naming it (missing, FIFO, not UTF-8, bad or deep JSON)."""
    try:
        return parse_json(read_text(path, "debate file"), path)
    except FileFormatError as e:
        message = str(e).removeprefix(f"{path}: ")
        raise DebateFormatError(message, source=str(path)) from None
    except ValueError as e:  # json's own limits, e.g. an integer of more than 4300 digits
        raise DebateFormatError(f"not valid JSON ({e})", source=str(path)) from None


def _require_entries(items: list[Any], source: str) -> None:
    """An empty data file is a mistake (a failed export, a wrong path), never an empty data set."""
    if not items:
        raise DebateFormatError("holds no entries", source=source)


def _convert(items: list[tuple[int | str, Any]], fn: Callable[[Any], Any], source: str, strict: bool,
             check: Callable[[int | str, Any], None] | None = None) -> tuple[list[Any], list[DebateFormatError]]:
    out, skipped = [], []
    for where, entry in items:
        try:
            record = fn(entry)
            if check is not None:
                check(where, record)
            out.append(record)
        except DebateFormatError as e:
            err = e.located(source=source, entry=where)
            if strict:
                raise err from None
            skipped.append(err)
    if items and not out:  # strict=False must not turn a file of the wrong kind into an empty data set
        raise DebateFormatError(f"none of its {len(items)} entries could be read (first: {skipped[0].message})",
                                source=source, entry=skipped[0].entry, field=skipped[0].field)
    return out, skipped


def read_debate_file(path: str | Path, schema: Schema | None = None, strict: bool = True) -> DebateFile:
    """Read, validate and convert one data file of any published schema.

    Args:
        path: the JSON file, or the name of a fetched published file (``paper:evil-debates``, see
            `models.debate.paper_data`).
        schema: skip detection and insist on this schema.
        strict: raise on the first bad entry (default); if False, skip bad entries, log how many,
            and keep their errors in `DebateFile.skipped`.
    """
    path = resolve(path)
    source = str(path)
    data = _load_json(path)
    if schema is not None and schema not in SCHEMAS:
        raise ValueError(f"schema must be one of {', '.join(SCHEMAS)}, got {schema!r}")
    try:
        detected = detect_schema(data)
    except DebateFormatError as e:
        if schema is None:
            raise e.located(source=source) from None
        detected = schema
    found = detected if schema is None else schema
    if detected != found:
        raise DebateFormatError(f"holds {_SCHEMA_WORDS[detected]}, not {_SCHEMA_WORDS[found]} (schema {found!r} "
                                f"was asked for; its entries look like schema {detected!r})", source=source)
    if (found == "mixture") != isinstance(data, dict) or not isinstance(data, (list, dict)):
        shape = "an object of task -> list" if found == "mixture" else "a list"
        raise DebateFormatError(f"schema {found} needs {shape} at the top level, got {_type_name(data)}",
                                source=source)
    if found == "mixture":
        items: list[tuple[int | str, Any]] = []
        for task, entries in data.items():
            if not task.strip():
                raise DebateFormatError(f"top-level key {task!r} is not a task name; keys name the task of the "
                                        "entries under them (arithmetic, gsm8k, bbh, cnndm)", source=source)
            if not isinstance(entries, list):
                raise DebateFormatError(f"expected a list of entries, got {_type_name(entries)}",
                                        source=source, field=task)
            if not entries:
                raise DebateFormatError("holds no entries; drop the key or fill it", source=source, field=task)
            items.extend((f"{task}[{i}]", (task, e)) for i, e in enumerate(entries))
        _require_entries(items, source)
        records, skipped = _convert(items, lambda te: mixture_entry(te[1], te[0]), source, strict)
    else:
        fn = {"arithmetic": arithmetic_entry, "malicious": malicious_entry, "questions": question_entry,
              "steering_pairs": steering_pair_entry}[found]
        items = list(enumerate(data))
        _require_entries(items, source)
        records, skipped = _convert(items, fn, source, strict, _UniquePairs() if found == "steering_pairs" else None)
    if skipped:
        logger.warning("%s: skipped %d of %d entries (first: %s)", source, len(skipped), len(items), skipped[0])
    kind = {"questions": "questions", "steering_pairs": "pairs"}.get(found, "transcripts")
    return DebateFile(path, found, len(items), skipped=tuple(skipped), **{kind: tuple(records)})


def read_transcripts(path: str | Path, strict: bool = True) -> list[Transcript]:
    """The debates of an arithmetic, malicious or mixture file."""
    data = read_debate_file(path, strict=strict)
    if data.schema in ("questions", "steering_pairs"):
        hint = "; read it with read_steering_pairs" if data.schema == "steering_pairs" else ""
        raise DebateFormatError(f"holds {_SCHEMA_WORDS[data.schema]}, not debates{hint}", source=str(data.path))
    return list(data.transcripts)


def read_questions(path: str | Path, strict: bool = True) -> list[str]:
    """A question list, or the questions of a debate file (in file order)."""
    data = read_debate_file(path, strict=strict)
    if data.schema == "questions":
        return list(data.questions)
    if data.schema == "steering_pairs":
        return list(dict.fromkeys(p.question for p in data.pairs))
    return [t.question for t in data.transcripts]


def read_steering_pairs(path: str | Path, strict: bool = True) -> list[SteeringPair]:
    """The turn-level contrast pairs of a steering-pairs file."""
    data = read_debate_file(path, schema="steering_pairs", strict=strict)
    return list(data.pairs)
