"""How an internalization evaluation reads: the one-sentence takeaway, the headline that counts the criteria, the
system, comparison and consensus tables, the summary page and its figures, all built from the run's
``metrics.json`` and ``config.json`` (plain dicts), so the script's summary and a notebook reading a finished
run say the same. The verdict lines themselves (`criterion_line`) are written into the metrics by
`models.train.internalization`, which decides them; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from models.report import checks_takeaway, estimate_text, markdown_table
from models.train.internalization import criterion_line, short

__all__ = ["accuracy_tokens_figure", "comparisons_table", "consensus_section", "criterion_line", "grpo_figure",
           "headline", "summary_markdown", "systems_table", "takeaway"]

DEBATE_NOTE = ("The explicit debate's answer is the majority vote of its last round (no answer there: wrong). The "
               "round-1 row scores the same debates' round-1 vote with round-1 tokens only: the difference is what "
               "the revision round adds or destroys.")
CONSENSUS_NOTE = ("How the transcripts' consensus line reads their agents. Where the agents' final answers disagree, a "
                  "consensus can copy the last agent's answer or follow the agents' vote; the vote column re-reads "
                  "every transcript by code, with the explicit debate's rule, to show what the same agents would score "
                  "if the consensus were a vote (a diagnostic, not a system: the model does not take this vote).")
FIGURES_NOTE = ("Figures: [figures/accuracy_tokens.html](figures/accuracy_tokens.html) (accuracy and tokens per "
                "system), [figures/grpo_iterations.html](figures/grpo_iterations.html) (each IMAD checkpoint's Stage 2 "
                "iterations: l, mean completion length and rewards, from its manifest).")


def _pct(e: Mapping[str, Any]) -> str:
    return estimate_text(e, 1, scale=100.0)


def takeaway(metrics: Mapping[str, Any]) -> str:
    """One sentence: what the internalized model costs and scores against Stage 1 and the explicit debate."""
    sy = metrics["systems"]
    imads = [k for k in sy if k.startswith("imad")]
    share = [sy[k]["tokens"]["value"] / sy[k.replace("imad", "sft")]["tokens"]["value"] for k in imads]

    def acc(key: str) -> str:
        return f"{100 * sy[key]['accuracy']['value']:.1f} %"

    return (f"**In one sentence:** over {len(imads)} training seed(s) the internalized model writes "
            f"{100 * min(share):.0f}–{100 * max(share):.0f} % of Stage 1's tokens "
            f"({', '.join(acc(k) for k in imads)} accuracy against "
            f"{', '.join(acc(k.replace('imad', 'sft')) for k in imads)} for Stage 1), and the explicit debate scores "
            f"{acc('debate')} against {acc('single')} for a single answer.")


def headline(metrics: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    """The report page's title, its takeaway (the criteria counted by `checks_takeaway`) and the verdict lines."""
    criteria = metrics["criteria"]
    title = "Internalized debate: accuracy and tokens" + (
        " (VALIDATION problems, not the evaluation)" if config["problems"] == "validation" else "")
    counted = checks_takeaway({k: c["verdict"] for k, c in criteria.items()},
                              noun="predeclared internalization criteria")
    return title, counted, [c["line"] for c in criteria.values()]


def systems_table(metrics: Mapping[str, Any]) -> list[str]:
    """Accuracy, seed spread, tokens, share of the debate's tokens and tag rate, one row per system."""
    return markdown_table(
        ["system", "n", "accuracy % [95% CI]", "seed sd (pp)", "tokens per question [95% CI]", "% of debate", "tags"],
        [[r["system"], r["n"], _pct(r["accuracy"]), f"{100 * r['seed_accuracy']['sd']:.1f}",
          estimate_text(r["tokens"], 0), f"{r['pct_of_debate']:.1f} %", f"{100 * r['tag_rate']:.0f} %"]
         for r in metrics["systems"].values()])


def comparisons_table(metrics: Mapping[str, Any]) -> list[str]:
    """Every paired comparison: accuracy and token differences with CIs, McNemar, seed spread."""
    return markdown_table(
        ["comparison", "n", "accuracy difference pp [95% CI]", "McNemar p (only a / only b)",
         "token difference [95% CI]", "seed sd (pp)"],
        [[f"{short(c['a'])} − {short(c['b'])}", c["n"], _pct(c["accuracy_difference"]),
          f"{c['mcnemar']['p_value']:.3g} ({c['mcnemar']['only_a']} / {c['mcnemar']['only_b']})",
          estimate_text(c["token_difference"], 0), f"{100 * c['seed_accuracy_difference']['sd']:.1f}"]
         for c in metrics["comparisons"].values()])


def consensus_section(consensus: Mapping[str, Any]) -> list[str]:
    """Per transcript system: consensus = last agent, = agents' vote, and what that vote would score."""
    rows = []
    for c in consensus.values():
        d, m = c["vote_minus_consensus"], c["vote_minus_consensus"]["mcnemar"]
        share = {k: _pct(c[k]) if c[k] else "–" for k in ("copies_last", "follows_vote")}
        rows.append([c["system"], f"{c['agents_disagree']} of {c['n']}", share["copies_last"], share["follows_vote"],
                     _pct(c["vote_accuracy"]), f"{_pct(d['accuracy_difference'])} ({m['p_value']:.3g})"])
    return [CONSENSUS_NOTE, "", *markdown_table(
        ["system", "agents disagree", "consensus = last agent % [95% CI]", "consensus = agents' vote % [95% CI]",
         "agents' vote accuracy % [95% CI]", "vote − consensus pp [95% CI] (McNemar p)"], rows)]


