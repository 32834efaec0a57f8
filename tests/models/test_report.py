"""The shared summary vocabulary: estimates, tables, verdict counting."""

from __future__ import annotations

import pytest

from models.report import (
    checks_takeaway, estimate_text, markdown_table, verdict_bullets, verdict_counts, verdict_of_line,
)
from models.stats import Estimate


def test_estimate_text_reads_estimates_and_their_json_form_alike():
    e = Estimate(0.1234, 0.05, 0.2, 32)
    assert estimate_text(e) == "0.1 [0.1, 0.2]" == estimate_text(e.to_json())
    assert estimate_text(e, 1, scale=100) == "12.3 [5.0, 20.0]"
    assert estimate_text(Estimate(-0.5, -1.0, 0.25, 8), 3, signed=True) == "-0.500 [-1.000, +0.250]"
    assert estimate_text(None) == "-" and estimate_text(None, missing="—") == "—"
    assert estimate_text({"value": None, "low": None, "high": None}) == "undefined"
    assert estimate_text(Estimate(float("nan"), 0.0, 1.0, 3)) == "undefined"


def test_markdown_table_has_header_rule_and_rows():
    assert markdown_table(["a", "b"], [(1, "x"), (2.5, "")]) == ["| a | b |", "|---|---|", "| 1 | x |", "| 2.5 |  |"]


def test_verdict_words_are_read_from_lines_and_counted():
    assert verdict_of_line("CONFIRMED: the claim -- x = 1") == "confirmed"
    assert verdict_of_line("- INCONCLUSIVE: y") == "inconclusive"
    assert verdict_of_line("=> REFUTED: z") == "refuted"
    assert verdict_of_line("a note: nothing decided") is None
    assert verdict_counts(["refuted", "confirmed", "confirmed"]) == {"confirmed": 2, "refuted": 1, "inconclusive": 0}
    with pytest.raises(ValueError, match="not verdicts: \\['maybe'\\]"):
        verdict_counts(["maybe"])


def test_one_sentence_counts_every_verdict_by_name():
    got = checks_takeaway({"untrained_floor": "confirmed", "selectivity": "refuted", "fewshot": "inconclusive",
                           "seed_check": "confirmed"})
    assert got == ("2 of 4 predeclared checks confirmed (untrained floor, seed check); 1 refuted (selectivity); "
                   "1 inconclusive (fewshot).")
    assert checks_takeaway({"a": "refuted"}, noun="criteria") == "0 of 1 criteria confirmed; 1 refuted (a)."
    assert verdict_bullets(["CONFIRMED: x", "note"]) == ["- CONFIRMED: x", "- note"]
