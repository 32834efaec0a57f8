"""Benchmarks of the toolkit, measured side by side in one run; prints JSON, then the targets met or missed.

* ``steer_overhead``: steered / unsteered greedy generation time, per backend, model and batch size
  (one additive intervention at generated positions). Target <= 1.05.
* ``backend_overhead``: TL and nnsight unsteered generation time / HF generation time.
* ``collect``: end-to-end per-turn collection (`probes.collect_activations`: tokenizing, span
  mapping, reads at every layer, reduction) against a bare forward over the same batches
  (``benchmarks/collect.py``). Target >= 0.97 on SmolLM2.
* ``sweep``: an 11-alpha steering sweep with each prompt computed once against every row
  recomputing it (``benchmarks/sweep.py``). Target >= 5x with identical greedy texts.

Every ratio is the median of per-repetition ratios (the two sides alternate, so background load hits
both alike), printed with its spread (min, max over repetitions).

    python benchmarks/run.py            # tiny and SmolLM2-135M (about 35 min on 2 cores)
    python benchmarks/run.py --quick    # tiny only
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable

import torch
from tqdm import tqdm

from models import Intervention, load

from _timing import interleaved  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from collect import throughput  # noqa: E402
from sweep import sweep_speedup  # noqa: E402

PROMPT = "Question: what is 12+34*5-6? Think step by step and give the answer."


def paired_ratio(a: Callable[[], object], b: Callable[[], object], repeats: int) -> dict:
    """b / a time: the median of per-repetition ratios, their spread, and the median seconds of each."""
    ta, tb = interleaved(a, b, repeats)
    ratios = [y / x for x, y in zip(ta, tb)]
    return {"ratio": round(statistics.median(ratios), 3), "spread": [round(min(ratios), 3), round(max(ratios), 3)],
            "seconds": [round(statistics.median(ta), 3), round(statistics.median(tb), 3)]}


def unused_token(models: dict, prompts: list[str], steer: Intervention, new_tokens: int) -> int:
    """A token id that neither the steered nor the unsteered greedy run writes: as the stop id, every
    run decodes exactly `new_tokens` tokens, so both sides do the same work."""
    model = models["hf"]
    seen = set(model.generate(prompts, max_new_tokens=new_tokens).sequences.flatten().tolist())
    with model.intervene(steer):
        seen |= set(model.generate(prompts, max_new_tokens=new_tokens).sequences.flatten().tolist())
    return next(t for t in range(model.info.vocab_size - 1, 0, -1) if t not in seen)


def generation_benchmarks(model_name: str, batches: list[int], new_tokens: int, repeats: int) -> dict:
    models = {backend: load(model_name, backend=backend) for backend in ("hf", "tl", "nnsight")}
    layer = models["hf"].info.n_layers // 2
    v = torch.randn(models["hf"].info.d_model, generator=torch.Generator().manual_seed(0))
    steer = Intervention(f"blocks.{layer}.hook_resid_post", v / v.norm(), alpha=2.0, positions="generated")
    out: dict = {"steer_overhead": {}, "steer_overhead_spread": {}, "backend_overhead": {}, "seconds": {}}
    plain_times: dict = {}
    for batch in batches:
        prompts = [PROMPT] * batch
        stop = [unused_token(models, prompts, steer, new_tokens)]
        for backend, model in tqdm(models.items(), desc=f"{model_name} batch {batch}", leave=False):
            def plain(model=model) -> object:
                return model.generate(prompts, max_new_tokens=new_tokens, stop_token_ids=stop)

            def steered(model=model) -> object:
                with model.intervene(steer):
                    return model.generate(prompts, max_new_tokens=new_tokens, stop_token_ids=stop)

            pair = paired_ratio(plain, steered, repeats)
            key = f"{backend}/batch{batch}"
            out["steer_overhead"][key] = pair["ratio"]
            out["steer_overhead_spread"][key] = pair["spread"]
            out["seconds"][key] = {"unsteered": pair["seconds"][0], "steered": pair["seconds"][1]}
            plain_times[(backend, batch)] = pair["seconds"][0]
        for backend in ("tl", "nnsight"):
            out["backend_overhead"][f"{backend}/batch{batch}"] = round(
                plain_times[(backend, batch)] / plain_times[("hf", batch)], 3
            )
    return out


def targets(results: dict) -> list[str]:
    """One line per target: the measured figure, its spread, and whether it is met."""
    lines = []
    for model, r in results.items():
        if not isinstance(r, dict):
            continue
        for key, ratio in r.get("steer_overhead", {}).items():
            lo, hi = r["steer_overhead_spread"][key]
            lines.append(f"{'met ' if ratio <= 1.05 else 'MISS'}  steer overhead {model} {key}: {ratio} "
                         f"(spread {lo}-{hi}; target <= 1.05)")
        if "collect" in r:
            c = r["collect"]
            ok = min(c["collect_ratio"], c["collect_ratio_vs_decoder"]) >= 0.97
            mark = ("met " if ok else "MISS") if model.startswith("smollm2") else "info"  # the target is SmolLM2's
            lines.append(f"{mark}  collection {model}: {c['collect_ratio']} of a full forward "
                         f"(spread {c['spread'][0]}-{c['spread'][1]}), {c['collect_ratio_vs_decoder']} of the decoder "
                         f"alone (spread {c['spread_vs_decoder'][0]}-{c['spread_vs_decoder'][1]}); target >= 0.97")
        if "sweep" in r:
            w = r["sweep"]
            same = w["identical_texts"].split("/")
            ok = w["sweep_speedup"] >= 5 and same[0] == same[1]
            lines.append(f"{'met ' if ok else 'MISS'}  sweep_speedup {model}: {w['sweep_speedup']}x (spread "
                         f"{w['spread'][0]}-{w['spread'][1]}; identical texts {w['identical_texts']}; target >= 5x)")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny model only")
    p.add_argument("--repeats", type=int, default=15, help="alternated repetitions on the tiny model (default: %(default)s)")
    p.add_argument("--smollm2-repeats", type=int, default=5, help="alternated repetitions on SmolLM2 (default: %(default)s)")
    p.add_argument("--collect-repeats", type=int, default=5, help="alternated collections (default: %(default)s)")
    p.add_argument("--sweep-repeats", type=int, default=2,
                   help="alternated sweeps for sweep_speedup; each pair takes about 7 min (default: %(default)s)")
    args = p.parse_args()
    torch.set_num_threads(2)
    results: dict = {"torch_threads": torch.get_num_threads()}
    results["tiny-random"] = generation_benchmarks("tiny-random", [1, 32], new_tokens=64, repeats=args.repeats)
    results["tiny-random"]["collect"] = throughput("tiny-random", 100, "turn_mean", args.collect_repeats)
    if not args.quick:
        name = "smollm2-135m-instruct"
        results[name] = generation_benchmarks(name, [1, 32], new_tokens=32, repeats=args.smollm2_repeats)
        results[name]["collect"] = throughput(name, 24, "turn_mean", args.collect_repeats)
        results[name]["sweep"] = sweep_speedup(name, args.sweep_repeats)
    print(json.dumps(results, indent=2))
    print("\n".join(targets(results)))


if __name__ == "__main__":
    main()
