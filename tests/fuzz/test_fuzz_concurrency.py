"""Two processes on one cache at the same moment: nothing is corrupted and nothing is built twice.

Each test starts two real processes (``spawn``) that wait for the same instant, then ask for the same cache
entry: an activation store collected shard by shard (the loop of `probes.collect.collect_to_store`), and a
published data file fetched by name (from a ``file://`` mirror, so no network is needed). Every build or
download appends a line to a log; the tests assert one line per entry, and that both processes return
the same valid result. The registry's checkpoints have the same test in tests/models/test_registry.py, and
`models.files.EntryLock` itself in tests/models/test_files.py.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import torch

KEY_FIELDS = ("m" * 16, "d" * 16, "s" * 16)
N_SHARDS = 4


def _in_both(fn, *args) -> list:
    """Run ``fn(*args, start)`` in two spawned processes that begin at the same instant; their results."""
    start = time.time() + 3.0  # after both interpreters have started and imported torch
    with mp.get_context("spawn").Pool(2) as pool:
        return pool.starmap(fn, [(*args, start)] * 2, chunksize=1)


def _log(path: Path, line: str) -> None:
    with open(path, "a") as f:  # O_APPEND: whole lines from either process
        f.write(line + "\n")


# --------------------------------------------------------------------------- shards

def _collect(root: str, locks: str, log: str, start: float) -> list[float]:  # runs in a spawned process
    os.environ["LATENT_AGENTS_LOCKS"] = locks
    from probes.activations import Row
    from probes.shards import ShardKey, ShardStore

    time.sleep(max(0.0, start - time.time()))
    store = ShardStore.open(root, ShardKey(*KEY_FIELDS), {"sites": ["s"], "d_model": 8})
    for index in range(N_SHARDS):  # as collect_to_store: skip what exists, compute and write the rest
        if store.has_shard(index):
            continue
        _log(Path(log), f"{os.getpid()} {index}")
        time.sleep(0.4)  # the computation, long enough for the other process to ask for this shard
        rows = [Row(item=10 * index + i, question_id=f"q{index}-{i}", round=1, agent=1) for i in range(3)]
        store.write_shard(index, rows, {"s": torch.full((3, 8), float(index))})
    store.mark_complete(N_SHARDS)
    return store.load().at("s")[:, 0].tolist()


def test_two_processes_collecting_one_store_compute_each_shard_once(tmp_path: Path) -> None:
    log = tmp_path / "computed.log"
    got = _in_both(_collect, str(tmp_path / "cache"), str(tmp_path / "locks"), str(log))
    expected = [float(i) for i in range(N_SHARDS) for _ in range(3)]
    assert got == [expected, expected]
    computed = [line.split()[1] for line in log.read_text().splitlines()]
    assert sorted(computed) == [str(i) for i in range(N_SHARDS)]  # every shard once, by one process or the other
    store = next((tmp_path / "cache").iterdir())
    assert sorted(p.name for p in store.iterdir()) == ["manifest.json"] + sorted(
        f"shard-{i:05d}.{ext}" for i in range(N_SHARDS) for ext in ("jsonl", "safetensors"))


# --------------------------------------------------------------------------- fetched data

def _fetch(cache: str, locks: str, mirror: str, log: str, start: float) -> tuple[str, int]:  # spawned process
    os.environ["LATENT_AGENTS_CACHE"], os.environ["LATENT_AGENTS_LOCKS"] = cache, locks
    from models.debate import fetch as fetch_module
    from models.debate.readers import read_questions

    download = fetch_module._download

    def counted(*args, **kwargs):
        _log(Path(log), str(os.getpid()))
        time.sleep(0.5)  # a slow network: the other process asks meanwhile
        return download(*args, **kwargs)

    fetch_module._download = counted
    time.sleep(max(0.0, start - time.time()))
    path = fetch_module.fetch("paper:evil-test", url=Path(mirror).as_uri() + "/", progress=False)
    return str(path), len(read_questions(path))


def test_two_processes_fetching_one_file_download_it_once(tmp_path: Path) -> None:
    from models.debate.splits import family_questions

    mirror, log = tmp_path / "mirror", tmp_path / "downloads.log"
    mirror.mkdir()
    (mirror / "evil_test.json").write_text(json.dumps(family_questions("evil", 60, 0, "eval")))
    got = _in_both(_fetch, str(tmp_path / "cache"), str(tmp_path / "locks"), str(mirror), str(log))
    assert got[0] == got[1] and got[0][1] == 60 and Path(got[0][0]).is_relative_to(tmp_path / "cache")
    assert len(log.read_text().split()) == 1
    assert [p.name for p in Path(got[0][0]).parent.iterdir()] == ["evil_test.json"]
