"""models.train.forms_report: the takeaway, tables and figure of the shorter-forms diagnostic, from metrics.json."""

from __future__ import annotations

import pytest

from models.debate.format import CONSENSUS_TAG
from models.train import forms_report as report


def _est(value: float, low: float, high: float, n: int = 4) -> dict:
    return {"value": value, "low": low, "high": high, "n": n, "level": 0.95}


def _pair(acc: tuple[float, float, float], tokens: tuple[float, float, float], p: float) -> dict:
    return {"accuracy_difference": _est(*acc), "token_difference": _est(*tokens),
            "mcnemar": {"only_a": 1, "only_b": 0, "p_value": p}}


@pytest.fixture
def metrics() -> dict:
    return {"forms": {"whole transcript": {"accuracy": _est(0.5, 0.25, 0.75), "tokens": _est(300.4, 280, 320), "n": 4},
                      "consensus after Agent 1": {"accuracy": _est(0.75, 0.5, 1.0), "tokens": _est(120, 110, 131),
                                                  "n": 4},
                      "consensus after Agent 2": {"accuracy": _est(0.5, 0.25, 0.75), "tokens": _est(200, 190, 210),
                                                  "n": 4}},
            "vs_whole": {"consensus after Agent 1": _pair((0.25, 0.0, 0.5), (-180, -200, -160), 1.0),
                         "consensus after Agent 2": _pair((0.0, -0.25, 0.25), (-100, -110, -90), 0.5)},
            "next_tag_after_agent_1": {"<|Agent 2 Solution|>": 0.98, CONSENSUS_TAG: 0.0123, "<|endofdebate|>": 0.0077},
            "temperature": 0.5, "seconds": 7.4}


def test_takeaway_sets_the_agent_1_consensus_against_the_whole_transcript(metrics) -> None:
    assert report.takeaway(metrics) == (
        "Ending at the consensus after Agent 1 scores 75.0 [50.0, 100.0] % at 120 [110, 131] tokens, against "
        "50.0 [25.0, 75.0] % at 300 [280, 320] for the whole transcript; sampling at temperature 0.5 picks the "
        "consensus tag after Agent 1 with probability 0.012.")


def test_summary_tables_every_form_each_pairing_and_the_tags_without_brackets(metrics) -> None:
    config = {"folder": "/ckpt/tiny-sft", "n": 4, "problems": "validation"}
    lines = report.summary_markdown(metrics, config, "python s.py").splitlines()
    assert lines[0] == report.takeaway(metrics) and lines[2] == "# Shorter forms of the same transcripts"
    assert lines[4] == ("Checkpoint `/ckpt/tiny-sft`; 4 validation problems; greedy decoding; intervals are 95 % "
                        "bootstrap CIs over problems. Command: `python s.py` (7 s).")
    assert "| consensus after Agent 2 | 50.0 [25.0, 75.0] | 200 [190, 210] |" in lines
    assert "| consensus after Agent 1 | 25.0 [0.0, 50.0] | 1 | -180 [-200, -160] |" in lines
    assert "| Consensus | 0.0123 |" in lines and "| Agent 2 Solution | 0.98 |" in lines
    assert sum(line.startswith("|---") for line in lines) == 3


def test_forms_figure_places_each_form_with_both_intervals(metrics) -> None:
    fig = report.forms_figure(metrics)
    assert [t.name for t in fig.data] == list(metrics["forms"])
    agent1 = fig.data[1]
    assert agent1.x == (120,) and agent1.y == (75.0,) and agent1.error_x.arrayminus == (10,)
    assert agent1.error_y.array == (25.0,)
    pad = 0.15 * (320 - 110) + 10
    assert fig.layout.xaxis.range == (110 - pad, 320 + pad)
