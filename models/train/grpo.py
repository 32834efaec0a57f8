"""Stage 2: internalization with trl's `GRPOTrainer`, iterated with a shrinking clip length (paper §2.3).

Each iteration loads the previous iteration's merged weights (the Stage-1 checkpoint for the first,
so the SFT weights and tag embeddings are always there), attaches a fresh LoRA, trains with that
iteration's rewards, and saves adapter + merged weights under ``<out>.work/iter{k}/``. The last
iteration becomes ``<out>``. The prompt is the question alone (``Problem: q\\n\\n``).

    python -m models.train grpo --parent tiny-sft --out runs/tiny-imad
"""

from __future__ import annotations

import logging
import shutil
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from models.debate.format import DEBATE_TAGS
from models.errors import CheckpointError
from models.manifest import Manifest
from models.train.checkpoint import (
    AtomicCheckpoints,
    atomic_folder,
    is_main_process,
    load_parent,
    resume_and_train,
    resumed_step,
    save_stage,
    score_heldout,
    seed_everything,
    stage_manifest,
    tokenizer_hash,
    uses_config_threads,
    wait_for_everyone,
    work_dir,
)
from models.cli import config_dict
from models.train.config import GRPOStageConfig
from models.train.data import REWARD_JUDGE_EXAMPLES, grpo_rows, heldout_problems, judge_examples
from models.train.rewards import (
    CompletionLog,
    IterationPlan,
    adaptive_clip,
    brevity_reward,
    correctness_reward,
    format_reward,
    judge_reward,
    schedule,
)
from models.train.sft import lora_config

logger = logging.getLogger(__name__)


class _GRPOTrainer(AtomicCheckpoints, GRPOTrainer):
    pass


def plan(cfg: GRPOStageConfig, parent_manifest: Manifest | None) -> list[IterationPlan]:
    """The iterations' (l, w_fmt); l starts at the parent's mean SFT transcript length unless given.

    Under the adaptive schedule every iteration is planned at the starting l: the loop lowers it after
    each iteration from what that iteration's correct completions measured (`adaptive_clip`).
    """
    start = cfg.clip_start
    if start is None:
        mean = (parent_manifest.metrics.get("mean_trace_tokens") if parent_manifest else None)
        if mean is None:
            raise ValueError(f"parent {cfg.parent!r} records no mean_trace_tokens (not a Stage-1 checkpoint of this "
                             "trainer?); pass --clip-start (tokens of a typical SFT transcript)")
        start = round(mean)
    if cfg.clip_schedule == "adaptive":
        return schedule(cfg.iterations, start, start, cfg.fmt_start, cfg.fmt_end)
    end = cfg.clip_end if cfg.clip_end is not None else max(1, round(start / 4))
    return schedule(cfg.iterations, start, end, cfg.fmt_start, cfg.fmt_end)


def clip_floor(cfg: GRPOStageConfig, tokenizer: Any, rows: list[dict[str, str]], start: int) -> int:
    """The lowest l the adaptive schedule may reach: `clip_end` if given; for arithmetic the longest of the
    training questions' shortest correct direct answers (``\\boxed{answer}`` and a stop token); else start / 4."""
    if cfg.clip_end is not None:
        return cfg.clip_end
    if cfg.task != "arithmetic":
        return max(1, round(start / 4))
    return 1 + max(len(tokenizer(f"\\boxed{{{r['answer']}}}", add_special_tokens=False)["input_ids"]) for r in rows)


def _judge(cfg: GRPOStageConfig) -> Any:
    from models.judges import ClassifierJudge

    if cfg.judge:
        return ClassifierJudge.load(cfg.judge)
    texts, labels = judge_examples(cfg.task, REWARD_JUDGE_EXAMPLES, cfg.seed)
    return ClassifierJudge.fit(cfg.task, texts, labels, seed=cfg.seed)


