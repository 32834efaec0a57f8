"""The agent-subspaces run in words: its summary page, takeaway and figure captions, from ``metrics.json``.

Every function reads a run's metrics as JSON gives them back (plain dicts and lists, string keys) and
its config as a mapping (``config.json``, or ``dataclasses.asdict`` of the config), so the experiment's
summary and a notebook reading a finished run folder say the same thing in the same words. Numbers are
written with `models.report`, the takeaway counts verdicts with `models.report.checks_takeaway`.

Example:
    >>> metrics, config = (json.loads((run / name).read_text()) for name in ("metrics.json", "config.json"))
    >>> print(summary(metrics, config, command="python experiments/agent_subspaces.py"))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models.report import checks_takeaway, estimate_text, markdown_table
from models.stats import Criterion

ROLES = ("base", "distilled", "untrained")

CAPTIONS = {
    "probe_accuracy_baselines": "Held-out agent-identity probe accuracy per layer, with 95 % CI bands. The dashed "
                                "controls (shuffled labels, the untrained model) must sit well below the trained "
                                "curves for the probe to measure something the training put there.",
    "probe_learning_curve": "Accuracy against the number of training questions: the curve that rises sooner "
                            "separates the agents from fewer examples (the measure that still differs near ceiling).",
    "probe_accuracy_trait": "Probe accuracy for the trait label per layer.",
    "pca": "Turns projected on the first two principal components at the best layer: clusters that separate by "
           "agent mean the agents sit in distinct directions.",
    "cosine": "Cosine similarity between agent directions: near 0, the agents have independent directions.",
    "principal_angles": "Principal angles between the two checkpoints' agent subspaces per layer, in degrees: "
                        "0 is the same subspace, 90 orthogonal.",
}

Checks = Mapping[str, Mapping[str, Any]]  # metrics["verdicts"]: name -> {"criterion", "verdict", "line", "measure"}

# The predeclared order of the checks (`probes.subspace_experiment.criteria`): metrics.json is written with
# sorted keys, so a summary read back from it restores this order.
CHECKS = ("distilled_minus_base_selectivity", "distilled_minus_base_fewshot", "untrained_floor",
          "base_shuffled_floor", "distilled_shuffled_floor")


def in_order(checks: Checks) -> dict[str, Mapping[str, Any]]:
    """`checks` in the predeclared order (`CHECKS`), any other after them as given."""
    rank = {name: i for i, name in enumerate(CHECKS)}
    return dict(sorted(checks.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def _numerically(by_number: Mapping[Any, Any]) -> list[tuple[Any, Any]]:
    """Items keyed by a layer, seed or size, in numeric order (JSON's string keys sort "10" before "2")."""
    return sorted(by_number.items(), key=lambda kv: int(kv[0]))


def figure_caption(stem: str) -> str:
    """The sentence under a figure in report.html, by its file stem (``pca_base_by_agent`` -> ``pca``)."""
    return CAPTIONS.get(stem) or CAPTIONS[stem.split("_")[0]]


def layer_scope(criterion_layer: int) -> str:
    """What the criteria average over: ``mean over every layer`` (-1) or ``layer N``."""
    return "mean over every layer" if criterion_layer < 0 else f"layer {criterion_layer}"


def takeaway(metrics: Mapping[str, Any]) -> str:
    """The report's one sentence: how many predeclared checks were confirmed, refuted, inconclusive."""
    verdicts = {name: c["verdict"] for name, c in in_order(metrics["verdicts"]).items()}
    return checks_takeaway(verdicts) + " Each check's line and CI is below."


def verdict_lines(metrics: Mapping[str, Any]) -> list[str]:
    """Each criterion's verdict line, in the predeclared order."""
    return [c["line"] for c in in_order(metrics["verdicts"]).values()]


def floor_note(checks: Checks, config: Mapping[str, Any]) -> list[str]:
    """Plain sentences for every floor that is not shown to sit at chance."""
    notes = []
    untrained = checks["untrained_floor"]
    if untrained["verdict"] != "confirmed":
        est = untrained["measure"]
        lead = ("The untrained model tells the agents apart" if untrained["verdict"] == "refuted" and est["value"] > 0
                else "The untrained model is not shown to sit at chance")
        notes.append(
            f"**{lead}: its accuracy is {estimate_text(est, 3, signed=True)} from chance.** "
            f"At `{config['positions']}` the probe reads what the text gives away (each persona's own wording, or the "
            "agent number in the tags) through any weights, trained or not; so high accuracy here is not evidence "
            "of a learned agent representation, and the base-vs-distilled comparison is made near that floor.")
    for role in ("base", "distilled"):
        check = checks[f"{role}_shuffled_floor"]
        if check["verdict"] != "confirmed":
            notes.append(f"**The {role} probe on shuffled labels is not shown to sit at chance** "
                         f"({estimate_text(check['measure'], 3, signed=True)} from chance): too few "
                         "questions for a tight interval, or the folds leak; read the selectivities with care.")
    return notes


def _per_seed_models(counts: Mapping[str, Mapping[str, int]]) -> str:
    """``seed 0: base 15, distilled 15, untrained 11; seed 1: ...``"""
    return "; ".join(f"seed {s}: " + ", ".join(f"{r} {n}" for r, n in by_role.items())
                     for s, by_role in _numerically(counts))


def header(metrics: Mapping[str, Any], config: Mapping[str, Any], command: str) -> list[str]:
    """The run's title, command, data and predeclared criteria with how a verdict is reached."""
    data = config["debates"] or f"{config['n_debates']} synthetic {config['kind']} ({config['tier']})"
    rules = "; ".join(f"{c['criterion']['claim_text']}: {Criterion(**c['criterion']).describe()}"
                      for c in in_order(metrics["verdicts"]).values())
    return [
        (f"# Agent subspaces: {config['base']} (base) vs {config['distilled']} (distilled), "
         f"floor {config['untrained']} (untrained)"), "",
        f"Command: `{command}` (wall time {metrics['wall_time_s']:.0f} s)", "",
        (f"Debates: {data} per seed; seeds {', '.join(map(str, config['seeds']))} (each: its own debates, folds and "
         f"label shuffle); {metrics['n_units']} (seed, question) units. Turns read at `{config['positions']}`, site "
         f"`{config['site']}`; turns per seed and model: {_per_seed_models(metrics['turns'])}; dropped beyond "
         f"context: {_per_seed_models(metrics['dropped'])}."), "",
        (f"Criteria (predeclared, in config.json): {rules}. A verdict is confirmed when the whole 95% CI (paired "
         f"bootstrap over (seed, question) units, {config['resamples']} resamples) is on the claim's side, refuted "
         "when it is wholly on the other, inconclusive otherwise, and also when the interval touches a one-sided "
         "threshold or the per-seed values fall on both sides."), ""]


def layer_table(title: str, columns: Mapping[str, str], layers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A markdown table of `columns` (heading -> measure key) per layer, each cell ``value [low, high]``."""
    rows = [[layer, *(estimate_text(row.get(k), 3, missing="—") for k in columns.values())]
            for layer, row in _numerically(layers)]
    return [title, "", *markdown_table(["layer", *columns], rows), ""]


def curve_table(curve: Mapping[str, Mapping[str, Any]], where: str) -> list[str]:
    """Few-shot accuracy per training size: each role and distilled - base."""
    keys = (*ROLES, "distilled_minus_base")
    rows = [[k, *(estimate_text(curve[r][k], 3) for r in keys)] for k, _ in _numerically(curve["base"])]
    return [f"## Learning curve: held-out accuracy with few training questions ({where}, 95% CI)", "",
            *markdown_table(["training questions", *ROLES, "distilled - base"], rows), ""]


def seed_table(checks: Checks) -> list[str]:
    """Each criterion's measure pooled with its CI, its value under each seed and the spread over seeds."""
    rows = []
    for check in in_order(checks).values():
        m = check["measure"]
        seeds = ", ".join(f"{s}: {v:+.3f}" for s, v in _numerically(m["per_seed"]))
        rows.append([m["name"], estimate_text(m, 3, signed=True), seeds, f"{m['seed_spread']['sd']:.3f}"])
    return ["## The criteria per seed", "",
            *markdown_table(["measure", "pooled [95% CI]", "per seed", "sd over seeds"], rows), ""]


def caveats(metrics: Mapping[str, Any], config: Mapping[str, Any], figures: Sequence[str]) -> list[str]:
    """Links to the figures, the descriptive analysis's best layers, and what the setup cannot show."""
    best = {r: metrics["descriptive"][r]["best_layer"] for r in ("base", "distilled")}
    lines = ["Figures: " + ", ".join(f"[{Path(f).stem}]({f})" for f in figures if f.endswith(".html")), "",
             (f"Descriptive, first seed only (not evidence: the best layer is chosen after the fact): best layer "
              f"base {best['base']}, distilled {best['distilled']}; principal angles, directions and PCA in "
              "analysis.json and vectors/.")]
    if len(config["seeds"]) < 3:
        lines += ["", f"Caveat: {len(config['seeds'])} seed(s); the protocol asks for at least 3 to show a spread."]
    if config["base"] == config["distilled"]:
        lines += ["", "Caveat: base and distilled are the same checkpoint, so the comparison is a self-check."]
    if config["positions"] == "agent_tag":
        lines += ["", ("Caveat: at `agent_tag`, a checkpoint whose tokenizer has the debate tags as special tokens "
                       "reads a different token per agent, so it separates agents from layer 0 on; a tokenizer "
                       "without them splits the tag into pieces and must gather the agent number by attention.")]
    return lines


def summary(metrics: Mapping[str, Any], config: Mapping[str, Any], command: str, figures: Sequence[str]) -> str:
    """summary.md: verdict lines first, then what failed plainly, the setup, the per-layer tables, the learning
    curve, the criteria per seed and the caveats. `figures` are the run's figure files, relative to its folder."""
    checks = metrics["verdicts"]
    chance = metrics["chance"]["base"]
    lines = [*verdict_lines(metrics), "", *floor_note(checks, config), "", *header(metrics, config, command)]
    lines += layer_table(f"## Held-out 3-way agent-identity probe accuracy per layer (95% CI; chance {chance:.3f})",
                         {"base": "base", "distilled": "distilled", "shuffled labels (base)": "base_shuffled",
                          "shuffled labels (distilled)": "distilled_shuffled", "untrained": "untrained"},
                         metrics["layers"])
    lines += layer_table("## Selectivity per layer (real minus shuffled-label accuracy, 95% CI)",
                         {"base": "base_selectivity", "distilled": "distilled_selectivity",
                          "untrained": "untrained_selectivity", "distilled - base": "distilled_minus_base_selectivity"},
                         metrics["layers"])
    lines += curve_table(metrics["learning_curve"], layer_scope(config["criterion_layer"]))
    lines += seed_table(checks) + caveats(metrics, config, figures)
    return "\n".join(lines) + "\n"
