"""experiments/evaluate_internalization.py on the shipped tiny checkpoints, a few problems per seed.

What the evidence protocol asks of it: matched decoding recorded per row, CIs and paired tests in metrics.json,
verdicts computed from the CIs against criteria that config.json held before any generation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments import evaluate_internalization as ev
from models.errors import ConfigError
from models.stats import Criterion, Estimate


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One tiny run; records what the run folder held when the first system started generating."""
    import models.train.evaluate as library

    out = tmp_path_factory.mktemp("evaluate")
    seen: list[dict] = []
    real = library.evaluate

    def spy(*args, **kw):
        if not seen:
            configs = list((out / "evaluate_internalization").glob("*/config.json"))
            configs += list((out / "evaluate_internalization").glob(".*/config.json"))
            seen.append(json.loads(configs[0].read_text()) if configs else {})
        return real(*args, **kw)

    cfg = ev.EvalConfig(n=2, debate_n=1, max_new_tokens=16, debate_max_new_tokens=8, batch_size=8, out=str(out),
                        sft_margin=0.2, sft=("tiny-sft", "tiny-sft-s1"), imad=("tiny-imad", "tiny-imad-s1"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(library, "evaluate", spy)
        folder = ev.main(cfg)
    return {"cfg": cfg, "folder": folder, "config_at_first_generation": seen[0],
            "metrics": json.loads((folder / "metrics.json").read_text()),
            "rows": [json.loads(line) for line in (folder / "rows.jsonl").read_text().splitlines()]}


def test_the_problems_are_proven_held_out_from_every_stage_before_generation(run):
    splits = json.loads((run["folder"] / "splits.json").read_text())
    stages = {u["use"] for u in splits["others"]}
    assert splits["checked"]["unverified"] == [] and splits["checked"]["pairs_compared"] == 3 * len(stages)  # 3 seeds
    assert {"tiny-imad: Stage 2 prompts", "tiny-sft: Stage 1 debates", "tiny-base: pretraining persona documents",
            "tiny-imad-s1: Stage 2 prompts", "tiny-sft-s1: Stage 1 debates"} <= stages
    assert all(len(u["excluded_hashes"]) == 500 for u in splits["others"])


def test_criteria_are_in_config_before_any_generation(run):
    config = run["config_at_first_generation"]
    assert config["criteria"]["imad_vs_sft"] == {"claim_text": "the internalized model matches the Stage 1 model's "
                                                 "accuracy", "metric": "accuracy IMAD - SFT (paired)",
                                                 "claim": "within", "threshold": 0.2}
    assert config["criteria"]["tokens"]["claim"] == "below" and config["criteria"]["tokens"]["threshold"] == 0.9
    assert config["criteria"]["imad_vs_debate"]["threshold"] == -0.05
    assert config["decoding"] == "greedy" and config["seeds"] == [0, 1, 2]
    assert json.loads((run["folder"] / "config.json").read_text()) == config


def test_every_system_decodes_the_same_way_on_disjoint_seed_samples(run):
    rows, metrics = run["rows"], run["metrics"]
    assert {r["decoding"] for r in rows} == {"greedy"} and metrics["decoding"] == "greedy"
    assert {s["decoding"] for s in metrics["systems"].values()} == {"greedy"}
    questions = {seed: {r["question"] for r in rows if r["seed"] == seed and r["key"] == "single"} for seed in (0, 1, 2)}
    assert all(len(q) == 2 for q in questions.values())
    assert len(questions[0] | questions[1] | questions[2]) == 6  # disjoint samples
    for seed, qs in questions.items():  # every system ran on that seed's problems (the debate on the first one)
        for key in ("sft", "imad", "sft_2", "imad_2"):
            assert {r["question"] for r in rows if r["seed"] == seed and r["key"] == key} == qs
        assert {r["question"] for r in rows if r["seed"] == seed and r["key"] == "debate"} < qs


def test_metrics_hold_cis_paired_tests_and_seed_spread(run):
    metrics = run["metrics"]
    assert set(metrics["systems"]) == {"single", "debate", "sft", "imad", "sft_2", "imad_2", "debate_round1"}
    assert metrics["systems"]["imad_2"]["system"] == "internalized (IMAD), training seed run 2"
    for s in metrics["systems"].values():
        for key in ("accuracy", "tokens"):
            assert s[key]["low"] <= s[key]["value"] <= s[key]["high"] and s[key]["level"] == 0.95
        assert s["seed_accuracy"]["n_seeds"] == 3
    assert metrics["systems"]["imad"]["n"] == 6 and metrics["systems"]["debate"]["n"] == 3
    assert set(metrics["comparisons"]) == {"debate_vs_single", "imad_vs_sft", "imad_vs_debate", "imad_vs_single",
                                           "imad_2_vs_sft_2", "imad_2_vs_debate", "imad_2_vs_single"}
    for c in metrics["comparisons"].values():
        d = c["accuracy_difference"]
        assert d["low"] <= d["value"] <= d["high"] and 0 <= c["mcnemar"]["p_value"] <= 1
        assert c["n"] == (3 if "debate" in (c["a"], c["b"]) else 6) and c["seed_accuracy_difference"]["n_seeds"] == 3


def test_verdicts_are_computed_from_the_cis_and_open_the_summary(run):
    criteria = run["metrics"]["criteria"]
    for name, c in criteria.items():
        criterion = Criterion(c["claim_text"], c["metric"], c["claim"], c["threshold"])
        assert len(c["runs"]) == (1 if name == "debate_vs_single" else 2)  # decided per training seed
        for r in c["runs"]:
            pooled = criterion.decide(Estimate(**r["estimate"]))
            expected = "inconclusive" if {"confirmed": "refuted", "refuted": "confirmed"}.get(pooled) in \
                r["seed_verdicts"] else pooled
            assert r["verdict"] == expected
        runs = {r["verdict"] for r in c["runs"]}
        assert c["verdict"] == (runs.pop() if len(runs) == 1 else "inconclusive")
        assert c["line"].startswith(c["verdict"].upper() + ": ")
    assert set(criteria) == {"imad_vs_sft", "tokens", "tokens_half", "imad_vs_debate", "tokens_vs_debate",
                             "debate_vs_single"}
    summary = (run["folder"] / "summary.md").read_text()
    assert summary.startswith(criteria["imad_vs_sft"]["line"])
    assert "| IMAD − SFT |" in summary and "| IMAD 2 − SFT 2 |" in summary and "**In one sentence:**" in summary
    assert "Decoding: **greedy** for every system" in summary
    assert "error_y" in (run["folder"] / "figures" / "accuracy_tokens.html").read_text()
    grpo = (run["folder"] / "figures" / "grpo_iterations.html").read_text()
    assert "tiny-imad-s1: mean length" in grpo and "GRPO iteration" in grpo


def test_every_transcript_system_says_whether_its_consensus_copies_or_votes(run):
    consensus, systems = run["metrics"]["consensus"], run["metrics"]["systems"]
    assert set(consensus) == {"sft", "imad", "sft_2", "imad_2"}
    for key, c in consensus.items():
        assert c["n"] == systems[key]["n"] and 0 <= c["agents_disagree"] <= c["n"]
        for share in ("copies_last", "follows_vote"):
            assert (c[share] is None) == (c["agents_disagree"] == 0)
            assert c[share] is None or c[share]["low"] <= c[share]["value"] <= c[share]["high"]
        assert c["vote_minus_consensus"]["n"] == c["n"] and "mcnemar" in c["vote_minus_consensus"]
    summary = (run["folder"] / "summary.md").read_text()
    assert "| consensus = last agent % [95% CI] |" in summary and "| Stage 1 (SFT) |" in summary


def test_sft_and_imad_pair_up_by_position():
    with pytest.raises(ConfigError, match="--sft and --imad pair up by position"):
        ev.EvalConfig(sft=("tiny-sft",), imad=("tiny-imad", "tiny-imad-s1"))


def test_a_seed_deciding_the_other_way_makes_the_verdict_inconclusive():
    c = Criterion("x", "y", "below", 0.5)
    low, high, mid = Estimate(0.1, 0.0, 0.2, 9), Estimate(0.9, 0.8, 1.0, 3), Estimate(0.5, 0.2, 0.8, 3)
    assert ev._decide(c, low, [low, mid, mid]) == ("confirmed", ["confirmed", "inconclusive", "inconclusive"])
    assert ev._decide(c, low, [low, high, mid])[0] == "inconclusive"


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0", "1"], "--seeds must hold at least 3 item(s)"),
    (["--seeds", "0", "1", "1"], "--seeds must be distinct"),
    (["--temperature", "-0.5"], "--temperature must be >= 0.0"),
    (["--sft-margin", "0"], "--sft-margin must be > 0.0"),
])
def test_config_refuses_bad_values_by_flag(argv, message):
    with pytest.raises(ConfigError) as info:
        ev.parse_args(argv)
    assert message in str(info.value)


