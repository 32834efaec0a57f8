import math

import pytest
import torch

from probes.directions import Direction
from steering import (
    SteeringError, alpha_sweep, arithmetic_accuracy, arithmetic_problems, auc_trapezoid, check_fits, degeneracy,
    relative_improvement, response_perplexity, rouge, stamp, steer,
)
from tests.conftest import PROMPTS

SITE = "blocks.2.hook_resid_post"


def _direction(d: int = 128) -> Direction:
    v = torch.randn(d, generator=torch.Generator().manual_seed(0))
    return Direction(v / v.norm(), SITE, label="test", normalized=True)


def test_direction_round_trips_through_files(tmp_path):
    d = stamp(_direction(), type("M", (), {"info": type("I", (), {"n_layers": 4, "vocab_size": 512, "name": "m"})})())
    d.save(tmp_path / "vec")
    again = Direction.load(tmp_path / "vec.json")
    assert torch.equal(again.vector, d.vector) and again.site == SITE and again.params["n_layers"] == 4


@pytest.mark.parametrize("backend", ["hf", "tl", "nnsight"])
def test_alpha_zero_equals_unsteered_output(tiny_models, backend):
    model = tiny_models[backend]
    plain = model.generate(PROMPTS, max_new_tokens=8)
    with steer(model, _direction(), alpha=0.0):
        assert model.generate(PROMPTS, max_new_tokens=8).new_token_ids == plain.new_token_ids


def test_steer_changes_generation_and_cleans_up(tiny_hf):
    plain = tiny_hf.generate(PROMPTS, max_new_tokens=8)
    with steer(tiny_hf, _direction(), alpha=8.0, positions="response"):
        steered = tiny_hf.generate(PROMPTS, max_new_tokens=8)
    assert steered.new_token_ids != plain.new_token_ids
    assert tiny_hf.generate(PROMPTS, max_new_tokens=8).new_token_ids == plain.new_token_ids


def test_several_directions_at_once_compose(tiny_hf):
    d = _direction()
    with steer(tiny_hf, [(d, 2.0), (d, 1.0)], positions="all"):
        both = tiny_hf.forward(PROMPTS)
    with steer(tiny_hf, d, alpha=3.0, positions="all"):
        once = tiny_hf.forward(PROMPTS)
    torch.testing.assert_close(both, once, atol=1e-5, rtol=0)


def test_ablation_removes_the_direction(tiny_hf):
    d = _direction()
    with steer(tiny_hf, d, alpha=1.0, kind="project_out", positions="all"):
        h = tiny_hf.activations(PROMPTS, [SITE], reduce="mean")[SITE]
    assert (h @ d.vector).abs().max() < 1e-4


def test_mismatched_vectors_are_rejected(tiny_hf):
    with pytest.raises(SteeringError, match="width 64 .* d_model 128"):
        check_fits(Direction(torch.ones(64), SITE), tiny_hf)
    with pytest.raises(SteeringError, match="n_layers=30"):
        check_fits(Direction(torch.ones(128), SITE, params={"n_layers": 30}), tiny_hf)
    with pytest.raises(SteeringError, match="vocab_size=49152"):
        check_fits(Direction(torch.ones(128), SITE, params={"vocab_size": 49152}), tiny_hf)
    with pytest.raises(KeyError, match="valid layers are 0..3"):
        check_fits(Direction(torch.ones(128), "blocks.9.hook_resid_post"), tiny_hf)


def test_alpha_sweep_batches_equal_separate_runs(tiny_hf):
    rows = alpha_sweep(tiny_hf, _direction(), PROMPTS[:2], alphas=[-4.0, 0.0, 4.0], max_new_tokens=6, batch_size=4,
                       progress=False)
    assert [(r.alpha, r.prompt_index) for r in rows] == [(a, i) for a in (-4.0, 0.0, 4.0) for i in (0, 1)]
    for r in rows:
        with steer(tiny_hf, _direction(), alpha=r.alpha):
            assert tiny_hf.generate([PROMPTS[r.prompt_index]], max_new_tokens=6).texts[0] == r.text


@pytest.mark.parametrize(
    "text, degenerate",
    [("The capital of France is Paris, a city on the Seine.", False),
     ("no no no no no no no no no no no", True),
     ("I will win. I will win. I will win. I will win. I will win. I will win.", True),
     ("", True)],
)
def test_degeneracy_detector(text, degenerate):
    assert degeneracy(text).degenerate is degenerate


