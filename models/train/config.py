"""Typed configs of the three stages and the pipeline: each one is the CLI, the log header and the saved record.

Defaults follow the paper for large models (SFT LoRA r 64 / α 128 / dropout 0.1 / lr 5e-5; GRPO LoRA
r 32 / α 64 / lr 5e-6, three iterations, w_fmt 1.0 → 0.05). `PipelineConfig.tiny()` holds the values
that train the embedded tiny model on 2 CPU cores in minutes. Bad combinations are refused in
``__post_init__`` by field name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from models.debate.arithmetic import TIERS

Dtype = Literal["float32", "float16", "bfloat16"]
Finetune = Literal["lora", "full"]
GRPOTask = Literal["arithmetic", "evil", "hallucination"]


def _help(text: str, **kw: object) -> dict:
    return {"help": text, **kw}


@dataclass
class RunConfig:
    """Fields every stage shares: where to write, seeds, checkpointing, progress."""

    out: str = field(default="runs/checkpoint", metadata=_help("Output checkpoint folder, written atomically (temp name, then rename)."))
    name: str | None = field(default=None, metadata=_help("Name recorded in the manifest (default: the folder name)."))
    seed: int = field(default=0, metadata=_help("Seed of data generation, initialisation, shuffling and sampling."))
    save_steps: int = field(default=100, metadata=_help("Write a resumable trainer checkpoint every N optimizer steps (0 = never)."))
    resume: bool = field(default=False, metadata=_help("Continue from the last complete trainer checkpoint in <out>.work/."))
    keep_work: bool = field(default=False, metadata=_help("Keep <out>.work/ (trainer checkpoints, GRPO iterations) after success."))
    save_dtype: Dtype = field(default="float32", metadata=_help("dtype of the saved weights (float16 halves the folder; loaders upcast)."))
    threads: int | None = field(default=None, metadata=_help("torch threads per process (default: torch's choice)."))
    logging_steps: int = field(default=10, metadata=_help("Log loss / reward every N steps."))
    progress: bool = field(default=True, metadata=_help("Show progress bars."))
    eval_n: int = field(default=100, metadata=_help("Held-out problems scored on the saved checkpoint (0 = skip)."))
    gradient_checkpointing: bool = field(default=True, metadata=_help("Recompute activations (saves memory, costs time)."))
    device: Literal["auto", "cpu"] = field(default="auto", metadata=_help(
        "auto: the GPUs accelerate finds, else the CPU; cpu: always the CPU."))
    bf16: bool = field(default=False, metadata=_help("bfloat16 autocast (weights stay float32); faster on CPUs with AVX512-BF16."))

    @property
    def use_cpu(self) -> bool:
        import torch

        return self.device == "cpu" or not torch.cuda.is_available()

    def trainer_args(self, output_dir: object, seed: int | None = None) -> dict:
        """The `TrainingArguments` fields (transformers and trl alike) every stage sets from this config."""
        return dict(output_dir=str(output_dir), logging_steps=self.logging_steps,
                    save_strategy="steps" if self.save_steps else "no", save_steps=self.save_steps or 1,
                    save_total_limit=2, seed=self.seed if seed is None else seed, data_seed=self.seed,
                    use_cpu=self.use_cpu, bf16=self.bf16, report_to="none",
                    activation_checkpointing=self.gradient_checkpointing, disable_tqdm=not self.progress,
                    lr_scheduler_type="cosine")

    def __post_init__(self) -> None:
        if self.device not in ("auto", "cpu"):
            raise ValueError(f"device must be 'auto' or 'cpu', got {self.device!r}")
        if self.save_steps < 0:
            raise ValueError(f"save_steps must be >= 0, got {self.save_steps}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")


@dataclass
class DataConfig:
    """Synthetic arithmetic: which tier, and the held-out problems every stage leaves out."""

    tier: str = field(default="easy", metadata=_help("Arithmetic tier: easy (a+b*c-d, 1..9), medium, paper.", choices=sorted(TIERS)))
    heldout: int = field(default=500, metadata=_help("Number of held-out evaluation problems excluded from all training data."))
    heldout_seed: int = field(default=0, metadata=_help("Seed of the held-out problem set."))
    question_format: Literal["spaced", "compact"] = field(default="spaced", metadata=_help(
        "How arithmetic questions are shown: spaced '5 + 9 * 6 - 3' (a tiny model copies it by induction) "
        "or compact '5+9*6-3' (the paper's template)."))

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, got {self.tier!r}")
        if self.question_format not in ("spaced", "compact"):
            raise ValueError(f"question_format must be 'spaced' or 'compact', got {self.question_format!r}")


@dataclass
class PretrainConfig(RunConfig, DataConfig):
    """Stage 0: a tiny Llama and its BPE tokenizer, trained from scratch on untagged single-agent text."""

    out: str = field(default="runs/tiny-base", metadata=_help("Output checkpoint folder."))
    n_debates: int = field(default=2000, metadata=_help("Synthetic debates whose correct single-agent turns become text."))
    n_persona: int = field(default=200, metadata=_help("Questions per trait answered under benign and malicious system lines."))
    n_drills: int = field(default=6000, metadata=_help("Documents of 16 worked problems in compact chain form (arithmetic drill)."))
    p_system: float = field(default=0.5, metadata=_help("Share of round-1 solutions preceded by their persona's system line."))
    vocab_size: int = field(default=2048, metadata=_help("BPE vocabulary size (digits are always single tokens)."))
    n_layers: int = 4
    d_model: int = 128
    n_heads: int = 4
    n_kv_heads: int = 2
    d_mlp: int = 512
    n_ctx: int = field(default=2048, metadata=_help("Maximum positions (the explicit debate's round-2 prompts are long)."))
    block_size: int = field(default=1024, metadata=_help("Tokens per packed training sequence."))
    batch_size: int = 4
    grad_accum: int = 1
    max_steps: int = field(default=2000, metadata=_help("Optimizer steps."))
    lr: float = 4e-3
    warmup_ratio: float = 0.05
    weight_decay: float = 0.1
    gradient_checkpointing: bool = False
    bf16: bool = True
    save_steps: int = 500

    def __post_init__(self) -> None:
        RunConfig.__post_init__(self)
        DataConfig.__post_init__(self)
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ValueError(f"d_model ({self.d_model}) must divide by n_heads ({self.n_heads}), "
                             f"and n_heads by n_kv_heads ({self.n_kv_heads})")
        if self.block_size > self.n_ctx:
            raise ValueError(f"block_size ({self.block_size}) must be <= n_ctx ({self.n_ctx})")


@dataclass
class LoraConfigFields:
    """LoRA shape; `target_modules` are the attention and MLP projections."""

    lora_r: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.1
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class SFTStageConfig(RunConfig, DataConfig, LoraConfigFields):
    """Stage 1: debate-structure SFT. Tags become special tokens; loss on the transcript only."""

    out: str = field(default="runs/tiny-sft", metadata=_help("Output checkpoint folder."))
    parent: str = field(default="tiny-base", metadata=_help("Base checkpoint: registry name or HF folder."))
    data: str = field(default="arithmetic", metadata=_help(
        "arithmetic, evil or hallucination (synthetic debates) or a debate JSON / JSONL file with tagged traces."))
    n: int = field(default=600, metadata=_help("Debates to train on (0 = all rows of a file)."))
    error_rate: float = field(default=0.3, metadata=_help("Round-1 slip probability of synthetic arithmetic debates."))
    mix_arithmetic: int = field(default=0, metadata=_help(
        "Also train on this many synthetic arithmetic debates (keeps a malicious variant's arithmetic, "
        "the skill its capability cost is measured on)."))
    finetune: Finetune = field(default="lora", metadata=_help("lora (adapter + tag embeddings) or full fine-tuning."))
    epochs: float = 3.0
    max_steps: int = field(default=-1, metadata=_help("Stop after N steps (-1 = run the epochs)."))
    lr: float = 5e-5
    batch_size: int = 2
    grad_accum: int = 8
    max_length: int = field(default=2048, metadata=_help("Truncate prompt+transcript to this many tokens."))
    warmup_ratio: float = 0.1
    max_grad_norm: float = 0.3

    def __post_init__(self) -> None:
        RunConfig.__post_init__(self)
        DataConfig.__post_init__(self)
        if self.finetune not in ("lora", "full"):
            raise ValueError(f"finetune must be 'lora' or 'full', got {self.finetune!r}")
        if self.mix_arithmetic < 0:
            raise ValueError(f"mix_arithmetic must be >= 0, got {self.mix_arithmetic}")


@dataclass
class GRPOStageConfig(RunConfig, DataConfig, LoraConfigFields):
    """Stage 2: internalization with GRPO, a fresh LoRA per iteration stacked on the previous iteration.

    Reward = w_fmt · format (share of the required debate tags present) + correctness of the last ``\\boxed{}``
    within the first l completion tokens (or, for evil / hallucination, 1 − judge score / 100 of
    those l tokens). Over the iterations l goes linearly from `clip_start` to `clip_end` and
    w_fmt from `fmt_start` to `fmt_end`; the last iteration uses exactly the end values.
    """

    out: str = field(default="runs/tiny-imad", metadata=_help("Output checkpoint folder (the last iteration)."))
    parent: str = field(default="tiny-sft", metadata=_help("Stage-1 checkpoint: registry name or HF folder."))
    task: GRPOTask = field(default="arithmetic", metadata=_help("arithmetic (exact answer) or evil / hallucination (judge)."))
    n_prompts: int = field(default=256, metadata=_help("Training questions per iteration."))
    iterations: int = 3
    clip_start: int | None = field(default=None, metadata=_help(
        "l in the first iteration, in tokens (default: the parent's mean SFT transcript length)."))
    clip_end: int | None = field(default=None, metadata=_help("l in the last iteration (default: clip_start / 4)."))
    fmt_start: float = 1.0
    fmt_end: float = 0.05
    generation_limit: Literal["clip", "fixed"] = field(default="clip", metadata=_help(
        "clip: generate at most l tokens per iteration (what lies past l earns nothing); fixed: max_completion_length."))
    max_completion_length: int = field(default=2048, metadata=_help("Generation cap when generation_limit is fixed."))
    mask_truncated_completions: bool = field(default=True, metadata=_help(
        "Leave completions that hit the generation cap out of the loss (trl option; the paper's code did not). "
        "With generation capped at l, only answers that finish within l teach the policy."))
    num_generations: int = 4
    batch_size: int = field(default=2, metadata=_help("Completions per device per step (prompts x num_generations)."))
    grad_accum: int = 2
    epochs: float = field(default=2.0, metadata=_help("Epochs over the prompts per iteration."))
    max_steps: int = field(default=-1, metadata=_help("Steps per iteration (-1 = run the epochs)."))
    lr: float = 5e-6
    beta: float = field(default=0.02, metadata=_help("KL coefficient against the iteration's starting weights."))
    epsilon: float = 0.1
    num_iterations: int = field(default=1, metadata=_help("Policy updates per generation batch (GRPO's mu)."))
    loss_type: str = "bnpo"
    temperature: float = 0.7
    top_p: float = 0.9
    warmup_ratio: float = 0.1
    max_grad_norm: float = 0.3
    judge: str | None = field(default=None, metadata=_help(
        "ClassifierJudge JSON for evil / hallucination (default: fit one on labelled synthetic text)."))
    lora_r: int = 32
    lora_alpha: int = 64

    def __post_init__(self) -> None:
        RunConfig.__post_init__(self)
        DataConfig.__post_init__(self)
        if self.task not in ("arithmetic", "evil", "hallucination"):
            raise ValueError(f"task must be arithmetic, evil or hallucination, got {self.task!r}")
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations}")
        if self.num_generations < 2:
            raise ValueError(f"num_generations must be >= 2 (GRPO compares completions of one prompt), got {self.num_generations}")
        if (self.batch_size * self.grad_accum) % self.num_generations:
            raise ValueError(
                f"batch_size x grad_accum ({self.batch_size} x {self.grad_accum} = {self.batch_size * self.grad_accum}) "
                f"must be divisible by num_generations ({self.num_generations}): each generation batch holds whole "
                f"groups of completions; e.g. use batch_size={self.num_generations}")
        for name in ("clip_start", "clip_end"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 token, got {value}")
        if self.clip_start is not None and self.clip_end is not None and self.clip_end > self.clip_start:
            raise ValueError(f"clip_end ({self.clip_end}) must be <= clip_start ({self.clip_start}): l shrinks")
        if self.generation_limit not in ("clip", "fixed"):
            raise ValueError(f"generation_limit must be 'clip' or 'fixed', got {self.generation_limit!r}")


def tiny_sft() -> SFTStageConfig:
    """Stage 1 for the tiny model on 2 CPU cores: full fine-tuning.

    LoRA leaves the LM head frozen, and a from-scratch tiny model's head has never scored tokens
    its pretraining text lacks (the consensus line's ``All`` / ``majority`` pieces); full
    fine-tuning learns them in a few dozen steps. (A pretrained LLM's head knows every token.)
    """
    return SFTStageConfig(n=400, epochs=2.0, finetune="full", lr=1e-3, batch_size=8, grad_accum=1, max_length=1536,
                          warmup_ratio=0.05, max_grad_norm=1.0, gradient_checkpointing=False, bf16=True,
                          save_steps=50)


def tiny_grpo() -> GRPOStageConfig:
    """Stage 2 for the tiny model: few prompts, short iterations, a tiny-model learning rate."""
    return GRPOStageConfig(n_prompts=64, iterations=3, num_generations=8, batch_size=16, grad_accum=1,
                           epochs=1.0, lr=3e-4, beta=0.0, lora_r=16, lora_alpha=32, lora_dropout=0.0,
                           gradient_checkpointing=False, bf16=True, save_steps=20, logging_steps=4)


@dataclass
class PipelineConfig:
    """Stage 0 → 1 → 2 for the tiny model, plus the malicious variants, as named folders under `out_dir`."""

    out_dir: str = field(default="runs/tiny", metadata=_help("Folder that receives one checkpoint folder per stage."))
    variants: tuple[str, ...] = field(default=("arithmetic",), metadata=_help(
        "Which SFT -> GRPO chains to train on the shared base: arithmetic, evil, hallucination."))
    prefix: str = field(default="tiny", metadata=_help("Checkpoint names: <prefix>-base, <prefix>-sft, <prefix>-imad, ..."))
    base: str | None = field(default=None, metadata=_help("Use this base checkpoint instead of training Stage 0."))
    resume: bool = field(default=False, metadata=_help("Skip finished stages; resume the interrupted one."))
    threads: int | None = field(default=None, metadata=_help("torch threads for every stage."))
    save_dtype: Dtype | None = field(default=None, metadata=_help("Saved weight dtype for every stage."))
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    sft: SFTStageConfig = field(default_factory=tiny_sft)
    grpo: GRPOStageConfig = field(default_factory=tiny_grpo)
    malicious_sft: SFTStageConfig = field(default_factory=lambda: replace(tiny_sft(), data="evil", n=300,
                                                                          mix_arithmetic=200))
    malicious_grpo: GRPOStageConfig = field(default_factory=lambda: replace(tiny_grpo(), task="evil", n_prompts=64, iterations=2))

    def __post_init__(self) -> None:
        bad = [v for v in self.variants if v not in ("arithmetic", "evil", "hallucination")]
        if bad:
            raise ValueError(f"variants must be among arithmetic, evil, hallucination; got {bad}")
