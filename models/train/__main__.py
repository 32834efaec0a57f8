"""``python -m models.train {pretrain,sft,grpo,all} [--help] [--config FILE] [flags]``."""

from __future__ import annotations

import logging
import os
import sys

STAGES = {
    "pretrain": ("models.train.pretrain", "Stage 0: tiny Llama + BPE tokenizer from scratch on untagged single-agent text"),
    "sft": ("models.train.sft", "Stage 1: debate-structure SFT (tags as special tokens, loss on the transcript)"),
    "grpo": ("models.train.grpo", "Stage 2: GRPO internalization (shrinking clip length, decaying format weight)"),
    "all": ("models.train.pipeline", "Stages 0 -> 1 -> 2 (+ evil / hallucination variants) into one folder"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in STAGES:
        lines = [f"  {name:<9} {text}" for name, (_, text) in STAGES.items()]
        print("usage: python -m models.train {pretrain,sft,grpo,all} [--help] [--config FILE] [flags]\n\n"
              "Train the IMAD stages on any local HF causal LM (the embedded tiny model by default).\n\n"
              + "\n".join(lines) + "\n\nEach stage takes --help; every config field is a flag.")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    os.environ.setdefault("WANDB_DISABLED", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import importlib

    module = importlib.import_module(STAGES[argv[0]][0])
    out = module.main(argv[1:])
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
