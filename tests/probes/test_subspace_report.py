"""probes.subspace_report: the agent-subspaces summary, takeaway and captions, from JSON-loaded metrics."""

from __future__ import annotations

import json

import pytest

from probes.subspace_report import (
    CHECKS,
    caveats,
    curve_table,
    figure_caption,
    floor_note,
    in_order,
    layer_scope,
    layer_table,
    seed_table,
    summary,
    takeaway,
)

CONFIG = {"base": "tiny-base", "distilled": "tiny-imad", "untrained": "tiny-random", "debates": None, "n_debates": 3,
          "kind": "arithmetic", "tier": "easy", "seeds": [0, 1], "positions": "turn_mean", "site": "resid_post",
          "resamples": 200, "criterion_layer": -1}


def _m(name: str, value: float, low: float, high: float) -> dict:
    return {"name": name, "value": value, "low": low, "high": high, "n": 6, "per_seed": {"0": value, "1": value},
            "seed_spread": {"mean": value, "sd": 0.0, "min": value, "max": value, "n_seeds": 2}, "offset": 0.0}


def _check(name: str, verdict: str, claim: str, threshold: float, m: dict) -> dict:
    crit = {"claim_text": f"claim {name}", "metric": m["name"], "claim": claim, "threshold": threshold}
    return {"criterion": crit, "verdict": verdict, "line": f"{verdict.upper()}: claim {name} -- ...", "measure": m}


def _metrics() -> dict:
    """A run's metrics.json as JSON gives it back: string keys, plain dicts."""
    verdicts = {
        "distilled_minus_base_selectivity": _check("selectivity", "inconclusive", "above", 0.0,
                                                   _m("sel", 0.0, -0.1, 0.1)),
        "distilled_minus_base_fewshot": _check("fewshot", "confirmed", "above", 0.0, _m("few", 0.2, 0.1, 0.3)),
        "untrained_floor": _check("untrained", "refuted", "within", 0.1, _m("unt", 0.5, 0.4, 0.6)),
        "base_shuffled_floor": _check("base", "confirmed", "within", 0.1, _m("bsh", 0.0, -0.05, 0.05)),
        "distilled_shuffled_floor": _check("distilled", "confirmed", "within", 0.1, _m("dsh", 0.0, -0.05, 0.05)),
    }
    row = {k: _m(k, 0.9, 0.8, 1.0) for k in ("base", "distilled", "untrained", "base_shuffled", "distilled_shuffled",
                                            "base_selectivity", "distilled_selectivity", "untrained_selectivity")}
    curve = {r: {"1": _m(r, 0.5, 0.4, 0.6)} for r in ("base", "distilled", "untrained", "distilled_minus_base")}
    metrics = {"verdicts": verdicts, "layers": {"0": row, "1": {**row, "distilled_minus_base_selectivity":
                                                               _m("d", 0.25, 0.125, 0.375)}},
               "learning_curve": curve, "chance": {"base": 1 / 3}, "wall_time_s": 12.4, "n_units": 6,
               "turns": {"0": {"base": 15, "distilled": 15, "untrained": 11}},
               "dropped": {"0": {"base": 0, "distilled": 0, "untrained": 4}},
               "descriptive": {"base": {"best_layer": 2}, "distilled": {"best_layer": 3}}}
    return json.loads(json.dumps(metrics))


@pytest.mark.parametrize("verdict, said", [("refuted", "The untrained model tells the agents apart"),
                                             ("inconclusive", "The untrained model is not shown to sit at chance"),
                                             ("confirmed", None)])
def test_a_floor_that_is_not_at_chance_is_said_plainly(verdict, said):
    m = {"value": 0.5, "low": 0.4, "high": 0.6}
    checks = {"untrained_floor": {"verdict": verdict, "measure": m},
              "base_shuffled_floor": {"verdict": "confirmed", "measure": m},
              "distilled_shuffled_floor": {"verdict": "inconclusive", "measure": m}}
    notes = floor_note(checks, {"positions": "turn_mean"})
    assert any("distilled probe on shuffled labels is not shown to sit at chance" in n for n in notes)
    assert not any("base probe" in n for n in notes)
    if said is None:
        assert len(notes) == 1
    else:
        assert said in notes[0] and "`turn_mean`" in notes[0] and "+0.500 [+0.400, +0.600]" in notes[0]


