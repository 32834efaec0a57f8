"""Shards: written, resumed and reread; reused only while model, data and settings are unchanged."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from models import load
from probes import ShardError, collect_turns, model_fingerprint
from probes.shards import ShardKey, ShardStore
from tests.probes._data import make_debate

SITES = ["blocks.0.hook_resid_post", "blocks.2.hook_resid_post"]


@pytest.fixture(scope="module")
def model(tiny_dir):
    """A private copy: the cache tests perturb its weights."""
    return load(tiny_dir)


def _collect(model, debates, cache, **kw):
    return collect_turns(model, debates, SITES, positions="last", cache_dir=cache, shard_items=2, **kw)


def test_shards_written_and_reread_equal_in_memory(model, small_debates, tmp_path):
    on_disk = _collect(model, small_debates, tmp_path)
    in_memory = collect_turns(model, small_debates, SITES, positions="last")
    assert on_disk.rows == in_memory.rows and on_disk.info["shards_written"] == 3
    for site in SITES:
        torch.testing.assert_close(on_disk.at(site), in_memory.at(site))
    store = next(tmp_path.iterdir())
    assert sorted(p.name for p in store.glob("shard-*")) == [
        f"shard-0000{i}.{ext}" for i in range(3) for ext in ("jsonl", "safetensors")]
    assert not list(store.glob(".*tmp*")), "temporary files left behind"
    assert json.loads((store / "manifest.json").read_text())["complete"] is True


def test_resume_after_a_stopped_run(model, small_debates, tmp_path):
    first = _collect(model, small_debates, tmp_path)
    store = next(tmp_path.iterdir())
    # A run that stopped after shard 0: later shards missing, manifest not marked complete.
    for p in list(store.glob("shard-0000[12].*")):
        p.unlink()
    manifest = json.loads((store / "manifest.json").read_text())
    (store / "manifest.json").write_text(json.dumps({**manifest, "complete": False, "n_shards": None}))
    resumed = _collect(model, small_debates, tmp_path)
    assert resumed.info["shards_reused"] == 1 and resumed.info["shards_written"] == 2
    assert resumed.rows == first.rows
    torch.testing.assert_close(resumed.at(SITES[1]), first.at(SITES[1]))
    again = _collect(model, small_debates, tmp_path)
    assert again.info["shards_reused"] == 3 and again.info["shards_written"] == 0


def test_cache_invalidates_when_model_or_data_change(model, small_debates, tmp_path):
    _collect(model, small_debates, tmp_path)
    assert _collect(model, small_debates, tmp_path).info["shards_written"] == 0
    changed_data = small_debates[:-1] + [make_debate(9, 9, 9)]
    assert _collect(model, changed_data, tmp_path).info["shards_written"] == 3
    before = model_fingerprint(model)
    weight = model.hf_model.get_input_embeddings().weight
    with torch.no_grad():
        weight[5, 0] += 1.0
    try:
        assert model_fingerprint(model) != before
        assert _collect(model, small_debates, tmp_path).info["shards_written"] == 3
    finally:
        with torch.no_grad():
            weight[5, 0] -= 1.0
    assert len(list(tmp_path.iterdir())) == 3  # one store per (model, data) pair
    assert _collect(model, small_debates, tmp_path, truncate=True).info["shards_written"] == 3  # settings too


def test_a_shard_from_another_model_is_refused(model, small_debates, tmp_path):
    _collect(model, small_debates, tmp_path / "a")
    other = load(model.info.source)
    with torch.no_grad():
        other.hf_model.get_input_embeddings().weight[5, 0] += 1.0
    _collect(other, small_debates, tmp_path / "b")
    store_a, store_b = next((tmp_path / "a").iterdir()), next((tmp_path / "b").iterdir())
    for ext in ("jsonl", "safetensors"):
        shutil.copy(store_b / f"shard-00001.{ext}", store_a / f"shard-00001.{ext}")
    with pytest.raises(ShardError, match="written for another model weights"):
        _collect(model, small_debates, tmp_path / "a")


def test_incomplete_or_garbled_store_errors_name_the_file(model, small_debates, tmp_path):
    _collect(model, small_debates, tmp_path)
    root = next(tmp_path.iterdir())
    manifest = json.loads((root / "manifest.json").read_text())
    store = ShardStore.open(tmp_path, ShardKey(**manifest["key"]), manifest["header"])
    (root / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    with pytest.raises(ShardError, match="incomplete"):
        store.load()
    (root / "shard-00000.safetensors").write_bytes(b"not a safetensors file")
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ShardError, match="shard-00000.safetensors is not a readable safetensors file"):
        _collect(model, small_debates, tmp_path)
