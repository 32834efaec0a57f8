"""A tiny Llama-style model with its own byte-level BPE tokenizer, built offline in about a second.

It is the toolkit's embedded default: tests, demos and the bundled trainer start from it, so nothing
ever needs a model hub. Building is deterministic for a given seed (same tokenizer, same weights).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase, PreTrainedTokenizerFast

BOS = "<|endoftext|>"
PAD = "<pad>"
UNK = "<unk>"

_WORDS = (
    "the agent solution answer revision round consensus problem step first then finally compute "
    "multiply add subtract result verify check critique error correct wrong majority debate value "
    "question honest evil helpful unknown know fabricate treaty compound person colleague team "
    "budget credit manager project share resource conflict advice ethical manipulate rumor trust "
    "I do not have reliable information about this so cannot confirm details you should ask "
    "order of operations multiplication before addition let var result is equals therefore "
    "self critique program thought chain careful analyst skeptical critic programmer"
).split()


@dataclass(frozen=True)
class TinyConfig:
    """Shape of the tiny model. Defaults give about 1M parameters and a 3 MB checkpoint."""

    vocab_size: int = 512
    n_layers: int = 4
    d_model: int = 128
    n_heads: int = 4
    n_kv_heads: int = 2
    d_mlp: int = 512
    n_ctx: int = 1024
    seed: int = 0


def tokenizer_corpus(seed: int = 0, n_lines: int = 4000) -> list[str]:
    """Synthetic text the tokenizer is trained on: arithmetic lines plus domain word salad."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n_lines):
        a, b, c, d = (rng.randint(0, 99) for _ in range(4))
        lines.append(f"{a}+{b}*{c}-{d} = {a + b * c - d}. \\boxed{{{a + b * c - d}}}")
        lines.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14))) + ".")
    return lines


def build_tokenizer(seed: int = 0, vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer whose BOS/EOS is `<|endoftext|>` and whose pad is `<pad>`."""
    return train_tokenizer(tokenizer_corpus(seed), vocab_size)


def train_tokenizer(
    corpus: Iterable[str],
    vocab_size: int = 512,
    *,
    split_digits: bool = False,
    special_tokens: Sequence[str] = (),
    name: str = "tiny",
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on `corpus` (BOS/EOS `<|endoftext|>`, pad `<pad>`).

    Args:
        corpus: training text, one document per item.
        vocab_size: target vocabulary size, special tokens included.
        split_digits: pre-split every digit into its own token, so numbers are read digit by digit
            (the bundled trainer's pretraining does this: arithmetic generalises better).
        special_tokens: extra special tokens registered after BOS, pad and unk (e.g. debate tags).
        name: recorded as `name_or_path` (TransformerLens reads it).
    """
    tok = Tokenizer(models.BPE(unk_token=UNK))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        if split_digits else byte_level
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, PAD, UNK, *special_tokens],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tok.token_to_id(BOS))]
    )
    extra = {"additional_special_tokens": list(special_tokens)} if special_tokens else {}
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=BOS, pad_token=PAD, unk_token=UNK,
        add_bos_token=True,  # TransformerLens reloads the tokenizer unless this is set
        padding_side="left", model_max_length=1024, **extra,
    )
    # TL reads `name_or_path`; an in-memory tokenizer has none.
    hf_tok.init_kwargs["name_or_path"] = name
    return hf_tok


def build_tiny(cfg: TinyConfig = TinyConfig()) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """Build the randomly initialised tiny model and its tokenizer, deterministically from `cfg.seed`."""
    tok = build_tokenizer(cfg.seed, cfg.vocab_size)
    return tiny_llama(cfg, tok), tok


def tiny_llama(cfg: TinyConfig, tok: PreTrainedTokenizerBase) -> LlamaForCausalLM:
    """A randomly initialised Llama of shape `cfg` for tokenizer `tok` (vocabulary = len(tok)), seeded by `cfg.seed`."""
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=cfg.d_model,
        intermediate_size=cfg.d_mlp,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.n_kv_heads,
        max_position_embeddings=cfg.n_ctx,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
    )
    gen = torch.random.fork_rng(devices=[])
    with gen:
        torch.manual_seed(cfg.seed)
        model = LlamaForCausalLM(config).eval()
    return model


def save_tiny(out_dir: str | Path, cfg: TinyConfig = TinyConfig()) -> Path:
    """Build the tiny model and save it as a normal HF folder (safetensors + tokenizer)."""
    out = Path(out_dir)
    model, tok = build_tiny(cfg)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
