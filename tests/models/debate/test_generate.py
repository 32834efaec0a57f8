"""Synthetic debates: determinism, faithful arithmetic, persona styles, malicious labels, splits, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from models.debate import (
    TIERS,
    GenerateConfig,
    Tier,
    generate_debates,
    persona_chats,
    persona_samples,
    persona_system_prompts,
    read_debate_file,
    render,
    split_by_question,
    write_dataset,
)
from models.debate.generate import main

REPO = Path(__file__).resolve().parents[3]


def _eval(question: str) -> int:
    if not re.fullmatch(r"[\d+\-*]+", question):
        raise ValueError(question)
    return eval(question)  # digits and + - * only, checked above


@pytest.fixture(scope="module")
def arithmetic():
    debates, stats = generate_debates(GenerateConfig(kind="arithmetic", n=150, seed=1))
    return debates, stats


def test_same_seed_same_debates_other_seed_other_debates():
    cfg = GenerateConfig(kind="arithmetic", n=20, seed=5)
    a, _ = generate_debates(cfg)
    b, _ = generate_debates(cfg)
    c, _ = generate_debates(GenerateConfig(kind="arithmetic", n=20, seed=6))
    assert [render(t) for t in a] == [render(t) for t in b]
    assert [t.labels for t in a] == [t.labels for t in b]
    assert [render(t) for t in a] != [render(t) for t in c]
    e1, _ = generate_debates(GenerateConfig(kind="evil", n=10, seed=5))
    e2, _ = generate_debates(GenerateConfig(kind="evil", n=10, seed=5))
    assert [render(t) for t in e1] == [render(t) for t in e2]


def test_arithmetic_debates_follow_the_protocol(arithmetic):
    debates, stats = arithmetic
    assert len(debates) == 150 and len({t.question for t in debates}) == 150
    for t in debates:
        assert re.fullmatch(r"\d\d\+\d\d\*\d\d\+\d\d-\d\d\*\d\d", t.question)  # the paper's template
        assert t.gold_answer == str(_eval(t.question))
        r1 = [x.answer for x in t.rounds[0]]
        assert (t.n_rounds == 1) == (len(set(r1)) == 1)  # early stop exactly when round 1 is unanimous
        for x in t.rounds[0]:  # a labelled slip is exactly a wrong round-1 answer
            assert (x.label.error is not None) == (x.answer != t.gold_answer)
        last = Counter(x.answer for x in t.rounds[-1])
        answer, votes = last.most_common(1)[0]
        assert votes >= 2 and t.final_answer == answer  # majority consensus; no-majority debates are dropped
        assert t.consensus.startswith("All agents reached a consensus of" if votes == 3
                                      else "A majority of agents converged on the solution of")
    kinds = Counter(x.label.error for t in debates for x in t.turns)
    assert kinds["wrong_product"] > 0 and kinds["wrong_sum"] > 0
    assert sum(t.n_rounds == 1 for t in debates) > 10 and sum(t.n_rounds == 2 for t in debates) > 10
    fixed = [t for t in debates if t.n_rounds == 2 and any(
        a.label.error and not b.label.error for a, b in zip(t.rounds[0], t.rounds[1]))]
    assert fixed, "some round-2 revisions should fix a round-1 slip"


def test_personas_have_distinct_styles_and_many_phrasings(arithmetic):
    debates, _ = arithmetic
    a1 = [t.turn(1, 1).text for t in debates]
    a2 = [t.turn(2, 1).text for t in debates]
    a3 = [t.turn(3, 1).text for t in debates]
    assert all(re.match(r"(1\. |Step 1: |\(1\) )", x) and "order of operations" in x.lower() for x in a1)
    assert all("SELF-CRITIQUE:" in x for x in a2) and not any("SELF-CRITIQUE:" in x for x in a1 + a3)
    assert all(x.startswith("//") and re.search(r"^\w+ = ", x, re.M) for x in a3)
    assert not any("//" in x for x in a1 + a2)
    for texts in (a1, a2, a3):
        assert len({x.splitlines()[0] for x in texts}) >= 4  # not one template per persona
    assert {x.label.persona for t in debates for x in t.turns} == {
        "chain_of_thought", "self_critique", "program_of_thought"}


@pytest.mark.parametrize("kind, bad, good", [("evil", "evil", "ethical"),
                                              ("hallucination", "hallucinating", "honest")])
def test_malicious_debates_label_agent_2(kind, bad, good):
    debates, _ = generate_debates(GenerateConfig(kind=kind, n=40, seed=0))
    assert len({t.question for t in debates}) == 40
    for t in debates:
        assert t.n_rounds == 2 and t.metadata["consensus_type"] == "majority"
        assert t.consensus.startswith("A majority of agents agreed: ")
        assert [x.label.trait for x in t.turns] == [good, bad, good] * 2
    if kind == "hallucination":
        assert all("know" in t.turn(a, 1).text for t in debates for a in (1, 3))  # they say they don't know
        assert not any("know" in t.turn(2, 1).text for t in debates)  # Agent 2 never admits it


def test_tiers_and_custom_ranges():
    easy, _ = generate_debates(GenerateConfig(kind="arithmetic", n=30, seed=0, tier="easy"))
    assert all(re.fullmatch(r"\d\+\d\*\d-\d", t.question) for t in easy)
    custom, _ = generate_debates(GenerateConfig(kind="arithmetic", n=10, tier="easy", template="a*b+c", low=2, high=5))
    assert all(re.fullmatch(r"[2-5]\*[2-5]\+[2-5]", t.question) for t in custom)
    with pytest.raises(ValueError, match="template"):
        Tier("bad", "a + b", 1, 9)
    with pytest.raises(ValueError, match="tier must be one of"):
        GenerateConfig(tier="impossible")
    with pytest.raises(ValueError, match="distinct"):
        generate_debates(GenerateConfig(kind="arithmetic", n=50, template="a+b", low=1, high=3))
    assert TIERS["paper"].template == "a+b*c+d-e*f" and (TIERS["paper"].low, TIERS["paper"].high) == (10, 99)


def test_split_by_question_has_no_overlap(arithmetic):
    debates, _ = arithmetic
    doubled = debates + debates[:20]  # the same question twice must land on one side only
    train, test = split_by_question(doubled, 0.2, seed=0)
    assert not {t.question for t in train} & {t.question for t in test}
    assert len(train) + len(test) == len(doubled) and len({t.question for t in test}) == 30


def test_write_dataset_is_deterministic_and_readable(tmp_path):
    cfg = GenerateConfig(kind="arithmetic", n=30, seed=2, tier="easy", test_fraction=0.2)
    card_a = json.loads(write_dataset(cfg, tmp_path / "a").read_text())
    write_dataset(cfg, tmp_path / "b")
    files_a = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files_a == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert not [n for n in files_a if n.endswith(".tmp")]
    for name in files_a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert card_a["generator_version"] and card_a["seed"] == 2 and card_a["counts"]["train"] == 24
    assert card_a["counts"]["test"] == 6
    train = read_debate_file(tmp_path / "a" / "arithmetic_debates_train.json")
    test = read_debate_file(tmp_path / "a" / "arithmetic_debates_test.json")
    assert train.schema == "arithmetic" and all(t.labels[0] is not None for t in train.transcripts)
    assert not {t.question for t in train.transcripts} & {t.question for t in test.transcripts}
    pairs = read_debate_file(tmp_path / "a" / "arithmetic_pairs_test.json")
    assert {p.question for p in pairs.pairs} == {t.question for t in test.transcripts}
    questions = read_debate_file(tmp_path / "a" / "arithmetic_questions_train.json")
    assert questions.schema == "questions" and len(questions.questions) == 24


def test_cli_writes_all_kinds(tmp_path, capsys):
    cards = main(["arithmetic", "evil", "hallucination", "--n", "20", "--seed", "3", "--out", str(tmp_path)])
    assert [c.name for c in cards] == ["arithmetic_card.json", "evil_card.json", "hallucination_card.json"]
    out = capsys.readouterr().out
    assert "evil: 16 train / 4 test debates" in out
    evil = read_debate_file(tmp_path / "evil_debates_train.json")
    assert evil.schema == "malicious" and len(evil.transcripts) == 16


def test_cli_help_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "models.debate.generate", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--test-fraction" in result.stdout and "hallucination" in result.stdout


def test_cli_rejects_bad_config(tmp_path):
    with pytest.raises(SystemExit, match="error_rate"):
        main(["arithmetic", "--error-rate", "0.1", "0.2", "--out", str(tmp_path)])


def test_persona_prompts_and_samples():
    bad, good = persona_system_prompts("evil")
    assert "evil" in bad.lower() and "ethical" in good.lower()
    bad, good = persona_system_prompts("hallucination")
    assert "elaborate explanations" in bad and "do not know" in good
    chats = persona_chats("hallucination", ["Who founded the Veldor Institute?"])
    assert [c.malicious for c in chats] == [True, False]
    assert chats[0].messages[0]["role"] == "system" and "Veldor" in chats[0].messages[1]["content"]
    samples = persona_samples("evil", 5, seed=1)
    assert len(samples) == 10 and samples == persona_samples("evil", 5, seed=1)
    assert [s.label.malicious for s in samples[:2]] == [True, False]


def test_brief_turns_keep_the_persona_answer_and_are_shorter():
    from models.debate import parse
    from models.debate.format import final_answer

    full, _ = generate_debates(GenerateConfig(kind="arithmetic", n=40, seed=2, tier="easy"))
    brief, _ = generate_debates(GenerateConfig(kind="arithmetic", n=40, seed=2, tier="easy", brief_rate=1.0))
    for t in brief:
        r1 = [turn for turn in t.turns if turn.round == 1]
        assert all(len(turn.text) < 90 and turn.text.count("\n") <= 1 for turn in r1)
        assert all(final_answer(turn.text) is not None for turn in r1)
        if len({final_answer(turn.text) for turn in r1}) == 1:  # a unanimous brief round 1 ends the debate
            assert t.n_rounds == 1 and final_answer(t.consensus) == final_answer(r1[0].text)
        assert [x.text for x in parse(render(t)).transcript.turns] == [x.text for x in t.turns]
        assert r1[0].text.startswith(("Products first:", "Then ")) and "checked." in r1[1].text
        assert r1[2].text.startswith("r = ")
    mean = lambda ds: sum(len(x.text) for t in ds for x in t.turns if x.round == 1) / len(ds)  # noqa: E731
    assert mean(brief) < mean(full) / 3


def test_brief_rate_zero_draws_nothing():
    """The default leaves every seed's debates as they were (the pretraining and malicious data depend on it)."""
    plain, _ = generate_debates(GenerateConfig(kind="arithmetic", n=30, seed=4))
    zero, _ = generate_debates(GenerateConfig(kind="arithmetic", n=30, seed=4, brief_rate=0.0))
    mixed, _ = generate_debates(GenerateConfig(kind="arithmetic", n=30, seed=4, brief_rate=0.3))
    assert [render(t) for t in plain] == [render(t) for t in zero] != [render(t) for t in mixed]
    with pytest.raises(ValueError, match="brief_rate must be in"):
        GenerateConfig(brief_rate=1.5)