def test_more_problems_than_held_out_are_refused_before_a_folder_exists(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"--n 200 x 3 seeds exceeds the 500 problems held out"):
        ev.main(ev.EvalConfig(n=200, out=str(tmp_path)))
    assert not (tmp_path / "evaluate_internalization").exists()


def test_validation_problems_avoid_the_held_out_set_and_every_stage_1_and_2_prompt(tmp_path: Path):
    from models.debate.splits import heldout_problems, problem_key
    from models.registry import materialize
    from models.train.lineage import trained_questions

    cfg = ev.EvalConfig(problems="validation", n=2, debate_n=1, max_new_tokens=8, debate_max_new_tokens=4,
                        batch_size=8, out=str(tmp_path), sft=("tiny-sft",), imad=("tiny-imad",))
    folder = ev.main(cfg)
    splits = json.loads((folder / "splits.json").read_text())
    assert splits["problems"] == "validation" and splits["checked"]["pairs_compared"] == 3 * 2
    rows = [json.loads(line) for line in (folder / "rows.jsonl").read_text().splitlines()]
    asked = {problem_key(r["question"]) for r in rows}
    assert len(asked) == 6
    held = {problem_key(p.question) for p in heldout_problems("easy", 500, 0)}
    trained = {problem_key(t) for t in trained_questions(materialize("tiny-imad"), materialize("tiny-sft"))}
    assert not asked & held and not asked & trained and len(trained) > 400
    assert "**validation** problems" in (folder / "summary.md").read_text()
