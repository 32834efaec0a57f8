"""The agent-subspaces experiment end to end on the tiny model: baselines, intervals, verdicts, figures."""

from __future__ import annotations

import json

import pytest

import experiments.agent_subspaces as exp
from experiments.agent_subspaces import Config, main, parse_args
from models.errors import ConfigError


def _cfg(tiny_dir, tmp_path, **over) -> Config:
    t = str(tiny_dir)
    fields = {"base": t, "distilled": t, "untrained": t, "n_debates": 3, "template": "a*b", "folds": 2, "pca_k": 2,
              "curve_sizes": (1,), "curve_draws": 2,
              "resamples": 200, "seeds": (0, 1), "eq3": False, "out_dir": str(tmp_path / "results"),
              "cache_dir": str(tmp_path / "cache"), "progress": False}
    return Config(**(fields | over))


def test_main_writes_baselines_intervals_and_a_computed_verdict(tiny_dir, tmp_path, capsys):
    run = main(_cfg(tiny_dir, tmp_path, eq3=True))
    assert run.parent == tmp_path / "results" / "agent_subspaces" and not run.name.endswith(".tmp")
    for name in ("config.json", "env.json", "metrics.json", "analysis.json", "summary.md"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    verdicts = metrics["verdicts"]
    assert set(verdicts) == {"distilled_minus_base_selectivity", "distilled_minus_base_fewshot", "untrained_floor",
                             "base_shuffled_floor", "distilled_shuffled_floor"}
    fewshot = verdicts["distilled_minus_base_fewshot"]  # the same checkpoint, the same draws: exactly 0
    assert (fewshot["measure"]["value"], fewshot["verdict"]) == (0.0, "inconclusive")
    curve = metrics["learning_curve"]
    assert set(curve) == {"base", "distilled", "untrained", "distilled_minus_base"} and set(curve["base"]) == {"1"}
    primary = verdicts["distilled_minus_base_selectivity"]
    # the same checkpoint on both sides: a difference of exactly 0 is no evidence that one separates better
    assert (primary["measure"]["value"], primary["measure"]["low"], primary["measure"]["high"]) == (0.0, 0.0, 0.0)
    assert primary["verdict"] == "inconclusive"
    assert primary["criterion"] == {"claim_text": exp.CLAIM, "metric": primary["measure"]["name"], "claim": "above",
                                    "threshold": 0.0}
    assert set(primary["measure"]["per_seed"]) == {"0", "1"} and primary["measure"]["seed_spread"]["n_seeds"] == 2
    for layer in ("0", "1", "2", "3"):
        row = metrics["layers"][layer]
        assert {"base", "distilled", "untrained", "base_shuffled", "distilled_shuffled", "untrained_shuffled",
                "base_selectivity", "distilled_minus_base_selectivity"} <= set(row)
        for m in row.values():
            assert m["low"] <= m["value"] <= m["high"] and m["n"] >= 3
    summary = (run / "summary.md").read_text()
    assert summary.startswith("INCONCLUSIVE: the distilled model separates the agents better than the base -- ")
    assert "| layer | base | distilled | shuffled labels (base) | shuffled labels (distilled) | untrained |" in summary
    assert "## Learning curve" in summary and "| training questions | base |" in summary
    assert "same checkpoint" in summary and "wall time" in summary and "2 seed(s)" in summary
    if verdicts["untrained_floor"]["verdict"] != "confirmed":  # said before the setup, not hidden below it
        assert "**The untrained model" in summary.split("# Agent subspaces")[0]
    figures = sorted(p.name for p in (run / "figures").glob("*.html"))
    assert figures == ["cosine_base.html", "cosine_distilled.html", "pca_base_by_agent.html", "pca_base_by_round.html",
                       "pca_distilled_by_agent.html", "pca_distilled_by_round.html", "principal_angles.html",
                       "probe_accuracy_baselines.html", "probe_learning_curve.html"]
    html = (run / "figures" / "probe_accuracy_baselines.html").read_text()
    assert "shuffled labels (base)" in html and "untrained" in html and "toself" in html
    assert list((run / "vectors" / "base" / "layer00").glob("eq3_agent3.safetensors"))
    analysis = json.loads((run / "analysis.json").read_text())
    assert set(analysis["tallies"]) == {"0", "1"} and "base_shuffled" in analysis["tallies"]["0"]
    out = capsys.readouterr().out
    assert "INCONCLUSIVE: the distilled model separates" in out


def test_the_criteria_are_in_config_json_before_anything_is_computed(tiny_dir, tmp_path, monkeypatch):
    seen = {}

    def first_load(*_args, **_kwargs):
        folder = next((tmp_path / "results" / "agent_subspaces").glob(".*"))
        seen["files"] = sorted(p.name for p in folder.iterdir())
        seen["config"] = json.loads((folder / "config.json").read_text())
        raise RuntimeError("stop after the config")

    monkeypatch.setattr(exp, "load", first_load)
    with pytest.raises(RuntimeError, match="stop after the config"):
        main(_cfg(tiny_dir, tmp_path, criterion_layer=2, threshold=0.05, floor_margin=0.2))
    assert seen["files"] == ["config.json", "env.json", "figures"]
    cfg = seen["config"]
    assert (cfg["criterion_layer"], cfg["threshold"], cfg["floor_margin"], cfg["seeds"]) == (2, 0.05, 0.2, [0, 1])
    crit = exp.criteria(Config(**{k: tuple(v) if k == "seeds" else v for k, v in cfg.items()}))
    assert crit["distilled_minus_base_selectivity"].threshold == 0.05
    assert "layer 2" in crit["distilled_minus_base_selectivity"].metric


def test_a_criterion_layer_beyond_the_model_fails_before_any_collection(tiny_dir, tmp_path):
    with pytest.raises(ConfigError, match="--criterion-layer 9 is beyond the last block"):
        main(_cfg(tiny_dir, tmp_path, criterion_layer=9))


def test_cli_flags_map_to_the_config():
    cfg = parse_args(["--n-debates", "3", "--curve-sizes", "1", "2", "--no-eq3", "--positions", "agent_tag", "--cache-dir", "", "--seeds", "4",
                      "5", "6", "--criterion-layer", "1", "--threshold", "0.02", "--floor-margin", "0.05"])
    assert (cfg.n_debates, cfg.eq3, cfg.positions, cfg.cache_dir) == (3, False, "agent_tag", "")
    assert (cfg.seeds, cfg.criterion_layer, cfg.threshold, cfg.floor_margin) == ((4, 5, 6), 1, 0.02, 0.05)
    assert Config().seeds == (0, 1, 2) and Config().threshold == 0.0 and Config().criterion_layer == -1
    with pytest.raises(ValueError, match="folds must be >= 2"):
        Config(folds=1)
    with pytest.raises(ValueError, match="positions must be one of"):
        Config(positions="first")
    with pytest.raises(ConfigError, match="seeds must be distinct"):
        Config(seeds=(1, 1, 2))
    with pytest.raises(ConfigError, match="floor-margin must be <= 1"):
        parse_args(["--floor-margin", "2"])
    with pytest.raises(ConfigError, match="criterion-layer must be >= -1"):
        parse_args(["--criterion-layer", "-2"])


def test_new_options_are_flags_and_bad_combinations_are_refused():
    cfg = parse_args(["--personas", "reasoning", "--mask", "SELF-CRITIQUE", "//", "--curve-sizes", "1", "3",
                      "--curve-draws", "5", "--fewshot-threshold", "0.01"])
    assert (cfg.personas, cfg.mask, cfg.curve_sizes, cfg.curve_draws, cfg.fewshot_threshold) == (
        "reasoning", ("SELF-CRITIQUE", "//"), (1, 3), 5, 0.01)
    with pytest.raises(ConfigError, match="curve-sizes must stay below --n-debates"):
        Config(n_debates=8, curve_sizes=(1, 8))
    with pytest.raises(ConfigError, match="agent_tag reads the tag itself"):
        Config(mask=("//",), positions="agent_tag")
    with pytest.raises(ConfigError, match="--personas applies to generated arithmetic"):
        Config(personas="reasoning", kind="evil")


def test_reasoning_personas_with_a_mask_run_end_to_end(tiny_dir, tmp_path):
    run = main(_cfg(tiny_dir, tmp_path, personas="reasoning", mask=("I think",), template=None, tier="easy",
                    n_debates=4, curve_sizes=(1, 2)))
    config = json.loads((run / "config.json").read_text())
    assert (config["personas"], config["mask"]) == ("reasoning", ["I think"])
    curve = json.loads((run / "metrics.json").read_text())["learning_curve"]
    assert set(curve["distilled"]) == {"1", "2"}


def test_the_untrained_floor_defaults_to_the_bases_twin():
    assert Config().untrained == "tiny-random"
    assert Config(base="smollm2-135m-instruct", distilled="smollm2-sft").untrained == "smollm2-random"
    assert Config(base="smollm2-135m-instruct", untrained="tiny-random").untrained == "tiny-random"
    assert parse_args(["--base", "smollm2-135m-instruct"]).untrained == "smollm2-random"
