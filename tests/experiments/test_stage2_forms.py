"""experiments/stage2_forms.py on the shipped tiny-sft: a few validation problems, proven outside the held-out set."""

from __future__ import annotations

import json
from pathlib import Path

from experiments import stage2_forms as forms


def test_stage2_forms_writes_every_form_with_cis_on_validation_problems(tmp_path: Path) -> None:
    from models.debate.format import CONSENSUS_TAG
    from models.debate.splits import heldout_problems, problem_key

    folder = forms.main(forms.FormsConfig(n=3, max_new_tokens=64, batch_size=4, threads=1, progress=False,
                                          out=str(tmp_path)))
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["forms"]) == {"whole transcript", "consensus after Agent 1", "consensus after Agent 2"}
    assert all(f["n"] == 3 and f["accuracy"]["low"] <= f["accuracy"]["value"] <= f["accuracy"]["high"]
               for f in metrics["forms"].values())
    assert set(metrics["vs_whole"]) == {"consensus after Agent 1", "consensus after Agent 2"}
    assert 0 <= metrics["next_tag_after_agent_1"][CONSENSUS_TAG] <= 1
    splits = json.loads((folder / "splits.json").read_text())
    assert splits["problems"] == "validation" and splits["checked"]["pairs_compared"] == 2
    rows = [json.loads(line) for line in (folder / "rows.jsonl").read_text().splitlines()]
    held = {problem_key(p.question) for p in heldout_problems("easy", 500, 0)}
    assert len(rows) == 9 and not {problem_key(r["question"]) for r in rows} & held
    summary = (folder / "summary.md").read_text()
    assert summary.startswith("Ending at the consensus after Agent 1 scores") and "McNemar" in summary
    tag_rows = [line for line in summary.splitlines() if line.startswith("| Consensus |")]
    assert len(tag_rows) == 1 and tag_rows[0].count("|") == 3  # the tag's own "|" does not split the cell
    assert (folder / "figures" / "forms.html").is_file() and (folder / "report.html").is_file()


def test_stage2_forms_help_names_its_flags(capsys) -> None:
    import pytest

    from models.cli import parse_config

    with pytest.raises(SystemExit) as exit_:
        parse_config(forms.FormsConfig, ["--help"], "experiments/stage2_forms.py", forms.__doc__)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--problems" in out and "--temperature" in out and "validation" in out
