"""models.files: whole-or-nothing durable writes with unique temp names, full disks and locks between processes,
and reads that name the file."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest
import torch

from models.errors import DiskFullError, FileFormatError
from models.files import (
    LOCKS_ENV, EntryLock, atomic_folder, is_disk_full, is_temp_name, load_tensors, lock_path, parse_json, read_json,
    read_object, sweep_stale, temp_sibling, write_json, write_tensors, write_text,
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


# --------------------------------------------------------------------------- durability

def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


def test_every_write_fsyncs_the_file_before_its_rename_and_the_folder_after(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", _fd_path(fd))), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", f"{a} -> {b}")), real_replace(a, b))[1])
    for write in (lambda p: write_text(p, "x"), lambda p: write_json(p, {"a": 1}),
                  lambda p: write_tensors(p, {"w": torch.ones(2)})):
        events.clear()
        target = write(tmp_path / f"f{len(list(tmp_path.iterdir()))}")
        (kind1, synced), (kind2, renamed), (kind3, folder) = events
        assert (kind1, kind2, kind3) == ("fsync", "replace", "fsync")
        assert renamed == f"{synced} -> {target}" and is_temp_name(Path(synced)) and folder == str(tmp_path)
    events.clear()
    with atomic_folder(tmp_path / "entry") as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "a").write_text("1")
        (tmp / "b").write_text("2")
    synced = [p for kind, p in events if kind == "fsync"]
    assert [k for k, _ in events][-2:] == ["replace", "fsync"] and synced[-1] == str(tmp_path)
    assert {Path(p).name for p in synced[:-1]} >= {"a", "b", "sub", tmp.name}  # every file and folder, before


@pytest.mark.parametrize("stage", ["write", "fsync", "rename"])
@pytest.mark.parametrize("writer", ["write_text", "write_json", "write_tensors", "atomic_folder"])
def test_a_full_disk_is_a_named_error_that_leaves_the_old_file_and_no_temp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str, stage: str) -> None:
    import safetensors.torch
    from safetensors import SafetensorError

    from models import files

    target = tmp_path / ("entry" if writer == "atomic_folder" else "out")
    write = {
        "write_text": lambda: write_text(target, "y" * 5000),
        "write_json": lambda: write_json(target, {"y": "y" * 5000}),
        "write_tensors": lambda: write_tensors(target, {"w": torch.zeros(1250)}),
        "atomic_folder": lambda: _fill_folder(target),
    }[writer]
    write()
    before = _snapshot(tmp_path)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if stage == "write" and writer == "write_tensors":  # safetensors' own writer says it in its own error type
        def rust_full(tensors: object, filename: str, metadata: object = None) -> None:
            Path(filename).write_bytes(b"\x08\x00\x00")
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        monkeypatch.setattr(safetensors.torch, "save_file", rust_full)
    elif stage == "write":
        real = Path.write_text

        def half_then_full(self: Path, text: str, *args: object, **kwargs: object) -> int:
            real(self, text[: len(text) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(Path, "write_text", half_then_full)
    else:
        monkeypatch.setattr(files.os, "fsync" if stage == "fsync" else "replace", full)
    with pytest.raises(DiskFullError) as info:
        write()
    monkeypatch.undo()
    err = info.value
    assert isinstance(err, OSError) and err.errno == errno.ENOSPC and err.path == str(target)
    assert str(target) in str(err) and "No space left on device" in str(err) and "bytes" in str(err)
    assert err.needed is not None and err.needed >= (1 if writer == "atomic_folder" else 5000)
    assert err.free is not None and err.free > 0
    assert _snapshot(tmp_path) == before  # the old content is whole and nothing else is there


def _fill_folder(target: Path) -> None:
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("y" * 5000)


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def test_is_disk_full_sees_through_wrappers_and_library_errors() -> None:
    try:
        try:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        except OSError as inner:
            raise RuntimeError("saving failed") from inner
    except RuntimeError as outer:
        assert is_disk_full(outer)
    assert is_disk_full(RuntimeError("I/O error: No space left on device (os error 28)"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied")) and not is_disk_full(ValueError("x"))


def test_disk_full_error_pickles_and_reads_as_one_line() -> None:
    import pickle

    err = DiskFullError("/cache/x", 3 * 2**20, 1024)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is DiskFullError and str(back) == str(err) and back.needed == 3 * 2**20
    assert "\n" not in str(err) and "3.0 MB (3,145,728 bytes)" in str(err)
    assert "1.0 KB (1,024 bytes) is free" in str(err)


def test_an_underflowing_number_is_refused_not_read_as_zero() -> None:
    for text in ("[1e-400]", '{"a": -2.5E-999}', "[0.1e-330]"):
        with pytest.raises(FileFormatError, match="underflows to 0"):
            parse_json(text, "f.json")
    assert parse_json("[0.0, 0e5, -0.0, 1e-300, 5e-324]", "f.json") == [0.0, 0.0, -0.0, 1e-300, 5e-324]


# --------------------------------------------------------------------------- locks

def test_entry_lock_files_live_outside_the_entry_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCKS_ENV, str(tmp_path / "locks"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "cache")
    assert lock_path(tmp_path / "cache" / "e") == lock_path(tmp_path / "link" / "e")  # one entry, one lock
    assert lock_path(tmp_path / "cache" / "e") != lock_path(tmp_path / "cache" / "f")
    with EntryLock(tmp_path / "cache" / "e") as lock:
        assert lock.held and lock.path.parent == tmp_path / "locks"
        with EntryLock(tmp_path / "cache" / "e"):  # re-entrant within a thread
            pass
        assert lock.held
    assert not lock.held and list((tmp_path / "cache").iterdir()) == []


def _build_entry(final: str, locks: str, start: float) -> str:  # runs in a spawned process
    os.environ[LOCKS_ENV] = locks
    final_path = Path(final)
    time.sleep(max(0.0, start - time.time()))  # both processes ask at the same moment
    with EntryLock(final_path):
        if not final_path.exists():
            with atomic_folder(final_path, replace=False) as tmp:
                with open(final_path.parent.parent / "builds.log", "a") as log:
                    log.write(f"{os.getpid()}\n")
                time.sleep(0.5)  # the other process asks while this one builds
                write_json(tmp / "data.json", {"rows": list(range(1000))})
    return read_object(final_path / "data.json")["rows"][-1]


def test_two_processes_build_one_cache_entry_once_and_both_read_it(tmp_path: Path) -> None:
    import multiprocessing as mp

    final, locks = tmp_path / "cache" / "entry", tmp_path / "locks"
    start = time.time() + 2.0  # after both interpreters have started
    with mp.get_context("spawn").Pool(2) as pool:
        got = pool.starmap(_build_entry, [(str(final), str(locks), start)] * 2, chunksize=1)
    assert got == [999, 999]
    assert len((tmp_path / "builds.log").read_text().split()) == 1
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["entry"]
