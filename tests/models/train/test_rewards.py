"""Rewards see the tags, clip by tokens per row, and the schedule reaches its end values."""

from __future__ import annotations

import pytest

from models.debate import DEBATE_TAGS
from models.debate.generate import GenerateConfig, generate_debates
from models.debate.format import render
from models.tiny import build_tokenizer
from models.train.rewards import (
    CompletionLog,
    adaptive_clip,
    brevity_reward,
    correctness_reward,
    format_reward,
    judge_reward,
    schedule,
    tag_share,
)


@pytest.fixture(scope="module")
def tok():
    t = build_tokenizer()
    t.add_special_tokens({"additional_special_tokens": list(DEBATE_TAGS)})
    return t


def _ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def test_format_reward_sees_tags_that_trl_text_loses(tok) -> None:
    debate, _ = generate_debates(GenerateConfig(n=1, tier="easy"))
    ids = _ids(tok, render(debate[0]))
    trl_text = tok.decode(ids, skip_special_tokens=True)  # what trl passes as `completions`
    assert tag_share(trl_text) == 0.0, "trl's text has no tags: a text-matching format reward would always be 0"
    reward = format_reward(tok)(prompts=["p"], completions=[trl_text], completion_ids=[ids])
    assert reward[0] == pytest.approx(tag_share(render(debate[0]))) and reward[0] > 0
    partial = _ids(tok, f"{DEBATE_TAGS[0]}\n\n{DEBATE_TAGS[2]}: 1+1 = \\boxed{{2}}")
    assert format_reward(tok)(prompts=["p"], completions=[""], completion_ids=[partial]) == [pytest.approx(2 / 6)]
    assert format_reward(tok)(prompts=["p"], completions=[""], completion_ids=[_ids(tok, "\\boxed{2}")]) == [0.0]


def test_length_clipping_truncates_in_tokens_per_row(tok) -> None:
    early = _ids(tok, "so \\boxed{7}")
    late = _ids(tok, "word " * 40 + "\\boxed{7}")
    changed = _ids(tok, "\\boxed{7} then " + "word " * 40 + "\\boxed{8}")
    fn = correctness_reward(tok, clip_tokens=len(early))
    assert fn(prompts=[""] * 3, completions=[""] * 3, completion_ids=[early, late, changed],
              answer=["7", "7", "7"]) == [1.0, 0.0, 1.0]
    # with a long clip the last boxed answer counts, and a wrong last answer earns nothing
    long = correctness_reward(tok, clip_tokens=10_000)
    assert long(prompts=[""] * 3, completions=[""] * 3, completion_ids=[early, late, changed],
                answer=["7", "7", "7"]) == [1.0, 1.0, 0.0]
    # a boxed answer cut in half by the clip is no answer
    cut = correctness_reward(tok, clip_tokens=len(_ids(tok, "so \\boxed{")) + 1)
    assert cut(prompts=[""], completions=[""], completion_ids=[_ids(tok, "so \\boxed{77}")], answer=["7"]) == [0.0]


def test_judge_reward_reads_the_clipped_text_without_tags(tok) -> None:
    class Judge:
        seen: list[str] = []

        def score(self, questions, responses):
            from models.judges import JudgeScore

            self.seen.extend(responses)
            return [JudgeScore(100.0 if "evil" in r else 0.0) for r in responses]

    judge = Judge()
    ids = [_ids(tok, DEBATE_TAGS[2] + ": be kind. " + "x " * 30 + "evil"), _ids(tok, "evil plan")]
    out = judge_reward(tok, judge, clip_tokens=8)(prompts=["", ""], completions=["", ""], completion_ids=ids,
                                                  question=["q", "q"])
    assert out == [1.0, 0.0]
    assert not any(t in s for s in judge.seen for t in DEBATE_TAGS)


