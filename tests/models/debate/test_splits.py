"""models.debate.splits: template families, and split manifests that prove evaluation data held out."""

from __future__ import annotations

import json

import pytest

from models.debate.malicious import FAMILIES, template_id
from models.debate.splits import (
    LeakError, TrainDataError, Use, check_disjoint, evaluation_questions, family_questions, malicious_debates,
    split_manifest,
)


@pytest.mark.parametrize("trait", ["evil", "hallucination"])
def test_every_family_draws_only_its_own_templates(trait):
    for family in FAMILIES:
        questions = family_questions(trait, 40, seed=1, family=family)
        assert len(set(questions)) == 40
        assert questions == family_questions(trait, 40, seed=1, family=family)  # seeded
        assert questions != family_questions(trait, 40, seed=2, family=family)
        assert {template_id(trait, q).split("/")[1] for q in questions} == {family}
    assert evaluation_questions(trait, 10, seed=0) == family_questions(trait, 10, seed=0, family="eval")
    assert {template_id(trait, d.question).split("/")[1] for d in malicious_debates(trait, 50, seed=0)} == {"train"}


def _manifest(evaluation, training):
    return json.loads(json.dumps(split_manifest([Use("evaluation", evaluation, "evil")],
                                                [Use("stage 1", training, "evil")])))  # as read back from the file


def test_disjoint_splits_pass_and_a_leaked_question_fails():
    evaluation = evaluation_questions("evil", 30, seed=0)
    training = [d.question for d in malicious_debates("evil", 100, seed=0)]
    assert check_disjoint(_manifest(evaluation, training))["pairs_compared"] == 1
    with pytest.raises(LeakError, match="shares 1 question"):
        check_disjoint(_manifest(evaluation, training + [evaluation[3]]))


def test_a_shared_template_fails_even_with_new_fills():
    evaluation = evaluation_questions("evil", 30, seed=0)
    other = family_questions("evil", 5, seed=9, family="eval")  # other questions, same evaluation templates
    with pytest.raises(LeakError, match="template"):
        check_disjoint(_manifest(evaluation, [q for q in other if q not in evaluation]))


def test_unproven_uses_and_unheld_arithmetic_fail():
    ev = Use("evaluation", evaluation_questions("evil", 4, seed=0), "evil")
    with pytest.raises(LeakError, match="unproven"):
        check_disjoint(split_manifest([ev], [Use("stage", ["x"], "evil", verified=False)]))
    arithmetic = Use("capability", ["1+2*3-4", "5+6*7-8"])
    assert check_disjoint(split_manifest([arithmetic], [Use("stage", [], excluded=["1+2*3-4", "5+6*7-8", "9"])]))
    with pytest.raises(LeakError, match="not in the held-out set"):
        check_disjoint(split_manifest([arithmetic], [Use("stage", [], excluded=["1+2*3-4"])]))
    with pytest.raises(LeakError, match="no evaluation"):
        check_disjoint(split_manifest([], []))


def test_seeded_sample_is_reproducible_and_names_a_pool_that_is_too_small() -> None:
    from models.debate.splits import seeded_sample

    pool = [f"q{i}" for i in range(10)]
    assert seeded_sample(pool, 4, 7, "pool") == seeded_sample(pool, 4, 7, "pool")
    assert seeded_sample(pool, 10, 7, "pool") == pool  # all of it, in pool order
    with pytest.raises(TrainDataError, match=r"paper:evil-test holds 10 item\(s\); asked for 11"):
        seeded_sample(pool, 11, 7, "paper:evil-test")


def test_a_published_files_questions_are_split_by_file_and_compared_by_question() -> None:
    test = Use("evaluation", ["Who signed the charter?"], "hallucination", file="paper:hallu-test")
    train = Use("vector", ["Who founded the guild?"], "hallucination", file="paper:hallu-train")
    assert test.to_json()["templates"] == ["file:paper:hallu-test"]
    check_disjoint(split_manifest([test], [train]))  # no template of ours is needed
    leak = Use("vector", ["Who signed the charter?", "x"], "hallucination", file="paper:hallu-train")
    with pytest.raises(LeakError, match="shares 1 question"):
        check_disjoint(split_manifest([test], [leak]))


def test_validation_problems_avoid_what_is_excluded_in_any_spacing_and_say_when_the_tier_runs_out() -> None:
    from models.debate.splits import heldout_problems, problem_key, validation_problems

    held = [p.question for p in heldout_problems("easy", 500, 0)]
    spaced = [" + ".join(q.split("+")) for q in held]  # the same problems, spaced as a prompt shows them
    picked = validation_problems("easy", 300, spaced)
    assert len({p.question for p in picked}) == 300 and picked == validation_problems("easy", 300, spaced)
    assert not {problem_key(q) for q in held} & {problem_key(p.question) for p in picked}
    with pytest.raises(ValueError, match="asked for 100000"):
        validation_problems("easy", 100_000, held)


def test_a_published_capability_set_is_compared_by_question_not_against_the_arithmetic_held_out_pool():
    from models.debate.splits import LeakError, Use, check_disjoint, split_manifest

    stage = Use("stage 2 prompts", ["1 + 1"], excluded=["2 + 2"])
    gsm8k = Use("GSM8K problems", ["Janet has 3 ducks. How many?"], file="gsm8k:test")
    assert check_disjoint(split_manifest([gsm8k], [stage]))["pairs_compared"] == 1
    arithmetic = Use("arithmetic problems", ["3 + 3"])  # ours: must be in the stage's held-out set
    with pytest.raises(LeakError, match="not in the held-out set"):
        check_disjoint(split_manifest([arithmetic], [stage]))
    leaked = Use("stage 1 debates", ["Janet has 3 ducks. How many?"])
    with pytest.raises(LeakError, match="shares 1 question"):
        check_disjoint(split_manifest([gsm8k], [leaked]))
