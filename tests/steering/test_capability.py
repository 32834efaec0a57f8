"""steering.capability: arithmetic and GSM8K accuracy per alpha, the gold solution's teacher-forced
log-likelihood under the generation's steering, and the floor precondition."""

import pytest
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from models.debate.gsm8k import gold_text, gsm8k_answer, gsm8k_problems
from steering import arithmetic_accuracy, arithmetic_problems, steer
from steering.capability import (
    GSM8KRow, capability_measurable, continuation_logprobs, gold_loglik, gsm8k_accuracy, teacher_forced_spans,
)
from steering.prepare import SteeringError


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


# --------------------------------------------------------------------------- GSM8K


def _render(question: str) -> str:
    """A short prompt (the question's first 60 characters), so the tiny model's forward passes stay cheap."""
    return f"Question: {question[:60]}\nAnswer:"


def test_gsm8k_accuracy_has_one_row_per_alpha_and_alpha_zero_is_the_unsteered_run(tiny_hf, direction):
    problems = gsm8k_problems(3, seed=0)
    rows = gsm8k_accuracy(tiny_hf, problems, direction, [0.0, 4.0], _render, max_new_tokens=4, batch_size=4)
    assert [r.alpha for r in rows] == [0.0, 4.0] and all(isinstance(r, GSM8KRow) for r in rows)
    assert all(r.total == 3 and len(r.items) == len(r.answers) == 3 and r.correct == sum(r.items) for r in rows)
    (plain,) = gsm8k_accuracy(tiny_hf, problems, None, [0.0], _render, max_new_tokens=4)
    assert (plain.items, plain.answers) == (rows[0].items, rows[0].answers)
    texts = tiny_hf.generate([_render(p.question) for p in problems], max_new_tokens=4).texts
    assert plain.answers == tuple(gsm8k_answer(t) for t in texts)
    with steer(tiny_hf, direction, alpha=4.0):
        steered = tiny_hf.generate([_render(p.question) for p in problems], max_new_tokens=4).texts
    assert rows[1].answers == tuple(gsm8k_answer(t) for t in steered)


def test_gsm8k_accuracy_scores_exact_matches_of_the_final_number():
    problems = gsm8k_problems(5, seed=0)
    golds = [p.answer for p in problems]
    texts = [f"so \\boxed{{{int(golds[0]):,}}}", f"steps\n#### {golds[1]}.0", f"it is {golds[2]}",
             f"\\boxed{{{golds[3]}}} and 1\nQuestion: 7", "\\boxed{nope}"]
    with pytest.warns(UserWarning, match="scripted backend has no prompt cache"):
        (row,) = gsm8k_accuracy(_ScriptedModel(texts), problems, None, [0.0], _render, until=["Question:"])
    assert row.items == (1, 1, 1, 1, 0) and row.answers[4] is None


class _Scores(LogitsProcessor):
    """Records the logits of every decode step: the log-probs the steered generation gave its own tokens."""

    def __init__(self):
        self.steps = []

    def __call__(self, input_ids, scores):
        self.steps.append(scores.detach().clone())
        return scores


def _generated_logprobs(model, prompt, direction, alpha, positions, monkeypatch):
    scores, generate = _Scores(), model.hf_model.generate
    monkeypatch.setattr(model.hf_model, "generate",
                        lambda *a, **k: generate(*a, logits_processor=LogitsProcessorList([scores]), **k))
    with steer(model, direction, alpha=alpha, positions=positions):
        ids = model.generate([prompt], max_new_tokens=10).new_token_ids[0]
    monkeypatch.undo()
    return ids, torch.stack([s[0].float().log_softmax(-1)[t] for s, t in zip(scores.steps, ids)])


@pytest.mark.parametrize("positions", ["generated", "response"])
def test_teacher_forcing_gives_a_greedy_continuation_the_log_probs_its_steered_generation_gave(
        tiny_hf, direction, positions, monkeypatch):
    prompts = [_render(p.question) for p in gsm8k_problems(2, seed=0)]
    for alpha in (4.0, -8.0):
        ids, expected = zip(*(_generated_logprobs(tiny_hf, p, direction, alpha, positions, monkeypatch) for p in prompts))
        got = continuation_logprobs(tiny_hf, prompts, ids, direction, alpha, positions=positions, batch_size=2)
        assert max(float((g - e).abs().max()) for g, e in zip(got, expected)) < 1e-4, alpha
    # The check has power: steering the prompt too (not what generation does) gives other log-probs.
    wrong = continuation_logprobs(tiny_hf, prompts, ids, direction, -8.0, positions="all", batch_size=2)
    assert max(float((w - e).abs().max()) for w, e in zip(wrong, expected)) > 1e-2


def test_gold_loglik_is_the_mean_log_prob_of_the_gold_tokens_batched_or_not(tiny_hf, direction):
    problems = gsm8k_problems(2, seed=0)
    rows = gold_loglik(tiny_hf, problems, direction, [0.0, 4.0], _render, batch_size=2)
    one = gold_loglik(tiny_hf, problems, direction, [0.0, 4.0], _render, batch_size=1)
    assert [r.alpha for r in rows] == [0.0, 4.0] and all(len(r.items) == 2 for r in rows)
    for batched, alone in zip(rows, one):
        assert max(abs(a - b) for a, b in zip(batched.items, alone.items)) < 1e-4 and batched.n_tokens == alone.n_tokens
    tails = [tiny_hf.tokenizer(gold_text(p), add_special_tokens=False)["input_ids"] for p in problems]
    assert rows[0].n_tokens == tuple(len(t) for t in tails)
    direct = continuation_logprobs(tiny_hf, [_render(p.question) for p in problems], tails, direction, 4.0)
    assert rows[1].items == pytest.approx([float(t.mean()) for t in direct], abs=1e-6)
    assert all(r < 0 for r in rows[0].items) and rows[0].items != pytest.approx(rows[1].items, abs=1e-4)
    (plain,) = gold_loglik(tiny_hf, problems, None, [0.0], _render, batch_size=2)
    assert plain.items == rows[0].items  # alpha 0 is the unsteered computation
    assert rows[0].mean == pytest.approx(sum(rows[0].items) / 2)


def test_teacher_forced_positions_carry_over_named_specs_and_refuse_the_rest():
    spans = teacher_forced_spans("generated", [5, 3], [2, 4]).rows
    assert spans == (((5, 7),), ((3, 7),))
    assert teacher_forced_spans("response", [5], [2]).rows == (((4, 7),),)
    assert teacher_forced_spans("all", [5], [2]).rows == (((0, 7),),)
    with pytest.raises(SteeringError, match="named positions"):
        teacher_forced_spans(3, [5], [2])
    with pytest.raises(SteeringError, match="has no tokens"):
        continuation_logprobs(None, ["p"], [[]])  # type: ignore[arg-type]
    with pytest.raises(SteeringError, match="alphas must be distinct"):
        gold_loglik(None, [], None, [1.0, 1.0], _render)  # type: ignore[arg-type]


def test_a_capability_at_its_floor_is_not_measurable():
    floor = capability_measurable([0] * 32)
    assert not floor and "cost not measurable" in floor.reason and (floor.accuracy.low, floor.accuracy.high) == (0, 0)
    above = capability_measurable([1] * 10 + [0] * 22)
    assert above and above.accuracy.low > 0 and above.accuracy.value == pytest.approx(10 / 32)
    assert not capability_measurable([1] * 10 + [0] * 22, floor=0.2)  # the interval reaches 0.2
    assert not capability_measurable([1] + [0] * 31)  # one lucky answer: the interval reaches 0
