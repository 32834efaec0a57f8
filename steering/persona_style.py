"""Agent-style steering (paper §3): steer toward each debate persona and score how much the output reads like it.

The analysis of `experiments/agent_style.py`:

* `persona_vectors` -- the Eq. 3 agent-vs-others direction of each persona (agent k speaks persona k),
  read from a Stage 1 (SFT) checkpoint on training debates and scaled as asked;
* `style_references` -- held-out questions and, per persona, a correct solution written in its style;
* `style_prompts` -- how each model is asked (base: its chat format; Stage 1/2 models: "Problem: q");
* `style_rows` -- ROUGE-1/2/L of every steered output against the persona reference;
* `style_curves`, `auc_table`, `steering_gain_auc`, `mean_rougeL_auc`, `degenerate_rates` -- the
  summary statistics (area under ROUGE vs alpha, as in the paper's Table 8, and the gain over the
  unsteered score); `style_figure` -- ROUGE vs alpha per persona, base and distilled side by side.

Example:
    >>> vectors = persona_vectors(sft, site, n_extract=64, tier="easy", seed=0)
    >>> questions, refs = style_references("easy", 24, seed=0)
    >>> rows = style_rows("base", base, style_prompts(base, "base", questions),
    ...                   {p: adopt(v, base) for p, v in vectors.items()}, refs, alphas=[0.0, 1.0], max_new_tokens=128)
    >>> table = auc_table(style_curves(rows))
"""

from __future__ import annotations

import random
from typing import Any, Literal

from models import HookedModel
from models.debate.arithmetic import work_out
from models.debate.format import sft_prompt, strip_tags
from models.debate.personas import ARITHMETIC_PERSONAS, PERSONA_WRITERS
from models.debate.prompts import QuestionFormat, math_question_prompt, present
from models.debate.splits import arithmetic_debates, heldout_problems
from probes import collect_activations, eq3_directions, eq3_source
from probes.directions import Direction
from steering.coherence import degeneracy
from steering.prepare import scale_to_residual, stamp
from steering.style_metrics import ROUGE_TYPES, auc_trapezoid, relative_improvement, rouge
from steering.sweep import alpha_sweep

PERSONA_NAMES = {"chain_of_thought": "Chain-of-Thought", "self_critique": "Self-Critique",
                 "program_of_thought": "Program-of-Thought"}
MODELS = ("base", "distilled")
Scale = Literal["residual", "unit", "raw"]
Curves = dict[tuple[str, str, str], list[tuple[float, float]]]


def style_references(tier: str, n_test: int, seed: int, question_format: QuestionFormat = "spaced"
                     ) -> tuple[list[str], dict[str, list[str]]]:
    """Held-out questions and, per persona, a correct solution to each written in that persona's style.

    The problems are the tier's held-out set (seed 0); `seed` only sets the references' wording.
    """
    problems = heldout_problems(tier, n_test, seed=0)
    rng = random.Random(f"agent-style-{seed}")
    refs = {p: [PERSONA_WRITERS[p](work_out(problem), rng) for problem in problems] for p in ARITHMETIC_PERSONAS}
    return [present(p.question, question_format) for p in problems], refs


def persona_vectors(sft: HookedModel, site: str, *, n_extract: int, tier: str, seed: int, scale: Scale = "residual"
                    ) -> dict[str, Direction]:
    """Eq. 3 agent-vs-others direction of each persona (agent k speaks persona k), from training debates.

    `n_extract` debates of `tier` (seed ``seed + 202``, none of the first 500 held-out problems), read at
    each response's last token. 'residual': alpha 1 shifts a typical activation by 10% of its norm;
    'unit': unit vectors; 'raw': the Eq. 3 difference of means.
    """
    debates = arithmetic_debates(n_extract, tier, seed=seed + 202,
                                 exclude=[p.question for p in heldout_problems(tier, 500, seed=0)])
    acts = collect_activations(sft, eq3_source(debates, positions="turn_last"), [site], truncate=True, progress=True)
    directions = eq3_directions(acts, site, normalize=scale == "unit")
    if scale == "residual":
        directions = {name: scale_to_residual(d, acts.at(site)) for name, d in directions.items()}
    return {persona: stamp(directions[f"agent{k}"], sft) for k, persona in enumerate(ARITHMETIC_PERSONAS, start=1)}


def style_prompts(model: HookedModel, name: str, questions: list[str]) -> list[str]:
    """The base model answers in its chat format; Stage 1/2 models were trained on "Problem: q"."""
    if name == "base":
        return [model.chat_prompt(math_question_prompt(q)) for q in questions]
    return [sft_prompt(q) for q in questions]


