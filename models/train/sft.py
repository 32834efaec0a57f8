"""Stage 1: debate-structure SFT with trl's `SFTTrainer` (paper §2.2).

Phases: load the parent and refuse a mismatched tokenizer → register the ten debate tags as special
tokens (embeddings resized, each new row = mean of its text's subword rows) → rows ``{prompt: "Problem: q\\n\\n",
completion: trace}``, refused when a trace has no tags → `SFTTrainer` with the loss on the
completion only, LoRA (+ trainable tag rows) or full fine-tuning → save merged weights, adapter,
tokenizer and manifest (with the mean transcript length Stage 2 starts its clip from).

    python -m models.train sft --parent tiny-base --out runs/tiny-sft
"""

from __future__ import annotations

import logging
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from peft import LoraConfig, get_peft_model
from trl import SFTConfig, SFTTrainer

from models.debate.format import DEBATE_TAGS, END_TAG
from models.train.checkpoint import (
    AtomicCheckpoints,
    is_main_process,
    load_parent,
    loss_metrics,
    resume_and_train,
    save_stage,
    score_heldout,
    seed_everything,
    stage_manifest,
    uses_config_threads,
    wait_for_everyone,
    work_dir,
)
from models.cli import config_dict
from models.train.config import LoraConfigFields, SFTStageConfig
from models.train.data import check_tagged, heldout_problems, stage1_rows

logger = logging.getLogger(__name__)


class _SFTTrainer(AtomicCheckpoints, SFTTrainer):
    pass


def add_debate_tags(model: torch.nn.Module, tokenizer: Any) -> list[int]:
    """Register `DEBATE_TAGS` as special tokens (if missing) and resize the embeddings; returns the tag ids.

    Each new embedding (and untied LM-head) row starts at the mean of the rows of the tokens the tag's
    text was split into before (``<|Agent 2 Revision|>`` from ``<``, ``|``, ``Agent``, ``2``, ...),
    rescaled to the average row norm: the tags start distinct, as loud as ordinary tokens, and
    deterministic. (The paper's code used the mean of all rows: ten identical rows with a small norm,
    whose identity later positions can barely read from the residual stream.)
    """
    missing = [t for t in DEBATE_TAGS if t not in tokenizer.get_vocab()]
    pieces = {t: tokenizer(t, add_special_tokens=False)["input_ids"] for t in missing}
    if missing:
        existing = list(getattr(tokenizer, "extra_special_tokens", None) or [])
        tokenizer.add_special_tokens({"additional_special_tokens": list(dict.fromkeys([*existing, *DEBATE_TAGS]))})
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    with torch.no_grad():
        for weight in {id(w): w for w in (model.get_input_embeddings().weight,
                                          model.get_output_embeddings().weight)}.values():
            norm = weight[: weight.shape[0] - len(pieces)].norm(dim=1).mean()
            for tag, ids in pieces.items():
                row = weight[ids].mean(dim=0)
                weight[tokenizer.convert_tokens_to_ids(tag)] = row * (norm / row.norm().clamp_min(1e-8))
    # Generation (trl's GRPO included) stops at the end-of-debate tag as well as at EOS.
    end = tokenizer.convert_tokens_to_ids(END_TAG)
    model.generation_config.eos_token_id = list(dict.fromkeys([tokenizer.eos_token_id, end]))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return tokenizer.convert_tokens_to_ids(list(DEBATE_TAGS))


def lora_config(cfg: LoraConfigFields, model: torch.nn.Module, trainable_ids: list[int] | None) -> LoraConfig:
    """LoRA on the attention and MLP projections; `trainable_ids` rows of the embeddings train in full."""
    tokens = None
    if trainable_ids:
        tokens = {"embed_tokens": trainable_ids}
        if not model.config.tie_word_embeddings:
            tokens["lm_head"] = trainable_ids
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.target_modules), task_type="CAUSAL_LM", trainable_token_indices=tokens)


def with_lora(model: torch.nn.Module, config: LoraConfig) -> torch.nn.Module:
    """`model` wrapped by peft, with the LM head still exposing ``.bias`` as trl's fused LM-head loss expects."""
    from peft.utils.other import TrainableTokensWrapper

    peft_model = get_peft_model(model, config)
    head = peft_model.get_output_embeddings()
    if isinstance(head, TrainableTokensWrapper) and getattr(head.original_module, "bias", None) is None:
        head.bias = None  # peft does not forward `bias`; trl reads it (the merged `.weight` it forwards is right)
    return peft_model


def completion_tokens(rows: list[dict[str, str]], tokenizer: Any) -> list[int]:
    """Tokens of each transcript, counted one row at a time (tags count one token each)."""
    return [len(tokenizer(r["completion"], add_special_tokens=False)["input_ids"]) for r in rows]


@uses_config_threads
def sft(cfg: SFTStageConfig) -> Path:
    """Run Stage 1 and return the finished checkpoint folder."""
    seed_everything(cfg.seed)
    start = time.time()
    out = Path(cfg.out)
    model, tokenizer, parent_folder = load_parent(cfg.parent)
    tag_ids = add_debate_tags(model, tokenizer)

    heldout = heldout_problems(cfg.tier, cfg.heldout, cfg.heldout_seed)
    excluded = [p.question for p in heldout]
    rows = stage1_rows(vars(cfg), excluded)
    check_tagged(rows, cfg.data)
    trace_tokens = completion_tokens(rows, tokenizer)

    work = work_dir(out)
    # warmup_steps=ratio is right: transformers 5 reads a warmup_steps below 1 as a share of the total steps
    args = SFTConfig(
        **cfg.trainer_args(work), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps, learning_rate=cfg.lr,
        per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.grad_accum,
        warmup_steps=cfg.warmup_ratio, max_grad_norm=cfg.max_grad_norm, max_length=cfg.max_length,
        completion_only_loss=True, packing=False, dataset_num_proc=None,
    )
    if cfg.finetune == "lora":
        model = with_lora(model, lora_config(cfg, model, tag_ids))
    trainer = _SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    result, resumed = resume_and_train(trainer, work, cfg.resume, tokenizer)

    if is_main_process():
        metrics: dict[str, Any] = {
            **loss_metrics(trainer, result, resumed), "n_rows": len(rows),
            "mean_trace_tokens": round(statistics.fmean(trace_tokens), 1), "max_trace_tokens": max(trace_tokens),
            "trainable_params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
            "seconds": round(time.time() - start, 1),
        }
        run_config = config_dict(cfg)
        manifest = stage_manifest(cfg.name or out.name, "sft", cfg.parent, parent_folder, rows, run_config, metrics)
        save_stage(out, trainer.model.eval(), tokenizer, manifest, run_config, cfg.save_dtype)
        if (cfg.data == "arithmetic" or cfg.mix_arithmetic) and cfg.eval_n:
            score_heldout(out, "transcript", heldout, cfg, max_new_tokens=min(2 * max(trace_tokens), 1500))
        if not cfg.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        logger.info("stage 1 done: %s (%.0f s)", out, time.time() - start)
    wait_for_everyone()
    return out


def main(argv: list[str] | None = None) -> Path:
    from models.cli import parse_config

    return sft(parse_config(SFTStageConfig, argv, "python -m models.train sft", __doc__.split("\n\n")[0]))
