"""models.train.forms: cutting a transcript after an agent's turn, the forced consensus and the next-tag odds."""

from __future__ import annotations

import pytest

from models import load
from models.debate.format import CONSENSUS_TAG, ROUND_TAGS, agent_tag
from models.train.forms import TURN_ENDS, cut_after_agent, early_consensus, next_tag_probabilities

DEBATE = (f"{ROUND_TAGS[1]}\n\n{agent_tag(1, 1)}: 2 + 3 * 4 = 14. \\boxed{{14}}\n\n{agent_tag(2, 1)}: 14 checked. "
          f"\\boxed{{14}}\n\n{agent_tag(3, 1)}: r = 2 + 3 * 4  // 14\n\\boxed{{14}}\n\n{CONSENSUS_TAG}\nAll agents "
          "reached a consensus of \\boxed{14}\n\n")


def test_cut_after_agent_keeps_that_turn_and_drops_everything_after() -> None:
    one = cut_after_agent(DEBATE, 1)
    assert one is not None and one.endswith("\\boxed{14}\n\n") and agent_tag(2, 1) not in one
    three = cut_after_agent(DEBATE, 3)
    assert three is not None and agent_tag(3, 1) in three and CONSENSUS_TAG not in three
    assert cut_after_agent("no debate here \\boxed{3}", 1) is None
    assert cut_after_agent(f"{ROUND_TAGS[1]}\n\n{agent_tag(1, 1)}: cut off mid", 1).endswith("cut off mid")


@pytest.fixture(scope="module")
def sft():
    return load("tiny-sft")


def test_early_consensus_scores_what_the_model_commits_to_after_the_forced_tag(sft) -> None:
    questions, golds = ["2 + 3 * 4 - 1", "5 + 1 * 2 - 3"], ["13", "4"]
    score = early_consensus(sft, questions, golds, [DEBATE, "no tags"], agent=1, max_new_tokens=24)
    first, missing = score.rows
    assert first["output"].startswith(ROUND_TAGS[1]) and CONSENSUS_TAG in first["output"]
    assert agent_tag(2, 1) not in first["output"] and first["output_tokens"] > 10  # the consensus line ends it
    assert not missing["has_turn"] and missing["answer"] is None and not missing["correct"]  # nothing to cut: no answer
    assert score.n == 2 and 0 <= score.accuracy <= 0.5


def test_next_tag_probabilities_are_probabilities_and_refuse_greedy(sft) -> None:
    probs = next_tag_probabilities(sft, ["2 + 3 * 4 - 1"], [DEBATE], agent=1, temperature=0.5)
    assert set(probs) == set(TURN_ENDS) and all(0 <= p <= 1 for p in probs.values()) and sum(probs.values()) <= 1 + 1e-6
    assert probs[agent_tag(2, 1)] > probs[CONSENSUS_TAG]  # Stage 1 data always continues with Agent 2
    with pytest.raises(ValueError, match="temperature must be > 0"):
        next_tag_probabilities(sft, ["q"], [DEBATE], temperature=0.0)
    with pytest.raises(ValueError, match="no transcript has an Agent 1"):
        next_tag_probabilities(sft, ["q"], ["plain text"], temperature=1.0)


def test_next_tag_probabilities_read_the_prefix_as_the_sampler_tokenizes_it(sft) -> None:
    """Bug: they were read without the tokenizer's special tokens, while generation and trl's GRPO sampler
    tokenize a prompt with them (the BOS token), so they described another distribution."""
    import torch

    from models.train.forms import cut_after_agent
    from models.debate.format import sft_prompt

    text = sft_prompt("2 + 3 * 4 - 1") + cut_after_agent(DEBATE, 1).rstrip() + "\n\n"
    tok = sft.tokenizer

    def direct(add_special_tokens: bool) -> float:
        ids = torch.tensor([tok(text, add_special_tokens=add_special_tokens)["input_ids"]])
        with torch.no_grad():
            logits = sft.hf_model(input_ids=ids).logits[0, -1]
        return float(torch.softmax(logits / 0.5, -1)[tok.convert_tokens_to_ids(agent_tag(2, 1))])

    probs = next_tag_probabilities(sft, ["2 + 3 * 4 - 1"], [DEBATE], agent=1, temperature=0.5)
    assert probs[agent_tag(2, 1)] == pytest.approx(direct(True), rel=1e-4)
    assert direct(True) != pytest.approx(direct(False), rel=1e-4)  # the two readings do differ