def style_rows(name: str, model: HookedModel, prompts: list[str], vectors: dict[str, Direction],
               refs: dict[str, list[str]], *, alphas: list[float], max_new_tokens: int) -> list[dict[str, Any]]:
    """ROUGE of every steered output against its persona reference; one row per (persona, alpha, question)."""
    rows = []
    for persona, vector in vectors.items():
        sweep = alpha_sweep(model, vector, prompts, alphas, max_new_tokens=max_new_tokens, desc=f"{name}/{persona}")
        for r in sweep:
            text = strip_tags(r.text)
            scores = rouge([text], [refs[persona][r.prompt_index]])
            rows.append({"model": name, "persona": persona, "alpha": r.alpha, "question": r.prompt_index,
                         **scores, "degenerate": degeneracy(text).degenerate, "text": r.text})
    return rows


def style_curves(rows: list[dict[str, Any]]) -> Curves:
    """(model, persona, metric) -> [(alpha, mean score)] sorted by alpha."""
    sums: dict[tuple[str, str, str, float], list[float]] = {}
    for r in rows:
        for metric in ROUGE_TYPES:
            sums.setdefault((r["model"], r["persona"], metric, r["alpha"]), []).append(r[metric])
    out: Curves = {}
    for (model, persona, metric, alpha), values in sorted(sums.items()):
        out.setdefault((model, persona, metric), []).append((alpha, sum(values) / len(values)))
    return out


def curve_rows(curve: Curves) -> list[dict[str, Any]]:
    """The curves as flat rows (model, persona, metric, alpha, score), for a CSV."""
    return [{"model": m, "persona": p, "metric": k, "alpha": a, "score": s}
            for (m, p, k), points in curve.items() for a, s in points]


def steering_gain_auc(points: list[tuple[float, float]]) -> float:
    """Area under ROUGE(alpha) - ROUGE(lowest alpha): what steering adds over the unsteered output.

    The paper's AUC also counts the unsteered score, so a model whose plain output already resembles
    a persona wins without any steering; this one does not.
    """
    xs, ys = zip(*points)
    return auc_trapezoid(xs, [y - ys[0] for y in ys])


def auc_table(curve: Curves) -> list[dict[str, Any]]:
    """Per persona and metric: base AUC, distilled AUC, relative improvement (%), as in the paper's Table 8."""
    table = []
    for persona in ARITHMETIC_PERSONAS:
        for metric in ROUGE_TYPES:
            aucs = {m: auc_trapezoid(*zip(*curve[(m, persona, metric)])) for m in MODELS}
            gains = {m: steering_gain_auc(curve[(m, persona, metric)]) for m in MODELS}
            improvement = relative_improvement(aucs["base"], aucs["distilled"]) if aucs["base"] > 0 else None
            table.append({"persona": persona, "metric": metric, "base_auc": aucs["base"],
                          "distilled_auc": aucs["distilled"], "improvement_pct": improvement,
                          "base_gain_auc": gains["base"], "distilled_gain_auc": gains["distilled"]})
    return table


def mean_rougeL_auc(table: list[dict[str, Any]]) -> dict[str, float]:
    """Mean ROUGE-L AUC over the personas, per model."""
    return {m: sum(r[f"{m}_auc"] for r in table if r["metric"] == "rougeL") / len(ARITHMETIC_PERSONAS)
            for m in MODELS}


def degenerate_rates(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Share of each model's outputs flagged degenerate."""
    return {m: sum(r["degenerate"] for r in rows if r["model"] == m) / max(1, sum(r["model"] == m for r in rows))
            for m in MODELS}


def style_figure(curve: Curves, metric: str = "rougeL") -> Any:
    """ROUGE-vs-alpha per persona, base and distilled side by side."""
    import plotly.graph_objects as go  # imported when a figure is made
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=3, shared_yaxes=True,
                        subplot_titles=[f"toward {PERSONA_NAMES[p]}" for p in ARITHMETIC_PERSONAS])
    colors = {"base": "#636EFA", "distilled": "#EF553B"}
    for col, persona in enumerate(ARITHMETIC_PERSONAS, start=1):
        for model in MODELS:
            xs, ys = zip(*curve[(model, persona, metric)])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=model, legendgroup=model,
                                     showlegend=col == 1, line={"color": colors[model]}), row=1, col=col)
        fig.update_xaxes(title_text="steering strength alpha", row=1, col=col)
    fig.update_yaxes(title_text=f"{metric} F1 vs held-out persona solutions", row=1, col=1)
    fig.update_layout(title=f"Steering toward each debate persona: {metric} against that persona's own writing",
                      height=420, width=1200, legend_title_text="model")
    return fig
