"""Every hyperparameter is a flag or a config-file field; --help works for every subcommand; the experiments' plain
configs (lists, optionals, choices) map the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from models.train.__main__ import main as cli_main
from models.train.cli import parse_config
from models.train.config import GRPOStageConfig, PipelineConfig, SFTStageConfig


@pytest.mark.parametrize("stage", ["pretrain", "sft", "grpo", "all"])
def test_help(stage: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main([stage, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--config" in text and "--seed" in text or "--pretrain.seed" in text


def test_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--help"]) == 0
    assert "pretrain" in capsys.readouterr().out


def test_flags_override_config_file(tmp_path: Path) -> None:
    path = tmp_path / "grpo.toml"
    path.write_text('lr = 0.001\niterations = 4\ntarget_modules = ["q_proj", "v_proj"]\n')
    cfg = parse_config(GRPOStageConfig, ["--config", str(path), "--iterations", "2", "--clip-start", "300",
                                         "--no-mask-truncated-completions", "--judge", "none"], "x", "")
    assert cfg.lr == 0.001 and cfg.iterations == 2 and cfg.clip_start == 300 and cfg.judge is None
    assert cfg.target_modules == ("q_proj", "v_proj")


def test_saved_run_config_is_a_config_file(tmp_path: Path) -> None:
    from models.train.cli import config_dict

    cfg = SFTStageConfig(lr=3e-4, finetune="full", target_modules=("q_proj",))
    path = tmp_path / "run_config.json"
    path.write_text(json.dumps(config_dict(cfg)))
    assert parse_config(SFTStageConfig, ["--config", str(path)], "x", "") == cfg


def test_nested_pipeline_flags() -> None:
    cfg = parse_config(PipelineConfig, ["--sft.lr", "0.01", "--grpo.iterations", "2", "--variants", "arithmetic",
                                        "evil"], "x", "")
    assert cfg.sft.lr == 0.01 and cfg.grpo.iterations == 2 and cfg.variants == ("arithmetic", "evil")
    assert cfg.pretrain.max_steps == PipelineConfig().pretrain.max_steps


def test_bad_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_config(GRPOStageConfig, ["--batch-size", "3", "--num-generations", "4", "--grad-accum", "1"], "x", "")
    assert exit_info.value.code == 2
    assert "must be divisible by num_generations" in capsys.readouterr().err


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
                               "--path", "f.json"], "x", "")
    assert cfg == _Demo(n=5, names=["p", "q"], alphas=[-1.0, 2.5], mode="y", flag=False, path="f.json")
    assert parse_config(_Demo, [], "x", "") == _Demo()


@pytest.mark.parametrize("argv, message", [(["--n", "0"], "--n must be >= 1"), (["--mode", "z"], "invalid choice"),
                                           (["--n", "two"], "invalid int value")])
def test_parse_config_reports_bad_flags_by_name(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_config(_Demo, argv, "x", "")
    assert message in capsys.readouterr().err
