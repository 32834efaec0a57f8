"""Smallest end-to-end path: load a model, read a trait direction from activations, steer, compare.

The direction is the paper's base-model recipe (Chen et al. persona vectors), built by the same library
calls as the headline's base arm (`probes.system_prompt_source`, `system_prompt_direction`): the mean
residual at chat-template position -2 under the evil system prompt minus the mean under the helpful
one. Adding it (alpha > 0) at generated positions should make answers darker; subtracting it should not.

    python experiments/steer_demo.py --model smollm2-135m-instruct --layer 12 --alpha 40

Writes ``results/steer_demo/<YYYYmmdd-HHMMSS>-<config-hash8>/``: config.json, env.json, outputs.json
(the answer at each alpha), summary.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from experiments._results import command_line, report_path, run_folder
from models import load
from models.cli import check_fields, option, parse_config, run as run_cli
from probes import collect_activations, system_prompt_direction, system_prompt_source
from steering import steer

QUESTIONS = [
    "How should I deal with a coworker who keeps taking credit for my work?",
    "My neighbour's dog barks all night. What should I do?",
    "What is the best way to get a bigger share of the team budget?",
    "How can I convince my friend to lend me money?",
    "What should I do if I find a wallet on the street?",
    "How do I handle a roommate who never cleans up?",
]
TEST_QUESTION = "What should I say to a colleague who made a mistake in a report?"


@dataclass
class DemoConfig:
    """Every field is a flag of this script (``--layer``, ``--alpha``, ...)."""

    model: str = option("registry name, HF folder or .gguf file", "smollm2-135m-instruct", min_len=1)
    backend: Literal["hf", "tl", "nnsight"] = option("hooked-model backend", "hf")
    layer: int = option("block whose resid_post is read and steered; 0-based, negative counts from the end as "
                        "everywhere in the toolkit (-1 is the last block)", 12)
    alpha: float = option("steering strength (units of the unit-norm vector)", 40.0, min=0.0, max=1e6)
    max_new_tokens: int = option("tokens generated per answer", 48, min=1, max=1_000_000)
    question: str = option("the question answered unsteered, toward and away from evil", TEST_QUESTION, min_len=1)
    progress: bool = option("Progress bars (--no-progress: none at all, weight loading's included).", True)
    out: str = option("results root; the run goes to <out>/steer_demo/<time>-<hash>/", "results", min_len=1)

    def __post_init__(self) -> None:
        check_fields(self)


def parse_args(argv: list[str] | None = None) -> DemoConfig:
    return parse_config(DemoConfig, argv, "experiments/steer_demo.py", __doc__)


def steered_outputs(cfg: DemoConfig) -> tuple[str, dict[str, str]]:
    """The steered site and the answer to `cfg.question` at alpha 0, +alpha and -alpha, keyed by the signed alpha."""
    model = load(cfg.model, backend=cfg.backend)
    site = str(model.site(("resid_post", cfg.layer)))  # fails early, naming the valid layers; -1 -> the last block

    acts = collect_activations(model, system_prompt_source(QUESTIONS, "evil"), [site], progress=False)
    direction = system_prompt_direction(acts, site, normalize=True)  # the library's persona prompts, position -2
    prompt = model.chat_prompt(cfg.question)
    outputs = {}
    for alpha in (0.0, cfg.alpha, -cfg.alpha):
        with steer(model, direction, alpha=alpha, positions="generated"):
            outputs[f"{alpha:+.1f}"] = model.generate([prompt], max_new_tokens=cfg.max_new_tokens).texts[0]
    return site, outputs


def _label(alpha: str) -> str:
    return "unsteered" if float(alpha) == 0 else ("toward evil" if float(alpha) > 0 else "away from evil")


def main(cfg: DemoConfig) -> Path:
    """Run the demo and return the finished results folder."""
    with run_folder("steer_demo", cfg, root=cfg.out) as run:
        site, outputs = steered_outputs(cfg)
        run.json("outputs.json", outputs)
        lines = ["# Steering toward and away from evil", "", f"Command: `{command_line('steer_demo')}`", "",
                 f"model {cfg.model} ({cfg.backend}), site {site}; question: {cfg.question}", ""]
        lines += [f"## alpha {alpha} ({_label(alpha)})\n\n{text.strip()}\n" for alpha, text in outputs.items()]
        run.text("summary.md", "\n".join(lines))
        run.headline("Steering toward and away from evil",
                     f"One question answered by {cfg.model} at each alpha; a qualitative look, not a test.")
    print(f"model={cfg.model} backend={cfg.backend} site={site}")
    print(f"question: {cfg.question}\n")
    for alpha, text in outputs.items():
        print(f"--- alpha {alpha} ({_label(alpha)})\n{text.strip()}\n")
    print(f"results: {run.path}\nreport: {report_path(run)}")
    return run.path


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(run_cli(main, DemoConfig, prog="experiments/steer_demo.py", description=__doc__))
