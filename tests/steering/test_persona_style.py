"""steering.persona_style: question samples and references, the one prompt for both models, the control arms at
the vector's norm, and scored rows (the whole experiment runs in tests/experiments/test_experiments.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from probes.directions import Direction
from steering.persona_style import (
    HELDOUT_POOL,
    UNSTEERED,
    steering_arms,
    style_prompts,
    style_references,
    style_rows,
)
from steering.prepare import SteeringError

PERSONAS = ("chain_of_thought", "self_critique", "program_of_thought")


def _vectors(norms=(2.0, 2.0, 2.0)) -> dict[str, Direction]:
    g = torch.Generator().manual_seed(1)
    out = {}
    for persona, norm in zip(PERSONAS, norms):
        v = torch.randn(128, generator=g)
        out[persona] = Direction(v * (norm / v.norm()), "blocks.2.hook_resid_post", label=persona)
    return out


def test_references_are_one_correct_solution_per_persona_and_question_drawn_by_the_seed():
    from models.debate.personas import ARITHMETIC_PERSONAS
    from models.debate.splits import heldout_problems

    questions, refs = style_references("easy", 5, seed=0)
    assert len(questions) == 5 and all(" " in q for q in questions)  # spaced by default
    assert list(refs) == list(ARITHMETIC_PERSONAS) and all(len(r) == 5 for r in refs.values())
    assert style_references("easy", 5, seed=0) == (questions, refs)  # seeded, not random
    other, other_refs = style_references("easy", 5, seed=1)
    assert other != questions and other_refs != refs  # the seed draws the sample and the wording
    pool = {p.question.replace(" ", "") for p in heldout_problems("easy", HELDOUT_POOL, seed=0)}
    assert {q.replace(" ", "") for q in questions + other} <= pool  # held-out problems only
    compact, _ = style_references("easy", 5, seed=0, question_format="compact")
    assert [q.replace(" ", "") for q in questions] == compact


def test_seeds_can_draw_disjoint_samples_and_a_too_large_sample_is_refused():
    first, _ = style_references("easy", 30, seed=0)
    second, _ = style_references("easy", 30, seed=1, exclude=first)
    assert not set(first) & set(second)
    with pytest.raises(SteeringError, match="n_test must be between 1 and"):
        style_references("easy", 0, seed=0)
    with pytest.raises(SteeringError, match="less `exclude`"):
        style_references("easy", HELDOUT_POOL, seed=0, exclude=first)


def test_both_models_get_the_same_prompt_for_each_question(tiny_hf):
    from models.debate.format import sft_prompt

    chat = style_prompts(tiny_hf, ["1 + 2", "3 * 4"], "chat")
    assert len(chat) == 2 and "1 + 2" in chat[0] and chat[0] != sft_prompt("1 + 2")
    # The prompt depends on the question and the rendering only: nothing names the model being asked.
    assert style_prompts(tiny_hf, ["1 + 2"], "chat") == chat[:1]
    assert style_prompts(tiny_hf, ["1 + 2"], "problem") == [sft_prompt("1 + 2")]
    with pytest.raises(SteeringError, match="prompt kind must be 'chat' or 'problem'"):
        style_prompts(tiny_hf, ["1 + 2"], "chat_base")  # type: ignore[arg-type]


def test_arms_are_each_persona_its_sign_flip_and_seeded_random_directions_of_its_norm():
    vectors = _vectors()
    arms = steering_arms(vectors, n_random=4, seed=3)
    assert set(arms) == {f"{k}:{p}" for k in ("persona", "sign_flip") for p in PERSONAS} | {f"random{k}" for k in range(4)}
    for p in PERSONAS:
        assert torch.equal(arms[f"sign_flip:{p}"].direction.vector, -vectors[p].vector)
        assert arms[f"persona:{p}"].targets == (p,)
    for k in range(4):
        arm = arms[f"random{k}"]
        assert arm.kind == "random" and arm.control == k and arm.targets == PERSONAS  # one set serves every persona
        assert float(arm.direction.vector.norm()) == pytest.approx(2.0, rel=1e-5)
    again = steering_arms(vectors, n_random=4, seed=3)
    assert torch.equal(again["random0"].direction.vector, arms["random0"].direction.vector)
    assert not torch.equal(steering_arms(vectors, 4, seed=4)["random0"].direction.vector, arms["random0"].direction.vector)


def test_vectors_of_different_norms_get_random_directions_of_their_own_norm():
    vectors = _vectors(norms=(1.0, 3.0, 3.0))
    arms = steering_arms(vectors, n_random=2, seed=0)
    assert arms["random0:chain_of_thought"].targets == ("chain_of_thought",)
    assert arms["random0:self_critique"].targets == ("self_critique", "program_of_thought")
    assert float(arms["random1:chain_of_thought"].direction.vector.norm()) == pytest.approx(1.0, rel=1e-5)
    assert float(arms["random1:self_critique"].direction.vector.norm()) == pytest.approx(3.0, rel=1e-5)
    with pytest.raises(SteeringError, match="at least one persona vector"):
        steering_arms({}, n_random=2, seed=0)


def test_rows_score_each_output_against_the_references_it_is_compared_with(tiny_hf):
    vectors = {p: replace(v, model=tiny_hf.info.name) for p, v in _vectors().items()}
    arms = steering_arms(vectors, n_random=2, seed=0)
    prompts = ["12+34*5 =", "the agent says"]
    refs = {p: [f"{p} one", f"{p} two"] for p in PERSONAS}
    rows = style_rows("base", tiny_hf, prompts, arms, refs, alphas=[0.0, 2.0], seed=7, max_new_tokens=3,
                      progress=False)
    assert len(rows) == 2 + len(arms) * 2  # alpha 0 once per question, every arm at alpha 2
    unsteered = [r for r in rows if r["kind"] == UNSTEERED]
    assert len(unsteered) == 2 and all(set(r["scores"]) == set(PERSONAS) for r in unsteered)
    assert all(set(r["scores"]) == set(PERSONAS) for r in rows if r["kind"] == "random")
    persona = [r for r in rows if r["kind"] == "persona"]
    assert all(list(r["scores"]) == [r["persona"]] and r["alpha"] == 2.0 and r["seed"] == 7 for r in persona)
    assert all(set(r["scores"][t]) == {"rouge1", "rouge2", "rougeL"} for r in rows for t in r["scores"])
    with pytest.raises(SteeringError, match="has 1 references for 2 prompts"):
        style_rows("base", tiny_hf, prompts, arms, {**refs, "self_critique": ["x"]}, alphas=[0.0], seed=0,
                   max_new_tokens=2, progress=False)
