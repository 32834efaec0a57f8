"""Typed configs of the three stages and the pipeline: each one is the CLI, the log header and the saved record.

Defaults follow the paper for large models (SFT LoRA r 64 / α 128 / dropout 0.1 / lr 5e-5; GRPO LoRA
r 32 / α 64 / lr 5e-6, three iterations, w_fmt 1.0 → 0.05). `PipelineConfig.tiny()` holds the values
that train the embedded tiny model on 2 CPU cores in minutes.

Each field's range sits in its metadata (``min``, ``max``, ``gt``, ``choices``, ``min_len``; see
`models.cli`), checked with its type by `check_fields` in ``__post_init__``, so a negative count or a
float seed is refused by name before anything trains. Rules across fields follow in ``__post_init__``;
every refusal is a `ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from models.cli import check_fields
from models.debate.arithmetic import TIERS
from models.debate.generate import StopRule
from models.vocab import DebateTrait
from models.errors import ConfigError

Dtype = Literal["float32", "float16", "bfloat16"]
Finetune = Literal["lora", "full"]
GRPOTask = Literal["arithmetic", DebateTrait]
LossType = Literal["grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo"]
SEED = {"min": 0, "max": 2**32 - 1}  # what numpy and torch accept as a seed
RATE = {"min": 0.0, "max": 1.0}
# transformers 5 reads warmup_steps < 1 as a share of the run but 1.0 as one step: a share must stay below 1
WARMUP = {"min": 0.0, "lt": 1.0}


def _help(text: str, **kw: object) -> dict:
    return {"help": text, **kw}


def _like(cls: type, name: str, default: Any) -> Any:
    """Redeclare an inherited field with another default, keeping its help and range."""
    return field(default=default, metadata=cls.__dataclass_fields__[name].metadata)  # type: ignore[attr-defined]


def _check_max_steps(value: int) -> None:
    if value == 0 or value < -1:
        raise ConfigError(f"max_steps must be -1 (run the epochs) or >= 1, got {value}")


@dataclass
class RunConfig:
    """Fields every stage shares: where to write, seeds, checkpointing, progress."""

    out: str = field(default="runs/checkpoint", metadata=_help("Output checkpoint folder, written atomically (temp name, then rename).", min_len=1))
    name: str | None = field(default=None, metadata=_help("Name recorded in the manifest (default: the folder name)."))
    seed: int = field(default=0, metadata=_help("Seed of data generation, initialisation, shuffling and sampling.", **SEED))
    save_steps: int = field(default=100, metadata=_help("Write a resumable trainer checkpoint every N optimizer steps (0 = never).", min=0))
    resume: bool = field(default=False, metadata=_help("Continue from the last complete trainer checkpoint in <out>.work/."))
    keep_work: bool = field(default=False, metadata=_help("Keep <out>.work/ (trainer checkpoints, GRPO iterations) after success."))
    save_dtype: Dtype = field(default="float32", metadata=_help("dtype of the saved weights (float16 halves the folder; loaders upcast)."))
    threads: int | None = field(default=None, metadata=_help("torch threads per process (default: torch's choice).", min=1, max=4096))
    logging_steps: int = field(default=10, metadata=_help("Log loss / reward every N steps.", min=1))
    progress: bool = field(default=True, metadata=_help("Show progress bars."))
    eval_n: int = field(default=100, metadata=_help("Held-out problems scored on the saved checkpoint (0 = skip).", min=0))
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
        check_fields(self)


@dataclass
class DataConfig:
    """Synthetic arithmetic: which tier, and the held-out problems every stage leaves out."""

    tier: str = field(default="easy", metadata=_help("Arithmetic tier: easy (a+b*c-d, 1..9), medium, paper.", choices=sorted(TIERS)))
    heldout: int = field(default=500, metadata=_help("Number of held-out evaluation problems excluded from all training data.",
                                                     min=0, max=100_000))
    heldout_seed: int = field(default=0, metadata=_help("Seed of the held-out problem set.", **SEED))
    question_format: Literal["spaced", "compact"] = field(default="spaced", metadata=_help(
        "How arithmetic questions are shown: spaced '5 + 9 * 6 - 3' (a tiny model copies it by induction) "
        "or compact '5+9*6-3' (the paper's template)."))

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class PretrainConfig(RunConfig, DataConfig):
    """Stage 0: a tiny Llama and its BPE tokenizer, trained from scratch on untagged single-agent text."""

    out: str = field(default="runs/tiny-base", metadata=_help("Output checkpoint folder.", min_len=1))
    n_debates: int = field(default=2000, metadata=_help("Synthetic debates whose correct single-agent turns become text.", min=1))
    n_persona: int = field(default=200, metadata=_help("Questions per trait answered under benign and malicious system lines.", min=0))
    n_drills: int = field(default=6000, metadata=_help("Documents of 16 worked problems in compact chain form (arithmetic drill).", min=0))
    p_system: float = field(default=0.5, metadata=_help("Share of round-1 solutions preceded by their persona's system line.", **RATE))
    vocab_size: int = field(default=2048, metadata=_help("BPE vocabulary size (digits are always single tokens).",
                                                         min=256, max=1_000_000))
    n_layers: int = field(default=4, metadata=_help("Transformer blocks.", min=1, max=1024))
    d_model: int = field(default=128, metadata=_help("Residual width.", min=1, max=65536))
    n_heads: int = field(default=4, metadata=_help("Attention heads.", min=1, max=1024))
    n_kv_heads: int = field(default=2, metadata=_help("Key/value heads (grouped-query attention).", min=1, max=1024))
    d_mlp: int = field(default=512, metadata=_help("MLP hidden width.", min=1, max=262144))
    n_ctx: int = field(default=2048, metadata=_help("Maximum positions (the explicit debate's round-2 prompts are long).",
                                                    min=1, max=1_048_576))
    block_size: int = field(default=1024, metadata=_help("Tokens per packed training sequence.", min=1))
    batch_size: int = field(default=4, metadata=_help("Sequences per device per step.", min=1))
    grad_accum: int = field(default=1, metadata=_help("Gradient accumulation steps.", min=1))
    max_steps: int = field(default=2000, metadata=_help("Optimizer steps.", min=1))
    lr: float = field(default=4e-3, metadata=_help("Peak learning rate.", gt=0.0))
    warmup_ratio: float = field(default=0.05, metadata=_help("Share of steps spent warming up the learning rate.", **WARMUP))
    weight_decay: float = field(default=0.1, metadata=_help("AdamW weight decay.", min=0.0))
    gradient_checkpointing: bool = _like(RunConfig, "gradient_checkpointing", False)
    bf16: bool = _like(RunConfig, "bf16", True)
    save_steps: int = _like(RunConfig, "save_steps", 500)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ConfigError(f"d_model ({self.d_model}) must divide by n_heads ({self.n_heads}), "
                             f"and n_heads by n_kv_heads ({self.n_kv_heads})")
        if self.block_size > self.n_ctx:
            raise ConfigError(f"block_size ({self.block_size}) must be <= n_ctx ({self.n_ctx})")


@dataclass
class LoraConfigFields:
    """LoRA shape; `target_modules` are the attention and MLP projections."""

    lora_r: int = field(default=64, metadata=_help("LoRA rank.", min=1, max=65536))
    lora_alpha: int = field(default=128, metadata=_help("LoRA scaling numerator (scale = alpha / r).", min=1))
    lora_dropout: float = field(default=0.1, metadata=_help("Dropout on the LoRA input.", min=0.0, max=0.99))
    target_modules: tuple[str, ...] = field(
        default=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
        metadata=_help("Module names that receive a LoRA adapter.", min_len=1))

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class SFTStageConfig(RunConfig, DataConfig, LoraConfigFields):
    """Stage 1: debate-structure SFT. Tags become special tokens; loss on the transcript only."""

    out: str = field(default="runs/tiny-sft", metadata=_help("Output checkpoint folder.", min_len=1))
    parent: str = field(default="tiny-base", metadata=_help("Base checkpoint: registry name or HF folder.", min_len=1))
    data: str = field(default="arithmetic", metadata=_help(
        "arithmetic, evil or hallucination (synthetic debates), a debate JSON / JSONL file with tagged traces, or a "
        "fetched published file by name (paper:arithmetic-diverse; python -m models.debate.fetch --help).",
        min_len=1))
    n: int = field(default=600, metadata=_help("Debates to train on (0 = all rows of a file).", min=0))
    error_rate: float = field(default=0.3, metadata=_help("Round-1 slip probability of synthetic arithmetic debates.", **RATE))
    brief_rate: float = field(default=0.0, metadata=_help(
        "Share of round-1 turns of synthetic arithmetic debates written in their persona's brief form (a line or two): "
        "shorter turns a tiny model can then choose in Stage 2.", **RATE))
    stop_rule: StopRule = field(default="unanimous", metadata=_help(
        "When round 1 ends a synthetic arithmetic debate: unanimous (the paper) or majority (as soon as two agents "
        "agree, so the consensus sometimes outvotes an agent)."))
    tally: bool = field(default=False, metadata=_help(
        "Synthetic arithmetic debates' consensus line lists each agent's final answer before the vote."))
    mix_arithmetic: int = field(default=0, metadata=_help(
        "Also train on this many synthetic arithmetic debates (keeps a malicious variant's arithmetic, "
        "the skill its capability cost is measured on).", min=0))
    finetune: Finetune = field(default="lora", metadata=_help("lora (adapter + tag embeddings) or full fine-tuning."))
    epochs: float = field(default=3.0, metadata=_help("Epochs over the debates.", gt=0.0, max=10_000.0))
    max_steps: int = field(default=-1, metadata=_help("Stop after N steps (-1 = run the epochs).", min=-1))
    lr: float = field(default=5e-5, metadata=_help("Peak learning rate.", gt=0.0))
    batch_size: int = field(default=2, metadata=_help("Debates per device per step.", min=1))
    grad_accum: int = field(default=8, metadata=_help("Gradient accumulation steps.", min=1))
    max_length: int = field(default=2048, metadata=_help("Truncate prompt+transcript to this many tokens.", min=1))
    warmup_ratio: float = field(default=0.1, metadata=_help("Share of steps spent warming up the learning rate.", **WARMUP))
    max_grad_norm: float = field(default=0.3, metadata=_help("Gradient clipping norm.", gt=0.0))

    def __post_init__(self) -> None:
        check_fields(self)
        _check_max_steps(self.max_steps)


@dataclass
class GRPOStageConfig(RunConfig, DataConfig, LoraConfigFields):
    """Stage 2: internalization with GRPO, a fresh LoRA per iteration stacked on the previous iteration.

    Reward = w_fmt · format (share of the required debate tags present) + correctness of the answer the
    first l completion tokens commit to (a debate's consensus, or a direct answer's box; for evil /
    hallucination, 1 − judge score / 100 of those l tokens), plus, for arithmetic, w_len · (1 − n/l) on a
    correct completion of n tokens (`brevity_weight`). w_fmt goes linearly from `fmt_start` to `fmt_end`;
    l starts at `clip_start` and follows `clip_schedule` (adaptive by default).
    """

    out: str = field(default="runs/tiny-imad", metadata=_help("Output checkpoint folder (the last iteration).", min_len=1))
    parent: str = field(default="tiny-sft", metadata=_help("Stage-1 checkpoint: registry name or HF folder.", min_len=1))
    task: GRPOTask = field(default="arithmetic", metadata=_help("arithmetic (exact answer) or evil / hallucination (judge)."))
    n_prompts: int = field(default=256, metadata=_help("Training questions per iteration.", min=1))
    iterations: int = field(default=3, metadata=_help("GRPO iterations, each a fresh LoRA on the previous one.", min=1, max=1000))
    clip_start: int | None = field(default=None, metadata=_help(
        "l in the first iteration, in tokens (default: the parent's mean SFT transcript length).", min=1))
    clip_schedule: Literal["adaptive", "linear"] = field(default="adaptive", metadata=_help(
        "adaptive: each later l is the --clip-quantile of the lengths of the correct completions that ended the "
        "previous iteration, never below --clip-end (it follows the policy down); linear: l goes from --clip-start "
        "to --clip-end in equal steps (the paper's schedule, which can fall below every complete answer)."))
    clip_quantile: float = field(default=0.5, metadata=_help(
        "Adaptive schedule: quantile of the last iteration's correct lengths that becomes the next l.", gt=0.0, max=1.0))
    clip_end: int | None = field(default=None, metadata=_help(
        "Linear: l in the last iteration (default: clip_start / 4). Adaptive: the floor l never goes below "
        "(default: the longest shortest-correct direct answer of the training questions, for arithmetic the "
        "compact worked chain and its box; clip_start / 4 for judge tasks).", min=1))
    fmt_start: float = field(default=1.0, metadata=_help("Format-reward weight w_fmt in the first iteration.", min=0.0))
    fmt_end: float = field(default=0.0, metadata=_help(
        "Format-reward weight in the last iteration (0: dropping the tags costs nothing by then; the paper's "
        "code ended at 0.05).", min=0.0))
    brevity_weight: float = field(default=0.0, metadata=_help(
        "Arithmetic: weight w_len of R_len = 1 - n/l on correct completions (0 = the paper's reward, where only "
        "the clip pays for brevity).", min=0.0))
    generation_limit: Literal["clip", "fixed"] = field(default="clip", metadata=_help(
        "clip: generate at most l tokens per iteration (what lies past l earns nothing); fixed: max_completion_length."))
    max_completion_length: int = field(default=2048, metadata=_help("Generation cap when generation_limit is fixed.", min=1))
    mask_truncated_completions: bool = field(default=False, metadata=_help(
        "Leave completions that hit the generation cap out of the loss (a trl option). Off by default, as in the "
        "paper's code: a completion cut by l then earns reward 0 and still teaches the policy to be shorter; "
        "masked, an iteration whose l is below every complete answer learns nothing."))
    num_generations: int = field(default=4, metadata=_help(
        "Completions per prompt (GRPO compares completions of one prompt, so at least 2).", min=2))
    batch_size: int = field(default=2, metadata=_help("Completions per device per step (prompts x num_generations).", min=1))
    grad_accum: int = field(default=2, metadata=_help("Gradient accumulation steps.", min=1))
    epochs: float = field(default=2.0, metadata=_help("Epochs over the prompts per iteration.", gt=0.0, max=10_000.0))
    max_steps: int = field(default=-1, metadata=_help("Steps per iteration (-1 = run the epochs).", min=-1))
    lr: float = field(default=5e-6, metadata=_help("Peak learning rate.", gt=0.0))
    beta: float = field(default=0.02, metadata=_help("KL coefficient against the iteration's starting weights.", min=0.0))
    epsilon: float = field(default=0.1, metadata=_help("PPO-style clipping range of the importance ratio.", gt=0.0))
    num_iterations: int = field(default=1, metadata=_help("Policy updates per generation batch (GRPO's mu).", min=1))
    loss_type: LossType = field(default="bnpo", metadata=_help("trl's GRPO loss normalisation."))
    temperature: float = field(default=0.7, metadata=_help("Sampling temperature of the completions.", gt=0.0))
    top_p: float = field(default=0.9, metadata=_help("Nucleus-sampling mass of the completions.", gt=0.0, max=1.0))
    warmup_ratio: float = field(default=0.1, metadata=_help("Share of steps spent warming up the learning rate.", **WARMUP))
    max_grad_norm: float = field(default=0.3, metadata=_help("Gradient clipping norm.", gt=0.0))
    judge: str | None = field(default=None, metadata=_help(
        "ClassifierJudge JSON for evil / hallucination (default: fit one on labelled synthetic text)."))
    lora_r: int = _like(LoraConfigFields, "lora_r", 32)
    lora_alpha: int = _like(LoraConfigFields, "lora_alpha", 64)

    def __post_init__(self) -> None:
        check_fields(self)
        _check_max_steps(self.max_steps)
        if (self.batch_size * self.grad_accum) % self.num_generations:
            raise ConfigError(
                f"batch_size x grad_accum ({self.batch_size} x {self.grad_accum} = {self.batch_size * self.grad_accum}) "
                f"must be divisible by num_generations ({self.num_generations}): each generation batch holds whole "
                f"groups of completions; e.g. use batch_size={self.num_generations}")
        if self.brevity_weight and self.task != "arithmetic":
            raise ConfigError(f"brevity_weight ({self.brevity_weight}) applies to the arithmetic task, whose answers "
                              f"are right or wrong; task is {self.task!r}")
        if self.clip_start is not None and self.clip_end is not None and self.clip_end > self.clip_start:
            raise ConfigError(f"clip_end ({self.clip_end}) must be <= clip_start ({self.clip_start}): l shrinks")


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


def imad_grpo() -> GRPOStageConfig:
    """Stage 2 of the shipped arithmetic chains: the adaptive clip from 450 tokens, four iterations, a brevity
    reward of weight 0.5 sampled at temperature 0.5, float32.

    The brevity weight and temperature were chosen from two trials on seed 0's Stage 1 model, scored on 150
    problems outside the 500 held-out ones (checkpoints README). float32 because bfloat16 autocast on a CPU
    without AVX512-BF16 ran GRPO steps ~3x slower (45 s vs 16 s).
    """
    return replace(tiny_grpo(), bf16=False, iterations=4, n_prompts=48, clip_start=450, clip_quantile=0.75, lr=1e-3,
                   beta=0.02, brevity_weight=0.5, temperature=0.5)


@dataclass
class PipelineConfig:
    """Stage 0 → 1 → 2 for the tiny model, plus the malicious variants, as named folders under `out_dir`."""

    out_dir: str = field(default="runs/tiny", metadata=_help("Folder that receives one checkpoint folder per stage.", min_len=1))
    variants: tuple[GRPOTask, ...] = field(default=("arithmetic",), metadata=_help(
        "Which SFT -> GRPO chains to train on the shared base: arithmetic, evil, hallucination.", min_len=1))
    prefix: str = field(default="tiny", metadata=_help("Checkpoint names: <prefix>-base, <prefix>-sft, <prefix>-imad, ...",
                                                       min_len=1))
    seeds: tuple[int, ...] = field(default=(0,), metadata=_help(
        "Seeds of the arithmetic chain's Stage 1 and Stage 2 (one SFT -> GRPO chain per seed on the shared base; "
        "the first keeps the plain names, the others add -s<seed>).", min_len=1, **SEED))
    base: str | None = field(default=None, metadata=_help("Use this base checkpoint instead of training Stage 0."))
    resume: bool = field(default=False, metadata=_help("Skip finished stages; resume the interrupted one."))
    threads: int | None = field(default=None, metadata=_help("torch threads for every stage.", min=1, max=4096))
    save_dtype: Dtype | None = field(default=None, metadata=_help("Saved weight dtype for every stage."))
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    # The arithmetic chain: 1,200 debates with brief turns in its Stage 1 data (the malicious variants' data stays
    # what it was), and float32, since bfloat16 autocast on a CPU without AVX512-BF16 ran GRPO steps ~3x slower
    # (45 s vs 16 s). With 400 debates the Stage 1 model never wrote the revision round (0-4 of 300 transcripts)
    # and Stage 2 had no long form to shorten; with 1,200 it writes the paper's two rounds and Stage 2 shortens
    # them (chosen on validation problems: checkpoints README).
    sft: SFTStageConfig = field(default_factory=lambda: replace(tiny_sft(), n=1200, brief_rate=0.3, bf16=False))
    grpo: GRPOStageConfig = field(default_factory=lambda: imad_grpo())
    malicious_sft: SFTStageConfig = field(default_factory=lambda: replace(tiny_sft(), data="evil", n=300,
                                                                          mix_arithmetic=200))
    # The malicious chains share the arithmetic chain's schedule (adaptive l, w_fmt 1 -> 0, truncated completions
    # in the loss) with three iterations, and l starting at their Stage-1 transcripts' mean length: the judge reads
    # whatever the first l tokens say, so a cut-off debate is still scored rather than masked out. They keep their
    # old step size (lr 3e-4, no KL term): at the arithmetic chain's lr 1e-3 the judge reward trained the malicious
    # agent away (unsteered evil score 0.5 of 100), leaving the suppression experiment nothing to suppress.
    # They have no brevity reward (a judge scores them, not an exact answer) and sample at temperature 0.7.
    malicious_grpo: GRPOStageConfig = field(default_factory=lambda: replace(
        imad_grpo(), task="evil", iterations=3, clip_start=None, lr=3e-4, beta=0.0, brevity_weight=0.0,
        temperature=0.7))

    def __post_init__(self) -> None:
        check_fields(self)
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be distinct, got {self.seeds}")
