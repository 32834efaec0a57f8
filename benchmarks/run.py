"""Benchmarks of the hooked-model layer, measured side by side in one run; prints JSON.

* ``steer_overhead``: steered / unsteered greedy generation time, per backend, model and batch size
  (one additive intervention at generated positions). Target <= 1.05.
* ``backend_overhead``: TL and nnsight unsteered generation time / HF generation time.
* ``collect_ratio``: throughput of reading ``resid_post`` at every layer / throughput of a bare
  forward on the same batches (HF backend). Target >= 0.9. Peak RSS is printed beside it.

Timings are medians over interleaved repeats, so background noise hits both sides alike.

    python benchmarks/run.py            # tiny and SmolLM2-135M
    python benchmarks/run.py --quick    # tiny only
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
from collections.abc import Callable

import torch
from tqdm import tqdm

from models import Intervention, load

from _timing import interleaved  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

PROMPT = "Question: what is 12+34*5-6? Think step by step and give the answer."


def _median_pair(a: Callable[[], object], b: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of `a` and of `b`, run alternately after one warm-up each."""
    ta, tb = interleaved(a, b, repeats)
    return statistics.median(ta), statistics.median(tb)


def generation_benchmarks(model_name: str, batches: list[int], new_tokens: int, repeats: int) -> dict:
    models = {backend: load(model_name, backend=backend) for backend in ("hf", "tl", "nnsight")}
    layer = models["hf"].info.n_layers // 2
    v = torch.randn(models["hf"].info.d_model, generator=torch.Generator().manual_seed(0))
    steer = Intervention(f"blocks.{layer}.hook_resid_post", v / v.norm(), alpha=2.0, positions="generated")
    out: dict = {"steer_overhead": {}, "backend_overhead": {}, "seconds": {}}
    plain_times: dict = {}
    for batch in batches:
        prompts = [PROMPT] * batch
        for backend, model in tqdm(models.items(), desc=f"{model_name} batch {batch}", leave=False):
            # stop_token_ids=[-1] never matches, so every run decodes exactly `new_tokens` tokens
            def plain(model=model) -> object:
                return model.generate(prompts, max_new_tokens=new_tokens, stop_token_ids=[-1])

            def steered(model=model) -> object:
                with model.intervene(steer):
                    return model.generate(prompts, max_new_tokens=new_tokens, stop_token_ids=[-1])

            t_plain, t_steered = _median_pair(plain, steered, repeats)
            key = f"{backend}/batch{batch}"
            out["steer_overhead"][key] = round(t_steered / t_plain, 3)
            out["seconds"][key] = {"unsteered": round(t_plain, 3), "steered": round(t_steered, 3)}
            plain_times[(backend, batch)] = t_plain
        for backend in ("tl", "nnsight"):
            out["backend_overhead"][f"{backend}/batch{batch}"] = round(
                plain_times[(backend, batch)] / plain_times[("hf", batch)], 3
            )
    return out


def collect_ratio(model_name: str, batch: int, seq: int, n_batches: int, repeats: int) -> dict:
    model = load(model_name, backend="hf")
    sites = [f"blocks.{layer}.hook_resid_post" for layer in range(model.info.n_layers)]
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(3, model.info.vocab_size, (batch, seq), generator=g) for _ in range(n_batches)]

    def bare() -> None:
        for ids in batches:
            model.forward(ids)

    def collect() -> None:
        for ids in batches:
            model.activations(ids, sites, positions="all")

    t_bare, t_collect = _median_pair(bare, collect, repeats)
    tokens = batch * seq * n_batches
    return {
        "collect_ratio": round(t_bare / t_collect, 3),
        "tokens_per_s": {"bare": round(tokens / t_bare), "collect": round(tokens / t_collect)},
        "batch": [batch, seq, n_batches],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny model only")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(2)
    results: dict = {"torch_threads": torch.get_num_threads()}
    results["tiny-random"] = generation_benchmarks("tiny-random", [1, 32], new_tokens=64, repeats=args.repeats)
    results["tiny-random"]["collect"] = collect_ratio("tiny-random", batch=32, seq=64, n_batches=8, repeats=args.repeats)
    if not args.quick:
        name = "smollm2-135m-instruct"
        results[name] = generation_benchmarks(name, [1, 32], new_tokens=32, repeats=max(1, args.repeats - 1))
        results[name]["collect"] = collect_ratio(name, batch=8, seq=64, n_batches=2, repeats=args.repeats)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
