"""The agent-subspaces experiment end to end on the tiny model, and its figures."""

from __future__ import annotations

import json

import pytest

from experiments.agent_subspaces import Config, main, parse_args


def test_main_writes_a_complete_results_folder(tiny_dir, tmp_path):
    cfg = Config(base=str(tiny_dir), distilled=str(tiny_dir), n_debates=4, template="a*b", folds=2, pca_k=2,
                 out_dir=str(tmp_path / "results"), cache_dir=str(tmp_path / "cache"), progress=False)
    run = main(cfg)
    assert run.parent == tmp_path / "results" / "agent_subspaces" and not run.name.endswith(".tmp")
    for name in ("config.json", "env.json", "metrics.json", "analysis.json", "summary.md"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    for side in ("base", "distilled"):
        assert 0.0 <= metrics[side]["best_agent_probe_accuracy"] <= 1.0
        assert "held-out 3-way agent-identity accuracy" in metrics[side]["criterion"]
    assert metrics["distilled_separates_agents_better"] is False  # same checkpoint on both sides
    angles = metrics["principal_angles_deg_by_layer"]["blocks.0.hook_resid_post"]["pca_joint"]
    assert max(angles) < 1e-3
    figures = sorted(p.name for p in (run / "figures").glob("*.html"))
    assert figures == ["cosine_base.html", "cosine_distilled.html", "pca_base_by_agent.html", "pca_base_by_round.html",
                       "pca_distilled_by_agent.html", "pca_distilled_by_round.html", "principal_angles.html",
                       "probe_accuracy_agent.html"]
    html = (run / "figures" / "probe_accuracy_agent.html").read_text()
    assert "Held-out probe accuracy for 3-way agent identity" in html and "plotly.min.js" in html
    assert list((run / "vectors" / "base" / "layer00").glob("eq3_agent3.safetensors"))
    summary = (run / "summary.md").read_text()
    assert "| base (" in summary and "same checkpoint" in summary


def test_cli_flags_map_to_the_config():
    cfg = parse_args(["--n-debates", "3", "--no-eq3", "--positions", "agent_tag", "--cache-dir", ""])
    assert (cfg.n_debates, cfg.eq3, cfg.positions, cfg.cache_dir) == (3, False, "agent_tag", "")
    with pytest.raises(ValueError, match="folds must be >= 2"):
        Config(folds=1)
    with pytest.raises(ValueError, match="positions must be one of"):
        Config(positions="first")
