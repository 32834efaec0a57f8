"""How the shorter-forms diagnostic reads: its takeaway, summary tables and figure, built from the run's
``metrics.json`` and ``config.json`` (plain dicts), so the script and a notebook say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.report import estimate_text, markdown_table
from models.train.forms_diagnostic import WHOLE


def _pct(e: Mapping[str, Any]) -> str:
    return estimate_text(e, 1, scale=100.0)


def _tokens(e: Mapping[str, Any]) -> str:
    return estimate_text(e, 0)


def takeaway(metrics: Mapping[str, Any]) -> str:
    """One sentence: the consensus after Agent 1 against the whole transcript, and how often sampling finds it."""
    from models.debate.format import CONSENSUS_TAG

    whole, one = metrics["forms"][WHOLE], metrics["forms"]["consensus after Agent 1"]
    p = metrics["next_tag_after_agent_1"]
    return (f"Ending at the consensus after Agent 1 scores {_pct(one['accuracy'])} % at {_tokens(one['tokens'])} "
            f"tokens, against {_pct(whole['accuracy'])} % at {_tokens(whole['tokens'])} for the whole transcript; "
            f"sampling at temperature {metrics['temperature']:g} picks the consensus tag after Agent 1 with "
            f"probability {p[CONSENSUS_TAG]:.2g}.")


def summary_markdown(metrics: Mapping[str, Any], config: Mapping[str, Any], command: str) -> str:
    """summary.md: the takeaway, each form, each form paired against the whole transcript, the next-tag odds."""
    setup = (f"Checkpoint `{config['folder']}`; {config['n']} {config['problems']} problems; greedy decoding; "
             f"intervals are 95 % bootstrap CIs over problems. Command: `{command}` ({metrics['seconds']:.0f} s).")
    lines = [takeaway(metrics), "", "# Shorter forms of the same transcripts", "", setup, ""]
    lines += markdown_table(["form", "accuracy % [95% CI]", "tokens per question [95% CI]"],
                            [[name, _pct(s["accuracy"]), _tokens(s["tokens"])] for name, s in metrics["forms"].items()])
    lines += ["", "Paired against the whole transcript (same problems):", ""]
    lines += markdown_table(["form", "accuracy difference pp [95% CI]", "McNemar p", "token difference [95% CI]"],
                            [[name, _pct(c["accuracy_difference"]), f"{c['mcnemar']['p_value']:.3g}",
                              _tokens(c["token_difference"])] for name, c in metrics["vs_whole"].items()])
    odds = (f"Probability of each tag right after Agent 1's round-1 turn, sampling at temperature "
            f"{metrics['temperature']:g} (mean over problems):")
    lines += ["", odds, ""]
    # a tag's own "|" would split a markdown table cell: the table names the tag without its brackets
    lines += markdown_table(["next tag", "probability"],
                            [[tag.removeprefix("<|").removesuffix("|>"), f"{p:.3g}"]
                             for tag, p in metrics["next_tag_after_agent_1"].items()])
    return "\n".join(lines) + "\n"


def forms_figure(metrics: Mapping[str, Any]) -> Any:
    """Accuracy against tokens per question for each form, with 95 % CIs on both axes."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, s in metrics["forms"].items():
        a, t = s["accuracy"], s["tokens"]
        fig.add_trace(go.Scatter(
            x=[t["value"]], y=[100 * a["value"]], mode="markers+text", name=name, text=[name],
            textposition="top center", marker={"size": 12},
            error_x={"type": "data", "symmetric": False, "array": [t["high"] - t["value"]],
                     "arrayminus": [t["value"] - t["low"]]},
            error_y={"type": "data", "symmetric": False, "array": [100 * (a["high"] - a["value"])],
                     "arrayminus": [100 * (a["value"] - a["low"])]}))
    tokens = [s["tokens"][k] for s in metrics["forms"].values() for k in ("low", "high")]
    pad = 0.15 * (max(tokens) - min(tokens)) + 10  # room for the labels beside the outermost points
    fig.update_layout(title="Shorter forms of the same transcripts: accuracy against tokens (95 % CIs)",
                      xaxis_title="tokens per question (input + output)", yaxis_title="accuracy %",
                      xaxis_range=[min(tokens) - pad, max(tokens) + pad], yaxis_range=[0, 105],
                      showlegend=False, height=480)
    return fig
