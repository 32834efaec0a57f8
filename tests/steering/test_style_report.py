"""steering.style_report on metrics that went through JSON, as a notebook reads them: verdict lines first, the
tables' rows and cells, the example outputs picked from the rows, and the console and headline lines."""

from __future__ import annotations

import dataclasses
import json

import pytest

from models.cli import config_dict
from steering.persona_style import ARM_KINDS, PERSONA_NAMES
from steering.style_evidence import MEAN, evidence, score_table
from steering.style_experiment import StyleConfig
from steering.style_report import (
    console_lines,
    controls_table,
    examples,
    gain_table,
    headline,
    seeds_table,
    setup_paragraph,
    summary_markdown,
    verdict_lines,
)

ALPHAS = (0.0, 1.0, 2.0)


def _rows(n: int = 4, seeds=(0, 1), n_controls: int = 3) -> list[dict]:
    """The distilled model's persona directions raise ROUGE-L by 0.1 per alpha; nothing else moves."""
    rows = []
    for model, slope in (("base", 0.0), ("distilled", 0.1)):
        for s in seeds:
            for q in range(n):
                wobble = 0.001 * (q + s)  # a little spread, so the intervals are intervals
                rows.append({"model": model, "seed": s, "question": q, "alpha": 0.0, "kind": "unsteered",
                             "control": None, "scores": {p: {"rougeL": 0.3 + wobble} for p in PERSONA_NAMES}})
                for a in ALPHAS[1:]:
                    for kind, rise in (("persona", slope), ("sign_flip", -slope)):
                        for p in PERSONA_NAMES:
                            rows.append({"model": model, "seed": s, "question": q, "alpha": a, "kind": kind,
                                         "control": None, "scores": {p: {"rougeL": 0.3 + rise * a + wobble}}})
                    for k in range(n_controls):
                        rows.append({"model": model, "seed": s, "question": q, "alpha": a, "kind": "random",
                                     "control": k, "scores": {p: {"rougeL": 0.3 + wobble * k / 2}
                                                              for p in PERSONA_NAMES}})
    return rows


@pytest.fixture(scope="module")
def run() -> tuple[dict, dict]:
    """(metrics, config) as json-loaded from a run folder."""
    cfg = StyleConfig(alphas=ALPHAS, seeds=(0, 1), n_test=4, debates="paper:arithmetic-diverse")
    config = {**config_dict(cfg), "criteria": {k: dataclasses.asdict(c) for k, c in cfg.criteria().items()}}
    table = score_table(_rows(), "rougeL", ALPHAS)
    ev = evidence(table, cfg.criteria(), (*PERSONA_NAMES, MEAN))
    metrics = {**ev, "site": "blocks.2.hook_resid_post", "n_rows": len(table.keys), "n_generations": 120,
               "generation_s": 6.0, "wall_s": 90.0, "example_prompt": "Problem: 1 + 2", "metric": "rougeL",
               "alphas": list(ALPHAS), "degenerate": {m: {k: 0.25 for k in ARM_KINDS} for m in ("base", "distilled")}}
    return json.loads(json.dumps(metrics, default=dataclasses.asdict)), json.loads(json.dumps(config))


def test_verdict_lines_put_the_primary_claim_first(run):
    metrics, config = run
    lines = verdict_lines(metrics)
    assert [line.split(":")[0] for line in lines] == ["CONFIRMED", "INCONCLUSIVE", "CONFIRMED"]
    assert "distilled - base steering-gain AUC" in lines[0] and lines[1].startswith("INCONCLUSIVE: base: ")
    title, takeaway, shown = headline(metrics, config)
    assert title == "Persona steering: tiny-base vs tiny-imad" and "CONFIRMED (the primary" in takeaway
    assert shown == lines


