"""python -m models.train (models/train/__main__.py): help per stage, one-line errors with exit code 2."""

from __future__ import annotations

import pytest

from models.errors import ConfigError
from models.train.__main__ import main as cli_main


@pytest.mark.parametrize("stage", ["pretrain", "sft", "grpo", "all"])
def test_help(stage: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main([stage, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--config" in text and ("--pretrain.*" if stage == "all" else "--seed") in text
    if stage == "all":  # the nested stages' flags are listed by --help-all, not by the short --help
        assert "--pretrain.seed" not in text
        with pytest.raises(SystemExit):
            cli_main([stage, "--help-all"])
        assert "--pretrain.seed" in capsys.readouterr().out

def test_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--help"]) == 0
    assert "pretrain" in capsys.readouterr().out

def test_stage_cli_prints_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["sft", "--max-steps", "-5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --max-steps must be >= -1")
    assert cli_main(["sfx"]) == 2
    assert "unknown stage 'sfx'" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        cli_main(["sft", "--max-steps", "-5", "--debug"])
