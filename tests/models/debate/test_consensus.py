"""The consensus reading: a copy of the last agent's box and a vote over the agents part where agents disagree."""

from __future__ import annotations

from models.debate.consensus import agents_final_answers, agents_vote, read_consensus


def _transcript(*turns: tuple[str, str], consensus: str | None) -> str:
    text = "<|Round 1 - Initial Solutions|>\n\n" + "".join(f"{tag}: {body}\n\n" for tag, body in turns)
    return text + (f"<|Consensus|>\n{consensus}\n\n<|endofdebate|>" if consensus is not None else "")


A1, A2, A3 = "<|Agent 1 Solution|>", "<|Agent 2 Solution|>", "<|Agent 3 Solution|>"


def test_a_consensus_that_copies_the_last_agent_is_told_apart_from_a_vote():
    copy = _transcript((A1, r"12 \boxed{12}"), (A2, r"\boxed{12}"), (A3, r"\boxed{9}"),
                       consensus=r"All agents reached a consensus of \boxed{9}")
    r = read_consensus(copy)
    assert r.answers == {1: "12", 2: "12", 3: "9"} and r.vote == "12" and r.last == "9" and r.consensus == "9"
    assert r.agents_disagree and r.copies_last and not r.follows_vote
    vote = copy.replace(r"consensus of \boxed{9}", r"consensus of \boxed{12}")
    assert read_consensus(vote).follows_vote and not read_consensus(vote).copies_last


def test_the_last_turn_of_each_agent_counts_and_revisions_replace_solutions():
    text = _transcript((A1, r"\boxed{5}"), (A2, r"\boxed{6}"), (A3, r"\boxed{7}"),
                       ("<|Round 2 - Revisions|>\n\n<|Agent 3 Revision|>", r"now \boxed{6}"),
                       ("<|Agent 1 Revision|>", r"\boxed{6}"), consensus=r"\boxed{6}")
    answers = agents_final_answers(text)
    assert answers == {2: "6", 3: "6", 1: "6"} and list(answers)[-1] == 1  # Agent 1 spoke last
    assert not read_consensus(text).agents_disagree and agents_vote(text) == "6"


def test_model_written_oddities_are_read_as_written():
    # a repeated agent tag (the later turn counts), a turn without a box, and no consensus at all
    text = _transcript((A1, r"\boxed{3}"), (A2, r"\boxed{4}"), (A2, "no box"), consensus=None)
    r = read_consensus(text)
    assert r.answers == {1: "3", 2: None} and r.last is None and r.consensus is None
    assert not r.copies_last and not r.follows_vote and not r.agents_disagree
    # the explicit debate's rule: a three-way tie goes to the agent who answered first; boxes after the
    # consensus tag are not agents' answers
    tie = _transcript((A1, r"\boxed{1}"), (A2, r"\boxed{2}"), (A3, r"\boxed{3}"), consensus=r"\boxed{3}")
    assert agents_vote(tie) == "1" and agents_final_answers(tie)[3] == "3"
    assert agents_vote("an untagged answer \\boxed{8}") is None
