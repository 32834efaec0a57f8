"""A full disk at every write site: one `DiskFullError` naming the path and the space needed, nothing partial left.

Each site (every writer of an artifact or cache entry, from `models.files` up to the registry, the shard store
and the paper-data fetcher) is run with an ``OSError(ENOSPC)`` injected at each stage of its write: the content
write (in the library's own error type where it has one: safetensors reports a full disk in a `SafetensorError`),
the fsync before the rename, and the rename itself. Every case must raise `DiskFullError` (an `OSError` with errno
ENOSPC) naming the artifact, with the bytes needed and free; leave no temporary file; keep the old content whole;
and a retry once space is back must succeed (no unusable cache entry). The last tests fill a real 1 MB tmpfs,
where the machine lets a test mount one (root with CAP_SYS_ADMIN), and skip cleanly elsewhere.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from models import files
from models.errors import DiskFullError
from models.files import EntryLock, is_temp_name

STAGES = ("write", "fsync", "rename")
NO_SPACE = "No space left on device"


def _full(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, NO_SPACE)


def _temp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if is_temp_name(p)]


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes (an empty folder left behind is no artifact)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _full_after(calls: int) -> Callable[..., object]:
    """A stand-in for os.fsync / os.replace that lets the first `calls` calls through, then finds the disk full."""
    real: dict[str, Callable[..., object]] = {}
    seen = [0]

    def fail(name: str) -> Callable[..., object]:
        real[name] = getattr(os, name)

        def call(*args: object) -> object:
            seen[0] += 1
            if seen[0] > calls:
                raise OSError(errno.ENOSPC, NO_SPACE)
            return real[name](*args)
        return call
    return fail


def _fail_python_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `Path.write_text` writes half its text, then finds the disk full (as a real write does)."""
    real = Path.write_text

    def half_then_full(self: Path, text: str, *args: object, **kwargs: object) -> int:
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, NO_SPACE)

    monkeypatch.setattr(Path, "write_text", half_then_full)


def _fail_tensor_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """safetensors' Rust writer leaves a stub and raises its own error type, saying os error 28."""
    import safetensors.torch
    from safetensors import SafetensorError

    def rust_full(tensors: object, filename: str, metadata: object = None) -> None:
        Path(filename).write_bytes(b"\x08\x00\x00")
        raise SafetensorError(f"Error while serializing: I/O error: {NO_SPACE} (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", rust_full)


@dataclass
class Site:
    """One write site: `prepare` makes the old state under root and returns (write, target, check)."""

    name: str
    prepare: Callable[[Path, pytest.MonkeyPatch], tuple[Callable[[], object], Path, Callable[[], object]]]
    fail_write: Callable[[pytest.MonkeyPatch], None]
    calls_before: int = 0  # fsyncs and renames that belong to an earlier file of the same call (shard rows)


# --------------------------------------------------------------------------- the sites

def _records(root: Path, mp: pytest.MonkeyPatch):
    from models.debate import read_debate_file
    from models.debate.records import atomic_write_json
    from tests.models.debate.debate_samples import TWO_ROUND

    target = root / "debates.json"
    entries = [{"question": f"q{i}", "debate_trace": TWO_ROUND, "gold_answer": "529"} for i in range(20)]
    atomic_write_json(target, entries[:1])
    return (lambda: atomic_write_json(target, entries)), target, lambda: read_debate_file(target).n_entries == 20


def _manifest(root: Path, mp: pytest.MonkeyPatch):
    from models.manifest import Manifest

    (root / "ckpt").mkdir()
    Manifest(name="old", stage="sft").save(root / "ckpt")
    new = Manifest(name="new", stage="grpo", metrics={"m": list(range(300))})
    return (lambda: new.save(root / "ckpt")), root / "ckpt" / "manifest.json", \
        lambda: Manifest.load(root / "ckpt").name == "new"


def _judge(root: Path, mp: pytest.MonkeyPatch):
    from models.judges.classifier import ClassifierJudge

    judge = ClassifierJudge("evil", {f"w{i}": i for i in range(200)}, np.ones(200), np.ones(200), 0.0, {})
    target = root / "judge.json"
    ClassifierJudge("evil", {"a": 0}, np.ones(1), np.ones(1), 0.0, {}).save(target)
    return (lambda: judge.save(target)), target, lambda: len(ClassifierJudge.load(target).vocabulary) == 200


