"""models.train.internalization_report: the summary, headline and figures read from json-loaded metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.models.train._internalization_scores import synthetic_scores

from models.manifest import Manifest
from models.stats import Criterion, Estimate, verdict_line
from models.train import internalization_report as report
from models.train.internalization import EvalConfig, statistics


@pytest.fixture(scope="module")
def run() -> tuple[dict, dict]:
    """(metrics, config) as a finished run's metrics.json and config.json read them back."""
    cfg = EvalConfig(sft=("a", "b"), imad=("c", "d"), token_half=0.3, n=4, debate_n=2)
    metrics = {**statistics(synthetic_scores(cfg), cfg), "decoding": "greedy", "seeds": cfg.seeds, "seconds": 12.3}
    return json.loads(json.dumps(metrics)), json.loads(json.dumps(vars(cfg)))


def test_a_criterion_line_reads_one_estimate_or_one_per_training_seed(run) -> None:
    metrics, _ = run
    shared = metrics["criteria"]["debate_vs_single"]
    criterion = Criterion(shared["claim_text"], shared["metric"], shared["claim"], shared["threshold"])
    assert report.criterion_line(shared) == verdict_line(criterion, Estimate(**shared["estimate"]), "confirmed")
    line = report.criterion_line(metrics["criteria"]["tokens"])
    assert line.startswith("CONFIRMED: the internalized model uses fewer tokens") and line.endswith(
        "per training seed: 0.4 [0.4, 0.4]; 0.4 [0.4, 0.4] (criterion: mean tokens per question IMAD / SFT (paired) "
        "< 0.9 (whole 95% CI), decided for every training seed)")


def test_takeaway_and_headline_count_the_criteria_once(run) -> None:
    metrics, config = run
    assert report.takeaway(metrics) == (
        "**In one sentence:** over 2 training seed(s) the internalized model writes 40–40 % of Stage 1's tokens "
        "(100.0 %, 100.0 % accuracy against 100.0 %, 100.0 % for Stage 1), and the explicit debate scores 100.0 % "
        "against 50.0 % for a single answer.")
    title, takeaway, lines = report.headline(metrics, config)
    assert title == "Internalized debate: accuracy and tokens"
    assert takeaway == ("5 of 6 predeclared internalization criteria confirmed (imad vs sft, tokens, imad vs debate, "
                        "tokens vs debate, debate vs single); 1 refuted (tokens half).")
    assert lines == [c["line"] for c in metrics["criteria"].values()]
    assert "VALIDATION" in report.headline(metrics, {**config, "problems": "validation"})[0]


def test_tables_give_one_row_per_system_comparison_and_transcript_system(run) -> None:
    metrics, _ = run
    systems = report.systems_table(metrics)
    assert len(systems) == 2 + 7 and systems[1] == "|---|---|---|---|---|---|---|"
    assert "| internalized (IMAD) | 12 | 100.0 [100.0, 100.0] | 0.0 | 40 [40, 40] | 8.0 % | 0 % |" in systems
    comparisons = report.comparisons_table(metrics)
    assert "| IMAD 2 − SFT 2 | 12 | 0.0 [0.0, 0.0] | 1 (0 / 0) | -60 [-60, -60] | 0.0 |" in comparisons
    consensus = report.consensus_section(metrics["consensus"])
    assert consensus[0] == report.CONSENSUS_NOTE and len(consensus) == 2 + 2 + 4
    assert any(r.startswith("| Stage 1 (SFT) | 3 of 12 | 0.0 [0.0, 0.0] | 100.0 [100.0, 100.0] |") for r in consensus)
    assert any(r.startswith("| internalized (IMAD) | 0 of 12 | – | – | 0.0") for r in consensus)


def test_summary_opens_with_the_verdicts_then_says_how_it_was_run(run) -> None:
    metrics, config = run
    summary = report.summary_markdown(metrics, config, "python x.py")
    first = metrics["criteria"]["imad_vs_sft"]["line"]
    assert summary.startswith(first + "\n\n") and report.takeaway(metrics) in summary
    assert ("Decoding: **greedy** for every system (one decoding, batch size 64, seeds [0, 1, 2]). Problems: 3 "
            "disjoint samples of 4 held-out problems, one per seed; the explicit debate runs on the first 2 of each."
            ) in summary
    assert "Command: `python x.py` (12 s)." in summary and "tokens_half: refuted, refuted, refuted | " in summary
    validation = report.summary_markdown(metrics, {**config, "problems": "validation"}, "c")
    assert "**validation** problems" in validation


def test_accuracy_tokens_figure_scales_tokens_to_the_explicit_debate(run) -> None:
    metrics, _ = run
    fig = report.accuracy_tokens_figure(metrics)
    accuracy, tokens = fig.data
    names = list(metrics["systems"])
    assert accuracy.y[names.index("single")] == 50.0 and tokens.y[names.index("debate")] == 100.0
    assert tokens.y[names.index("imad")] == pytest.approx(8.0)


def test_grpo_figure_draws_each_manifest_s_iterations(tmp_path: Path) -> None:
    iteration = {"iteration": 1, "clip_tokens": 100, "last_completions/mean_length": 80.0,
                 "last_rewards/correct_reward/mean": 0.5, "last_rewards/format_reward/mean": 0.9,
                 "last_rewards/brevity_reward/mean": 0.2}
    Manifest(name="run", stage="grpo", metrics={"iterations": [iteration]}).save(tmp_path / "a")
    fig = report.grpo_figure({"a": tmp_path / "a", "none": tmp_path / "missing"})
    names = [t.name for t in fig.data]
    assert names[:5] == ["a: l", "a: mean length", "a: correct share", "a: format reward", "a: brevity reward"]
    assert names[5:] == ["none: l", "none: mean length", "none: correct share", "none: format reward"]
    assert fig.data[0].y == (100,) and fig.data[0].line.dash == "dash" and fig.data[5].x == ()