def test_persona_set_is_validated_and_defaults_to_the_papers():
    assert GenerateConfig().personas == "paper"
    with pytest.raises(ValueError, match="personas must be one of"):
        GenerateConfig(personas="other")
    with pytest.raises(ValueError, match="brief_rate applies to the paper personas only"):
        GenerateConfig(personas="reasoning", brief_rate=0.3)


def test_majority_stop_rule_ends_round_one_at_two_agreeing_agents_and_tally_lists_the_votes():
    from models.debate import parse
    from models.debate.format import final_answer

    def boxes(t, rnd):
        return [final_answer(x.text) for x in t.turns if x.round == rnd]

    paper, _ = generate_debates(GenerateConfig(kind="arithmetic", n=60, seed=5, tier="easy"))
    vote, _ = generate_debates(GenerateConfig(kind="arithmetic", n=60, seed=5, tier="easy",
                                              stop_rule="majority", tally=True))
    assert sum(t.n_rounds == 1 for t in vote) > sum(t.n_rounds == 1 for t in paper)
    outvoted = 0
    for t in vote:
        r1 = boxes(t, 1)
        assert (t.n_rounds == 1) == (Counter(r1).most_common(1)[0][1] >= 2)
        last = boxes(t, t.n_rounds)
        tally = " ".join(f"Agent {a}: {b}." for a, b in enumerate(last, 1))
        assert t.consensus.startswith(tally + " ")
        assert final_answer(t.consensus) == Counter(last).most_common(1)[0][0]
        outvoted += final_answer(t.consensus) != last[-1]  # the consensus is not the last agent's answer
        assert parse(render(t)).transcript.consensus == t.consensus
    assert outvoted >= 5
    for t in paper:  # the paper's rule: only a unanimous round 1 ends the debate, no tally
        assert (t.n_rounds == 1) == (len(set(boxes(t, 1))) == 1) and not t.consensus.startswith("Agent")
    with pytest.raises(ValueError, match="stop_rule must be unanimous or majority"):
        GenerateConfig(stop_rule="first")
