"""GSM8K, the paper's capability benchmark: the shipped test split, seeded samples of it, and its answer scoring.

The test split ships in ``models/assets/gsm8k`` (1,319 problems, MIT, pinned to one commit of
openai/grade-school-math; see the README there), so a capability number always scores the same bytes:
`read_gsm8k` refuses the shipped file when its sha256 differs. Samples are slices of one seeded
permutation, so two slices of a seed (``offset``) or a sample that `exclude`s another's questions are
disjoint by construction, not by luck. Scoring follows GSM8K's own rule (the number after ``####``),
taking a model's last ``\\boxed{}`` first and its last number as the fallback.

Example:
    >>> problems = gsm8k_problems(64, seed=0)
    >>> gsm8k_correct("... so she makes \\\\boxed{18} dollars", problems[0].answer)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from models.debate.format import boxed_contents
from models.errors import FileFormatError, ModelsError

GSM8K_REPO = "openai/grade-school-math"
GSM8K_COMMIT = "3101c7d5072418e28b9008a6636bde82a006892c"
GSM8K_SHA256 = "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14"
GSM8K_COUNT = 1319
GSM8K_PATH = Path(__file__).resolve().parents[1] / "assets" / "gsm8k" / "test.jsonl"

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_GOLD = re.compile(r"^-?\d+(?:\.\d+)?$")
_CALCULATOR = re.compile(r"<<[^>]*>>")  # the dataset's calculator annotations, e.g. <<16-3-4=9>>


class GSM8KError(ModelsError, ValueError):
    """A GSM8K request that cannot be served (a sample larger than what is left, a bad size or offset)."""


class GSM8KFileError(GSM8KError, FileFormatError):
    """A GSM8K file that is not the pinned split or has a malformed line; names the file (and the line)."""


@dataclass(frozen=True)
class GSM8KProblem:
    """One test problem. `solution` is the worked steps without calculator annotations and without the
    ``#### N`` line; `answer` is N as a plain number string (commas removed)."""

    question: str
    solution: str
    answer: str


def gold_text(problem: GSM8KProblem) -> str:
    """The gold completion in GSM8K's own form, ``steps\\n#### N``: what `gold_loglik` scores by default."""
    return f"{problem.solution}\n#### {problem.answer}"


def normalize_number(text: str) -> str:
    """Canonical number string: no commas, no ``+``, no leading zeros, no trailing decimal zeros (``18.0`` -> ``18``)."""
    s = text.replace(",", "").strip()
    sign = "-" if s.startswith("-") else ""
    s = s.lstrip("+-")
    whole, _, frac = s.partition(".")
    whole, frac = whole.lstrip("0") or "0", frac.rstrip("0")
    body = f"{whole}.{frac}" if frac else whole
    return body if body == "0" else sign + body


def _last_number(text: str) -> str | None:
    found = _NUMBER.findall(text)
    return normalize_number(found[-1]) if found else None


def gsm8k_answer(text: str) -> str | None:
    """The model's final number: from its last ``\\boxed{}`` if it has one, else from its last ``####`` line,
    else the last number anywhere in `text`; normalised (`normalize_number`). None when there is no number
    there (a box without a number is an answer that is not a number, so nothing falls back past it)."""
    boxed = boxed_contents(text)
    if boxed:
        return _last_number(boxed[-1])
    if "####" in text:
        line = text.rsplit("####", 1)[1].split("\n", 1)[0]
        found = _NUMBER.search(line)
        if found:
            return normalize_number(found.group())
    return _last_number(text)


def gsm8k_correct(text: str, gold: str) -> bool:
    """Exact match of the model's final number (`gsm8k_answer`) with the gold answer, both normalised."""
    answer = gsm8k_answer(text)
    return answer is not None and answer == normalize_number(gold)


