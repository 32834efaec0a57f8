"""The registry is a table of what exists (shipped, cached, cheaply built); it never trains, and builds are atomic."""

from __future__ import annotations

import ast
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import pytest
import torch

from models import CheckpointError, Manifest, load, materialize
from models import registry
from models.files import is_temp_name
from models.load import resolve_folder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(folder))
    return folder


def _without_shipped(monkeypatch: pytest.MonkeyPatch, name: str, tmp_path: Path) -> None:
    """Pretend `name`'s shipped folder was deleted (the package's copy is not touched)."""
    entry = registry.REGISTRY[name]
    monkeypatch.setitem(registry.REGISTRY, name,
                        registry.Entry(name, entry.description, entry.build, shipped=tmp_path / "deleted" / name))


# --------------------------------------------------------------------------- the table

def test_every_shipped_name_is_in_the_registry_with_its_folder_and_parent():
    for name, spec in registry.SHIPPED.items():
        entry = registry.REGISTRY[name]
        assert entry.shipped == registry.ASSETS / name and entry.build is None
        manifest = Manifest.load(entry.shipped)
        assert manifest is not None and manifest.name == name
        assert (Path(manifest.parent).name if manifest.parent else None) == spec.parent
    assert {"tiny-random", "smollm2-135m-instruct"} <= set(registry.REGISTRY)


def test_registry_and_loader_import_nothing_from_the_trainer():
    for file in ("models/registry.py", "models/load.py", "models/manifest.py", "models/identity.py"):
        tree = ast.parse((ROOT / file).read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in names if m.startswith(("models.train", "models.debate"))], file


def test_register_is_gone():
    assert not hasattr(registry, "register")


# --------------------------------------------------------------------------- never trains

def test_missing_shipped_checkpoint_names_the_training_command_and_trains_nothing(cache, tmp_path, monkeypatch):
    _without_shipped(monkeypatch, "tiny-evil-sft", tmp_path)
    with pytest.raises(CheckpointError, match="loading never trains") as err:
        load("tiny-evil-sft")
    message = str(err.value)
    assert "python experiments/train_internalized.py" in message and "--variants evil" in message
    assert str(cache / "tiny-evil-sft") in message
    assert not registry.is_available("tiny-evil-sft")
    assert not cache.exists() or list(cache.iterdir()) == []  # nothing was built or trained


def test_shipped_name_found_in_the_cache_when_its_folder_is_gone(cache, tmp_path, monkeypatch, tiny_dir):
    import shutil

    _without_shipped(monkeypatch, "tiny-sft", tmp_path)
    shutil.copytree(tiny_dir, cache / "tiny-sft")
    assert registry.is_available("tiny-sft")
    assert materialize("tiny-sft") == cache / "tiny-sft"


def test_shipped_checkpoints_load_in_place_including_the_imad_adapter():
    model = load("tiny-imad")
    assert model.info.source == str(registry.ASSETS / "tiny-imad") and model.info.vocab_size == 2058
    merged = load("tiny-sft", adapter=registry.ASSETS / "tiny-imad" / "adapter")
    assert merged.info.vocab_size == 2058
    ids = merged.tokenize(["1+2*3 ="]).input_ids
    assert torch.isfinite(merged.forward(["1+2*3 ="])).all() and ids.shape[1] > 1


# --------------------------------------------------------------------------- building

def test_incomplete_cache_folder_is_reported_not_overwritten(cache):
    (cache / "tiny-random").mkdir(parents=True)
    (cache / "tiny-random" / "model.safetensors").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="has no config.json.*delete that folder"):
        materialize("tiny-random")
    assert (cache / "tiny-random" / "model.safetensors").read_bytes() == b"x"


def _racer(cache: str, barrier, results) -> None:  # runs in a spawned process
    try:
        results.put(_race(cache, barrier))
    except BaseException as e:  # noqa: BLE001 -- report to the parent instead of dying silently
        barrier.abort()
        results.put(("error", f"{type(e).__name__}: {e}", 0, 0))


def _race(cache: str, barrier) -> tuple[str, int, int, int]:
    os.environ["LATENT_AGENTS_CACHE"] = cache
    from models import load as load_
    from models import registry as reg

    build = reg.REGISTRY["tiny-random"].build

    def counted_build(out: Path) -> None:
        with open(Path(cache).parent / "builds.log", "a") as log:  # one line per build, from either process
            log.write(f"{os.getpid()}\n")
        time.sleep(1.0)  # a window in which the other process asks for the same name
        build(out)

    reg.REGISTRY["tiny-random"] = reg.Entry("tiny-random", "raced", counted_build)
    barrier.wait(timeout=120)  # both ask at the same moment
    folder = reg.materialize("tiny-random")
    inode = folder.stat().st_ino
    barrier.wait(timeout=120)  # the other process has its folder too
    model = load_(folder)
    return str(folder), inode, folder.stat().st_ino, model.info.n_layers


@pytest.mark.slow
def test_two_processes_asking_for_one_name_build_it_once_and_both_read_it(cache):
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(str(cache), barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [results.get(timeout=400) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [g for g in got if g[0] == "error"] == []
    assert {g[0] for g in got} == {str(cache / "tiny-random")}
    assert len((cache.parent / "builds.log").read_text().split()) == 1  # the second process waited, then read
    for _, before, after, n_layers in got:
        assert before == after  # the folder a process returned was never replaced under it
        assert n_layers == 4
    assert [p.name for p in cache.iterdir()] == ["tiny-random"]  # no temporary folder, no lock file in the cache


def test_interrupted_build_leaves_nothing_and_a_retry_succeeds(cache, monkeypatch):
    def crash(out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setitem(registry.REGISTRY, "tiny-random", registry.Entry("tiny-random", "crashes", crash))
    with pytest.raises(RuntimeError, match="disk full"):
        materialize("tiny-random")
    assert list(cache.iterdir()) == []


# --------------------------------------------------------------------------- GGUF

def test_corrupt_gguf_is_a_named_error_and_leaves_no_temp_folder(cache, tmp_path):
    pytest.importorskip("gguf")
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + os.urandom(64))
    with pytest.raises(CheckpointError, match=f"{bad}: cannot convert this GGUF file"):
        load(bad)
    leftovers = list(cache.iterdir()) if cache.exists() else []
    assert leftovers == [], leftovers


def test_file_without_gguf_magic_is_refused_before_conversion(cache, tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04" + b"\x00" * 32)
    with pytest.raises(CheckpointError, match="not a GGUF file"):
        load(fake)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_gguf_conversions_are_cached_per_file_not_per_stem(cache, tmp_path, monkeypatch, tiny_dir):
    import shutil

    calls = []

    def fake_convert(gguf_file: Path, out: Path, name: str) -> None:
        calls.append(gguf_file)
        shutil.copytree(tiny_dir, out, dirs_exist_ok=True)

    monkeypatch.setattr(sys.modules["models.load"], "convert_gguf", fake_convert)  # `models.load` is also a function
    files = []
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        files.append(tmp_path / sub / "same.gguf")
        files[-1].write_bytes(b"GGUF" + sub.encode() * 16)
    first, second = resolve_folder(files[0]), resolve_folder(files[1])
    assert first != second and first.name.startswith("gguf-same-")
    assert resolve_folder(files[0]) == first and len(calls) == 2  # the second call reused the conversion
    assert not [p for p in cache.iterdir() if is_temp_name(p)]
