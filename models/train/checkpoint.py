"""Everything that decides what a stage writes: atomic folders, merged weights + LoRA adapter, manifest.

A finished stage folder is a normal HF checkpoint (merged weights, tokenizer) that `models.load`
reads in every backend, plus:

* ``adapter/``: the LoRA adapter relative to the parent (absent after full fine-tuning),
* ``manifest.json``: parent, stage, data hash, config hash, hyperparameters, metrics,
* ``run_config.json`` (the resolved stage config, a valid ``--config`` file) and ``env.json``.

Folders are built under a temporary name and renamed, and trainer checkpoints (``checkpoint-N``)
are staged the same way, so a killed run never leaves a folder that loads half-written.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from models.errors import CheckpointError
from models.load import load, load_hf, load_tokenizer
from models.files import atomic_folder, write_json
from models.identity import folder_fingerprint
from models.manifest import Manifest, hash_json
from models.provenance import env_info
from models.debate.prompts import present
from models.train.evaluate import evaluate

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
WORK_SUFFIX = ".work"


def _process_group() -> Any:
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def is_main_process() -> bool:
    """Rank 0 (or a single process). Reads the launcher's RANK before the trainer starts the process group.

    It deliberately does not touch accelerate's `PartialState`: initialising it here, before the
    trainer does with ``cpu=True``, would pin a CPU run under ``accelerate launch`` to one process.
    """
    group = _process_group()
    return group.get_rank() == 0 if group is not None else int(os.environ.get("RANK", "0")) == 0


def wait_for_everyone() -> None:
    group = _process_group()
    if group is not None:
        group.barrier()


def tokenizer_hash(tok: PreTrainedTokenizerBase) -> str:
    """Identity of a tokenizer: its vocabulary and special tokens (not its padding side or paths)."""
    return hash_json({"vocab": sorted(tok.get_vocab().items()), "special": sorted(map(str, tok.all_special_tokens))})


def load_parent(name_or_path: str | Path) -> tuple[torch.nn.Module, PreTrainedTokenizerBase, Path]:
    """The fp32 model and tokenizer of a parent checkpoint, with every check `models.load.load_hf` makes
    (config against weights, NaN, a tokenizer larger than the embedding) plus the manifest's tokenizer hash."""
    model, tok, folder = load_hf(name_or_path, dtype=torch.float32)
    check_recorded_tokenizer(tok, folder)
    return model, tok, folder


def check_recorded_tokenizer(tok: PreTrainedTokenizerBase, folder: Path) -> None:
    """Raise `CheckpointError` when `folder`'s tokenizer is not the one its manifest says it was trained with."""
    manifest = Manifest.load(folder)
    expected = manifest.config.get("tokenizer_hash") if manifest else None
    if expected and expected != tokenizer_hash(tok):
        raise CheckpointError(
            f"checkpoint {folder}: its tokenizer (hash {tokenizer_hash(tok)}) is not the one recorded in its manifest "
            f"(hash {expected}); the tokenizer files were replaced by another checkpoint's. Restore them or retrain")


def check_resume_tokenizer(checkpoint: Path, tok: PreTrainedTokenizerBase) -> None:
    """Refuse to resume a trainer checkpoint that was written with a different tokenizer."""
    if not (checkpoint / "tokenizer.json").exists():
        return
    saved = load_tokenizer(checkpoint)
    if tokenizer_hash(saved) != tokenizer_hash(tok):
        raise CheckpointError(
            f"cannot resume from {checkpoint}: it was trained with another tokenizer ({len(saved)} tokens, hash "
            f"{tokenizer_hash(saved)}) than this run's ({len(tok)} tokens, hash {tokenizer_hash(tok)}). "
            f"Use a fresh --out, or drop --resume to start over")


def work_dir(out: str | Path) -> Path:
    """Where a stage keeps its trainer checkpoints (and GRPO its iterations) while it runs."""
    out = Path(out)
    return out.with_name(out.name + WORK_SUFFIX)


def last_checkpoint(folder: Path) -> Path | None:
    """The complete ``checkpoint-N`` with the largest N (staged writes mean every listed one is complete)."""
    found = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").exists() and p.name[11:].isdigit()]
    return max(found, key=lambda p: int(p.name[11:]), default=None)


def save_stage(
    out: Path,
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    manifest: Manifest,
    run_config: dict[str, Any],
    save_dtype: str = "float32",
) -> torch.nn.Module:
    """Write a finished stage atomically and return the plain (merged) model.

    A `PeftModel` is saved twice: its adapter under ``adapter/`` (with the tokenizer), then merged
    into the weights, which every backend (TransformerLens included) can load.
    """
    from peft import PeftModel

    manifest.config = {**manifest.config, "tokenizer_hash": tokenizer_hash(tokenizer)}
    with atomic_folder(out) as tmp:
        if isinstance(model, PeftModel):
            # The tag rows live in the adapter's own trainable-token tensors: never the whole resized embedding.
            model.save_pretrained(tmp / "adapter", save_embedding_layers=False)
            (tmp / "adapter" / "README.md").unlink(missing_ok=True)  # peft's empty model-card template
            tokenizer.save_pretrained(tmp / "adapter")
            model = model.merge_and_unload()
        dtype = DTYPES[save_dtype]
        state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
        model.save_pretrained(tmp, state_dict=state)
        tokenizer.save_pretrained(tmp)
        manifest.save(tmp)
        write_json(tmp / "run_config.json", run_config)
        write_json(tmp / "env.json", env_info())
    return model


