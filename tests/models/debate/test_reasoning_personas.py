"""models.debate.reasoning_personas: three personas in one vocabulary, told apart only by how they reason."""

from __future__ import annotations

import random

import pytest

from models.debate import GenerateConfig, generate_debates
from models.debate.arithmetic import TIERS, sample_problem, work_out
from models.debate.reasoning_personas import REASONING_PERSONAS, reasoning_solution


def test_reasoning_personas_share_one_vocabulary_and_differ_in_how_they_reason():
    """No word is one persona's alone (a probe cannot read the agent off one token), yet their habits differ."""
    import re

    debates, _ = generate_debates(GenerateConfig(n=60, seed=0, tier="medium", personas="reasoning"))
    words: dict[str, set[str]] = {}
    checks: dict[str, list[int]] = {}
    hedges: dict[str, list[int]] = {}
    for t in debates:
        for turn in t.rounds[0]:
            p = turn.label.persona
            words.setdefault(p, set()).update(w for w in re.findall(r"[A-Za-z]+", turn.text))
            checks.setdefault(p, []).append(len(re.findall(r"[Cc]heck", turn.text)))
            hedges.setdefault(p, []).append(len(re.findall(r"I think|Probably|If I am not mistaken", turn.text)))
    assert set(words) == {"forward", "checking", "hedging"}
    assert words["forward"] == words["checking"] == words["hedging"]
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert mean(checks["checking"]) > 2 * max(mean(checks["forward"]), mean(checks["hedging"]))
    assert mean(hedges["hedging"]) > 2 * max(mean(hedges["forward"]), mean(hedges["checking"]))
    assert all(t.rounds[0][a].label.persona == p for t in debates for a, p in enumerate(("forward", "checking",
                                                                                           "hedging")))



@pytest.mark.parametrize("persona", REASONING_PERSONAS)
def test_every_turn_ends_in_its_works_answer(persona):
    rng = random.Random(0)
    for _ in range(20):
        work = work_out(sample_problem(rng, TIERS["medium"]))
        text = reasoning_solution(persona, work, rng)
        assert text.rstrip().endswith(f"\\boxed{{{work.answer}}}.")
        assert all(f"{v}" in text for _, v in work.products)


def test_the_hedging_persona_takes_the_products_right_to_left():
    rng = random.Random(1)
    work = work_out(sample_problem(rng, TIERS["medium"]))
    first, last = (t.spaced() for t, _ in (work.products[0], work.products[-1]))
    text = reasoning_solution("hedging", work, rng)
    assert text.index(last) < text.index(first)
