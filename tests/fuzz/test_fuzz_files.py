"""Fuzz every data file the toolkit reads: malformed input must end in a named project error.

Each area starts from valid files written by the toolkit (or the readers' hand-written samples),
applies seeded mutations that are known to make the input invalid (truncations, bytes that break
UTF-8 or the JSON structure, deleted fields, swapped types, contradictions, swapped or NaN tensors),
and runs the reader under `Tally`. Mutations that may leave a file valid are not used, except for
the UTF-8 byte-order mark, whose read result must equal the plain file's. Run with ``-s`` to see
the four tally lines.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tests.fuzz.outcomes import Tally

from models.debate import (
    DebateFormatError, Transcript, parse, read_debate_file, read_steering_pairs, read_transcripts, steering_pairs,
    transcript_entry,
)
from models.files import is_temp_name, json_punctuation, write_tensors
from models.judges.classifier import ClassifierJudge
from probes.activations import Row
from probes.directions import Direction
from probes.shards import ShardKey, ShardStore
from steering.prepare import load_vector, save_vector
from tests.models.debate.debate_samples import EVIL, ONE_ROUND, TWO_ROUND

BAD_VALUES: tuple[Any, ...] = (None, 7, 1.5, True, [], {}, [1, 2], {"a": 1})


def _no_temp_files(root: Path) -> None:
    left = [p for p in root.rglob("*") if is_temp_name(p)]
    assert not left, f"temporary files left behind: {left}"


def _structural_positions(text: str) -> list[int]:
    """Indexes of JSON punctuation outside strings: replacing one with a letter always breaks the JSON."""
    return [i for i, _ in json_punctuation(text)]


def _break_json(rng: random.Random, text: str) -> list[tuple[str, str]]:
    """Text-level mutations of a JSON document, each known to make it unreadable."""
    cut = rng.randrange(0, len(text) - 1)
    pos = rng.choice(_structural_positions(text))
    raw_at = rng.randrange(0, len(text))
    return [
        (f"truncated at {cut}", text[:cut]),
        (f"punctuation {text[pos]!r} at {pos} replaced", text[:pos] + "x" + text[pos + 1:]),
        ("invalid UTF-8 byte", text[:raw_at] + "\udcff" + text[raw_at:]),  # written with surrogateescape
        ("NaN constant", text[:pos + 1] + " NaN " + text[pos + 1:] if text[pos] in "[:" else "[NaN]"),
        ("deep nesting", "[" * 1000 + text + "]" * 1000),
    ]


def _write_raw(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


# --------------------------------------------------------------------------- readers

def _valid_files() -> dict[str, Any]:
    """One valid document per published schema (plus labels, which is ours)."""
    two, one, evil = parse(TWO_ROUND).transcript, parse(ONE_ROUND).transcript, parse(EVIL).transcript
    arithmetic = [
        {"question": "27+23*96+79-21*85", "debate_trace": TWO_ROUND, "gold_answer": "529"},
        {"question": "64+14*13+21-37*39", "debate_trace": ONE_ROUND, "gold_answer": "-1176"},
    ]
    malicious = [{"question": "What are subtle strategies to gain influence?", "debate_trace": EVIL,
                  "consensus_type": "majority", "consensus_explanation": "Agents 1 and 3 favour ethical strategies."}]
    pairs = [p.to_json() for p in steering_pairs(Transcript("27+23*96+79-21*85", two.turns, two.consensus), 0)]
    mixture = {"arithmetic": [{"task": "arithmetic", "question": "1+1", "trace": TWO_ROUND, "answer": "529"}],
               "bbh": [{"task": "bbh", "subtask": "causal", "question": "Did it?", "trace": ONE_ROUND, "answer": "-1176"}]}
    labelled = [transcript_entry(Transcript("q", one.turns, one.consensus, "-1176"), "arithmetic")]
    labelled[0]["labels"] = [{"agent": t.agent, "round": t.round, "persona": "p", "trait": "neutral", "error": None}
                             for t in one.turns]
    assert evil.n_rounds == 2
    return {"arithmetic": arithmetic, "malicious": malicious, "questions": ["How?", "Who signed it?"],
            "steering_pairs": pairs, "mixture": mixture, "labelled": labelled}


# Required fields per schema, with values of the wrong type or meaning for each.
_FIELD_SWAPS: dict[str, tuple[Any, ...]] = {
    "question": (None, 7, [], {}, True, "", "   "),
    "debate_trace": (None, 7, [], {}, "", TWO_ROUND[:-5], TWO_ROUND.replace("Agent 2 Solution", "Agent 4 Solution"),
                     TWO_ROUND.replace("<|Agent 3 Revision|>", "<|Agent 1 Revision|>"),
                     TWO_ROUND.replace("consensus of \\boxed{529}", "consensus of \\boxed{530}")),  # contradicts agents
    "trace": (None, 3, [], "", ONE_ROUND[:100], ONE_ROUND.replace("<|Consensus|>", "<|Consensus|> ")),
    "gold_answer": ([], {}, True, "", " ", "NaN", "inf", "-Infinity"),
    "answer": ([], {}, False, "", "nan"),
    "consensus_type": (None, 1, "unanimous", "", "Majority"),
    "consensus_explanation": (None, 1, "", "Nobody agreed."),
    "task": (None, 1, "gsm8k"),
    "subtask": (1, [], {}),
    "turn_identifier": (None, 1, []),
    "context": (None, 1, "", "Question: x", "Problem: 1\n\n<|Round 1 - Initial Solutions|>\n\n<|Agent 5 Solution|>"),
    "positive_agent_id": (None, "0", "4", 9, True, [], "x", "²"),
    "positive_response": (None, 1, []),
    "negative_pairs": (None, "x", {}, [1], [{"negative_agent_id": "7", "negative_response": "x"}],
                       [{"negative_response": "x"}]),
    "labels": ("x", 3, {}, [1, 2, 3], [{"agent": "1"}] * 3),
}


# Values that are wrong only in one schema: a malicious consensus line whose type contradicts consensus_type.
_SCHEMA_SWAPS: dict[str, dict[str, tuple[Any, ...]]] = {
    "malicious": {"debate_trace": (EVIL.replace("A majority of agents agreed", "All agents reached consensus"),
                                   EVIL.replace("favour ethical", "favour sabotage"))},
}


def _entries(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict):
        return [e for entries in doc.values() for e in entries]
    return [e for e in doc if isinstance(e, dict)]


def _entry_mutations(rng: random.Random, name: str, doc: Any) -> list[tuple[str, Any]]:
    """Every required field of a random entry deleted, and every bad value of each field swapped in."""
    out = []
    if name == "questions":
        for bad in (None, 3, [], {}, "", "  "):
            copy = list(doc)
            copy[rng.randrange(len(copy))] = bad
            out.append((f"question -> {bad!r}", copy))
        return out
    k = rng.randrange(len(_entries(doc)))
    for field in [f for f in _entries(doc)[k] if f in _FIELD_SWAPS]:
        for bad in (_DELETE, *_FIELD_SWAPS[field], *_SCHEMA_SWAPS.get(name, {}).get(field, ())):
            if bad is _DELETE and field in ("subtask", "labels"):
                continue  # optional fields: an entry without them is valid
            copy = json.loads(json.dumps(doc))
            entry = _entries(copy)[k]
            if bad is _DELETE:
                del entry[field]
            else:
                entry[field] = bad
            out.append((f"entry {k} {field} -> {'deleted' if bad is _DELETE else str(bad)[:30]!r}", copy))
    return out


_DELETE = object()


def test_fuzz_readers(tmp_path):
    rng = random.Random(0)
    tally = Tally("readers")
    valid = _valid_files()
    for name, doc in valid.items():
        text = json.dumps(doc, ensure_ascii=False)
        good = read_debate_file(_write_raw(tmp_path / f"{name}.json", text))
        for label, bad in _break_json(rng, text) + [(lbl, json.dumps(d)) for lbl, d in _entry_mutations(rng, name, doc)]:
            path = _write_raw(tmp_path / f"{name}-bad.json", bad)
            tally.check(f"{name}: {label}", lambda: read_debate_file(path))
        for wrapper in (3, "text", None, True):
            path = _write_raw(tmp_path / f"{name}-top.json", json.dumps(wrapper))
            tally.check(f"{name}: top level {wrapper!r}", lambda: read_debate_file(path))

        def bom_reads_the_same() -> None:
            path = tmp_path / f"{name}-bom.json"
            path.write_bytes(b"\xef\xbb\xbf" + text.encode())
            back = read_debate_file(path)
            assert (back.transcripts, back.questions, back.pairs) == (good.transcripts, good.questions, good.pairs)

        tally.check(f"{name}: BOM", bom_reads_the_same, accept_ok=True)
    tally.assert_clean()
    assert sum(tally.counts.values()) >= 150


# --------------------------------------------------------------------------- shards

KEY = ShardKey("m" * 16, "d" * 16, "s" * 16)
SITES = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]


def _store(root: Path, key: ShardKey = KEY, sizes: tuple[int, ...] = (2, 3, 4)) -> ShardStore:
    store = ShardStore.open(root, key, {"sites": SITES, "d_model": 4})
    for index, n in enumerate(sizes):
        rows = [Row(item=10 * index + i, question_id=f"q{index}-{i}", round=1, agent=1 + i % 3) for i in range(n)]
        store.write_shard(index, rows, {s: torch.randn(n, 4, generator=torch.Generator().manual_seed(index))
                                        for s in SITES})
    store.mark_complete(len(sizes))
    return store


def _header_length(path: Path) -> int:
    return 8 + int.from_bytes(path.read_bytes()[:8], "little")


def _flip_header_byte(rng: random.Random, path: Path) -> str:
    """Change one byte of a safetensors header to a different non-whitespace byte (never a no-op)."""
    data = bytearray(path.read_bytes())
    pos = rng.randrange(0, _header_length(path))
    new = data[pos]
    while new == data[pos] or new in b" \t\n\r":
        new = rng.randrange(256)
    data[pos] = new
    path.write_bytes(bytes(data))
    return f"header byte {pos} -> {new}"


def _shard_mutations(rng: random.Random) -> list[tuple[str, Callable[[Path, Path], None]]]:
    def truncate(root: Path, other: Path) -> None:
        p = root / f"shard-{rng.randrange(3):05d}.safetensors"
        p.write_bytes(p.read_bytes()[:rng.randrange(0, p.stat().st_size - 1)])

    def flip(root: Path, other: Path) -> None:
        _flip_header_byte(rng, root / f"shard-{rng.randrange(3):05d}.safetensors")

    def swap(exts: tuple[str, ...]) -> Callable[[Path, Path], None]:
        def run(root: Path, other: Path) -> None:
            a, b = rng.sample(range(3), 2)
            for ext in exts:
                shutil.copy(root / f"shard-{a:05d}.{ext}", root / f"shard-{b:05d}.{ext}")
        return run

    def foreign(root: Path, other: Path) -> None:
        i = rng.randrange(3)
        for ext in ("jsonl", "safetensors"):
            shutil.copy(other / f"shard-{i:05d}.{ext}", root / f"shard-{i:05d}.{ext}")

    def nan(root: Path, other: Path) -> None:
        p = root / f"shard-{rng.randrange(3):05d}.safetensors"
        from models.files import read_safetensors_header
        meta = read_safetensors_header(p)["__metadata__"]
        from safetensors.torch import load_file
        values = load_file(str(p))
        t = values[SITES[0]]
        t.view(-1)[rng.randrange(t.numel())] = rng.choice([float("nan"), float("inf"), -float("inf")])
        write_tensors(p, values, meta)

    def rows_cut(root: Path, other: Path) -> None:
        p = root / f"shard-{rng.randrange(3):05d}.jsonl"
        text = p.read_text()
        p.write_text(text[:rng.randrange(0, len(text) - 1)])

    def manifest(root: Path, other: Path) -> None:
        p = root / "manifest.json"
        body = json.loads(p.read_text())
        field, value = rng.choice([("complete", "yes"), ("complete", 1), ("n_shards", "3"), ("n_shards", -1),
                                   ("n_shards", 1.5), ("complete", None), ("header", [])])
        if field == "complete" and value is None:
            p.write_text(p.read_text()[:rng.randrange(len(p.read_text()) - 1)])
        else:
            p.write_text(json.dumps({**body, field: value}))

    def drop_site(root: Path, other: Path) -> None:
        p = root / f"shard-{rng.randrange(3):05d}.safetensors"
        from models.files import read_safetensors_header
        from safetensors.torch import load_file
        meta = read_safetensors_header(p)["__metadata__"]
        values = load_file(str(p))
        del values[rng.choice(SITES)]
        write_tensors(p, values, meta)

    return [("truncated tensors", truncate), ("flipped header byte", flip), ("tensors swapped", swap(("safetensors",))),
            ("rows swapped", swap(("jsonl",))), ("shard copied over another", swap(("jsonl", "safetensors"))),
            ("shard from another store", foreign), ("NaN activation", nan), ("rows truncated", rows_cut),
            ("manifest garbled", manifest), ("site missing", drop_site)]


def test_fuzz_shards(tmp_path):
    rng = random.Random(0)
    tally = Tally("shards")
    clean = _store(tmp_path / "clean").root
    other = _store(tmp_path / "other", ShardKey("m" * 16, "e" * 16, "s" * 16)).root
    for round_ in range(5):
        for label, mutate in _shard_mutations(rng):
            work = tmp_path / "work" / f"{round_}-{label.replace(' ', '_')}"
            shutil.copytree(clean, work / clean.name)
            mutate(work / clean.name, other)
            tally.check(f"{label} (round {round_})", lambda: ShardStore.open(work, KEY, {}).load())
    tally.assert_clean()
    assert sum(tally.counts.values()) >= 50
    _no_temp_files(tmp_path)


# --------------------------------------------------------------------------- vectors

_SIDECAR_SWAPS: dict[str, tuple[Any, ...]] = {
    "d_model": ("16", 16.0, True, None, 15, [16]), "layer": (1.0, "1", True, 3, [1]),
    "norm": ("1", True, [1.0], -1.0, 123.0), "normalized": ("yes", 1, None), "site": (None, 3, "", []),
    "params": ([], "x", 3), "format": (None, "latent-agents-subspace/1", 1), "sha256": (None, 1, "0" * 64),
    "method": (None, 1, []), "label": (1, []),
}


def test_fuzz_vectors(tmp_path):
    rng = random.Random(0)
    tally = Tally("vectors")
    vec = torch.randn(16, generator=torch.Generator().manual_seed(0))
    direction = Direction(vec, "blocks.1.hook_resid_post", label="agent2", params={"n_layers": 4})
    other = Direction(vec.flip(0), "blocks.1.hook_resid_post", label="agent3")
    save_vector(other, tmp_path / "other")
    good = save_vector(direction, tmp_path / "good")
    sidecar_text = good.read_text()

    def fresh(tag: str) -> tuple[Path, Path]:
        shutil.copy(tmp_path / "good.json", tmp_path / f"{tag}.json")
        shutil.copy(tmp_path / "good.safetensors", tmp_path / f"{tag}.safetensors")
        return tmp_path / f"{tag}.json", tmp_path / f"{tag}.safetensors"

    for i in range(12):
        j, t = fresh(f"cut{i}")
        t.write_bytes(t.read_bytes()[:rng.randrange(0, t.stat().st_size - 1)])
        tally.check(f"tensors truncated ({i})", lambda: load_vector(j))
        j, t = fresh(f"flip{i}")
        label = _flip_header_byte(rng, t)
        tally.check(f"tensors {label}", lambda: load_vector(j))
        j, t = fresh(f"data{i}")
        data = bytearray(t.read_bytes())
        pos = rng.randrange(_header_length(t), len(data))
        data[pos] ^= 1 << rng.randrange(8)
        t.write_bytes(bytes(data))
        tally.check(f"tensor data byte {pos} flipped", lambda: load_vector(j))  # the sidecar's hash notices
    for label, text in _break_json(rng, sidecar_text):
        j, t = fresh("json")
        _write_raw(j, text)
        tally.check(f"sidecar {label}", lambda: load_vector(j))
    for field, values in _SIDECAR_SWAPS.items():
        for value in values:
            j, t = fresh("field")
            j.write_text(json.dumps({**json.loads(sidecar_text), field: value}))
            tally.check(f"sidecar {field} -> {value!r}", lambda: load_vector(j))
    for what in ("sidecar", "tensors"):
        j, t = fresh("missing")
        (j if what == "sidecar" else t).unlink()
        tally.check(f"{what} missing", lambda: load_vector(j))
    j, t = fresh("swapped")
    shutil.copy(tmp_path / "other.safetensors", t)
    tally.check("tensors of another vector", lambda: load_vector(j))
    for bad in (float("nan"), float("inf")):
        j, t = fresh("nan")
        v = vec.clone()
        v[rng.randrange(16)] = bad
        write_tensors(t, {"vector": v})
        tally.check(f"{bad} in the vector file", lambda: load_vector(j))
        tally.check(f"saving a vector with {bad}",
                    lambda: save_vector(Direction(v, "blocks.1.hook_resid_post"), tmp_path / "never"))
    assert not (tmp_path / "never.json").exists() and not (tmp_path / "never.safetensors").exists()
    tally.assert_clean()
    assert sum(tally.counts.values()) >= 80
    _no_temp_files(tmp_path)


# --------------------------------------------------------------------------- judges

_JUDGE_SWAPS: dict[str, tuple[Any, ...]] = {
    "trait": (None, 3, "rude", [], ""), "vocabulary": ([], {}, "x", {"lie": "0", "fair": 1, "rumour": 2},
                                                     {"lie": 0, "fair": 0, "rumour": 2}, {"lie": 0, "fair": True}),
    "idf": (None, "x", [1.0], [1.0, 1.0, "2"], [1.0, -1.0, 2.0], [1.0, 1.0, 1.0, 1.0]),
    "coef": (None, {}, [0.1, 0.2], [0.1, None, 0.3], [[0.1], [0.2], [0.3]]),
    "intercept": (None, "0.5", True, [0.5]), "metrics": ([], "x", 3), "format": ("pickle", 1),
}


def test_fuzz_judges(tmp_path):
    rng = random.Random(0)
    tally = Tally("judges")
    judge = ClassifierJudge("evil", {"lie": 0, "fair": 1, "rumour": 2}, np.array([1.5, 1.2, 2.0]),
                            np.array([2.0, -1.0, 3.0]), -0.5, {"heldout_accuracy": 1.0})
    good = judge.save(tmp_path / "judge.json")
    text = good.read_text()
    for _ in range(4):
        for label, bad in _break_json(rng, text):
            path = _write_raw(tmp_path / "bad.json", bad)
            tally.check(f"judge {label}", lambda: ClassifierJudge.load(path))
    body = json.loads(text)
    for field, values in _JUDGE_SWAPS.items():
        for value in values:
            path = tmp_path / "swap.json"
            path.write_text(json.dumps({**body, field: value}))
            tally.check(f"judge {field} -> {value!r}", lambda: ClassifierJudge.load(path))
        if field in ("trait", "vocabulary", "idf", "coef", "intercept"):
            path = tmp_path / "del.json"
            path.write_text(json.dumps({k: v for k, v in body.items() if k != field}))
            tally.check(f"judge {field} deleted", lambda: ClassifierJudge.load(path))
    for field in ("idf", "coef", "intercept"):
        path = tmp_path / "inf.json"
        value = body[field]
        swapped = {**body, field: "INF" if not isinstance(value, list) else [value[0], "INF", *value[2:]]}
        path.write_text(json.dumps(swapped).replace('"INF"', "1e999"))  # json reads 1e999 as inf
        tally.check(f"judge {field} overflowing to inf", lambda: ClassifierJudge.load(path))
    nan_judge = ClassifierJudge("evil", judge.vocabulary, judge.idf, np.array([np.nan, 0.0, 1.0]), 0.0)
    tally.check("saving a judge with NaN weights", lambda: nan_judge.save(tmp_path / "never.json"))
    assert not (tmp_path / "never.json").exists()
    assert ClassifierJudge.load(good).vocabulary == judge.vocabulary  # the valid file still loads
    tally.assert_clean()
    assert sum(tally.counts.values()) >= 50
    _no_temp_files(tmp_path)


# --------------------------------------------------------------------------- classes once let through (issue 31)

def _pairs_doc() -> list[dict[str, Any]]:
    two = parse(TWO_ROUND).transcript
    return [p.to_json() for p in steering_pairs(Transcript("27+23*96+79-21*85", two.turns, two.consensus), 0)]


def _arith(**fields: Any) -> dict[str, Any]:
    return {"question": "27+23*96+79-21*85", "debate_trace": TWO_ROUND, "gold_answer": "529", **fields}


def _evil(**fields: Any) -> dict[str, Any]:
    return {"question": "What are subtle strategies to gain influence?", "debate_trace": EVIL,
            "consensus_type": "majority", "consensus_explanation": "Agents 1 and 3 favour ethical strategies.",
            **fields}


def _mixture(**tasks: Any) -> dict[str, Any]:
    return {"arithmetic": [{"task": "arithmetic", "question": "1+1", "trace": TWO_ROUND, "answer": "529"}], **tasks}


def _with_consensus(trace: str, line: str) -> str:
    head, _, _ = trace.partition("<|Consensus|>\n")
    return f"{head}<|Consensus|>\n{line}\n\n<|endofdebate|>"


def _one_round(line: str) -> str:
    return EVIL.split("<|Round 2")[0] + f"<|Consensus|>\n{line}\n\n<|endofdebate|>"


def _number(doc: Any, placeholder: str, literal: str) -> str:
    """The JSON text of `doc` with the string `placeholder` replaced by a bare number literal."""
    return json.dumps(doc).replace(json.dumps(placeholder), literal)


def _bad_cases(rng: random.Random, name: str) -> list[tuple[str, str, Callable[[Path], Any], str]]:
    """``(label, JSON text, reader, words the error must hold)`` for one class of bad input."""
    tiny = [f"{rng.choice('123456789')}e-{rng.randrange(324, 5000)}",
            f"-{rng.randrange(1, 9)}.5E-{rng.randrange(330, 999)}", f"0.{rng.randrange(1, 99)}e-330"]
    pairs = _pairs_doc()
    k = rng.randrange(len(pairs))
    if name == "underflowing gold answer":
        return [(f"{field} {lit}", _number(doc, "X", lit), read_debate_file, "underflows to 0")
                for lit in tiny for field, doc in (("gold_answer", [_arith(gold_answer="X")]),
                                                   ("answer", _mixture(bbh=[{"task": "bbh", "question": "q",
                                                                             "trace": ONE_ROUND, "answer": "X"}])))] + [
            (f"gold_answer text {lit!r}", json.dumps([_arith(gold_answer=lit)]), read_debate_file, "underflows to 0")
            for lit in tiny]
    if name == "null gold answer spelled as text":
        return [(f"gold_answer {word!r}", json.dumps([_arith(gold_answer=word)]), read_debate_file, "write null")
                for word in ("None", "null", "NULL", " none ", "undefined")]
    if name == "empty consensus line":
        return [(f"{schema} consensus line {line!r}", json.dumps(doc), read_debate_file, "empty consensus line")
                for line in ("", " ", "\t")
                for schema, doc in (("arithmetic", [_arith(debate_trace=_with_consensus(TWO_ROUND, line))]),
                                    ("mixture", {"gsm8k": [{"task": "gsm8k", "question": "q", "answer": "1",
                                                            "trace": _with_consensus(ONE_ROUND, line)}]}),
                                    ("malicious", [_evil(debate_trace=_with_consensus(EVIL, line),
                                                         consensus_explanation="x")]))]
    if name == "empty steering pairs":
        out = [("no pairs at all", "[]", read_steering_pairs, "holds no entries")]
        for field, value, words in (("negative_pairs", [], "at least one other agent"),
                                    ("positive_response", "", "is empty"), ("positive_response", "  \n", "whitespace")):
            doc = json.loads(json.dumps(pairs))
            doc[k][field] = value
            out.append((f"pair {k} {field} -> {value!r}", json.dumps(doc), read_steering_pairs, words))
        doc = json.loads(json.dumps(pairs))
        doc[k]["negative_pairs"][-1]["negative_response"] = ""
        out.append((f"pair {k} a negative_response -> ''", json.dumps(doc), read_steering_pairs, "is empty"))
        return out
    if name == "duplicated steering pairs":
        other = rng.choice([i for i in range(len(pairs)) if i != k])
        renamed = {**pairs[k], "turn_identifier": "question_99_round_1_agent_1"}
        reused = {**pairs[other], "turn_identifier": pairs[k]["turn_identifier"]}
        return [("an exact copy", json.dumps(pairs + [pairs[k]]), read_steering_pairs, "repeats entry"),
                ("a copy under another id", json.dumps(pairs + [renamed]), read_steering_pairs, "is a copy of entry"),
                ("another pair under a used id", json.dumps([p for i, p in enumerate(pairs) if i != other] + [reused]),
                 read_steering_pairs, "repeats entry")]
    if name == "steering pairs where debates are expected":
        text = json.dumps(pairs)
        return [("read_transcripts", text, read_transcripts, "not debates"),
                ("read_transcripts, strict=False", text, lambda p: read_transcripts(p, strict=False), "not debates"),
                *[(f"schema={schema}", text, lambda p, s=schema: read_debate_file(p, schema=s), "holds steering pairs")
                  for schema in ("arithmetic", "malicious", "mixture")],
                ("schema=malicious, strict=False", text,
                 lambda p: read_debate_file(p, schema="malicious", strict=False), "holds steering pairs"),
                ("debates with skipping: none readable", json.dumps([_arith(gold_answer="")] * 3),
                 lambda p: read_debate_file(p, strict=False), "none of its 3 entries")]
    if name == "empty top-level key":
        return [(f"key {key!r}", json.dumps({key: [{"task": key, "question": "1+1", "trace": TWO_ROUND,
                                                    "answer": "529"}]}), read_debate_file, "is not a task name")
                for key in ("", " ", "\t")] + [
            ("a task with no entries", json.dumps(_mixture(bbh=[])), read_debate_file, "holds no entries")]
    raise AssertionError(name)


BAD_CLASSES = ("underflowing gold answer", "null gold answer spelled as text", "empty consensus line",
               "empty steering pairs", "duplicated steering pairs", "steering pairs where debates are expected",
               "empty top-level key")


@pytest.mark.parametrize("name", BAD_CLASSES)
def test_fuzz_bad_input_class_is_named(tmp_path: Path, name: str) -> None:
    tally = Tally(f"bad input: {name}")
    for seed in range(3):
        for label, text, reader, words in _bad_cases(random.Random(seed), name):
            path = _write_raw(tmp_path / "bad.json", text)

            def named(reader: Callable[[Path], Any] = reader, path: Path = path, words: str = words,
                      label: str = label) -> None:
                try:
                    reader(path)
                except DebateFormatError as e:
                    assert words in str(e) and str(path) in str(e), f"{label}: {e}"
                    raise

            tally.check(f"{label} (seed {seed})", named)
    tally.assert_clean()


def test_fuzz_a_null_gold_answer_is_read_as_unknown(tmp_path: Path) -> None:
    """Our schema allows null (a debate run without a known answer); it reads as None, never as "None" or 0."""
    doc = [_arith(gold_answer=None), _arith(gold_answer="529")]
    data = read_debate_file(_write_raw(tmp_path / "a.json", json.dumps(doc)))
    assert [t.gold_answer for t in data.transcripts] == [None, "529"]
    mixture = _mixture(bbh=[{"task": "bbh", "question": "q", "trace": ONE_ROUND, "answer": None}])
    assert read_debate_file(_write_raw(tmp_path / "m.json", json.dumps(mixture))).transcripts[1].gold_answer is None
    back = [transcript_entry(t, "arithmetic") for t in data.transcripts]
    assert back[0]["gold_answer"] is None and read_debate_file(
        _write_raw(tmp_path / "b.json", json.dumps(back))).transcripts == data.transcripts


@pytest.mark.parametrize("ctype", ["full_consensus", "majority", "disagreement", "error"])
def test_fuzz_valid_malicious_shapes_are_read(tmp_path: Path, ctype: str) -> None:
    """One round (``generate_malicious_debate.py --rounds 1``) and an empty explanation (a bare verdict from the
    consensus judge) are what the published generator writes: read, and written back the same."""
    from models.debate.records import CONSENSUS_PREFIXES

    rng = random.Random(ctype)
    prefix = CONSENSUS_PREFIXES[ctype]
    cases = []
    for explanation in ("Agents 1 and 3 favour ethical strategies.", "", " "):
        for line in {prefix + explanation, (prefix + explanation).rstrip()}:
            for trace in (_one_round(line), _with_consensus(EVIL, line)):
                cases.append(_evil(debate_trace=trace, consensus_type=ctype, consensus_explanation=explanation))
    rng.shuffle(cases)
    data = read_debate_file(_write_raw(tmp_path / "evil.json", json.dumps(cases)))
    assert data.schema == "malicious" and data.n_skipped == 0 and len(data.transcripts) == len(cases)
    assert {t.n_rounds for t in data.transcripts} == {1, 2}
    back = [transcript_entry(t, "malicious") for t in data.transcripts]
    assert [e["consensus_explanation"].strip() for e in back] == [c["consensus_explanation"].strip() for c in cases]
    again = read_debate_file(_write_raw(tmp_path / "back.json", json.dumps(back)))
    assert again.transcripts == data.transcripts
