"""Whether a written debate's consensus line is a vote over its agents or a copy of the last turn.

A debate's answer is the majority of its agents' final answers. A small model can learn something cheaper
that fits its training transcripts almost as well: copy the box just above the consensus tag (in
synthetic debates the last turn disagrees with the majority in a few percent of rows). The two readings
part only where the agents disagree, so `read_consensus` returns both, and `agents_vote` is the answer
code would take from the same agents. Model-written text is read leniently: a repeated or missing turn is
read as written, never raised on.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.debate.format import CONSENSUS_TAG, committed_answer, final_answer
from models.debate.runner import majority_vote
from models.vocab import AGENT_TAG


def agents_final_answers(text: str) -> dict[int, str | None]:
    """Each agent's answer in its last turn before the consensus tag (that turn's last ``\\boxed{}``; None when
    the turn has none), by agent number, in the order the agents last spoke."""
    debate = text.partition(CONSENSUS_TAG)[0]
    turns = list(AGENT_TAG.finditer(debate))
    answers: dict[int, str | None] = {}
    for tag, after in zip(turns, [*turns[1:], None]):
        agent = int(tag.group(1))
        answers.pop(agent, None)  # re-inserted last: the dict ends with the agent that spoke last
        answers[agent] = final_answer(debate[tag.end():after.start() if after else len(debate)])
    return answers


@dataclass(frozen=True)
class ConsensusReading:
    """A transcript's agents' final answers, their vote, the last turn's answer and what the consensus says."""

    answers: dict[int, str | None]
    vote: str | None
    last: str | None
    consensus: str | None

    @property
    def agents_disagree(self) -> bool:
        """At least two agents boxed different answers (the only case where a vote and a copy can differ)."""
        return len({a for a in self.answers.values() if a is not None}) > 1

    @property
    def copies_last(self) -> bool:
        return self.consensus is not None and self.consensus == self.last

    @property
    def follows_vote(self) -> bool:
        return self.consensus is not None and self.consensus == self.vote


def read_consensus(text: str) -> ConsensusReading:
    """Read a written transcript: its agents' final answers, their majority, the last turn's answer and the
    answer the transcript commits to (`committed_answer`: the consensus box, None without a consensus)."""
    answers = agents_final_answers(text)
    return ConsensusReading(answers, majority_vote(list(answers.values()))[0],
                            list(answers.values())[-1] if answers else None, committed_answer(text))


def agents_vote(text: str) -> str | None:
    """The vote over a transcript's agents' final answers, by the explicit debate's rule (`majority_vote`: the most
    common answer, a tie going to the agent who answered first): the answer code would take from the same agents."""
    return majority_vote(list(agents_final_answers(text).values()))[0]