def test_perplexity_scores_only_the_response(tiny_hf):
    ppl = response_perplexity(tiny_hf, ["12+34 =", "the agent"], ["46", ""])
    assert ppl[0] > 1 and math.isnan(ppl[1])
    # by hand: mean NLL of the response tokens given the prompt
    tok = tiny_hf.tokenizer
    p, r = tok("12+34 =")["input_ids"], tok("46", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([p + r])
    logp = torch.log_softmax(tiny_hf.forward(ids)[0, :-1], -1)
    nll = -torch.stack([logp[len(p) - 1 + k, t] for k, t in enumerate(r)]).mean()
    assert ppl[0] == pytest.approx(math.exp(nll.item()), rel=1e-4)


def test_rouge_and_auc_on_hand_made_curves():
    assert rouge(["a b c d"], ["a b c d"])["rougeL"] == pytest.approx(1.0)
    assert rouge(["x y"], ["a b"])["rouge1"] == 0.0
    assert auc_trapezoid([0, 1, 2], [0, 1, 1]) == pytest.approx(1.5)
    assert auc_trapezoid([2, 0, 1], [1, 0, 1]) == pytest.approx(1.5)  # sorted by x first
    assert relative_improvement(0.802, 0.903) == pytest.approx(12.59, abs=0.01)
    with pytest.raises(ValueError, match="at least two"):
        auc_trapezoid([0], [1])


def test_capability_counts_boxed_answers(tiny_hf):
    problems = arithmetic_problems(4, tier="easy")
    rows = arithmetic_accuracy(tiny_hf, problems, direction=_direction(), alphas=[0.0, 2.0], max_new_tokens=4)
    assert [r.alpha for r in rows] == [0.0, 2.0] and all(r.total == 4 and 0 <= r.correct <= 4 for r in rows)


class _ScriptedModel:
    """Answers every prompt with the next scripted text, so capability scoring can be checked exactly."""

    def __init__(self, texts):
        self.texts = list(texts)
        self.tokenizer = type("T", (), {"eos_token_id": 0, "unk_token_id": 1,
                                        "convert_tokens_to_ids": staticmethod(lambda tok: 1)})()

    def generate(self, batch, max_new_tokens, stop_token_ids=None):
        out, self.texts = self.texts[:len(batch)], self.texts[len(batch):]
        return type("G", (), {"texts": out})()


def test_capability_scores_with_the_shared_normalised_match():
    """Behaviour change: capability used plain string equality; it now uses `is_correct`, like the trainer."""
    from models.debate.arithmetic import is_correct
    from models.debate.format import final_answer

    problems = arithmetic_problems(4, tier="easy")
    golds = [str(p.answer) for p in problems]
    texts = [f"\\boxed{{{golds[0]}}}", f"\\boxed{{${golds[1]}.}}", f"\\boxed{{ {golds[2]} }}", "\\boxed{nope}"]
    (row,) = arithmetic_accuracy(_ScriptedModel(texts), problems, alphas=[0.0])
    assert (row.correct, row.total) == (3, 4)
    # The case that differs: "$N." is N to the trainer's scorer but was wrong under string equality (2/4 before).
    assert final_answer(texts[1]) != golds[1] and is_correct(final_answer(texts[1]), golds[1])


def test_while_speaking_maps_debate_tags(tiny_dir):
    from models.debate import DEBATE_TAGS
    from models.load import load_tokenizer
    from steering import while_speaking

    tok = load_tokenizer(tiny_dir)
    with pytest.raises(ValueError, match="train Stage 1"):
        while_speaking(tok, 2)
    tok.add_special_tokens({"additional_special_tokens": list(DEBATE_TAGS)})
    span = while_speaking(tok, 2)
    assert len(span.open_ids) == 2 and len(span.close_ids) == 8


def test_scale_to_residual_sets_the_norm_from_the_activations():
    from steering import scale_to_residual

    d = Direction(torch.tensor([3.0, 4.0, 0.0]), "blocks.0.hook_resid_post")
    acts = torch.tensor([[10.0, 0.0, 0.0], [0.0, 30.0, 0.0]])  # mean norm 20
    scaled = scale_to_residual(d, acts, fraction=0.1)
    assert torch.allclose(scaled.vector, torch.tensor([1.2, 1.6, 0.0]))  # unit (0.6, 0.8) x 2
    assert scaled.params["mean_residual_norm"] == pytest.approx(20.0) and scaled.cosine(d) == pytest.approx(1.0)
    with pytest.raises(SteeringError, match=r"activations must be \[n, 3\]"):
        scale_to_residual(d, torch.zeros(2, 4))


def test_adopt_lets_a_fine_tune_vector_steer_its_base(tiny_hf):
    from dataclasses import replace

    from steering import adopt

    d = stamp(Direction(torch.ones(tiny_hf.info.d_model), "blocks.0.hook_resid_post"), tiny_hf)
    from_sft = replace(d, params={**d.params, "vocab_size": tiny_hf.info.vocab_size + 10}, model="sft")
    with pytest.raises(SteeringError, match="vocab_size"):
        check_fits(from_sft, tiny_hf)
    adopted = adopt(from_sft, tiny_hf)
    assert check_fits(adopted, tiny_hf) == "blocks.0.hook_resid_post"
    assert adopted.params["adopted_from"]["vocab_size"] == tiny_hf.info.vocab_size + 10
    wrong = replace(d, params={**d.params, "n_layers": tiny_hf.info.n_layers + 1})
    with pytest.raises(SteeringError, match="cannot be adopted"):
        adopt(wrong, tiny_hf)


def _answers(arm, alpha, scores, degenerate=False):
    return [{"trait": "evil", "arm": arm, "alpha": alpha, "score": s, "degenerate": degenerate, "perplexity": 5.0}
            for s in scores]


def test_first_suppression_uses_the_trait_rate_and_skips_degenerate_settings():
    from steering import first_suppression, summarize_sweep

    rows = (_answers("base", 0.0, [80, 70, 3]) + _answers("base", -1.0, [60, 4, 3])
            + _answers("base", -2.0, [2, 3, 1], degenerate=True) + _answers("base", -3.0, [4, 2, 3])
            + [{"kind": "capability", "trait": "evil", "arm": "base", "alpha": a, "accuracy": acc}
               for a, acc in ((0.0, 0.6), (-1.0, 0.5), (-2.0, 0.1), (-3.0, 0.3))])
    table = summarize_sweep(rows)
    assert [r["trait_rate"] for r in sorted(table, key=lambda r: -r["alpha"])] == [0.667, 0.333, 0.0, 0.0]
    (point,) = first_suppression(table, zero_threshold=3.5)
    # -2 has no trait-expressing answer but is degenerate; -3 is the first clean full suppression
    assert (point["alpha"], point["capability"], point["trait_rate_at_0"]) == (-3.0, 0.3, 0.667)
    assert point["trait_score"] == pytest.approx(3.0)  # a probabilistic judge's mean stays above 0
    assert (point["best_clean_alpha"], point["best_clean_capability"]) == (-3.0, 0.3)
    (strict,) = first_suppression(table, zero_threshold=2.5)
    assert strict["alpha"] is None and strict["best_clean_alpha"] == -3.0
    (lenient,) = first_suppression(table, zero_threshold=30.0, max_trait_rate=0.34)
    assert lenient["alpha"] == -1.0


# ----------------------------------------------------------------- vector files: refused with the file named
def _fake_model(d_model: int = 128, n_layers: int = 4):
    info = type("I", (), {"n_layers": n_layers, "vocab_size": 512, "name": "fake", "d_model": d_model})
    return type("M", (), {"info": info})()


def test_vector_file_round_trips_and_fits(tmp_path):
    from steering.prepare import load_vector, save_vector

    path = save_vector(_direction(), tmp_path / "v")
    again = load_vector(path, _fake_model())
    assert torch.equal(again.vector, _direction().vector) and again.site == SITE


def test_bad_vector_files_are_steering_errors_naming_the_file(tmp_path):
    from models.files import write_tensors
    from steering.prepare import load_vector, save_vector

    with pytest.raises(SteeringError, match=r"v\.safetensors: refusing to save tensor 'vector' with NaN"):
        save_vector(Direction(torch.full((128,), float("nan")), SITE), tmp_path / "v")
    assert list(tmp_path.iterdir()) == []
    path = save_vector(_direction(), tmp_path / "v")
    with pytest.raises(SteeringError, match=r"v\.json: direction .test. has width 128 .* d_model 64"):
        load_vector(path, _fake_model(d_model=64))
    write_tensors(tmp_path / "v.safetensors", {"vector": torch.full((128,), float("inf"))})
    with pytest.raises(SteeringError, match=r"v\.safetensors: tensor 'vector' holds NaN or infinite values"):
        load_vector(path)
    (tmp_path / "v.safetensors").write_bytes(b"\x00" * 3)
    with pytest.raises(SteeringError, match=r"v\.safetensors: direction tensor file is truncated"):
        load_vector(tmp_path / "v")


def test_check_fits_refuses_a_nan_vector():
    v = _direction().vector.clone()
    v[3] = float("nan")
    with pytest.raises(SteeringError, match="holds NaN or infinite values"):
        check_fits(Direction(v, SITE, label="bad"), _fake_model())
