"""Trainer benchmarks: every figure is measured in this run; prints JSON.

* ``tiny``: trains the tiny pipeline now into a temporary folder and reports each stage's wall time
  (training plus its held-out scoring). By default the arithmetic chain (Stage 1 and Stage 2, one seed)
  starts from the shipped ``tiny-base``; ``--pretrain`` trains Stage 0 too, so the chain's total is
  measured end to end against its 30-minute target; ``--variants`` and ``--seeds`` add chains.
* ``smollm2``: SmolLM2-135M-Instruct with LoRA: a few Stage-1 and Stage-2 steps, seconds per step, and
  the projected time of a full run with the same settings (paper-sized data: 944 debates x 3 epochs
  for SFT, 3 GRPO iterations x 2 epochs over 256 prompts).

    python benchmarks/train.py --skip-smollm2 --pretrain   # the arithmetic chain, base included (~30 min)
    python benchmarks/train.py --skip-tiny                 # SmolLM2 steps only
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1800  # the arithmetic chain (base -> SFT -> internalized) on 2 cores


def tiny(pretrain: bool, variants: list[str], seeds: list[int], threads: int | None) -> dict:
    """Train the requested chains now and return the measured seconds per stage."""
    from models.registry import materialize
    from models.train.config import PipelineConfig
    from models.train.pipeline import run_pipeline

    out = Path(tempfile.mkdtemp(prefix="tiny-pipeline-"))
    cfg = PipelineConfig(out_dir=str(out), variants=tuple(variants), seeds=tuple(seeds), threads=threads,  # type: ignore[arg-type]
                         base=None if pretrain else str(materialize("tiny-base")))
    start = time.time()
    run_pipeline(cfg)
    seconds = json.loads((out / "pipeline.json").read_text())["seconds"]
    chain = [k for k in ("tiny-base", "tiny-sft", "tiny-imad") if k in seconds]
    total = round(sum(seconds[k] for k in chain), 1)
    return {"stage_seconds": seconds, "wall_seconds": round(time.time() - start, 1), "folder": str(out),
            "arithmetic_chain": chain, "arithmetic_chain_seconds": total, "target_seconds": TARGET_SECONDS,
            "target": ("met" if total <= TARGET_SECONDS else "MISS") if pretrain else
            "not decided: Stage 0 was not trained (pass --pretrain)"}


def _timed_steps(trainer_fn, n_steps: int) -> tuple[float, float]:
    """(median seconds per step after the first, total seconds) of a trainer run with a step-timing callback."""
    from transformers import TrainerCallback

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):  # noqa: ANN001
            self.t = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):  # noqa: ANN001
            times.append(time.perf_counter() - self.t)

    start = time.time()
    trainer_fn(Clock())
    steps = times[1:] or times
    return statistics.median(steps), time.time() - start


def smollm2(n_steps: int, threads: int | None) -> dict:
    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer

    from models.registry import materialize
    from models.train.checkpoint import load_parent
    from models.train.config import GRPOStageConfig, SFTStageConfig
    from models.train.data import grpo_rows, sft_rows
    from models.train.rewards import correctness_reward, format_reward
    from models.train.sft import add_debate_tags, completion_tokens, lora_config, with_lora

    if threads:
        torch.set_num_threads(threads)
    folder = materialize("smollm2-135m-instruct")
    out: dict = {"model": "smollm2-135m-instruct", "threads": torch.get_num_threads()}

    # Stage 1: paper LoRA (r 64, alpha 128), batch 1, synthetic arithmetic debates (easy tier).
    model, tok, _ = load_parent(folder)
    tag_ids = add_debate_tags(model, tok)
    rows = sft_rows("arithmetic", 16, "easy", 0)
    cfg = SFTStageConfig()
    model = with_lora(model, lora_config(cfg, model, tag_ids))
    mean_tokens = statistics.fmean(completion_tokens(rows, tok))
    with tempfile.TemporaryDirectory() as tmp:
        args = SFTConfig(output_dir=tmp, max_steps=n_steps, per_device_train_batch_size=1, learning_rate=5e-5,
                         completion_only_loss=True, max_length=2048, report_to="none", use_cpu=True,
                         save_strategy="no", logging_steps=1, disable_tqdm=True, activation_checkpointing=False)
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok)
        per_step, _ = _timed_steps(lambda cb: (trainer.add_callback(cb), trainer.train()), n_steps)
    paper_steps = 944 * 3  # batch 1, 3 epochs over the paper's 944 debates
    out["sft"] = {"seconds_per_step": round(per_step, 2), "batch": 1, "mean_trace_tokens": round(mean_tokens),
                  "lora": {"r": cfg.lora_r, "alpha": cfg.lora_alpha},
                  "projected_full_run_hours": round(paper_steps * per_step / 3600, 1),
                  "projected_full_run": "944 debates x 3 epochs at batch 1"}

    # Stage 2: paper LoRA (r 32, alpha 64), 4 generations per prompt, completions capped at 256 tokens.
    gcfg = GRPOStageConfig()
    merged = model.merge_and_unload()
    prompts = grpo_rows("arithmetic", 16, "easy", 0)
    with tempfile.TemporaryDirectory() as tmp:
        args = GRPOConfig(output_dir=tmp, max_steps=n_steps, per_device_train_batch_size=4, num_generations=4,
                          max_completion_length=256, learning_rate=5e-6, beta=0.02, report_to="none", use_cpu=True,
                          save_strategy="no", logging_steps=1, disable_tqdm=True, activation_checkpointing=False,
                          reward_weights=[1.0, 1.0], temperature=0.7, top_p=0.9)
        trainer = GRPOTrainer(model=merged, reward_funcs=[format_reward(tok), correctness_reward(tok, 256)], args=args,
                              train_dataset=Dataset.from_list(prompts), processing_class=tok,
                              peft_config=lora_config(gcfg, merged, None))
        per_step, _ = _timed_steps(lambda cb: (trainer.add_callback(cb), trainer.train()), n_steps)
    grpo_steps = 3 * 2 * 256  # 3 iterations x 2 epochs x 256 prompts, one prompt (4 completions) per step
    out["grpo"] = {"seconds_per_step": round(per_step, 2), "completions_per_step": 4, "max_completion_length": 256,
                   "lora": {"r": gcfg.lora_r, "alpha": gcfg.lora_alpha},
                   "projected_full_run_hours": round(grpo_steps * per_step / 3600, 1),
                   "projected_full_run": "3 iterations x 2 epochs x 256 prompts, 4 completions each"}
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pretrain", action="store_true", help="also train Stage 0 (else start from the shipped tiny-base)")
    p.add_argument("--variants", nargs="+", default=["arithmetic"], choices=["arithmetic", "evil", "hallucination"],
                   help="chains to train (default: arithmetic)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds of the arithmetic chain (default: 0)")
    p.add_argument("--skip-tiny", action="store_true", help="do not train the tiny pipeline")
    p.add_argument("--skip-smollm2", action="store_true", help="do not time SmolLM2 steps")
    p.add_argument("--steps", type=int, default=4, help="SmolLM2 steps per stage (the first is not timed)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = p.parse_args(argv)
    result: dict = {}
    if not args.skip_tiny:
        result["tiny"] = tiny(args.pretrain, args.variants, args.seeds, args.threads)
    if not args.skip_smollm2:
        result["smollm2"] = smollm2(args.steps, args.threads)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
