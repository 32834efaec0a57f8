"""Shards: written, resumed and reread; reused only while model, data and settings are unchanged."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from models import load
from models.identity import model_fingerprint
from probes import ShardError, collect_turns
from probes.shards import ShardKey, ShardStore
from tests.probes._data import make_debate

SITES = ["blocks.0.hook_resid_post", "blocks.2.hook_resid_post"]


@pytest.fixture(scope="module")
def model(tiny_dir):
    """A private copy: the cache tests perturb its weights."""
    return load(tiny_dir)


def _collect(model, debates, cache, **kw):
    return collect_turns(model, debates, SITES, positions="turn_last", cache_dir=cache, shard_items=2, **kw)


def test_shards_written_and_reread_equal_in_memory(model, small_debates, tmp_path):
    on_disk = _collect(model, small_debates, tmp_path)
    in_memory = collect_turns(model, small_debates, SITES, positions="turn_last")
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


def test_store_written_before_the_read_position_rename_is_reused(model, small_debates, tmp_path):
    first = _collect(model, small_debates, tmp_path)
    assert first.read_position == "turn_last"
    store = next(tmp_path.iterdir())
    manifest = json.loads((store / "manifest.json").read_text())
    header = dict(manifest["header"])
    header["positions"] = header.pop("read_position")  # the header key such a store has
    (store / "manifest.json").write_text(json.dumps({**manifest, "header": header}))
    again = _collect(model, small_debates, tmp_path)
    assert again.info["shards_reused"] == 3 and again.read_position == "turn_last"


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
    with pytest.raises(ShardError, match=r"shard-00000\.safetensors: activation shard is truncated or corrupt"):
        _collect(model, small_debates, tmp_path)


# ----------------------------------------------------------------- files that lie: no model needed
from probes.activations import Row  # noqa: E402

KEY = ShardKey("m" * 16, "d" * 16, "s" * 16)


def _rows(n: int, start: int = 0) -> list[Row]:
    return [Row(item=start + i, question_id=f"q{start + i}", round=1, agent=1 + i % 3) for i in range(n)]


def _synthetic_store(tmp_path, sizes=(2, 3, 4, 5, 6, 7)) -> ShardStore:
    store = ShardStore.open(tmp_path, KEY, {"sites": ["s"], "d_model": 4})
    for index, n in enumerate(sizes):
        store.write_shard(index, _rows(n, 10 * index), {"s": torch.full((n, 4), float(index))})
    store.mark_complete(len(sizes))
    return store


def test_synthetic_store_reads_back(tmp_path):
    acts = _synthetic_store(tmp_path).load()
    assert len(acts.rows) == 27 and acts.at("s").shape == (27, 4) and float(acts.at("s")[-1, 0]) == 5.0


@pytest.mark.parametrize("which", [("jsonl", "safetensors"), ("safetensors",), ("jsonl",)])
def test_a_shard_copied_over_another_is_refused(tmp_path, which):
    store = _synthetic_store(tmp_path)
    for ext in which:
        shutil.copy(store.root / f"shard-00003.{ext}", store.root / f"shard-00005.{ext}")
    expected = "header field 'index' says shard '3'" if "safetensors" in which else "rows hash differs"
    with pytest.raises(ShardError, match=expected):
        store.load()
    with pytest.raises(ShardError, match="shard-00005"):
        store.read_shard(5)


@pytest.mark.parametrize("cut", [0, 5, 100, -9])
def test_truncated_shard_is_named(tmp_path, cut):
    store = _synthetic_store(tmp_path)
    path = store.root / "shard-00002.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(ShardError, match=r"shard-00002\.safetensors: activation shard is truncated"):
        store.read_shard(2)


def test_corrupt_header_is_named(tmp_path):
    store = _synthetic_store(tmp_path)
    path = store.root / "shard-00001.safetensors"
    data = bytearray(path.read_bytes())
    data[10:14] = b"\xff\xfe\x00\x01"
    path.write_bytes(bytes(data))
    with pytest.raises(ShardError, match=r"shard-00001\.safetensors: activation shard has a corrupt header"):
        store.has_shard(1)


def _forge(store: ShardStore, index: int, rows: list[Row], tensor: torch.Tensor, **meta_changes) -> None:
    """Write a shard by hand, with a correct seal unless `meta_changes` says otherwise."""
    from dataclasses import asdict

    from models.files import write_tensors
    from probes.shards import FORMAT, _sha

    text = "".join(json.dumps(r.to_json(), sort_keys=True) + "\n" for r in rows)
    (store.root / f"shard-{index:05d}.jsonl").write_text(text)
    meta = {"format": FORMAT, **asdict(store.key), "index": str(index), "n_rows": str(len(rows)),
            "rows_sha256": _sha(text), "info": "{}", **meta_changes}
    write_tensors(store.root / f"shard-{index:05d}.safetensors", {"s": tensor}, meta)


@pytest.mark.parametrize("dtype", [b"I32", b"U32"])
def test_a_dtype_of_the_same_width_is_refused_not_reinterpreted(tmp_path, dtype):
    # regression: the shard fuzz flipped F32 -> I32 in a header and the bytes were read back as integers
    store = _synthetic_store(tmp_path)
    path = store.root / "shard-00001.safetensors"
    path.write_bytes(path.read_bytes().replace(b'"F32"', b'"' + dtype + b'"', 1))
    with pytest.raises(ShardError, match=rf"tensor 's' has dtype '{dtype.decode()}'; shards hold F32"):
        store.read_shard(1)


def test_nan_activations_are_refused_on_write_and_read(tmp_path):
    store = _synthetic_store(tmp_path)
    bad = torch.ones(3, 4)
    bad[1, 2] = float("nan")
    before = (store.root / "shard-00001.safetensors").read_bytes()
    with pytest.raises(ShardError, match="site 's' holds NaN or infinite activations; nothing was written"):
        store.write_shard(1, _rows(3), {"s": bad})
    assert (store.root / "shard-00001.safetensors").read_bytes() == before
    _forge(store, 1, _rows(3), bad)
    with pytest.raises(ShardError, match=r"shard-00001\.safetensors: tensor 's' holds NaN or infinite values"):
        store.read_shard(1)


def test_row_count_must_match_the_tensors(tmp_path):
    store = _synthetic_store(tmp_path)
    _forge(store, 0, _rows(2), torch.zeros(5, 4))
    with pytest.raises(ShardError, match=r"tensor 's' has shape \[5, 4\] but header field 'n_rows' says 2"):
        store.read_shard(0)
    _forge(store, 0, _rows(2), torch.zeros(2, 4), n_rows="7")
    with pytest.raises(ShardError, match="has shape \\[2, 4\\] but header field 'n_rows' says 7"):
        store.read_shard(0)
    with pytest.raises(ShardError, match=r"site 's' has shape \(4, 4\), expected \[3, d_model\]"):
        store.write_shard(0, _rows(3), {"s": torch.zeros(4, 4)})


def test_garbled_rows_and_manifest_are_named(tmp_path):
    from probes.shards import _sha

    store = _synthetic_store(tmp_path)
    text = '{"item": 0}\n'
    _forge(store, 0, [], torch.zeros(1, 4), n_rows="1", rows_sha256=_sha(text))
    (store.root / "shard-00000.jsonl").write_text(text)  # sealed, but not a row
    with pytest.raises(ShardError, match=r"shard-00000\.jsonl line 1: .*lacks field\(s\) agent, question_id, round"):
        store.read_shard(0)
    manifest = store.root / "manifest.json"
    body = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**body, "complete": "yes"}))
    with pytest.raises(ShardError, match=r"manifest\.json field 'complete' is 'yes'"):
        store.load()
    manifest.write_text(json.dumps({**body, "n_shards": "6"}))
    with pytest.raises(ShardError, match=r"manifest\.json field 'n_shards' is '6'"):
        store.load()
    manifest.write_text("[1, 2")
    with pytest.raises(ShardError, match=r"manifest\.json: not valid JSON"):
        store.load()


def test_interrupted_shard_write_keeps_the_old_shard(tmp_path, monkeypatch):
    import safetensors.torch

    store = _synthetic_store(tmp_path)
    before = {p.name: p.read_bytes() for p in store.root.iterdir()}

    def crash(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\x08\x00\x00\x00")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        store.write_shard(6, _rows(2), {"s": torch.zeros(2, 4)})
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in store.root.iterdir()}
    assert not [n for n in after if n.startswith(".")], "temporary files left behind"
    assert {n: b for n, b in after.items() if n != "shard-00006.jsonl"} == before
    assert not store.has_shard(6) and store.load().at("s").shape == (27, 4)