def parse_line(line: str, path: Path, number: int) -> GSM8KProblem:
    """One JSONL line as a problem; any defect raises `GSM8KFileError` naming the file, line and field."""
    where = f"{path}: line {number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise GSM8KFileError(f"{where} is not JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(row, dict):
        raise GSM8KFileError(f"{where} is a JSON {type(row).__name__}, not an object with 'question' and 'answer'")
    for name in ("question", "answer"):
        if not isinstance(row.get(name), str) or not row[name].strip():
            got = "missing" if name not in row else f"a {type(row[name]).__name__} {row[name]!r}"[:80]
            raise GSM8KFileError(f"{where}: field {name!r} must be a non-empty string, got {got}")
    steps, sep, tail = row["answer"].rpartition("####")
    answer = tail.strip().replace(",", "")
    if not sep or not _GOLD.match(answer):
        raise GSM8KFileError(f"{where}: field 'answer' must end with '#### <number>', got ...{row['answer'][-40:]!r}")
    return GSM8KProblem(row["question"], _CALCULATOR.sub("", steps).strip(), answer)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_gsm8k(path: str | Path | None = None, sha256: str | None = None) -> tuple[GSM8KProblem, ...]:
    """The problems of a GSM8K JSONL file in file order; default: the shipped test split.

    The shipped file is always checked against `GSM8K_SHA256`; another `path` is checked when `sha256` is
    given. A mismatch, an unreadable file or a malformed line raises `GSM8KFileError` naming the file.
    """
    if path is None:
        return _shipped()
    return _read(Path(path), sha256)


@lru_cache(maxsize=1)
def _shipped() -> tuple[GSM8KProblem, ...]:
    """Read and verified once per process: every sample and test reads the same 0.7 MB."""
    problems = _read(GSM8K_PATH, GSM8K_SHA256)
    if len(problems) != GSM8K_COUNT:
        raise GSM8KFileError(f"{GSM8K_PATH}: {len(problems)} problems, expected {GSM8K_COUNT}")
    return problems


def _read(path: Path, sha256: str | None) -> tuple[GSM8KProblem, ...]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise GSM8KFileError(f"{path}: cannot read the GSM8K file ({e.strerror or e})") from None
    if sha256 is not None and _sha256(data) != sha256:
        raise GSM8KFileError(
            f"{path}: sha256 is {_sha256(data)}, expected {sha256} "
            f"(GSM8K test.jsonl of {GSM8K_REPO} at {GSM8K_COMMIT[:7]}); the file was changed or replaced"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise GSM8KFileError(f"{path}: not UTF-8 (byte {e.start})") from None
    return tuple(parse_line(line, path, i) for i, line in enumerate(text.splitlines(), start=1))


def _key(question: str) -> str:
    return " ".join(question.split())


def _rank(seed: int, index: int) -> str:
    """A problem's place in seed's permutation: a hash, so the order never depends on a library's RNG."""
    return hashlib.sha256(f"gsm8k:{seed}:{index}".encode()).hexdigest()


def gsm8k_problems(
    n: int,
    seed: int = 0,
    exclude: Iterable[str | GSM8KProblem] = (),
    offset: int = 0,
    problems: Sequence[GSM8KProblem] | None = None,
) -> list[GSM8KProblem]:
    """`n` problems: the seed's permutation of the split, without the `exclude`d questions, from `offset` on.

    Reproducible for a seed; disjoint by construction across offsets of one seed (``offset=k * n``) and from
    any sample whose questions (or problems) are passed in `exclude` (matched with whitespace collapsed).
    `problems` defaults to the shipped split (`read_gsm8k`).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise GSM8KError(f"n must be an int >= 1, got {n!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise GSM8KError(f"offset must be an int >= 0, got {offset!r}")
    pool = read_gsm8k() if problems is None else tuple(problems)
    if isinstance(exclude, (str, GSM8KProblem)):
        exclude = [exclude]
    banned = {_key(e.question if isinstance(e, GSM8KProblem) else e) for e in exclude}
    order = sorted(range(len(pool)), key=lambda i: _rank(seed, i))
    kept = [pool[i] for i in order if _key(pool[i].question) not in banned]
    if offset + n > len(kept):
        raise GSM8KError(
            f"asked for {n} GSM8K problems from offset {offset}, but only {len(kept)} remain "
            f"({len(pool)} in the split, {len(pool) - len(kept)} excluded)"
        )
    return kept[offset:offset + n]