def _vector(root: Path, mp: pytest.MonkeyPatch):
    from probes.directions import Direction
    from steering.prepare import load_vector, save_vector

    old = Direction(torch.ones(64), "blocks.1.hook_resid_post", label="old")
    save_vector(old, root / "vec")
    new = Direction(torch.arange(64.0), "blocks.1.hook_resid_post", label="new")
    return (lambda: save_vector(new, root / "vec")), root / "vec.safetensors", \
        lambda: load_vector(root / "vec.json").label == "new"


KEY_FIELDS = ("m" * 16, "d" * 16, "s" * 16)


def _shard(which: str):
    def prepare(root: Path, mp: pytest.MonkeyPatch):
        from probes.activations import Row
        from probes.shards import ShardKey, ShardStore

        key = ShardKey(*KEY_FIELDS)
        header = {"sites": ["s"], "d_model": 8}
        store = ShardStore.open(root, key, header)
        rows = [Row(item=i, question_id=f"q{i}", round=1, agent=1) for i in range(4)]
        store.write_shard(0, rows, {"s": torch.ones(4, 8)})
        if which == "manifest":
            shutil.rmtree(store.root)
            return (lambda: ShardStore.open(root, key, header)), store.root / "manifest.json", \
                lambda: not ShardStore.open(root, key, header).complete
        if which == "complete":
            return (lambda: store.mark_complete(1)), store.root / "manifest.json", \
                lambda: ShardStore.open(root, key, header).load().at("s").shape == (4, 8)
        suffix = ".jsonl" if which == "rows" else ".safetensors"

        def write() -> None:
            ShardStore.open(root, key, header).write_shard(1, rows, {"s": torch.zeros(4, 8)})

        def check() -> bool:
            again = ShardStore.open(root, key, header)
            again.mark_complete(2)
            return again.load().at("s").shape == (8, 8)

        return write, store.root / f"shard-00001{suffix}", check
    return prepare


def _registry(root: Path, mp: pytest.MonkeyPatch):
    from models import registry

    cache = root / "cache"
    mp.setenv("LATENT_AGENTS_CACHE", str(cache))
    real = registry.REGISTRY["tiny-random"]
    mp.setitem(registry.REGISTRY, "tiny-random", registry.Entry("tiny-random", "under test", real.build))
    return (lambda: registry.materialize("tiny-random")), cache / "tiny-random", \
        lambda: registry.is_available("tiny-random") and (cache / "tiny-random" / "model.safetensors").is_file()


def _registry_write_fails(mp: pytest.MonkeyPatch) -> None:
    """The builder's own writes (save_pretrained) fill the disk halfway through the folder."""
    from models import registry

    real = registry.REGISTRY["tiny-random"].build

    def half_then_full(out: Path) -> None:
        real(out)
        (out / "model.safetensors").unlink()
        raise OSError(errno.ENOSPC, NO_SPACE)

    mp.setitem(registry.REGISTRY, "tiny-random", registry.Entry("tiny-random", "fills the disk", half_then_full))


def _fetch(root: Path, mp: pytest.MonkeyPatch):
    from models.debate import fetch as fetch_module
    from models.debate.paper_data import cached_path
    from models.debate.readers import read_questions
    from models.debate.splits import family_questions

    mirror = root / "mirror"
    mirror.mkdir()
    (mirror / "evil_test.json").write_text(json.dumps(family_questions("evil", 60, 0, "eval")))
    mp.setenv("LATENT_AGENTS_CACHE", str(root / "cache"))
    target = cached_path("evil-test")
    return (lambda: fetch_module.fetch("paper:evil-test", url=mirror.as_uri() + "/", progress=False)), target, \
        lambda: len(read_questions("paper:evil-test")) == 60


def _fetch_write_fails(mp: pytest.MonkeyPatch) -> None:
    from models.debate import fetch as fetch_module

    mp.setattr(fetch_module, "open", _full, raising=False)


