"""models.cli: dataclass configs from flags and config files, every bad value a ConfigError naming flag or file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from models.cli import check_fields, config_dict, option, parse_config
from models.errors import ConfigError
from models.train.config import GRPOStageConfig, PipelineConfig, SFTStageConfig


def test_flags_override_config_file(tmp_path: Path) -> None:
    path = tmp_path / "grpo.toml"
    path.write_text('lr = 0.001\niterations = 4\ntarget_modules = ["q_proj", "v_proj"]\n')
    cfg = parse_config(GRPOStageConfig, ["--config", str(path), "--iterations", "2", "--clip-start", "300",
                                         "--no-mask-truncated-completions", "--judge", "none"], "x", "")
    assert cfg.lr == 0.001 and cfg.iterations == 2 and cfg.clip_start == 300 and cfg.judge is None
    assert cfg.target_modules == ("q_proj", "v_proj")

def test_saved_run_config_is_a_config_file(tmp_path: Path) -> None:
    cfg = SFTStageConfig(lr=3e-4, finetune="full", target_modules=("q_proj",))
    path = tmp_path / "run_config.json"
    path.write_text(json.dumps(config_dict(cfg)))
    assert parse_config(SFTStageConfig, ["--config", str(path)], "x", "") == cfg

def test_nested_pipeline_flags() -> None:
    cfg = parse_config(PipelineConfig, ["--sft.lr", "0.01", "--grpo.iterations", "2", "--variants", "arithmetic",
                                        "evil"], "x", "")
    assert cfg.sft.lr == 0.01 and cfg.grpo.iterations == 2 and cfg.variants == ("arithmetic", "evil")
    assert cfg.pretrain.max_steps == PipelineConfig().pretrain.max_steps

def test_a_nested_flag_edits_the_fields_default_not_the_bare_class() -> None:
    """Regression: ``--sft.n 4`` rebuilt ``sft`` from SFTStageConfig() and dropped the pipeline's tiny settings
    (full fine-tuning, its learning rate); the adapters command trained the tiny base at rank 64 that way."""
    default = PipelineConfig().sft
    cfg = parse_config(PipelineConfig, ["--sft.n", "4"], "p", "d")
    assert cfg.sft.n == 4 and cfg.sft.finetune == default.finetune == "full" and cfg.sft.lr == default.lr


def test_bad_combination_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="must be divisible by num_generations"):
        parse_config(GRPOStageConfig, ["--batch-size", "3", "--num-generations", "4", "--grad-accum", "1"], "x", "")

@pytest.mark.parametrize("argv, message", [
    (["--max-steps", "-5"], "--max-steps must be >= -1, got -5"),
    (["--max-steps", "0"], "max_steps must be -1 (run the epochs) or >= 1, got 0"),
    (["--seed", "1.5"], "--seed must be an integer, got 1.5"),
    (["--seed", "-1"], "--seed must be >= 0"),
    (["--n", "-3"], "--n must be >= 0, got -3"),
    (["--lr", "nan"], "--lr must be a finite number"),
    (["--lr", "0"], "--lr must be > 0.0"),
    (["--error-rate", "1.5"], "--error-rate must be <= 1.0"),
    (["--finetune", "qlora"], "argument --finetune: invalid choice: 'qlora'"),
    (["--max-step", "3"], "did you mean --max-steps"),
    (["--epochs", "x"], "argument --epochs: expected a number, got 'x'"),
])
def test_bad_flags_are_config_errors_naming_the_flag(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(SFTStageConfig, argv, "x", "")
    assert message in str(info.value)

def test_integral_float_is_an_int(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"seed": 2.0, "max_steps": 7}')
    cfg = parse_config(SFTStageConfig, ["--config", str(path), "--n", "4.0"], "x", "")
    assert (cfg.seed, type(cfg.seed), cfg.n, type(cfg.n), cfg.max_steps) == (2, int, 4, int, 7)

@pytest.mark.parametrize("text, suffix, message", [
    ('{"seed": 1.5}', ".json", "seed must be an integer, got 1.5 (in "),
    ('{"seed": "3"}', ".json", "seed must be an integer, got '3' (in "),
    ('{"progress": "yes"}', ".json", "progress must be true or false"),
    ('{"target_modules": "q_proj"}', ".json", "target_modules must be a list"),
    ('{"sft": {"lr": -1}}', ".json", "unknown SFTStageConfig field(s)"),
    ('{"max_steps": -7}', ".json", "max_steps must be >= -1, got -7 (in "),
    ('{"seed": 1,}', ".json", "not valid JSON at line 1"),
    ("seed = = 1", ".toml", "not valid TOML"),
    ("seed = nan", ".toml", "seed must be an integer"),
    ("lr = inf", ".toml", "lr must be a finite number"),
    ("[1, 2]", ".json", "must hold an object"),
    ("seed: 1", ".yaml", "expected a .json or .toml file"),
])
def test_bad_config_files_are_config_errors_naming_the_file(tmp_path: Path, text: str, suffix: str,
                                                              message: str) -> None:
    path = tmp_path / f"cfg{suffix}"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        parse_config(SFTStageConfig, ["--config", str(path)], "x", "")
    assert message in str(info.value) and str(path) in str(info.value)

def test_config_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"lr": 0.5}).encode())
    assert parse_config(SFTStageConfig, ["--config", str(path)], "x", "").lr == 0.5

def test_nested_file_values_name_the_nested_field(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[sft]\nbatch_size = 0\n")
    with pytest.raises(ConfigError, match=r"sft.batch_size must be >= 1, got 0 \(in .*p.toml\)"):
        parse_config(PipelineConfig, ["--config", str(path)], "x", "")
    with pytest.raises(ConfigError, match=r"--grpo.num-generations must be >= 2, got 1"):
        parse_config(PipelineConfig, ["--grpo.num-generations", "1"], "x", "")

@dataclass
class _Demo:
    n: int = option("count", 3, min=1)
    names: list[str] = option("names", default_factory=lambda: ["a"])
    alphas: list[float] = field(default_factory=lambda: [0.0], metadata={"help": "alphas"})
    mode: str = option("mode", "x", choices=["x", "y"])
    flag: bool = option("switch", True)
    path: str | None = option("optional path", None)

    def __post_init__(self) -> None:
        check_fields(self)

def test_parse_config_maps_every_field_to_a_flag():
    cfg = parse_config(_Demo, ["--n", "5", "--names", "p", "q", "--alphas", "-1", "2.5", "--mode", "y", "--no-flag",
                               "--path", "f.json"], "x", "")
    assert cfg == _Demo(n=5, names=["p", "q"], alphas=[-1.0, 2.5], mode="y", flag=False, path="f.json")
    assert parse_config(_Demo, [], "x", "") == _Demo()

@pytest.mark.parametrize("argv, message", [(["--n", "0"], "--n must be >= 1"), (["--mode", "z"], "invalid choice"),
                                           (["--n", "two"], "--n: expected an integer, got 'two'"),
                                           (["--alphas", "1", "inf"], "--alphas item 1 must be a finite number")])
def test_parse_config_reports_bad_flags_by_name(argv, message):
    with pytest.raises(ConfigError) as info:
        parse_config(_Demo, argv, "x", "")
    assert message in str(info.value)

def test_option_refuses_unknown_range_keys() -> None:
    with pytest.raises(TypeError, match="unknown range key"):
        option("x", 1, minimum=0)


def test_no_progress_also_silences_the_libraries_bars() -> None:
    """``--no-progress`` left transformers' 'Loading weights' bars on; now it turns them off too."""
    import dataclasses

    from transformers.utils import logging as hf_logging

    from models.cli import option, run

    @dataclasses.dataclass
    class Cfg:
        progress: bool = option("bars", True)

    seen = []
    try:
        assert run(lambda cfg: seen.append(hf_logging.is_progress_bar_enabled()), Cfg, ["--progress"], prog="x") == 0
        assert run(lambda cfg: seen.append(hf_logging.is_progress_bar_enabled()), Cfg, ["--no-progress"], prog="x") == 0
    finally:
        hf_logging.enable_progress_bar()
    assert seen == [True, False]


def test_help_is_short_and_help_all_lists_the_nested_flags(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        parse_config(PipelineConfig, ["--help"], "train", "")
    short = capsys.readouterr().out
    assert info.value.code == 0 and "--help-all" in short and "--sft.*" in short and "--sft.lr" not in short
    with pytest.raises(SystemExit):
        parse_config(PipelineConfig, ["--help-all"], "train", "")
    full = capsys.readouterr().out
    assert "--sft.lr" in full and "--grpo.beta" in full and len(full.splitlines()) > 5 * len(short.splitlines())
    assert parse_config(PipelineConfig, ["--sft.lr", "0.002"], "train", "").sft.lr == 0.002  # hidden, still parsed


def test_a_typo_in_a_flag_names_the_close_match() -> None:
    with pytest.raises(ConfigError, match=r"--sft.lrr 3 \(did you mean --sft.lr\?\)"):
        parse_config(PipelineConfig, ["--sft.lrr", "3"], "train", "")