def _grpo_args(cfg: GRPOStageConfig, it: IterationPlan, output_dir: Path) -> GRPOConfig:
    return GRPOConfig(
        **cfg.trainer_args(output_dir, seed=cfg.seed + it.index), learning_rate=cfg.lr, num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps, per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.grad_accum,
        num_generations=cfg.num_generations,
        max_completion_length=it.clip_tokens if cfg.generation_limit == "clip" else cfg.max_completion_length,
        temperature=cfg.temperature, top_p=cfg.top_p, beta=cfg.beta, epsilon=cfg.epsilon,
        num_iterations=cfg.num_iterations, loss_type=cfg.loss_type, scale_rewards="group",
        mask_truncated_completions=cfg.mask_truncated_completions,
        # r = w_fmt * R_fmt + R(y; l) [+ w_len * R_len(y; l)]
        reward_weights=[it.fmt_weight, 1.0, *([cfg.brevity_weight] if _brevity(cfg) else [])],
        # warmup_steps=ratio is right: transformers 5 reads a warmup_steps below 1 as a share of the total steps
        warmup_steps=cfg.warmup_ratio, max_grad_norm=cfg.max_grad_norm, log_completions=False,
    )


def _brevity(cfg: GRPOStageConfig) -> bool:
    return cfg.brevity_weight > 0


