"""The words and tables every run's summary is written in: estimates with their CIs, markdown tables,
verdict lines and the one-sentence count of predeclared checks.

Experiments and notebooks build their summaries from a run's ``metrics.json`` with these, so a number
reads the same in every summary, report page and notebook. Domain sections live beside the science
they report (`steering.suppression_report`, `probes.subspace_report`, `models.train.internalization_report`, ...);
this module knows nothing of any experiment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from models.stats import Estimate

__all__ = ["VERDICT_WORDS", "checks_takeaway", "estimate_text", "markdown_table", "verdict_bullets",
           "verdict_counts", "verdict_of_line"]

VERDICT_WORDS = ("confirmed", "refuted", "inconclusive")


def _parts(e: Estimate | Mapping[str, Any]) -> tuple[float, float, float]:
    if isinstance(e, Estimate):
        return e.value, e.low, e.high
    return e["value"], e["low"], e["high"]


def estimate_text(e: Estimate | Mapping[str, Any] | None, digits: int = 1, *, scale: float = 1.0,
                  signed: bool = False, missing: str = "-") -> str:
    """``v [lo, hi]`` with `digits` decimals, each times `scale` (100 for a share in percent); `signed` adds
    ``+``; `missing` when there is no estimate, ``undefined`` when it is NaN (null in ``metrics.json``, e.g. an AUC
    without one of its classes). Takes an `Estimate` or its JSON form from ``metrics.json``."""
    if e is None:
        return missing
    parts = _parts(e)
    if any(x is None or x != x for x in parts):  # NaN (stored as null in metrics.json): an undefined statistic
        return "undefined"
    spec = f"{'+' if signed else ''}.{digits}f"
    value, low, high = (scale * x for x in parts)
    return f"{value:{spec}} [{low:{spec}}, {high:{spec}}]"


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A GitHub markdown table as lines: header, rule, one line per row (cells already formatted)."""
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def verdict_of_line(line: str) -> str | None:
    """The verdict word a ``CONFIRMED: ...`` line opens with (lower case), or None for a note."""
    head = line.strip().lstrip("-=> ").split(":", 1)[0].strip().lower()
    return head if head in VERDICT_WORDS else None


def verdict_counts(verdicts: Iterable[str]) -> dict[str, int]:
    """How many of each verdict word, in the fixed order confirmed, refuted, inconclusive."""
    listed = list(verdicts)
    unknown = sorted(set(listed) - set(VERDICT_WORDS))
    if unknown:
        raise ValueError(f"not verdicts: {unknown}; expected one of {VERDICT_WORDS}")
    return {v: listed.count(v) for v in VERDICT_WORDS}


def checks_takeaway(verdicts: Mapping[str, str], *, noun: str = "predeclared checks") -> str:
    """One sentence counting a run's verdicts: ``2 of 5 predeclared checks confirmed (a, b); 1 refuted (c).``

    Every experiment's takeaway that counts its criteria says it with this one function, so "confirmed"
    is counted the same way in every summary (`verdicts` maps a check's name to its verdict word).
    """
    counts = verdict_counts(verdicts.values())
    named = {v: [name.replace("_", " ") for name, got in verdicts.items() if got == v] for v in VERDICT_WORDS}
    out = f"{counts['confirmed']} of {len(verdicts)} {noun} confirmed"
    out += f" ({', '.join(named['confirmed'])})" if named["confirmed"] else ""
    for word in ("refuted", "inconclusive"):
        if counts[word]:
            out += f"; {counts[word]} {word} ({', '.join(named[word])})"
    return out + "."


def verdict_bullets(lines: Iterable[str]) -> list[str]:
    """Verdict lines as a markdown list, in the order given."""
    return [f"- {line}" for line in lines]
