"""steering.capability: boxed-answer accuracy per alpha, scored with the trainer's normalised match."""

import pytest

from steering import arithmetic_accuracy, arithmetic_problems


def test_capability_counts_boxed_answers(tiny_hf, direction):
    problems = arithmetic_problems(4, tier="easy")
    rows = arithmetic_accuracy(tiny_hf, problems, direction=direction, alphas=[0.0, 2.0], max_new_tokens=4)
    assert [r.alpha for r in rows] == [0.0, 2.0] and all(r.total == 4 and 0 <= r.correct <= 4 for r in rows)


class _ScriptedModel:
    """Answers every prompt with the next scripted text, so capability scoring can be checked exactly."""

    supports_prompt_cache = False
    backend = "scripted"

    def __init__(self, texts):
        self.texts = list(texts)
        self.tokenizer = type("T", (), {"eos_token_id": 0, "unk_token_id": 1,
                                        "convert_tokens_to_ids": staticmethod(lambda tok: 1)})()

    def generate(self, batch, max_new_tokens, stop_token_ids=None):
        out, self.texts = self.texts[:len(batch)], self.texts[len(batch):]
        return type("G", (), {"texts": out, "n_new_tokens": [1] * len(out)})()


def test_capability_scores_with_the_shared_normalised_match():
    """Behaviour change: capability used plain string equality; it now uses `is_correct`, like the trainer."""
    from models.debate.arithmetic import is_correct
    from models.debate.format import final_answer

    problems = arithmetic_problems(4, tier="easy")
    golds = [str(p.answer) for p in problems]
    texts = [f"\\boxed{{{golds[0]}}}", f"\\boxed{{${golds[1]}.}}", f"\\boxed{{ {golds[2]} }}", "\\boxed{nope}"]
    with pytest.warns(UserWarning, match="scripted backend has no prompt cache"):
        (row,) = arithmetic_accuracy(_ScriptedModel(texts), problems, alphas=[0.0])
    assert (row.correct, row.total) == (3, 4)
    # The case that differs: "$N." is N to the trainer's scorer but was wrong under string equality (2/4 before).
    assert final_answer(texts[1]) != golds[1] and is_correct(final_answer(texts[1]), golds[1])
