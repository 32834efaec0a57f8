"""The agent-style run in words: its verdict lines, setup and method paragraphs, the gain, control, area and
seed tables, and the summary page, all built from the run's ``metrics.json`` and ``config.json``.

Every function takes those two as loaded from the files (plain dicts and lists), so the script that
wrote them and a notebook that reads them back print the same page. Rows (``rows.jsonl``) are needed
only for the example outputs.

Example:
    >>> metrics, config = (json.loads((run / f).read_text()) for f in ("metrics.json", "config.json"))
    >>> print(summary_markdown(metrics, config, examples(rows, config), command="python experiments/agent_style.py"))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.debate.format import strip_tags
from models.report import estimate_text, markdown_table
from steering.persona_style import ARM_KINDS, PERSONA_NAMES, TARGETS
from steering.style_evidence import MEAN, MODELS

METRIC_NAMES = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L"}
TITLES = {**PERSONA_NAMES, MEAN: "mean over personas"}
SEED_KEYS = ("base_gain", "distilled_gain", "difference", "base_over_band", "distilled_over_band")

Json = Mapping[str, Any]


def _ci(e: Json, signed: bool = True) -> str:
    return estimate_text(e, 3, signed=signed)


def _alphas(config: Json) -> str:
    return ", ".join(f"{a:g}" for a in sorted(config["alphas"]))


def verdict_lines(metrics: Json) -> list[str]:
    """The primary verdict (distilled vs base), then each model's persona direction against random ones."""
    verdicts = metrics["verdicts"]
    return [verdicts[f"distilled_vs_base/{MEAN}"]["line"],
            *(verdicts[f"over_random/{m}/{MEAN}"]["line"] for m in MODELS)]


def headline(metrics: Json, config: Json) -> tuple[str, str, list[str]]:
    """Title, takeaway sentence and verdict lines the report page opens with."""
    primary = metrics["verdicts"][f"distilled_vs_base/{MEAN}"]
    takeaway = (f"The distilled model's persona directions steer style more than the base's: "
                f"{primary['verdict'].upper()} (the primary, predeclared criterion).")
    return f"Persona steering: {config['base']} vs {config['distilled']}", takeaway, verdict_lines(metrics)


def setup_paragraph(metrics: Json, config: Json) -> str:
    """What was steered with what, on which prompt, questions and controls."""
    source = f"sampled from {config['debates']}" if config["debates"] else "generated"
    return (f"**Setup.** Persona vectors: Eq. 3 agent-vs-others on {config['sft']} ({config['n_extract']} training "
            f"debates per seed, {source}), site {metrics['site']}, scale '{config['scale']}'; the same vectors steer "
            f"{config['base']} (base) and {config['distilled']} (distilled) at generated positions, alpha "
            f"{_alphas(config)}. **Both models get the same prompt** ('{config['prompt']}'): "
            f"`{metrics['example_prompt']!r}`. {config['n_test']} held-out questions per seed (disjoint samples), "
            f"seeds {list(config['seeds'])}, {metrics['n_rows']} (seed, question) rows pooled. Controls per seed: "
            f"{config['n_random']} random directions of the vector's norm and the sign-flipped vector, at the same "
            "alphas.")


def method_paragraph(config: Json) -> str:
    """The primary metric, its intervals and what counts as steering."""
    metric, alphas = METRIC_NAMES[config["metric"]], _alphas(config)
    return (f"**Primary metric.** Steering gain = {metric} (against the target persona's held-out solution) at alpha "
            f"minus {metric} of the same question unsteered, as an area over alpha {alphas} (trapezoid). "
            "Intervals: 95 % paired bootstrap over rows (2,000 resamples, seeded); model comparisons are paired "
            "on the same questions. A persona direction counts as steering when its gain minus the random "
            "directions' 95th percentile (recomputed on every resample) clears the threshold with its whole CI. "
            "A verdict whose seeds fall on both sides of the threshold is inconclusive.")


def gain_table(metrics: Json) -> list[str]:
    """Per persona: each model's steering-gain AUC, distilled - base, and the primary verdict."""
    arms, diffs, verdicts = metrics["arms"], metrics["differences"], metrics["verdicts"]
    return markdown_table(["persona", "base", "distilled", "distilled − base", "verdict"], [
        [f"**{TITLES[t]}**" if t == MEAN else TITLES[t], _ci(arms[t]["base"]["gain"]),
         _ci(arms[t]["distilled"]["gain"]), _ci(diffs[t]["gain"]), verdicts[f"distilled_vs_base/{t}"]["verdict"]]
        for t in TARGETS])


def controls_table(metrics: Json) -> list[str]:
    """Per persona and model: the direction against the random band and its own sign flip."""
    arms, verdicts = metrics["arms"], metrics["verdicts"]
    rows = []
    for t in TARGETS:
        for m in MODELS:
            a = arms[t][m]
            rows.append([TITLES[t], m, _ci(a["gain"]), f"[{a['band']['low']:+.3f}, {a['band']['high']:+.3f}]",
                         _ci(a["over_band"]), verdicts[f"over_random/{m}/{t}"]["verdict"], _ci(a["sign_flip"]),
                         _ci(a["steerable"], signed=False)])
    return markdown_table(["persona", "model", "persona direction", "random 5–95 % band", "gain − band top",
                           "leaves band", "sign-flipped", "questions with gain > 0"], rows)


