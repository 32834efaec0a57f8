"""steering.persona_style: references, prompts and the ROUGE-vs-alpha statistics (the sweep runs end to end in
tests/experiments/test_experiments.py)."""

from __future__ import annotations

import pytest


def test_steering_gain_auc_ignores_the_unsteered_score():
    from steering.persona_style import steering_gain_auc

    flat_high = [(0.0, 0.8), (1.0, 0.8), (2.0, 0.8)]
    rising = [(0.0, 0.1), (1.0, 0.3), (2.0, 0.5)]
    assert steering_gain_auc(flat_high) == pytest.approx(0.0)
    assert steering_gain_auc(rising) == pytest.approx(0.4)  # (0 + 0.2)/2 + (0.2 + 0.4)/2


def _rows():
    from models.debate.personas import ARITHMETIC_PERSONAS

    rows = []
    for model, level in (("base", 0.2), ("distilled", 0.4)):
        for persona in ARITHMETIC_PERSONAS:
            for alpha in (1.0, 0.0):  # out of order: curves sort by alpha
                for q, bump in ((0, 0.0), (1, 0.2)):
                    score = level + alpha * 0.1 + bump
                    rows.append({"model": model, "persona": persona, "alpha": alpha, "question": q,
                                 "rouge1": score, "rouge2": score, "rougeL": score, "degenerate": model == "base" and q == 0})
    return rows


def test_curves_average_questions_and_sort_by_alpha():
    from steering.persona_style import curve_rows, style_curves

    curve = style_curves(_rows())
    assert curve[("base", "chain_of_thought", "rougeL")] == [(0.0, pytest.approx(0.3)), (1.0, pytest.approx(0.4))]
    assert len(curve) == 2 * 3 * 3
    flat = curve_rows(curve)
    assert len(flat) == 2 * 3 * 3 * 2 and set(flat[0]) == {"model", "persona", "metric", "alpha", "score"}


def test_auc_table_improvement_means_and_degenerate_rates():
    from steering.persona_style import auc_table, degenerate_rates, mean_rougeL_auc, style_curves

    rows = _rows()
    table = auc_table(style_curves(rows))
    assert len(table) == 9
    first = table[0]
    assert first["base_auc"] == pytest.approx(0.35) and first["distilled_auc"] == pytest.approx(0.55)
    assert first["improvement_pct"] == pytest.approx(100 * 0.2 / 0.35)
    assert first["base_gain_auc"] == pytest.approx(0.05) and first["distilled_gain_auc"] == pytest.approx(0.05)
    assert mean_rougeL_auc(table) == {"base": pytest.approx(0.35), "distilled": pytest.approx(0.55)}
    assert degenerate_rates(rows) == {"base": pytest.approx(0.5), "distilled": 0.0}


def test_references_are_one_correct_solution_per_persona_and_question():
    from models.debate.personas import ARITHMETIC_PERSONAS
    from steering.persona_style import style_references

    questions, refs = style_references("easy", 3, seed=0)
    assert len(questions) == 3 and all(" " in q for q in questions)  # spaced by default
    assert list(refs) == list(ARITHMETIC_PERSONAS) and all(len(r) == 3 for r in refs.values())
    compact, _ = style_references("easy", 3, seed=0, question_format="compact")
    assert all(" " not in q for q in compact) and [q.replace(" ", "") for q in questions] == compact
    assert style_references("easy", 3, seed=0) == (questions, refs)
    assert style_references("easy", 3, seed=1)[1] != refs  # the seed sets the wording only
    assert style_references("easy", 3, seed=1)[0] == questions


def test_style_prompts_chat_for_base_and_training_format_otherwise(tiny_models):
    from models.debate.format import sft_prompt
    from steering.persona_style import style_prompts

    model = tiny_models["hf"]
    assert style_prompts(model, "distilled", ["1 + 2"]) == [sft_prompt("1 + 2")]
    chat = style_prompts(model, "base", ["1 + 2"])[0]
    assert chat != sft_prompt("1 + 2") and "1 + 2" in chat