def test_the_takeaway_counts_every_verdict():
    assert takeaway(_metrics()) == (
        "3 of 5 predeclared checks confirmed (distilled minus base fewshot, base shuffled floor, distilled shuffled "
        "floor); 1 refuted (untrained floor); 1 inconclusive (distilled minus base selectivity). "
        "Each check's line and CI is below.")


def test_tables_write_every_cell_with_its_interval_and_a_dash_where_a_measure_is_missing():
    layers = _metrics()["layers"]
    lines = layer_table("## t", {"base": "base", "d - b": "distilled_minus_base_selectivity"}, layers)
    assert lines[:4] == ["## t", "", "| layer | base | d - b |", "|---|---|---|"]
    assert lines[4] == "| 0 | 0.900 [0.800, 1.000] | — |"
    assert lines[5] == "| 1 | 0.900 [0.800, 1.000] | 0.250 [0.125, 0.375] |"
    curve = curve_table(_metrics()["learning_curve"], layer_scope(2))
    assert "(layer 2, 95% CI)" in curve[0]
    assert curve[2] == "| training questions | base | distilled | untrained | distilled - base |"
    assert curve[4].startswith("| 1 | 0.500 [0.400, 0.600] |")
    seeds = seed_table(_metrics()["verdicts"])
    assert "| few | +0.200 [+0.100, +0.300] | 0: +0.200, 1: +0.200 | 0.000 |" in seeds


def test_caveats_name_what_the_setup_cannot_show():
    lines = caveats(_metrics(), CONFIG | {"base": "x", "distilled": "x", "positions": "agent_tag"},
                    ["figures/pca.html", "figures/pca.png"])
    text = "\n".join(lines)
    assert lines[0] == "Figures: [pca](figures/pca.html)" and "best layer base 2, distilled 3" in text
    assert "2 seed(s)" in text and "self-check" in text and "special tokens" in text
    assert not any("Caveat" in line for line in caveats(_metrics(), CONFIG | {"seeds": [0, 1, 2]}, []))


def test_the_summary_opens_with_the_verdicts_then_the_failed_floor_then_the_setup():
    text = summary(_metrics(), CONFIG, "python experiments/agent_subspaces.py", ["figures/cosine_base.html"])
    head, rest = text.split("# Agent subspaces: tiny-base (base) vs tiny-imad (distilled), floor tiny-random")
    assert head.startswith("INCONCLUSIVE: claim selectivity -- ...\nCONFIRMED: claim fewshot")
    assert "**The untrained model tells the agents apart: its accuracy is +0.500 [+0.400, +0.600]" in head
    assert "(wall time 12 s)" in rest and "seed 0: base 15, distilled 15, untrained 11" in rest
    assert "claim fewshot: few > 0 (whole 95% CI)" in rest and "unt within +/- 0.1 (whole 95% CI)" in rest
    assert "chance 0.333)" in rest and "## Selectivity per layer" in rest and "## The criteria per seed" in rest
    assert text.endswith("[cosine_base](figures/cosine_base.html)\n\nDescriptive, first seed only (not evidence: the "
                         "best layer is chosen after the fact): best layer base 2, distilled 3; principal angles, "
                         "directions and PCA in analysis.json and vectors/.\n\nCaveat: 2 seed(s); the protocol asks "
                         "for at least 3 to show a spread.\n")


def test_every_figure_stem_has_a_caption():
    assert figure_caption("pca_base_by_agent") == figure_caption("pca")
    assert "orthogonal" in figure_caption("principal_angles")
    with pytest.raises(KeyError):
        figure_caption("unknown_stem")
    assert layer_scope(-1) == "mean over every layer" and layer_scope(0) == "layer 0"


def test_json_key_order_is_undone_checks_in_predeclared_and_layers_in_numeric_order():
    metrics = _metrics()
    metrics["verdicts"] = dict(sorted(metrics["verdicts"].items()))  # as metrics.json's sorted keys give them back
    row = metrics["layers"]["0"]
    metrics["layers"] = {str(la): row for la in (0, 1, 10, 11, 2)}
    text = summary(metrics, CONFIG, "cmd", [])
    assert text.splitlines()[0].startswith("INCONCLUSIVE: claim selectivity")
    assert [line.split(" |")[0] for line in text.splitlines() if line.startswith("| ") and "0.900" in line][:5] == [
        "| 0", "| 1", "| 2", "| 10", "| 11"]
    assert list(in_order({"extra": {}, "untrained_floor": {}, "distilled_minus_base_selectivity": {}})) == [
        "distilled_minus_base_selectivity", "untrained_floor", "extra"]
    assert list(in_order(metrics["verdicts"])) == list(CHECKS)
