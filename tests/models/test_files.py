"""models.files: whole-or-nothing writes with unique temp names, and reads that name the file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from models.errors import FileFormatError
from models.files import (
    atomic_folder, is_temp_name, load_tensors, parse_json, read_json, read_object, sweep_stale, temp_sibling,
    write_json, write_tensors, write_text,
)


def test_temp_names_are_unique_hidden_siblings(tmp_path: Path) -> None:
    a, b = temp_sibling(tmp_path / "x.json"), temp_sibling(tmp_path / "x.json")
    assert a != b and a.parent == tmp_path and is_temp_name(a) and str(os.getpid()) in a.name
    assert not is_temp_name(tmp_path / "x.json")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = write_text(tmp_path / "a.txt", "old")

    def half_then_fail(self: Path, text: str, encoding: str = "utf-8") -> int:
        with open(self, "w", encoding=encoding) as f:
            f.write(text[:2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_text(target, "new content")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_json_refuses_to_write_nan(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="non-finite"):
        write_json(tmp_path / "m.json", {"x": float("nan")})
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("text, message", [
    ('{"a": NaN}', "NaN"), ('{"a": Infinity}', "Infinity"), ('{"a": 1,}', "not valid JSON"),
    ('{"a": 1, "a": 2}', "repeats key"), ("[" * 500, "nested more than"), ("[" + "1" * 5000 + "]", "cannot be read"),
])
def test_bad_json_is_named(text: str, message: str) -> None:
    with pytest.raises(FileFormatError, match=message) as info:
        parse_json(text, "cfg.json")
    assert "cfg.json" in str(info.value)


def test_reads_skip_a_bom_and_refuse_folders_fifos_and_other_types(tmp_path: Path) -> None:
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}')
    assert read_object(tmp_path / "bom.json") == {"a": 1}
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(FileFormatError, match="must hold a JSON object"):
        read_object(tmp_path / "list.json")
    with pytest.raises(FileFormatError, match="is a folder"):
        read_json(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FileFormatError, match="FIFO"):  # refused without opening, so it cannot hang
        read_json(tmp_path / "pipe")
    (tmp_path / "latin.json").write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(FileFormatError, match="not UTF-8"):
        read_json(tmp_path / "latin.json")


def test_tensors_round_trip_and_truncation_or_nan_is_named(tmp_path: Path) -> None:
    path = write_tensors(tmp_path / "t.safetensors", {"w": torch.arange(6.0).reshape(2, 3)})
    assert torch.equal(load_tensors(path)["w"], torch.arange(6.0).reshape(2, 3))
    data = path.read_bytes()
    for cut in (3, 20, len(data) - 1):
        (tmp_path / "cut.safetensors").write_bytes(data[:cut])
        with pytest.raises(FileFormatError, match="cut.safetensors"):
            load_tensors(tmp_path / "cut.safetensors")
    write_tensors(tmp_path / "nan.safetensors", {"w": torch.tensor([1.0, float("nan")])})
    with pytest.raises(FileFormatError, match="'w' holds NaN"):
        load_tensors(tmp_path / "nan.safetensors")
    assert load_tensors(tmp_path / "nan.safetensors", finite=False)["w"].shape == (2,)


def test_atomic_folder_publishes_whole_or_not_at_all(tmp_path: Path) -> None:
    final = tmp_path / "ckpt"
    with pytest.raises(RuntimeError):
        with atomic_folder(final) as tmp:
            (tmp / "a").write_text("1")
            raise RuntimeError("killed")
    assert not final.exists() and not list(tmp_path.iterdir())
    with atomic_folder(final) as tmp:
        (tmp / "a").write_text("1")
    with atomic_folder(final) as tmp:  # replace=True swaps in the new folder
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in final.iterdir()) == ["b"]
    with atomic_folder(final, replace=False) as tmp:  # an existing folder wins; ours is discarded
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in final.iterdir()) == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_sweep_stale_removes_only_old_temp_names_of_gone_writers(tmp_path: Path) -> None:
    old_file = tmp_path / ".a.json.tmp-99999999-0badc0de"  # a pid beyond pid_max: its writer is gone
    young_dir, live_old = temp_sibling(tmp_path / "run"), temp_sibling(tmp_path / "b.json")  # this process
    old_file.write_text("x")
    live_old.write_text("z")
    young_dir.mkdir()
    keep = tmp_path / "a.json"
    keep.write_text("y")
    past = time.time() - 7 * 3600
    for p in (old_file, keep, live_old):
        os.utime(p, (past, past))
    assert sweep_stale(tmp_path) == [old_file]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([keep.name, young_dir.name, live_old.name])


def test_tensors_can_be_read_by_name_leaving_the_others_on_disk(tmp_path: Path) -> None:
    path = write_tensors(tmp_path / "t.safetensors", {"a": torch.ones(2), "b": torch.tensor([float("nan")])})
    assert list(load_tensors(path, names=["a"])) == ["a"]  # b's NaN is not read, so not refused
    with pytest.raises(FileFormatError, match="'b' holds NaN"):
        load_tensors(path, names=["a", "b"])
    with pytest.raises(FileFormatError, match=r"no tensor\(s\) \['c'\]"):
        load_tensors(path, names=["c"])