SITES = [
    Site("records.atomic_write_json", _records, _fail_python_writes),
    Site("Manifest.save", _manifest, _fail_python_writes),
    Site("ClassifierJudge.save", _judge, _fail_python_writes),
    Site("save_vector", _vector, _fail_tensor_writes),
    Site("ShardStore.open (manifest)", _shard("manifest"), _fail_python_writes),
    Site("ShardStore.write_shard (rows)", _shard("rows"), _fail_python_writes),
    Site("ShardStore.write_shard (tensors)", _shard("tensors"), _fail_tensor_writes, calls_before=2),
    Site("ShardStore.mark_complete", _shard("complete"), _fail_python_writes),
    Site("registry build (tiny-random)", _registry, _registry_write_fails),
    Site("fetch paper:evil-test", _fetch, _fetch_write_fails),
]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
def test_a_full_disk_at_every_write_site_is_named_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     site: Site, stage: str) -> None:
    monkeypatch.setenv(files.LOCKS_ENV, str(tmp_path / "locks"))
    root = tmp_path / "work"
    root.mkdir()
    write, target, check = site.prepare(root, monkeypatch)
    before = _snapshot(root)
    with monkeypatch.context() as mp:
        if stage == "write":
            site.fail_write(mp)
        else:
            name = "fsync" if stage == "fsync" else "replace"  # rows: one fsync of the file, one of its folder
            mp.setattr(files.os, name, _full_after(site.calls_before // (1 if stage == "fsync" else 2))(name))
        with pytest.raises(DiskFullError) as info:
            write()
    err = info.value
    assert isinstance(err, OSError) and err.errno == errno.ENOSPC
    assert err.path == str(target) and str(target) in str(err) and NO_SPACE in str(err), str(err)
    assert err.needed is not None and err.needed > 0 and " bytes)" in str(err) and "free there" in str(err)
    assert "\n" not in str(err)
    assert _temp_leftovers(tmp_path) == []
    after = _snapshot(root)
    if site.name == "ShardStore.write_shard (tensors)":  # the whole rows file may stay: alone it is no shard
        after.pop(str(target.with_suffix(".jsonl").relative_to(root)), None)
    assert after == before
    write()  # space is back: the same call succeeds, and what it wrote reads back
    assert check()


def test_a_full_disk_while_taking_a_lock_names_the_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    monkeypatch.setenv(files.LOCKS_ENV, str(tmp_path / "locks"))
    monkeypatch.setattr(FileLock, "acquire", _full)
    lock = EntryLock(tmp_path / "cache" / "entry")
    with pytest.raises(DiskFullError, match="lock"):
        lock.acquire()


# --------------------------------------------------------------------------- a real full disk

@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MB tmpfs at tmp_path/disk (skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(mount)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_real_full_disk_fails_each_writer_whole_and_keeps_the_disk_usable(small_disk: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from models.files import write_tensors, write_text

    monkeypatch.setenv(files.LOCKS_ENV, str(small_disk / "locks"))
    for write, name, size in ((write_tensors, "big.safetensors", None), (write_text, "big.txt", 3 * 2**20)):
        target = small_disk / name
        payload = {"w": torch.zeros(2**19)} if size is None else "x" * size  # 2 MB of floats, 3 MB of text
        with pytest.raises(DiskFullError) as info:
            write(target, payload)
        assert info.value.needed >= 2 * 2**20 and info.value.free <= 2**20 and str(target) in str(info.value)
        assert not target.exists() and _temp_leftovers(small_disk) == []
    write_text(small_disk / "small.txt", "fits")  # the failed writes left their space free
    assert (small_disk / "small.txt").read_text() == "fits"


def test_a_real_full_disk_during_a_checkpoint_build_leaves_no_cache_entry(small_disk: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from models import registry

    monkeypatch.setenv(files.LOCKS_ENV, str(small_disk / "locks"))
    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(small_disk / "cache"))
    with pytest.raises(DiskFullError) as info:  # the tiny model's weights are a few MB
        registry.materialize("tiny-random")
    assert info.value.path == str(small_disk / "cache" / "tiny-random")
    assert list((small_disk / "cache").iterdir()) == [] and not registry.is_available("tiny-random")


def test_a_real_full_disk_during_shard_collection_keeps_the_whole_shards(small_disk: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from probes.activations import Row
    from probes.shards import ShardKey, ShardStore

    monkeypatch.setenv(files.LOCKS_ENV, str(small_disk / "locks"))
    key = ShardKey(*KEY_FIELDS)
    store = ShardStore.open(small_disk / "shards", key, {"sites": ["s"], "d_model": 256})
    rows = [Row(item=i, question_id=f"q{i}", round=1, agent=1) for i in range(256)]  # 256 KB of activations a shard
    written = 0
    with pytest.raises(DiskFullError) as info:
        for index in range(10):
            store.write_shard(index, rows, {"s": torch.full((256, 256), float(index))})
            written += 1
    assert 1 <= written < 10 and f"shard-{written:05d}" in str(info.value)
    assert _temp_leftovers(small_disk) == []
    again = ShardStore.open(small_disk / "shards", key, {})
    again.mark_complete(written)  # every shard that was written is whole
    assert [float(v) for v in again.load().at("s")[::256, 0]] == [float(i) for i in range(written)]
