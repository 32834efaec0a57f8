"""Which shorter answers a Stage 1 model could give, and whether Stage 2's sampling ever tries them.

For each problem the checkpoint writes its greedy transcript. The same transcript is then cut after Agent 1's
(and Agent 2's) round-1 turn and closed with the consensus tag, which the model completes greedily: the
answer it commits to, and the tokens of that shortened output. Beside each form, the probability that
sampling at ``--temperature`` (Stage 2's) picks each tag right after Agent 1's turn. A form that is short and
accurate, whose first tag sampling almost never picks, is one GRPO cannot learn here, whatever it rewards.

Problems are validation problems by default (outside the held-out set and every Stage 1 and Stage 2 prompt of
the checkpoint, proven in splits.json), so the held-out evaluation stays unseen; ``--problems heldout`` uses
the held-out ones. The run folder holds config.json, splits.json, metrics.json (accuracies and tokens with
95 % bootstrap CIs, paired comparisons with McNemar), rows.jsonl, summary.md and figures/forms.html.

    python experiments/stage2_forms.py --checkpoint tiny-sft
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from experiments._results import command_line, report_path, run_folder
from models.cli import check_fields, option, parse_config
from models.cli import run as run_cli


@dataclass
class FormsConfig:
    """Every field is a flag of this script."""

    checkpoint: str = option("Stage 1 (or Stage 2) checkpoint: registry name or folder.", "tiny-sft", min_len=1)
    problems: Literal["validation", "heldout"] = option(
        "validation: problems outside the held-out set and the checkpoint's Stage 1 and Stage 2 prompts; heldout: "
        "the evaluation problems.", "validation")
    n: int = option("Problems.", 100, min=2, max=100_000)
    temperature: float = option("Sampling temperature at which the next-tag probabilities are read (the shipped "
                                "Stage 2 samples at 0.5).", 0.5, gt=0.0, max=10.0)
    max_new_tokens: int = option("Generation cap of the greedy transcript.", 1100, min=1, max=1_000_000)
    batch_size: int = option("Prompts per generation batch.", 50, min=1, max=100_000)
    threads: int | None = option("torch threads (None = torch's choice).", None, min=1, max=4096)
    out: str = option("Results root; the run goes to <out>/stage2_forms/<time>-<hash>/.", "results", min_len=1)
    progress: bool = option("Progress bars.", True)

    def __post_init__(self) -> None:
        check_fields(self)


def parse_args(argv: list[str] | None = None) -> FormsConfig:
    return parse_config(FormsConfig, argv, "experiments/stage2_forms.py", __doc__)


def _problems(cfg: FormsConfig, folder: Path) -> tuple[list[Any], dict[str, Any]]:
    """The problems, and the split record proving them disjoint from what they must avoid (with the question
    format the checkpoint trained on)."""
    from models.debate.splits import (Use, check_disjoint, heldout_problems, split_manifest, validation_problems,
                                      validation_record)
    from models.manifest import Manifest
    from models.train.lineage import checkpoint_uses, trained_questions

    mcfg = (Manifest.load(folder) or Manifest(name="?", stage="?")).config
    held = heldout_problems(mcfg.get("tier", "easy"), mcfg.get("heldout", 500), mcfg.get("heldout_seed", 0))
    fmt = mcfg.get("question_format", "spaced")
    if cfg.problems == "heldout":
        picked = held[:cfg.n]
        manifest = split_manifest([Use("held-out problems", [p.question for p in picked])], checkpoint_uses(folder))
        return picked, {**manifest, "checked": check_disjoint(manifest), "question_format": fmt}
    trained = trained_questions(folder)
    picked = validation_problems(mcfg.get("tier", "easy"), cfg.n, [*(p.question for p in held), *trained])
    record = validation_record({"validation problems": [p.question for p in picked]}, [p.question for p in held],
                               trained)
    return picked, {**record, "question_format": fmt}


def _figure(stats: dict[str, Any]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, s in stats["forms"].items():
        a, t = s["accuracy"], s["tokens"]
        fig.add_trace(go.Scatter(
            x=[t["value"]], y=[100 * a["value"]], mode="markers+text", name=name, text=[name],
            textposition="top center", marker={"size": 12},
            error_x={"type": "data", "symmetric": False, "array": [t["high"] - t["value"]],
                     "arrayminus": [t["value"] - t["low"]]},
            error_y={"type": "data", "symmetric": False, "array": [100 * (a["high"] - a["value"])],
                     "arrayminus": [100 * (a["value"] - a["low"])]}))
    tokens = [s["tokens"][k] for s in stats["forms"].values() for k in ("low", "high")]
    pad = 0.15 * (max(tokens) - min(tokens)) + 10  # room for the labels beside the outermost points
    fig.update_layout(title="Shorter forms of the same transcripts: accuracy against tokens (95 % CIs)",
                      xaxis_title="tokens per question (input + output)", yaxis_title="accuracy %",
                      xaxis_range=[min(tokens) - pad, max(tokens) + pad], yaxis_range=[0, 105],
                      showlegend=False, height=480)
    return fig


def main(cfg: FormsConfig) -> Path:
    """Run the diagnostic and return the finished results folder."""
    import torch

    from models import load
    from models.debate.prompts import present
    from models.registry import materialize
    from models.train.evaluate import accuracy_estimate, compare, evaluate, token_estimate
    from models.train.forms import early_consensus, next_tag_probabilities

    start, threads = time.time(), torch.get_num_threads()
    folder = Path(cfg.checkpoint) if Path(cfg.checkpoint).exists() else Path(materialize(cfg.checkpoint))
    problems, splits = _problems(cfg, folder)
    try:
        torch.set_num_threads(cfg.threads or threads)
        with run_folder("stage2_forms", {**vars(cfg), "folder": folder}, root=cfg.out) as run:
            run.json("splits.json", splits)
            model = load(folder)
            questions = [present(p.question, splits["question_format"]) for p in problems]
            golds = [str(p.answer) for p in problems]
            full = evaluate(model, "transcript", questions, golds, max_new_tokens=cfg.max_new_tokens,
                            batch_size=cfg.batch_size, progress=cfg.progress)
            texts = [r["output"] for r in full.rows]
            forms = {"whole transcript": full, **{f"consensus after Agent {k}": early_consensus(
                model, questions, golds, texts, agent=k, batch_size=cfg.batch_size) for k in (1, 2)}}
            probs = next_tag_probabilities(model, questions, texts, agent=1, temperature=cfg.temperature,
                                           batch_size=cfg.batch_size)
            stats = {"forms": {name: {"accuracy": accuracy_estimate(s).to_json(), "tokens": token_estimate(s).to_json(),
                                      "n": s.n} for name, s in forms.items()},
                     "vs_whole": {name: compare(s, full).to_json() for name, s in forms.items() if s is not full},
                     "next_tag_after_agent_1": probs, "temperature": cfg.temperature,
                     "seconds": round(time.time() - start, 1)}
            run.json("metrics.json", stats)
            run.jsonl("rows.jsonl", [{"form": name, **r} for name, s in forms.items() for r in s.rows])
            run.text("summary.md", _markdown(stats, cfg, folder))
            run.figure(_figure(stats), "forms", "Each shorter form against the whole transcript it was cut from.")
            run.headline("Shorter forms a Stage 1 model could write", _takeaway(stats), [])
    finally:
        torch.set_num_threads(threads)
    print(f"results: {run.path}\nreport: {report_path(run)}")
    print(_takeaway(stats))
    return run.path


def _pct(e: dict[str, float]) -> str:
    return f"{100 * e['value']:.1f} [{100 * e['low']:.1f}, {100 * e['high']:.1f}]"


def _tokens(e: dict[str, float]) -> str:
    return f"{e['value']:.0f} [{e['low']:.0f}, {e['high']:.0f}]"


def _takeaway(stats: dict[str, Any]) -> str:
    whole, one = stats["forms"]["whole transcript"], stats["forms"]["consensus after Agent 1"]
    p = stats["next_tag_after_agent_1"]
    from models.debate.format import CONSENSUS_TAG

    return (f"Ending at the consensus after Agent 1 scores {_pct(one['accuracy'])} % at {_tokens(one['tokens'])} "
            f"tokens, against {_pct(whole['accuracy'])} % at {_tokens(whole['tokens'])} for the whole transcript; "
            f"sampling at temperature {stats['temperature']:g} picks the consensus tag after Agent 1 with probability "
            f"{p[CONSENSUS_TAG]:.2g}.")


def _markdown(stats: dict[str, Any], cfg: FormsConfig, folder: Path) -> str:
    lines = [_takeaway(stats), "", "# Shorter forms of the same transcripts", "",
             f"Checkpoint `{folder}`; {cfg.n} {cfg.problems} problems; greedy decoding; intervals are 95 % bootstrap "
             f"CIs over problems. Command: `{command_line('stage2_forms')}` ({stats['seconds']:.0f} s).", "",
             "| form | accuracy % [95% CI] | tokens per question [95% CI] |", "|---|---|---|"]
    lines += [f"| {name} | {_pct(s['accuracy'])} | {_tokens(s['tokens'])} |" for name, s in stats["forms"].items()]
    lines += ["", "Paired against the whole transcript (same problems):", "",
              "| form | accuracy difference pp [95% CI] | McNemar p | token difference [95% CI] |", "|---|---|---|---|"]
    for name, c in stats["vs_whole"].items():
        lines.append(f"| {name} | {_pct(c['accuracy_difference'])} | {c['mcnemar']['p_value']:.3g} | "
                     f"{_tokens(c['token_difference'])} |")
    lines += ["", f"Probability of each tag right after Agent 1's round-1 turn, sampling at temperature "
                  f"{stats['temperature']:g} (mean over problems):", "", "| next tag | probability |", "|---|---|"]
    # a tag's own "|" would split a markdown table cell: the table names the tag without its brackets
    lines += [f"| {tag.removeprefix('<|').removesuffix('|>')} | {p:.3g} |"
              for tag, p in stats["next_tag_after_agent_1"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(run_cli(main, FormsConfig, prog="experiments/stage2_forms.py", description=__doc__))
