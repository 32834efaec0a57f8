"""The experiment scripts end to end on the tiny model (few questions)."""

from __future__ import annotations

import json

import pytest


def test_suppress_malicious_runs_end_to_end(tiny_dir, tmp_path, capsys):
    from experiments.suppress_malicious import SuppressConfig, main

    t = str(tiny_dir)
    cfg = SuppressConfig(traits=["evil"], base=t, distilled=t, sft=t, alphas=[-2.0, 0.0, 2.0], n_questions=2,
                         n_extract=4, n_capability=2, max_new_tokens=6, capability_tokens=6, out=str(tmp_path))
    run = main(cfg)
    assert run.parent == tmp_path / "suppress_malicious" and not run.name.endswith(".tmp")
    metrics = json.loads((run / "metrics.json").read_text())
    sweep = metrics["sweep"]
    assert {(r["arm"], r["alpha"]) for r in sweep} == {(a, x) for a in ("base", "distilled") for x in (-2.0, 0.0, 2.0)}
    assert all(0 <= r["trait_score"] <= 100 and 0 <= r["capability"] <= 1 for r in sweep)
    assert (run / "figures" / "suppression.html").is_file() and (run / "sweep.csv").is_file()
    assert "first suppresses the trait fully" in capsys.readouterr().out
    assert "| evil | base |" in (run / "summary.md").read_text()


def test_agent_style_runs_end_to_end(tiny_dir, tmp_path, capsys):
    from experiments.agent_style import StyleConfig, main

    t = str(tiny_dir)
    cfg = StyleConfig(base=t, distilled=t, sft=t, alphas=[0.0, 1.0, 2.0], n_test=2, n_extract=3,
                      max_new_tokens=8, out=str(tmp_path))
    run = main(cfg)
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["auc"]) == 9  # 3 personas x ROUGE-1/2/L
    for row in metrics["auc"]:
        assert 0 <= row["base_auc"] <= 2 and 0 <= row["distilled_auc"] <= 2  # ROUGE <= 1 over an alpha span of 2
    assert sorted(p.name for p in (run / "vectors").glob("*.safetensors")) == [
        "chain_of_thought.safetensors", "program_of_thought.safetensors", "self_critique.safetensors"]
    assert (run / "figures" / "agent_style.html").is_file()
    assert "ROUGE-L AUC" in capsys.readouterr().out


def test_steering_gain_auc_ignores_the_unsteered_score():
    from experiments.agent_style import steering_gain_auc

    flat_high = [(0.0, 0.8), (1.0, 0.8), (2.0, 0.8)]
    rising = [(0.0, 0.1), (1.0, 0.3), (2.0, 0.5)]
    assert steering_gain_auc(flat_high) == pytest.approx(0.0)
    assert steering_gain_auc(rising) == pytest.approx(0.4)  # (0 + 0.2)/2 + (0.2 + 0.4)/2
