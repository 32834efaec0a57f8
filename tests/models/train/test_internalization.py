"""models.train.internalization: system keys, criteria decided per seed and per training run, disjoint samples,
the statistics of synthetic scores, and every system scored through the `evaluate` seam."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.models.train._internalization_scores import synthetic_scores

import models.train.evaluate as scoring
from models.errors import ConfigError
from models.manifest import Manifest
from models.stats import Criterion, Estimate
from models.train.evaluate import SystemScore
from models.train.internalization import (
    EvalConfig,
    Evaluation,
    across_runs,
    decide,
    draw_samples,
    label,
    run_key,
    score_all,
    short,
    stage_of,
    statistics,
)


def test_system_keys_name_each_training_run() -> None:
    assert [run_key("imad", k) for k in range(3)] == ["imad", "imad_2", "imad_3"]
    assert stage_of("sft_2") == "sft" and stage_of("debate_round1") == "debate_round1"
    assert label("imad_2") == "internalized (IMAD), training seed run 2" and label("sft") == "Stage 1 (SFT)"
    assert short("imad_3") == "IMAD 3" and short("debate") == "explicit debate"


def test_config_pairs_every_imad_with_its_stage_1_and_the_base() -> None:
    cfg = EvalConfig(sft=("a", "b"), imad=("c", "d"))
    assert cfg.systems() == {"single": ("base", "single"), "debate": ("base", "debate"), "sft": ("sft", "transcript"),
                             "imad": ("imad", "transcript"), "sft_2": ("sft_2", "transcript"),
                             "imad_2": ("imad_2", "transcript")}
    assert cfg.pairs() == [("debate", "single"), ("imad", "sft"), ("imad", "debate"), ("imad", "single"),
                           ("imad_2", "sft_2"), ("imad_2", "debate"), ("imad_2", "single")]
    criteria = cfg.criteria()
    assert criteria["imad_vs_debate"].threshold == -0.05 and criteria["tokens_half"].claim == "below"
    with pytest.raises(ConfigError, match="pair up by position"):
        EvalConfig(sft=("a",), imad=("c", "d"))


def test_a_seed_deciding_the_other_way_makes_the_pooled_verdict_inconclusive() -> None:
    c = Criterion("x", "y", "below", 0.5)
    low, high, mid = Estimate(0.1, 0.0, 0.2, 9), Estimate(0.9, 0.8, 1.0, 3), Estimate(0.5, 0.2, 0.8, 3)
    assert decide(c, low, [low, mid, mid]) == ("confirmed", ["confirmed", "inconclusive", "inconclusive"])
    assert decide(c, low, [low, high, mid]) == ("inconclusive", ["confirmed", "refuted", "inconclusive"])
    assert across_runs(["refuted", "refuted"]) == "refuted"
    assert across_runs(["confirmed", "inconclusive"]) == "inconclusive"


def test_samples_are_disjoint_reproducible_and_bounded_by_the_held_out_set(tmp_path: Path) -> None:
    folders = [tmp_path / "a", tmp_path / "b"]  # no manifest: the default held-out set (easy, 500, seed 0)
    samples, held = draw_samples(folders, 3, (0, 1, 2))
    assert held == {"tier": "easy", "heldout": 500, "heldout_seed": 0, "question_format": "spaced"}
    questions = [p.question for s in samples for p in s]
    assert [len(s) for s in samples] == [3, 3, 3] and len(set(questions)) == 9
    assert [p.question for p in draw_samples(folders, 3, (0, 1, 2))[0][0]] == questions[:3]
    with pytest.raises(ConfigError, match="exceeds the 500 problems"):
        draw_samples(folders, 200, (0, 1, 2))
    Manifest(name="other", stage="grpo", config={"heldout": 50}).save(tmp_path / "c")
    with pytest.raises(ConfigError, match="hold out different problems"):
        draw_samples([folders[0], tmp_path / "c"], 3, (0, 1, 2))


def test_statistics_decide_each_criterion_per_training_run() -> None:
    cfg = EvalConfig(sft=("a", "b"), imad=("c", "d"), token_half=0.3)
    stats = statistics(synthetic_scores(cfg), cfg)
    systems, criteria = stats["systems"], stats["criteria"]
    assert set(systems) == {"single", "debate", "debate_round1", "sft", "imad", "sft_2", "imad_2"}
    assert systems["imad"]["tokens"]["value"] == 40 and systems["imad"]["pct_of_debate"] == 8.0
    assert systems["debate_round1"]["tokens"]["value"] == 150 and systems["debate"]["n"] == 6
    assert stats["comparisons"]["imad_2_vs_sft_2"]["accuracy_difference"]["value"] == 0
    assert stats["comparisons"]["debate_vs_single"]["n"] == 6  # paired on the debate's problems only
    verdicts = {k: c["verdict"] for k, c in criteria.items()}
    assert verdicts == {"imad_vs_sft": "confirmed", "tokens": "confirmed", "tokens_half": "refuted",
                        "imad_vs_debate": "confirmed", "tokens_vs_debate": "confirmed", "debate_vs_single": "confirmed"}
    assert len(criteria["tokens"]["runs"]) == 2 and len(criteria["debate_vs_single"]["runs"]) == 1
    assert criteria["tokens"]["runs"][1]["estimate"]["value"] == pytest.approx(0.4)
    assert criteria["tokens_half"]["line"].startswith("REFUTED: ") and "per training seed: 0.4" in \
        criteria["tokens_half"]["line"]
    assert stats["consensus"]["sft"]["agents_disagree"] == 3 and stats["consensus"]["sft"]["follows_vote"]["value"] == 1
    assert stats["consensus"]["imad"]["copies_last"] is None


def test_every_system_is_scored_through_the_evaluate_seam(monkeypatch: pytest.MonkeyPatch) -> None:
    from models.debate.splits import heldout_problems

    calls = []

    def fake(model, system, questions, golds, **kw):
        calls.append((model, system, len(questions), kw["decoding"].seed))
        rows = [{"question": q, "gold": g, "correct": True, "input_tokens": 1, "output_tokens": 2}
                for q, g in zip(questions, golds)]
        return SystemScore.from_rows(system, rows)

    monkeypatch.setattr(scoring, "evaluate", fake)
    cfg = EvalConfig(sft=("s",), imad=("i",), debate_n=1)
    problems = heldout_problems("easy", 500, 0)[:6]
    plan = Evaluation(cfg, {}, [problems[:2], problems[2:4], problems[4:]], {"question_format": "spaced"}, [])
    by_seed, rows = score_all(plan, {"base": "B", "sft": "S", "imad": "I"})
    assert calls[:4] == [("B", "single", 2, 0), ("B", "debate", 1, 0), ("S", "transcript", 2, 0),
                         ("I", "transcript", 2, 0)] and calls[-1][3] == 2
    assert [s.system for s in by_seed["imad"]] == ["imad"] * 3 and len(rows) == 3 * (2 + 1 + 2 + 2)
    assert rows[0]["system"] == "base · single answer" and {r["seed"] for r in rows} == {0, 1, 2}


def test_the_evaluation_record_holds_the_criteria_and_names_the_imad_folders() -> None:
    cfg = EvalConfig(sft=("s", "s1"), imad=("i", "i1"))
    folders = {"imad": Path("/x/i"), "imad_2": Path("/x/i1")}
    plan = Evaluation(cfg, folders, [], {"tier": "easy"}, [])
    config = plan.config()
    assert config["decoding"] == "greedy" and config["tier"] == "easy" and config["folders"] == folders
    assert config["criteria"]["tokens"] == {"claim_text": "the internalized model uses fewer tokens than the Stage 1 "
                                            "model", "metric": "mean tokens per question IMAD / SFT (paired)",
                                            "claim": "below", "threshold": 0.9}
    assert plan.imad_folders == {"i": Path("/x/i"), "i1": Path("/x/i1")}
