"""``python -m models.train {pretrain,sft,grpo,all,adapters} [--help] [--config FILE] [--debug] [flags]``.

Errors the toolkit names (a bad flag or config file, an unknown checkpoint) print as one ``error:`` line
with exit status 2 (configuration) or 1 (anything else); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

from models.cli import guarded

STAGES = {
    "pretrain": ("models.train.pretrain", "Stage 0: tiny Llama + BPE tokenizer from scratch on untagged single-agent text"),
    "sft": ("models.train.sft", "Stage 1: debate-structure SFT (tags as special tokens, loss on the transcript)"),
    "grpo": ("models.train.grpo", "Stage 2: GRPO internalization (shrinking clip length, decaying format weight)"),
    "all": ("models.train.pipeline", "Stages 0 -> 1 -> 2 (+ evil / hallucination variants) into one folder"),
    "adapters": ("models.train.adapters", "Stage-1 LoRA adapters of SmolLM2-135M-Instruct (the shipped smollm2-*)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in STAGES and argv[0] not in ("-h", "--help"):
        print(f"error: unknown stage {argv[0]!r}; choose from {', '.join(STAGES)} (see --help)", file=sys.stderr)
        return 2
    if not argv or argv[0] in ("-h", "--help"):
        lines = [f"  {name:<9} {text}" for name, (_, text) in STAGES.items()]
        print("usage: python -m models.train {pretrain,sft,grpo,all,adapters} [--help] [--config FILE] [--debug] [flags]\n\n"
              "Train the IMAD stages on any local HF causal LM (the embedded tiny model by default).\n\n"
              + "\n".join(lines) + "\n\nEach stage takes --help; every config field is a flag.")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    os.environ.setdefault("WANDB_DISABLED", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    module = importlib.import_module(STAGES[argv[0]][0])
    return guarded(lambda: print(module.main(argv[1:])), debug="--debug" in argv)


if __name__ == "__main__":
    raise SystemExit(main())
