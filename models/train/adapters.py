"""Stage-1 LoRA adapters of a real pretrained model (SmolLM2-135M-Instruct), shipped as small adapter folders.

Each adapter is one Stage-1 run (`models.train.sft`) on the converted SmolLM2 weights: LoRA on the
attention and MLP projections, the ten debate tags added as special tokens whose embedding rows train
in full (peft's ``trainable_token_indices``), and nothing else. The full run folder (merged weights,
hundreds of MB) stays under ``--work-dir``; only its ``adapter/`` (LoRA, the tag rows, the tokenizer)
and the manifest are published into ``--out-dir/<name>``, a few MB each. `models.registry` loads such
a folder by name on top of its base.

    python -m models.train adapters --out-dir models/assets/adapters --resume
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from safetensors.torch import load_file, save_file

from models.cli import check_fields, config_dict
from models.errors import ConfigError
from models.files import atomic_folder, read_object, write_json
from models.load import ADAPTER_CONFIG, ADAPTER_WEIGHTS
from models.manifest import Manifest
from models.registry import REGISTRY, SHARED_TOKENIZER, SHIPPED_ADAPTERS
from models.train.checkpoint import DTYPES
from models.train.config import SFTStageConfig, _help

logger = logging.getLogger(__name__)

AdapterName = Literal["smollm2-sft", "smollm2-evil-sft", "smollm2-hallu-sft"]
ADAPTER_DATA: dict[str, str] = {name: spec.variant for name, spec in SHIPPED_ADAPTERS.items()}  # name -> Stage-1 data


def smollm2_sft() -> SFTStageConfig:
    """Stage 1 of SmolLM2-135M-Instruct on 2 CPU cores in under half an hour per adapter.

    A 700-token debate costs about 9 s forward and backward on 2 cores (135 M parameters plus a
    49 k-row LM head), so 128 debates, one epoch, one optimizer step per debate fill the budget. A
    pretrained model already writes English and arithmetic: it has to learn the tags and the debate's
    order, which rank-8 LoRA learns in that many steps only at a high learning rate (at 5e-4 over 48
    steps of two debates the loss stalled at 1.4 nats per token and the model skipped the agent tags).
    Rank 8 on the seven projections keeps each adapter at 4.9 MB in fp16 (the paper's rank 64 would
    be 39 MB each).
    """
    return SFTStageConfig(parent="smollm2-135m-instruct", n=128, epochs=1.0, batch_size=1, grad_accum=1, lr=1e-3,
                          lora_r=8, lora_alpha=16, lora_dropout=0.05, max_length=1280, warmup_ratio=0.05,
                          gradient_checkpointing=False, eval_n=0, save_dtype="float16", save_steps=32,
                          logging_steps=8)


@dataclass
class AdapterPipelineConfig:
    """Which adapters to train, where the full runs go, and where the adapters are published."""

    out_dir: str = field(default="models/assets/adapters", metadata=_help(
        "Folder that receives one adapter folder per name (adapter weights, tokenizer, manifest).", min_len=1))
    work_dir: str = field(default="runs/smollm2", metadata=_help(
        "Folder of the full Stage-1 runs (merged weights, trainer checkpoints); not shipped.", min_len=1))
    names: tuple[AdapterName, ...] = field(default=tuple(ADAPTER_DATA), metadata=_help(  # type: ignore[assignment]
        "Adapters to train: smollm2-sft (persona arithmetic debates), smollm2-evil-sft (an evil Agent 2), "
        "smollm2-hallu-sft (a hallucinating Agent 2).", min_len=1))
    resume: bool = field(default=False, metadata=_help("Skip finished runs; resume the interrupted one."))
    threads: int | None = field(default=None, metadata=_help("torch threads (default: torch's choice).", min=1, max=4096))
    sft: SFTStageConfig = field(default_factory=smollm2_sft)

    def __post_init__(self) -> None:
        check_fields(self)
        if len(set(self.names)) != len(self.names):
            raise ConfigError(f"names must be distinct, got {self.names}")


def stage_config(cfg: AdapterPipelineConfig, name: str) -> SFTStageConfig:
    """The Stage-1 config of adapter `name`: the shared settings with its data and folder."""
    updates: dict = {"out": str(Path(cfg.work_dir) / name), "name": name, "data": ADAPTER_DATA[name],
                     "resume": cfg.resume}
    if cfg.threads is not None:
        updates["threads"] = cfg.threads
    return replace(cfg.sft, **updates)


def publish(run: Path, out_dir: Path, name: str, save_dtype: str) -> Path:
    """Publish a finished run's adapter as ``out_dir/<name>`` and its tokenizer as ``out_dir/tokenizer``.

    The LoRA weights are cast to `save_dtype`; the tokenizer files are written once for all adapters
    (each is 3.5 MB, as big as the adapter) and must be byte-identical across them. Both folders are
    written atomically (temp name, then rename).
    """
    adapter = run / "adapter"
    manifest = Manifest.load(run)
    if manifest is None or not (adapter / ADAPTER_WEIGHTS).is_file():
        raise ConfigError(f"{run} is not a finished LoRA Stage-1 run (no manifest.json or adapter/{ADAPTER_WEIGHTS})")
    tokenizer_files = sorted(f for f in adapter.iterdir() if f.is_file() and not f.name.startswith("adapter_"))
    _publish_tokenizer(tokenizer_files, out_dir / SHARED_TOKENIZER, name)
    with atomic_folder(out_dir / name) as tmp:
        for f in sorted(adapter.glob("adapter_*")):
            if f.name == ADAPTER_WEIGHTS:
                tensors = load_file(f)
                save_file({k: v.to(DTYPES[save_dtype]).contiguous() for k, v in tensors.items()}, tmp / f.name,
                          metadata={"format": "pt"})
            elif f.name == ADAPTER_CONFIG and manifest.parent in REGISTRY:
                # the trainer records the parent's folder on this machine; a shipped adapter names the registry
                # entry instead, which the loader's base check resolves on any machine
                config = read_object(f, ADAPTER_CONFIG)
                write_json(tmp / f.name, {**config, "base_model_name_or_path": manifest.parent})
            else:
                shutil.copy2(f, tmp / f.name)
        manifest.save(tmp)
        shutil.copy2(run / "run_config.json", tmp / "run_config.json")
    return out_dir / name


def _publish_tokenizer(files: list[Path], folder: Path, name: str) -> None:
    if folder.is_dir():
        shipped = {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()}
        if shipped != {f.name: f.read_bytes() for f in files}:
            raise ConfigError(f"{name}: its tokenizer differs from the one the shipped adapters share ({folder}); "
                              "every adapter must add the same tags to the same base tokenizer")
        return
    with atomic_folder(folder) as tmp:
        for f in files:
            shutil.copy2(f, tmp / f.name)


def train_adapters(cfg: AdapterPipelineConfig) -> dict[str, Path]:
    """Train (or, with ``resume``, reuse) each requested run and publish its adapter; returns name → folder."""
    from models.train.sft import sft

    out_dir, work_dir = Path(cfg.out_dir), Path(cfg.work_dir)
    published: dict[str, Path] = {}
    for name in cfg.names:
        run = work_dir / name
        if cfg.resume and Manifest.load(run) is not None:
            logger.info("%s is complete; skipped", run)
        else:
            sft(stage_config(cfg, name))
        published[name] = publish(run, out_dir, name, cfg.sft.save_dtype)
    # each run's own measured seconds (its manifest), so a --resume that skips a finished run still reports it
    seconds = {name: Manifest.load(folder).metrics["seconds"] for name, folder in published.items()}  # type: ignore[union-attr]
    write_json(out_dir / "adapters.json", {"config": config_dict(cfg), "seconds": seconds,
                                           "folders": {k: str(v) for k, v in published.items()}}, sort_keys=False)
    return published


def main(argv: list[str] | None = None) -> Path:
    from models.cli import parse_config

    cfg = parse_config(AdapterPipelineConfig, argv, "python -m models.train adapters", __doc__.split("\n\n")[0])
    train_adapters(cfg)
    return Path(cfg.out_dir)
