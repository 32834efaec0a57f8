"""models.train.data: Stage-1 files without the debate tags are refused with the file and row named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.train.data import TrainDataError, read_sft_file


def test_sft_data_without_tags_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"prompt": "Problem: 1+1\n\n", "completion": "Agent 1 says 2. \\boxed{2}"}) + "\n")
    with pytest.raises(TrainDataError, match=r"plain.jsonl row 0: the completion has none of the debate tags"):
        read_sft_file(plain)
    schema = tmp_path / "debates.json"
    schema.write_text(json.dumps([{"question": "1+1", "debate_trace": "Agent 1: 2", "gold_answer": "2"}]))
    with pytest.raises(TrainDataError, match="needs the tags"):
        read_sft_file(schema)
    with pytest.raises(TrainDataError, match="does not exist"):
        read_sft_file(tmp_path / "missing.json")
