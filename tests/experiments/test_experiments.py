"""The experiment scripts end to end on the tiny model (few questions), and their shared CLI builder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from experiments._cli import parse_config


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


@dataclass
class _Demo:
    n: int = field(default=3, metadata={"help": "count"})
    names: list[str] = field(default_factory=lambda: ["a"], metadata={"help": "names"})
    alphas: list[float] = field(default_factory=lambda: [0.0], metadata={"help": "alphas"})
    mode: str = field(default="x", metadata={"help": "mode", "choices": ["x", "y"]})
    flag: bool = field(default=True, metadata={"help": "switch"})
    path: str | None = field(default=None, metadata={"help": "optional path"})

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"--n must be >= 1, got {self.n}")


def test_parse_config_maps_every_field_to_a_flag():
    cfg = parse_config(_Demo, ["--n", "5", "--names", "p", "q", "--alphas", "-1", "2.5", "--mode", "y", "--no-flag",
                               "--path", "f.json"])
    assert cfg == _Demo(n=5, names=["p", "q"], alphas=[-1.0, 2.5], mode="y", flag=False, path="f.json")
    assert parse_config(_Demo, []) == _Demo()


@pytest.mark.parametrize("argv, message", [(["--n", "0"], "--n must be >= 1"), (["--mode", "z"], "invalid choice"),
                                           (["--n", "two"], "invalid int value")])
def test_parse_config_reports_bad_flags_by_name(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_config(_Demo, argv)
    assert message in capsys.readouterr().err


def test_steering_gain_auc_ignores_the_unsteered_score():
    from experiments.agent_style import steering_gain_auc

    flat_high = [(0.0, 0.8), (1.0, 0.8), (2.0, 0.8)]
    rising = [(0.0, 0.1), (1.0, 0.3), (2.0, 0.5)]
    assert steering_gain_auc(flat_high) == pytest.approx(0.0)
    assert steering_gain_auc(rising) == pytest.approx(0.4)  # (0 + 0.2)/2 + (0.2 + 0.4)/2
