"""Stage 0: the embedded tiny base model, trained from scratch on untagged single-agent text.

Phases: build the corpus (seeded, held-out problems left out) → train a BPE tokenizer on it (digits
split, no debate tags: Stage 1 adds those) → a random tiny Llama → pack the corpus into blocks →
HF `Trainer` (checkpoints, resume, accelerate) → save + score single-answer accuracy on held-out
problems, which goes into the manifest.

    python -m models.train pretrain --out runs/tiny-base --max-steps 300
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from datasets import Dataset
from transformers import Trainer, TrainingArguments, default_data_collator

from models.tiny import TinyConfig, tiny_llama, train_tokenizer
from models.train.checkpoint import (
    AtomicCheckpoints,
    is_main_process,
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
from models.train.config import PretrainConfig
from models.train.data import heldout_problems, pretraining_documents

logger = logging.getLogger(__name__)


class _Trainer(AtomicCheckpoints, Trainer):
    pass


def pack(docs: list[str], tokenizer, block_size: int) -> Dataset:
    """Concatenate tokenized documents (each starts with BOS, which doubles as EOS) into full blocks."""
    ids: list[int] = []
    for d in docs:
        ids += tokenizer(d)["input_ids"]
    ids.append(tokenizer.eos_token_id)
    n = len(ids) // block_size
    blocks = [ids[i * block_size:(i + 1) * block_size] for i in range(n)]
    return Dataset.from_dict({"input_ids": blocks, "labels": blocks})


@uses_config_threads
def pretrain(cfg: PretrainConfig) -> Path:
    """Run Stage 0 and return the finished checkpoint folder."""
    seed_everything(cfg.seed)
    start = time.time()
    out = Path(cfg.out)
    heldout = heldout_problems(cfg.tier, cfg.heldout, cfg.heldout_seed)

    # Corpus and tokenizer are pure functions of the config, so every process builds the same ones.
    docs = pretraining_documents(cfg.n_debates, cfg.n_persona, cfg.n_drills, cfg.tier, cfg.seed,
                                 [p.question for p in heldout], cfg.p_system, cfg.question_format)
    tokenizer = train_tokenizer(docs, cfg.vocab_size, split_digits=True, name=cfg.name or out.name)
    tokenizer.model_max_length = cfg.n_ctx
    shape = TinyConfig(vocab_size=cfg.vocab_size, n_layers=cfg.n_layers, d_model=cfg.d_model, n_heads=cfg.n_heads,
                       n_kv_heads=cfg.n_kv_heads, d_mlp=cfg.d_mlp, n_ctx=cfg.n_ctx, seed=cfg.seed)
    model = tiny_llama(shape, tokenizer).train()
    dataset = pack(docs, tokenizer, cfg.block_size)

    work = work_dir(out)
    # warmup_steps=ratio is right: transformers 5 reads a warmup_steps below 1 as a share of the total steps
    args = TrainingArguments(
        **cfg.trainer_args(work), max_steps=cfg.max_steps, per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum, learning_rate=cfg.lr, warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay, adam_beta2=0.98, max_grad_norm=1.0, dataloader_num_workers=0,
    )
    trainer = _Trainer(model=model, args=args, train_dataset=dataset, data_collator=default_data_collator,
                       processing_class=tokenizer)
    result, resumed = resume_and_train(trainer, work, cfg.resume, tokenizer)

    # Save and score on the main process only; the others wait so no one reads a half-written folder.
    if is_main_process():
        metrics = {**loss_metrics(trainer, result, resumed), "train_tokens": len(dataset) * cfg.block_size,
                   "n_documents": len(docs), "n_params": sum(p.numel() for p in model.parameters()),
                   "seconds": round(time.time() - start, 1)}
        run_config = config_dict(cfg)
        manifest = stage_manifest(cfg.name or out.name, "pretrained", None, None, docs, run_config, metrics)
        manifest.config["shape"] = config_dict(shape)
        save_stage(out, trainer.model.eval(), tokenizer, manifest, run_config, cfg.save_dtype)
        if cfg.eval_n:  # single-answer accuracy: imperfect, so debate has something to fix
            score_heldout(out, "single", heldout, cfg, max_new_tokens=256)
        if not cfg.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        logger.info("stage 0 done: %s (%.0f s)", out, time.time() - start)
    wait_for_everyone()
    return out


def main(argv: list[str] | None = None) -> Path:
    from models.cli import parse_config

    return pretrain(parse_config(PretrainConfig, argv, "python -m models.train pretrain", __doc__.split("\n\n")[0]))
