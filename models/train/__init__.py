"""The bundled IMAD trainer: Stage 0 (tiny base from scratch), Stage 1 (debate SFT), Stage 2 (GRPO internalization).

Thin code around trl (`SFTTrainer`, `GRPOTrainer`) and peft (LoRA); every stage is a typed config
(also its CLI and its saved record) and one function that writes an atomic checkpoint folder with
a manifest. Heavy imports (torch, trl) happen when a stage module is imported, not here.

    python -m models.train {pretrain,sft,grpo,all} --help

Example:
    >>> from models.train import SFTStageConfig
    >>> from models.train.sft import sft
    >>> sft(SFTStageConfig(parent="tiny-base", out="runs/my-sft", max_steps=50))
"""

from models.train.config import GRPOStageConfig, PipelineConfig, PretrainConfig, SFTStageConfig

__all__ = ["GRPOStageConfig", "PipelineConfig", "PretrainConfig", "SFTStageConfig"]