def test_gain_table_has_one_row_per_persona_then_the_mean_in_bold(run):
    metrics, _ = run
    lines = gain_table(metrics)
    assert lines[:2] == ["| persona | base | distilled | distilled − base | verdict |", "|---|---|---|---|---|"]
    assert [line.split(" | ")[0] for line in lines[2:]] == [
        "| Chain-of-Thought", "| Self-Critique", "| Program-of-Thought", "| **mean over personas**"]
    mean = lines[-1].split(" | ")
    assert mean[1].startswith("+0.000 [") and mean[2].startswith("+0.2") and mean[4] == "confirmed |"


def test_controls_table_shows_the_band_and_the_share_of_questions_that_gained(run):
    metrics, _ = run
    lines = controls_table(metrics)
    assert len(lines) == 2 + 4 * 2 and lines[0].count("|") == 9
    distilled = lines[3].split(" | ")
    assert distilled[:2] == ["| Chain-of-Thought", "distilled"] and distilled[5] == "confirmed"
    assert distilled[3].startswith("[") and distilled[-1] == "1.000 [1.000, 1.000] |"  # unsigned share


def test_seeds_table_ends_with_the_spread_over_seeds(run):
    metrics, _ = run
    lines = seeds_table(metrics)
    assert [line.split(" | ")[0] for line in lines[2:4]] == ["| 0", "| 1"] and lines[2].split(" | ")[1] == "4"
    assert lines[-1].startswith("| mean ± sd [min, max] | | +0.000 ± 0.000 [+0.000, +0.000] | +0.2")


def test_setup_names_where_the_vectors_came_from(run):
    metrics, config = run
    assert "sampled from paper:arithmetic-diverse" in setup_paragraph(metrics, config)
    assert "8 (seed, question) rows pooled" in setup_paragraph(metrics, config)
    assert "(2 training debates per seed, generated)" in setup_paragraph(metrics, {**config, "debates": None,
                                                                                   "n_extract": 2})


def test_examples_are_the_first_seeds_first_question_unsteered_and_at_the_top_alpha():
    config = {"seeds": [1, 0], "alphas": [0.0, 1.0, 2.0]}
    rows = [{"seed": s, "question": q, "arm": arm, "alpha": a}
            for s in (0, 1) for q in (0, 1) for a in (0.0, 1.0, 2.0)
            for arm in ("unsteered", "persona:self_critique", "sign_flip:self_critique", "random0")]
    picked = [(r["arm"], r["alpha"]) for r in examples(rows, config)]
    assert all(r["seed"] == 1 and r["question"] == 0 for r in examples(rows, config))
    assert picked == [("unsteered", 0.0), ("persona:self_critique", 0.0), ("unsteered", 2.0),
                      ("persona:self_critique", 2.0)]


def test_summary_opens_with_the_verdicts_and_shows_examples_and_degenerate_shares(run):
    metrics, config = run
    shown = [{"model": "base", "arm": "unsteered", "text": "<|Agent 1 Solution|>  3\n+ 4"}]
    text = summary_markdown(metrics, config, shown, command="python experiments/agent_style.py --seeds 0 1")
    lines = text.splitlines()
    assert lines[:3] == verdict_lines(metrics) and lines[4] == "# Agent-style steering: base vs distilled"
    assert "wall time 1.5 min (120 generations of up to 80 tokens, 50 ms each, 1 torch thread(s))" in text
    assert "Only 2 seed(s): the protocol asks for at least 3." in lines
    assert ("Degenerate outputs (share): base: unsteered 0.25, persona 0.25, sign_flip 0.25, random 0.25; "
            "distilled: unsteered 0.25") in text
    assert "## Examples (seed 0, first question, alpha 2 unless unsteered)" in lines
    assert "* **base**, unsteered: `'3 + 4'`" in lines and text.endswith("random band shaded)\n")


def test_console_lines_give_each_personas_gain_and_the_wall_time(run):
    metrics, _ = run
    lines = console_lines(metrics)
    assert lines[:3] == verdict_lines(metrics) and lines[-1] == "wall time 1.5 min"
    assert lines[3].startswith("  Chain-of-Thought    ROUGE-L gain AUC  base +0.000 [")
    assert lines[6].startswith("  mean over personas  ROUGE-L gain AUC")