def test_schedule_reaches_its_end_values() -> None:
    plans = schedule(3, 600, 150, 1.0, 0.05)
    assert [(p.index, p.clip_tokens, p.fmt_weight) for p in plans] == [(1, 600, 1.0), (2, 375, 0.525), (3, 150, 0.05)]
    four = schedule(4, 800, 200, 1.0, 0.05)
    assert four[0].clip_tokens == 800 and four[-1].clip_tokens == 200 and four[-1].fmt_weight == 0.05
    assert [p.clip_tokens for p in four] == sorted((p.clip_tokens for p in four), reverse=True)
    assert [(p.clip_tokens, p.fmt_weight) for p in schedule(1, 600, 150, 1.0, 0.05)] == [(150, 0.05)]


def test_correctness_reads_the_consensus_of_a_debate_not_an_agents_box(tok) -> None:
    from models.debate.format import CONSENSUS_TAG, END_TAG, ROUND_TAGS, agent_tag

    head = f"{ROUND_TAGS[1]}\n\n{agent_tag(1, 1)}: so \\boxed{{7}}\n\n{agent_tag(2, 1)}: I get \\boxed{{7}}"
    cut = _ids(tok, head)  # a debate cut off before its consensus has not answered
    whole = _ids(tok, f"{head}\n\n{CONSENSUS_TAG}\nAll agents reached a consensus of \\boxed{{7}}\n\n{END_TAG}")
    overruled = _ids(tok, f"{head}\n\n{CONSENSUS_TAG}\nA majority converged on \\boxed{{8}}")
    direct = _ids(tok, "9 + 1 - 3 = \\boxed{7}")  # no tags: a direct answer, scored by its box
    log = CompletionLog()
    fn = correctness_reward(tok, clip_tokens=10_000, log=log)
    rows = [cut, whole, overruled, direct]
    assert fn(prompts=[""] * 4, completions=[""] * 4, completion_ids=rows, answer=["7"] * 4) == [0.0, 1.0, 0.0, 1.0]
    assert log.lengths == [len(r) for r in rows] and log.correct == [False, True, False, True]


def test_adaptive_clip_follows_the_correct_lengths_down_to_the_floor() -> None:
    log = CompletionLog(lengths=[900] * 8 + [100, 120, 140, 160, 300, 300, 300, 300],
                        correct=[True] * 8 + [True, True, True, True, False, False, False, False])
    assert log.correct_lengths() == [100, 120, 140, 160]  # the last half only: the policy as the iteration ends
    assert adaptive_clip(log, current=400, floor=10, quantile=0.5, min_correct=4) == 130
    assert adaptive_clip(log, current=400, floor=135, quantile=0.5, min_correct=4) == 135  # never below the floor
    assert adaptive_clip(log, current=110, floor=10, quantile=0.5, min_correct=4) == 110  # never above the current l
    assert adaptive_clip(log, current=400, floor=10, quantile=0.5, min_correct=5) == 400  # too few correct: l stays


def test_brevity_pays_the_shorter_of_two_correct_answers_and_nothing_for_a_wrong_one(tok) -> None:
    short = _ids(tok, "so \\boxed{7}")
    long = _ids(tok, "word " * 20 + "so \\boxed{7}")
    wrong = _ids(tok, "\\boxed{8}")
    clip = len(long) + 5
    cut = _ids(tok, "word " * 60 + "\\boxed{7}")  # correct, but past l: no answer within the clip
    assert len(cut) > clip
    out = brevity_reward(tok, clip_tokens=clip)(prompts=[""] * 4, completions=[""] * 4,
                                                completion_ids=[short, long, wrong, cut], answer=["7"] * 4)
    assert out[0] == pytest.approx(1 - len(short) / clip) and out[1] == pytest.approx(1 - len(long) / clip)
    assert out[0] > out[1] > 0 and out[2] == 0.0 and out[3] == 0.0


def test_brevity_weight_is_refused_for_a_judge_task() -> None:
    from models.errors import ConfigError
    from models.train.config import GRPOStageConfig

    with pytest.raises(ConfigError, match="brevity_weight"):
        GRPOStageConfig(task="evil", brevity_weight=0.5)