def area_table(metrics: Json) -> list[str]:
    """The paper's statistic: area under the score itself, and the unsteered scores it also counts."""
    arms, diffs = metrics["arms"], metrics["differences"]
    return markdown_table(
        ["persona", "base AUC", "distilled AUC", "distilled − base", "unsteered base", "unsteered distilled",
         "unsteered distilled − base"],
        [[TITLES[t], _ci(arms[t]["base"]["area"], False), _ci(arms[t]["distilled"]["area"], False),
          _ci(diffs[t]["area"]), _ci(arms[t]["base"]["unsteered"], False),
          _ci(arms[t]["distilled"]["unsteered"], False), _ci(diffs[t]["unsteered"])] for t in TARGETS])


def seeds_table(metrics: Json) -> list[str]:
    """Each seed's point estimates (mean over personas), then their mean ± sd [min, max]."""
    lines = markdown_table(
        ["seed", "questions", "base gain", "distilled gain", "distilled − base", "base gain − band top",
         "distilled gain − band top"],
        [[s, int(v["n"]), *(f"{v[k]:+.3f}" for k in SEED_KEYS)] for s, v in metrics["per_seed"][MEAN]])
    spread = metrics["seed_spread"]
    return [*lines, "| mean ± sd [min, max] | | " + " | ".join(
        f"{spread[k]['mean']:+.3f} ± {spread[k]['sd']:.3f} [{spread[k]['min']:+.3f}, {spread[k]['max']:+.3f}]"
        for k in SEED_KEYS) + " |"]


def examples(rows: Sequence[Json], config: Json) -> list[Json]:
    """Outputs shown in the summary: the first seed's first question, unsteered and each persona direction at the
    largest alpha."""
    shown = {f"persona:{p}" for p in PERSONA_NAMES} | {"unsteered"}
    top = max(config["alphas"])
    return [r for r in rows if r["seed"] == config["seeds"][0] and r["question"] == 0 and r["arm"] in shown
            and r["alpha"] in (0.0, top)]


def figure_caption(config: Json) -> str:
    """What to look at in the gain-vs-alpha figure (`steering.style_evidence.gain_figure`)."""
    return (f"{METRIC_NAMES[config['metric']]} gain over the unsteered output against alpha, per model (rows) and "
            "persona (columns), with 95 % CI bands; the grey band is the random directions of the same norm. "
            "A persona direction steers style where its curve rises above that band.")


def summary_markdown(metrics: Json, config: Json, shown: Sequence[Json], command: str) -> str:
    """``summary.md``: verdict lines, setup, method, the four tables, degenerate shares and example outputs."""
    metric = METRIC_NAMES[config["metric"]]
    n_gen = metrics["n_generations"]
    lines = [*verdict_lines(metrics), "", "# Agent-style steering: base vs distilled", "",
             (f"Command: `{command}`; wall time {metrics['wall_s'] / 60:.1f} min ({n_gen} generations of up to "
              f"{config['max_new_tokens']} tokens, {1000 * metrics['generation_s'] / max(n_gen, 1):.0f} ms each, "
              f"{config['threads']} torch thread(s))."), "",
             setup_paragraph(metrics, config), "", method_paragraph(config), "",
             f"## Steering gain ({metric} gain AUC, 95 % CI)", "", *gain_table(metrics),
             "", "## Against the controls (same alphas, same norm)", "", *controls_table(metrics),
             "", f"## The paper's statistic (secondary): area under {metric} itself, counting the unsteered output",
             "", *area_table(metrics),
             "", "## Seeds (mean over personas; point estimates on each seed's own questions)", "",
             *seeds_table(metrics)]
    if len(config["seeds"]) < 3:
        lines += ["", f"Only {len(config['seeds'])} seed(s): the protocol asks for at least 3."]
    rates = metrics["degenerate"]
    lines += ["", "Degenerate outputs (share): " + "; ".join(
        f"{m}: " + ", ".join(f"{k} {rates[m][k]:.2f}" for k in ARM_KINDS) for m in MODELS), "",
        f"## Examples (seed {config['seeds'][0]}, first question, alpha {max(config['alphas']):g} unless unsteered)",
        "", *(f"* **{e['model']}**, {e['arm']}: `{strip_tags(e['text'])[:200]!r}`" for e in shown),
        "", "Figure: [figures/agent_style.html](figures/agent_style.html) (gain vs alpha, random band shaded)", ""]
    return "\n".join(lines)


def console_lines(metrics: Json) -> list[str]:
    """What the script prints when it finishes: the verdicts, each persona's gains and the wall time."""
    metric = METRIC_NAMES[metrics["metric"]]
    lines = verdict_lines(metrics)
    for t in TARGETS:
        a = metrics["arms"][t]
        lines.append(f"  {TITLES[t]:<19} {metric} gain AUC  base {_ci(a['base']['gain'])}  distilled "
                     f"{_ci(a['distilled']['gain'])}  distilled - base {_ci(metrics['differences'][t]['gain'])}")
    return [*lines, f"wall time {metrics['wall_s'] / 60:.1f} min"]