def add_metrics(folder: Path, metrics: dict[str, Any]) -> Manifest:
    """Add `metrics` to a saved folder's manifest (atomically): scores measured on the saved weights."""
    manifest = Manifest.load(folder)
    if manifest is None:
        raise CheckpointError(f"{folder} has no manifest.json")
    manifest.metrics.update(metrics)
    manifest.save(folder)
    return manifest


def stage_manifest(name: str, stage: str, parent: str | None, parent_folder: Path | None, rows: Any,
                   run_config: dict[str, Any], metrics: dict[str, Any]) -> Manifest:
    """The manifest of a finished stage: the data hash covers the exact training rows."""
    config = dict(run_config)
    if parent_folder is not None:
        config["parent_fingerprint"] = folder_fingerprint(parent_folder)
    return Manifest(name=name, stage=stage, parent=parent, data_hash=hash_json(rows),
                    config_hash=hash_json(run_config), config=config, metrics=metrics)


class AtomicCheckpoints:
    """Trainer mixin: each ``checkpoint-N`` is written under ``.staging/`` and renamed into place when complete."""

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        from transformers.trainer import rotate_checkpoints

        root = self.args.output_dir  # type: ignore[attr-defined]
        staging = os.path.join(root, ".staging")
        self.args.output_dir = staging  # type: ignore[attr-defined]
        try:
            super()._save_checkpoint(model, trial)  # type: ignore[misc]
        finally:
            self.args.output_dir = root  # type: ignore[attr-defined]
        self.accelerator.wait_for_everyone()  # type: ignore[attr-defined]
        if self.is_world_process_zero():  # type: ignore[attr-defined]
            name = f"checkpoint-{self.state.global_step}"  # type: ignore[attr-defined]
            dst = os.path.join(root, name)
            shutil.rmtree(dst, ignore_errors=True)
            os.replace(os.path.join(staging, name), dst)
            shutil.rmtree(staging, ignore_errors=True)
            rotate_checkpoints(output_dir=root, save_total_limit=self.args.save_total_limit, use_mtime=True)  # type: ignore[attr-defined]
        self.accelerator.wait_for_everyone()  # type: ignore[attr-defined]


def uses_config_threads(stage: Callable[[Any], Path]) -> Callable[[Any], Path]:
    """Run a stage with ``cfg.threads`` torch threads and restore the caller's setting afterwards."""

    @functools.wraps(stage)
    def run(cfg: Any) -> Path:
        before = torch.get_num_threads()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        try:
            return stage(cfg)
        finally:
            torch.set_num_threads(before)

    return run


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch before anything random (LoRA init, dropout, sampling) happens."""
    from transformers import set_seed

    set_seed(seed)


def resume_and_train(trainer: Any, work: Path, resume: bool, tokenizer: PreTrainedTokenizerBase) -> tuple[Any, Path | None]:
    """Train, continuing from the last complete checkpoint in `work` when `resume`; every process then waits.

    Returns trl/transformers' train output and the checkpoint resumed from (None for a fresh run).
    """
    last = last_checkpoint(work) if resume else None
    if last is not None:
        check_resume_tokenizer(last, tokenizer)
    result = trainer.train(resume_from_checkpoint=str(last) if last else None)
    wait_for_everyone()
    return result, last


def resumed_step(resumed: Path | None) -> int:
    """The global step of a ``checkpoint-<step>`` folder, 0 for a fresh run."""
    return int(resumed.name.removeprefix("checkpoint-")) if resumed else 0


def loss_metrics(trainer: Any, result: Any, resumed: Path | None) -> dict[str, Any]:
    """Training loss summary every loss-trained stage records in its manifest."""
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {"train_loss": result.training_loss, "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None, "steps": trainer.state.global_step,
            "resumed_from_step": resumed_step(resumed)}


def score_heldout(folder: Path, system: str, heldout: list, cfg: Any, max_new_tokens: int) -> dict[str, Any]:
    """Score the saved checkpoint on the first ``cfg.eval_n`` held-out problems and add the figures to its manifest.

    Scoring the folder rather than the in-memory model makes the numbers describe exactly what was written.
    """
    problems = heldout[:cfg.eval_n]
    score = evaluate(load(folder), system, [present(p.question, cfg.question_format) for p in problems],
                     [str(p.answer) for p in problems], max_new_tokens=max_new_tokens)
    n = cfg.eval_n
    metrics = ({f"single_accuracy_heldout{n}": score.accuracy, f"single_mean_tokens_heldout{n}": round(score.mean_tokens, 1)}
               if system == "single" else
               {f"heldout{n}_accuracy": score.accuracy, f"heldout{n}_mean_tokens": round(score.mean_tokens, 1),
                f"heldout{n}_tag_rate": score.tag_rate})
    add_metrics(folder, metrics)
    return metrics