def _pool(config: Mapping[str, Any]) -> str:
    if config["problems"] == "heldout":
        return "held-out problems"
    return ("**validation** problems (outside the held-out set and every Stage 1 and Stage 2 prompt; for choosing "
            "settings, not the evaluation)")


def summary_markdown(metrics: Mapping[str, Any], config: Mapping[str, Any], command: str) -> str:
    """summary.md: verdicts first, the takeaway, the setup, the tables, the per-sample verdicts and the figures."""
    setup = (f"Decoding: **{metrics['decoding']}** for every system (one decoding, batch size {config['batch_size']}, "
             f"seeds {list(config['seeds'])}). Problems: {len(config['seeds'])} disjoint samples of {config['n']} "
             f"{_pool(config)}, one per seed; the explicit debate runs on the first {config['debate_n']} of each. "
             f"Intervals: 95 % paired bootstrap over problems; seed sd: spread of the per-seed value. Command: "
             f"`{command}` ({metrics['seconds']:.0f} s).")
    criteria = metrics["criteria"]
    per_seed = "; ".join(f"{k}: " + " | ".join(", ".join(r["seed_verdicts"]) for r in c["runs"])
                         for k, c in criteria.items())
    lines = [line for c in criteria.values() for line in (c["line"], "")]
    lines += [takeaway(metrics), "", "# Debate vs internalized debate", "", setup, "", *systems_table(metrics)]
    lines += ["", "Paired comparisons (same problems):", "", *comparisons_table(metrics)]
    lines += ["", *consensus_section(metrics["consensus"])]
    lines += ["", ("Per-sample verdicts, one group per training seed (a problem sample deciding against the pooled "
                   f"verdict makes that training seed inconclusive): {per_seed}."), "", DEBATE_NOTE, "", FIGURES_NOTE, ""]
    return "\n".join(lines)


def accuracy_tokens_figure(metrics: Mapping[str, Any]) -> Any:
    """Accuracy and tokens per question (as % of the explicit debate's) per system, with 95 % CIs."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = list(metrics["systems"].values())
    names, debate = [r["system"] for r in rows], metrics["systems"]["debate"]["tokens"]["value"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("accuracy (%, 95% CI)",
                                                         "tokens per question (% of explicit debate, 95% CI)"))
    for col, key, scale in ((1, "accuracy", 100.0), (2, "tokens", 100.0 / debate)):
        est = [r[key] for r in rows]
        fig.add_trace(go.Bar(x=names, y=[scale * e["value"] for e in est], name=key,
                             error_y={"type": "data", "symmetric": False,
                                      "array": [scale * (e["high"] - e["value"]) for e in est],
                                      "arrayminus": [scale * (e["value"] - e["low"]) for e in est]},
                             text=[f"{scale * e['value']:.1f}%" for e in est], textposition="outside"), 1, col)
    fig.update_layout(title="Explicit vs internalized debate on held-out arithmetic (matched decoding)",
                      showlegend=False, height=520)
    return fig


def grpo_figure(imad_folders: Mapping[str, Path]) -> Any:
    """Each IMAD checkpoint's Stage 2 iterations from its manifest: l and the mean completion length (tokens), and
    the correct share, format reward and (when trained with one) brevity reward of the completions, at the end of
    each iteration."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from models.manifest import Manifest

    fig = make_subplots(rows=1, cols=2, subplot_titles=("length: clip l (dashed), mean (solid)",
                                                         "correct share (solid), format (dotted), brevity (dash-dot)"))
    palette = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
    curves = (("clip_tokens", "l", 1, "dash"), ("last_completions/mean_length", "mean length", 1, None),
              ("last_rewards/correct_reward/mean", "correct share", 2, None),
              ("last_rewards/format_reward/mean", "format reward", 2, "dot"),
              ("last_rewards/brevity_reward/mean", "brevity reward", 2, "dashdot"))
    for (name, folder), colour in zip(imad_folders.items(), palette):
        manifest = Manifest.load(folder)
        iters = manifest.metrics.get("iterations", []) if manifest else []
        for key, what, col, dash in curves:
            if what == "brevity reward" and not any(key in i for i in iters):
                continue  # only runs trained with a brevity reward draw it
            fig.add_trace(go.Scatter(x=[i["iteration"] for i in iters], y=[i.get(key) for i in iters],
                                     name=f"{name}: {what}", mode="lines+markers",
                                     line={"dash": dash, "color": colour} if dash else {"color": colour}), 1, col)
    fig.update_xaxes(title_text="GRPO iteration", dtick=1)
    fig.update_yaxes(title_text="tokens", row=1, col=1)
    fig.update_yaxes(title_text="share of completions / reward", range=[0, 1.05], row=1, col=2)
    fig.update_layout(title="Stage 2 iterations per training seed, at the end of each iteration (from the manifests)",
                      height=480)
    return fig