def _iteration_metrics(trainer: GRPOTrainer) -> dict[str, Any]:
    logs = [h for h in trainer.state.log_history if "reward" in h]

    def mean(key: str, part: list[dict[str, Any]]) -> float | None:
        vals = [h[key] for h in part if key in h]
        return round(statistics.fmean(vals), 4) if vals else None

    head, tail = logs[: max(1, len(logs) // 4)], logs[-max(1, len(logs) // 4):]
    out: dict[str, Any] = {"steps": trainer.state.global_step}
    for key in ("reward", "rewards/format_reward/mean", "rewards/correct_reward/mean", "rewards/judge_reward/mean",
                "rewards/brevity_reward/mean",
                "completions/mean_length"):
        if any(key in h for h in logs):
            out[f"first_{key}"], out[f"last_{key}"] = mean(key, head), mean(key, tail)
    return out


def _log_metrics(log: CompletionLog) -> dict[str, Any]:
    """What the iteration's scored completions measured: their count, correct share and lengths (the last half's
    correct lengths are what the adaptive schedule reads)."""
    tail = log.correct_lengths()
    return {"completions": len(log.lengths),
            "correct_share": round(statistics.fmean(log.correct), 4) if log.correct else None,
            "mean_length": round(statistics.fmean(log.lengths), 1) if log.lengths else None,
            "correct_length_median_last_half": statistics.median(tail) if tail else None}


@uses_config_threads
def grpo(cfg: GRPOStageConfig) -> Path:
    """Run all Stage-2 iterations and return the final checkpoint folder."""
    start = time.time()
    out, work = Path(cfg.out), work_dir(cfg.out)
    _, sft_tok, sft_folder = load_parent(cfg.parent)
    if not all(t in sft_tok.get_vocab() for t in DEBATE_TAGS):
        raise CheckpointError(f"parent {cfg.parent!r} has no debate tags in its tokenizer; Stage 2 starts from a "
                              "Stage-1 (SFT) checkpoint: run `python -m models.train sft` first")
    plans = plan(cfg, Manifest.load(sft_folder))
    heldout = heldout_problems(cfg.tier, cfg.heldout, cfg.heldout_seed)
    rows = grpo_rows(cfg.task, cfg.n_prompts, cfg.tier, cfg.seed, [p.question for p in heldout], cfg.question_format)
    judge = _judge(cfg) if cfg.task != "arithmetic" else None
    if not cfg.resume and is_main_process():
        shutil.rmtree(work, ignore_errors=True)
    wait_for_everyone()

    floor = clip_floor(cfg, sft_tok, rows, plans[0].clip_tokens)
    current, history, clip = sft_folder, [], plans[0].clip_tokens
    for it in plans:
        if cfg.clip_schedule == "adaptive":
            it = replace(it, clip_tokens=clip)
        it_dir = work / f"iter{it.index}"
        if cfg.resume and (it_dir / "manifest.json").exists():  # finished before the interruption
            current = it_dir
            history.append(Manifest.load(it_dir).metrics)  # type: ignore[union-attr]
            clip = history[-1].get("next_clip", clip)
            continue
        # Start from the previous iteration's merged weights (SFT included) with a fresh LoRA.
        seed_everything(cfg.seed + it.index)
        model, tok, folder = load_parent(current)
        if tokenizer_hash(tok) != tokenizer_hash(sft_tok):
            raise CheckpointError(f"{folder} has another tokenizer than the Stage-1 parent {sft_folder}")
        log = CompletionLog()
        second = (judge_reward(tok, judge, it.clip_tokens, log) if judge is not None
                  else correctness_reward(tok, it.clip_tokens, log))
        trainer_dir = work / f"iter{it.index}.trainer"
        rewards = [format_reward(tok), second, *([brevity_reward(tok, it.clip_tokens)] if _brevity(cfg) else [])]
        trainer = _GRPOTrainer(model=model, reward_funcs=rewards,
                               args=_grpo_args(cfg, it, trainer_dir), train_dataset=Dataset.from_list(rows),
                               processing_class=tok, peft_config=lora_config(cfg, model, None))
        logger.info("GRPO iteration %d/%d: l = %d tokens, w_fmt = %.3f", it.index, len(plans), it.clip_tokens,
                    it.fmt_weight)
        _, resumed = resume_and_train(trainer, trainer_dir, cfg.resume, tok)
        if cfg.clip_schedule == "adaptive":
            clip = adaptive_clip(log, it.clip_tokens, floor, cfg.clip_quantile)
        metrics = {"iteration": it.index, "clip_tokens": it.clip_tokens, "fmt_weight": it.fmt_weight,
                   "resumed_from_step": resumed_step(resumed), **_iteration_metrics(trainer), **_log_metrics(log),
                   "next_clip": clip, "clip_floor": floor}
        if is_main_process():
            run_config = config_dict(cfg)
            manifest = stage_manifest(f"{cfg.name or out.name}-iter{it.index}", f"grpo-iter{it.index}",
                                      str(current), folder, rows, run_config, metrics)
            save_stage(it_dir, trainer.model.eval(), tok, manifest, run_config, cfg.save_dtype)
            shutil.rmtree(trainer_dir, ignore_errors=True)
        wait_for_everyone()
        history.append(metrics)
        current = it_dir

    if is_main_process():
        _finish(cfg, out, current, sft_folder, rows, history, plans, heldout, start)
        if not cfg.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    wait_for_everyone()
    return out


def _finish(cfg: GRPOStageConfig, out: Path, last: Path, sft_folder: Path, rows: list[dict[str, str]],
            history: list[dict[str, Any]], plans: list[IterationPlan], heldout: list, start: float) -> None:
    """Copy the last iteration to `out` with a manifest covering all iterations, then score it."""
    run_config = config_dict(cfg)
    schedule = [{"index": h["iteration"], "clip_tokens": h["clip_tokens"], "fmt_weight": h["fmt_weight"]} for h in history]
    metrics = {"iterations": history, "schedule": schedule, "seconds": round(time.time() - start, 1)}
    manifest = stage_manifest(cfg.name or out.name, "grpo", cfg.parent, sft_folder, rows, run_config, metrics)
    manifest.config["tokenizer_hash"] = Manifest.load(last).config["tokenizer_hash"]  # type: ignore[union-attr]
    with atomic_folder(out) as tmp:
        shutil.copytree(last, tmp, dirs_exist_ok=True)
        manifest.save(tmp)
    if cfg.task == "arithmetic" and cfg.eval_n:
        score_heldout(out, "transcript", heldout, cfg, max_new_tokens=2 * plans[0].clip_tokens)
    logger.info("stage 2 done: %s (%.0f s)", out, time.time() - start)


def main(argv: list[str] | None = None) -> Path:
    from models.cli import parse_config

    return grpo(parse_config(GRPOStageConfig, argv, "python -m models.train grpo", __doc__.split("\n\n")[0]))
