"""Benchmark of prompt sharing in steering sweeps (`steering.multi_sweep`); prints JSON.

``sweep_speedup``: an 11-alpha sweep over 8 debate prompts of 630-860 tokens, 24 new tokens, greedy,
one direction at generated positions, with each prompt computed once (``share_prompts=True``)
against every row recomputing its prompt (``share_prompts=False``). Whole sweeps alternate, so
background load hits both; the ratio is reported as the median of per-repetition ratios with their
range. The greedy texts of the two paths are compared row by row. Peak RSS is read per path (the
kernel's high-water mark is reset before each run).

    python benchmarks/sweep.py                          # SmolLM2-135M-Instruct, 3 repetitions
    python benchmarks/sweep.py --model tiny-sft --repeats 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from models import HookedModel, load
from models.debate import GenerateConfig, generate_debates
from models.debate.format import render
from probes.directions import Direction
from steering import multi_sweep


def debate_prompts(model: HookedModel, n: int = 8, shortest: int = 630, longest: int = 860) -> list[str]:
    """`n` rendered debate transcripts cut to lengths spread evenly over [shortest, longest] tokens."""
    debates = generate_debates(GenerateConfig(kind="arithmetic", n=4 * n, seed=0, tier="easy"))[0]
    ids = [model.tokenizer(render(d), add_special_tokens=False)["input_ids"] for d in debates]
    ids = [x for x in ids if len(x) >= longest][:n]
    if len(ids) < n:
        raise SystemExit(f"only {len(ids)} debates reach {longest} tokens; raise n")
    cuts = [round(shortest + k * (longest - shortest) / max(1, n - 1)) for k in range(n)]
    return [model.tokenizer.decode(x[:c]) for x, c in zip(ids, cuts)]


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:  # "5" resets the peak RSS (VmHWM) of this process
        f.write("5")


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        return int(next(x for x in f if x.startswith("VmHWM:")).split()[1]) / 1024


def sweep_speedup(model_name: str, repeats: int, n_prompts: int = 8, n_alphas: int = 11, new_tokens: int = 24,
                  batch_size: int = 32) -> dict:
    model = load(model_name, backend="hf")
    prompts = debate_prompts(model, n_prompts)
    lengths = [len(model.tokenizer(p)["input_ids"]) for p in prompts]
    g = torch.Generator().manual_seed(0)
    v = torch.randn(model.info.d_model, generator=g)
    direction = Direction(v / v.norm() * 4.0, site=f"blocks.{model.info.n_layers // 2}.hook_resid_post")
    alphas = [float(a) for a in torch.linspace(-5, 5, n_alphas).tolist()]

    def sweep(share: bool) -> tuple[float, float, list[str]]:
        _reset_peak()
        start = time.perf_counter()
        # EOS only (a base model has no end-of-debate tag): both paths stop a row at the same token
        rows = multi_sweep(model, {"v": direction}, prompts, alphas, max_new_tokens=new_tokens, batch_size=batch_size,
                           share_prompts=share, progress=False, stop_token_ids=[model.tokenizer.eos_token_id])
        return time.perf_counter() - start, _peak_mb(), [r.text for r in rows]

    runs: dict[bool, list[tuple[float, float, list[str]]]] = {True: [], False: []}
    for _ in range(repeats):
        for share in (False, True):
            runs[share].append(sweep(share))
    ratios = [u[0] / s[0] for u, s in zip(runs[False], runs[True])]
    texts_u, texts_s = runs[False][0][2], runs[True][0][2]
    return {
        "sweep_speedup": round(statistics.median(ratios), 2),
        "per_repetition": [round(r, 2) for r in ratios],
        "spread": [round(min(ratios), 2), round(max(ratios), 2)],
        "identical_texts": f"{sum(a == b for a, b in zip(texts_u, texts_s))}/{len(texts_u)}",
        "seconds": {"unshared": [round(r[0], 1) for r in runs[False]], "shared": [round(r[0], 1) for r in runs[True]]},
        "peak_rss_mb": {"unshared": round(max(r[1] for r in runs[False])), "shared": round(max(r[1] for r in runs[True]))},
        "setting": {"model": model_name, "prompts": n_prompts, "prompt_tokens": [min(lengths), max(lengths)],
                    "alphas": n_alphas, "rows": len(texts_u), "new_tokens": new_tokens, "batch_size": batch_size,
                    "torch_threads": torch.get_num_threads()},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m-instruct", help="registry name or folder (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=3, help="alternated shared/unshared sweeps (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=32, help="rows decoded together (default: %(default)s)")
    args = p.parse_args()
    torch.set_num_threads(2)
    print(json.dumps(sweep_speedup(args.model, args.repeats, batch_size=args.batch_size), indent=2))


if __name__ == "__main__":
    main()
