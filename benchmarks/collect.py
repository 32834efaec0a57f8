"""Benchmark of per-turn activation collection (`probes.collect`); prints JSON.

* ``throughput``: end-to-end `collect_activations` (tokenize, span mapping, batching, reads at every
  layer, per-turn reduction) vs a bare `model.forward` over the very same padded batches
  (`plan_batches`), on synthetic persona debates. Ratio = bare time / collection time; target >= 0.97.
  A read stops after its last block, so it skips the logits a bare forward computes; the ratio against
  the decoder alone (no head) is printed beside it. Whole runs are interleaved (median of per-pair
  ratios), so background load hits both sides alike.
* ``memory``: `collect_to_store` (shards on disk, every site kind at every layer) for growing numbers
  of turns, each in a fresh subprocess; reports peak RSS above the process's RSS after loading the
  model. The stated bound is measured: a worst-case forward pass (full token budget, every token read
  at every site) plus one shard, independent of the number of turns. Children run with a fixed glibc
  mmap threshold, so freed tensors return to the OS and RSS shows what the collector holds.

    python benchmarks/collect.py                       # tiny-random, 1000 and 4000 turns
    python benchmarks/collect.py --turns 1000 8000 --model smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import tracemalloc
import time

import torch

from models import load
from models.debate import GenerateConfig, generate_debates
from models.sites import SITE_NAMES
from probes import Batching, collect_activations, collect_to_store, plan_batches, turn_source
from probes import Row
from probes.batching import BatchedReader, Input, Read

from _timing import interleaved  # benchmarks/ is on sys.path when run as a script


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    """Peak RSS of this process image (VmHWM). Not ru_maxrss: that keeps the parent's RSS across fork + exec."""
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _debates(n_turns: int, seed: int) -> list:
    """Short persona debates (``a*b-c``) with >= n_turns turns; later turns may exceed the context."""
    def generate(n: int) -> list:
        cfg = GenerateConfig(kind="arithmetic", n=n, seed=seed, tier="easy", template="a*b-c", low=2, high=99)
        return generate_debates(cfg)[0]

    debates = generate(max(1, n_turns // 4))
    while sum(len(t.turns) for t in debates) < n_turns:
        debates = generate(len(debates) + max(1, n_turns // 8))
    out, turns = [], 0
    for t in debates:
        if turns >= n_turns:
            break
        out.append(t)
        turns += len(t.turns)
    return out


def throughput(model_name: str, n_turns: int, positions: str, repeats: int) -> dict:
    model = load(model_name)
    sites = [f"blocks.{layer}.hook_resid_post" for layer in range(model.info.n_layers)]
    source = turn_source(_debates(n_turns, seed=0), positions)  # type: ignore[arg-type]  # CLI-checked choice
    batches = list(plan_batches(model, source, truncate=True))

    def bare() -> None:
        for batch in batches:
            model.forward(batch)

    def collect() -> None:
        collect_activations(model, source, sites, truncate=True)

    decoder = model.hf_model.get_decoder()

    @torch.no_grad()
    def bare_decoder() -> None:
        for batch in batches:
            decoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=batch.position_ids)

    # End to end: whole collections (tokenizing, span mapping, reads, reduction) against whole bare passes,
    # alternated pair by pair. A read never computes the logits (it stops after its last block), so beside the
    # full forward it is also timed against the decoder alone: that ratio is the reads' own overhead.
    t_bare, t_collect = interleaved(bare, collect, repeats)
    t_decoder, t_collect2 = interleaved(bare_decoder, collect, repeats)
    pair_ratios = [b / c for b, c in zip(t_bare, t_collect)]
    decoder_ratios = [b / c for b, c in zip(t_decoder, t_collect2)]
    tokens = sum(int(b.attention_mask.sum()) for b in batches)
    padded = sum(b.input_ids.numel() for b in batches)
    return {
        "collect_ratio": round(statistics.median(pair_ratios), 3), "target": ">= 0.97",
        "spread": [round(min(pair_ratios), 3), round(max(pair_ratios), 3)],
        "collect_ratio_vs_decoder": round(statistics.median(decoder_ratios), 3),
        "spread_vs_decoder": [round(min(decoder_ratios), 3), round(max(decoder_ratios), 3)],
        "ratio_definition": ("bare time / collection time over the same padded batches, end to end (tokenizing "
                             "included), median of interleaved pairs; collect_ratio against a full forward "
                             "(logits), collect_ratio_vs_decoder against the decoder without its head"),
        "seconds": {"bare_forward": round(statistics.median(t_bare), 3),
                    "bare_decoder": round(statistics.median(t_decoder), 3),
                    "collect": round(statistics.median(t_collect), 3)},
        "tokens_per_s": {"bare_forward": round(tokens / statistics.median(t_bare)),
                         "collect": round(tokens / statistics.median(t_collect))},
        "turns": sum(len(t.turns) for t in source.items), "debates": len(source.items), "batches": len(batches),
        "turns_beyond_context": "dropped (truncate=True): the tiny tokenizer needs ~1.2k tokens per debate",
        "tokens": tokens, "padding_share": round(1 - tokens / padded, 3), "sites": len(sites),
        "positions": positions,
    }


def memory_child(model_name: str, n_turns: int, mode: str, shard_items: int) -> dict:
    """Run inside a fresh process and report RSS: ``store`` collects n_turns turns into shards on disk;
    ``batch`` runs the worst case of a single forward pass (a full token budget of context-length rows,
    every token read at every site), which is the bound the store runs should stay under."""
    model = load(model_name)
    sites = [f"blocks.{layer}.hook_{name}" for layer in range(model.info.n_layers) for name in SITE_NAMES]
    source = turn_source(_debates(n_turns, seed=1), "turn_mean") if mode == "store" else None
    inputs_mb = 0.0
    if source is None:
        # What one shard's tokenized inputs (ids, spans, rows) take in Python, measured with tracemalloc.
        shard = turn_source(_debates(6 * shard_items, seed=2)[:shard_items], "turn_mean")
        tracemalloc.start()
        built = [x for i, t in enumerate(shard.items) for x in shard.build(i, t, model)]
        inputs_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        del built, shard
    model.forward(["warm up the kernels"])
    baseline = _rss_mb()  # after loading the model and the input debates: what collection adds is measured
    start = time.perf_counter()
    if source is None:
        runner = BatchedReader(model, sites, Batching())
        n_ctx = model.info.n_ctx
        rows = max(1, runner.batch_tokens // n_ctx)
        g = torch.Generator().manual_seed(0)
        inputs = [Input(tuple(torch.randint(3, model.info.vocab_size, (n_ctx,), generator=g).tolist()),
                        (Read(Row(i, "worst-case", 1, 1 + i % 3), tuple(range(1, n_ctx))),), f"row {i}")
                  for i in range(rows)]
        runner.read(inputs)
        turns, collected = rows, rows
    else:
        turns = sum(len(t.turns) for t in source.items)
        with tempfile.TemporaryDirectory() as cache:
            store, _ = collect_to_store(model, source, sites, cache, shard_items=shard_items, truncate=True)
            collected = sum(len(r) for r, _ in store.iter_shards(sites[:1]))
    seconds = time.perf_counter() - start
    d = model.info.d_model
    return {"mode": mode, "turns": turns, "turns_collected": collected, "seconds": round(seconds, 1),
            "rss_after_load_mb": round(baseline, 1), "peak_rss_mb": round(_peak_mb(), 1),
            "peak_above_load_mb": round(_peak_mb() - baseline, 1),
            "activation_mb_total": round(collected * len(sites) * d * 4 / 2**20, 1), "sites": len(sites),
            **({"shard_inputs_mb": round(inputs_mb, 1)} if mode == "batch" else {})}


# glibc's dynamic mmap threshold lets freed tensor memory stay in the heap, so without a fixed threshold
# peak RSS drifts upward with the number of forward passes (fragmentation, not data the collector keeps:
# measured +82 MB from 1k to 4k turns by default, flat with the threshold fixed).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(1 << 20)}


def _child(model_name: str, mode: str, n: int, shard_items: int) -> dict:
    env = {**os.environ, **MALLOC_ENV}
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--model", model_name, "--turns", str(n),
                          "--shard-items", str(shard_items)], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(model_name: str, turns: list[int], shard_items: int) -> dict:
    worst = _child(model_name, "batch", 0, shard_items)
    runs = [_child(model_name, "store", n, shard_items) for n in turns]
    model = load(model_name)
    n_sites, d = model.info.n_layers * len(SITE_NAMES), model.info.d_model
    shard_mb = shard_items * 6 * n_sites * d * 4 / 2**20  # at most 6 turns per debate
    # A shard's activations are held twice at most: the collected rows and the safetensors write buffer.
    # Per batch, Python bookkeeping (token -> slot dicts and lists) takes ~256 bytes per padded token.
    bookkeeping_mb = BatchedReader(model, [], Batching()).batch_tokens * 256 / 2**20
    bound = worst["peak_above_load_mb"] + 2 * shard_mb + worst["shard_inputs_mb"] + bookkeeping_mb
    growth = runs[-1]["peak_above_load_mb"] - runs[0]["peak_above_load_mb"]
    return {
        "worst_case_batch": worst,
        "runs": runs,
        "bound_mb": round(bound, 1),
        "within_bound": all(r["peak_above_load_mb"] <= bound for r in runs),
        "peak_growth_mb": round(growth, 1),
        "allocator": f"children run with {MALLOC_ENV} (fixed glibc mmap threshold)",
        "bound": (f"peak RSS above the loaded model <= one worst-case forward pass ({worst['turns']} rows of the "
                  f"full context, every token read at {n_sites} sites: {worst['peak_above_load_mb']:.0f} MB) + one "
                  f"shard of {shard_items} debates (activations <= {shard_mb:.1f} MB, twice while written; tokenized inputs "
                  f"{worst['shard_inputs_mb']:.1f} MB) + batch bookkeeping ({bookkeeping_mb:.1f} MB) = {bound:.1f} MB, "
                  f"whatever the number of "
                  f"turns; an in-memory collection of {runs[-1]['turns_collected']} turns would also hold "
                  f"{runs[-1]['activation_mb_total']:.1f} MB of activations"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-random", help="registry name or HF folder (default tiny-random)")
    p.add_argument("--turns", type=int, nargs="+", default=[1000, 4000], help="turn counts for the memory runs")
    p.add_argument("--throughput-turns", type=int, default=400, help="turns timed for the throughput ratio")
    p.add_argument("--positions", default="turn_mean", choices=["turn_mean", "turn_last", "agent_tag"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--shard-items", type=int, default=64, help="debates per shard in the memory runs")
    p.add_argument("--skip-throughput", action="store_true", help="only run the memory part")
    p.add_argument("--skip-memory", action="store_true", help="only run the throughput part")
    p.add_argument("--child", choices=["store", "batch"], help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    if args.child:
        print(json.dumps(memory_child(args.model, args.turns[0], args.child, args.shard_items)))
        return
    results: dict = {"model": args.model, "torch_threads": torch.get_num_threads()}
    if not args.skip_throughput:
        results["throughput"] = throughput(args.model, args.throughput_turns, args.positions, args.repeats)
    if not args.skip_memory:
        results["memory"] = memory(args.model, sorted(args.turns), args.shard_items)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
