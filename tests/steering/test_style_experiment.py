"""steering.style_experiment: the config's refusals and criteria, the extraction samples, the degenerate shares, the
thread setting given back, and one tiny `run` whose result is what the script writes."""

from __future__ import annotations

import json

import pytest
import torch

from models.errors import ConfigError
from steering.persona_style import ARM_KINDS, PERSONA_NAMES, style_rows
from steering.style_experiment import (
    StyleConfig,
    degenerate_rates,
    extraction_debates,
    run,
    torch_threads,
)


@pytest.mark.parametrize(("fields", "message"), [
    ({"alphas": (1.0, 2.0)}, "including 0"),
    ({"alphas": (0.0,)}, "alphas"),
    ({"seeds": (1, 1)}, "seeds must be distinct"),
    ({"n_test": 200, "seeds": (0, 1, 2)}, "exceeds the 500 held-out problems"),
])
def test_config_refuses_what_the_experiment_cannot_measure(fields, message):
    with pytest.raises(ConfigError, match=message):
        StyleConfig(**fields)


def test_criteria_carry_the_thresholds_of_the_config():
    criteria = StyleConfig(min_gain_difference=0.05, min_over_random=0.01).criteria()
    assert set(criteria) == {"distilled_vs_base", "over_random"}
    assert criteria["distilled_vs_base"].threshold == 0.05 and criteria["distilled_vs_base"].claim == "above"
    assert criteria["over_random"].threshold == 0.01


def test_extraction_debates_sample_the_file_per_seed_and_leave_out_held_out_questions(tmp_path):
    from models.debate import GenerateConfig, generate_debates
    from models.debate.records import transcript_entry

    assert extraction_debates(StyleConfig(seeds=(3, 4))) == {3: None, 4: None}  # persona_vectors generates
    debates, _ = generate_debates(GenerateConfig(kind="arithmetic", n=6, seed=3, test_fraction=0.0))
    path = tmp_path / "debates.json"
    path.write_text(json.dumps([transcript_entry(d, "arithmetic", include_labels=False) for d in debates]))
    picked = extraction_debates(StyleConfig(debates=str(path), n_extract=4, seeds=(0, 1)))
    questions = {s: [d.question for d in sample] for s, sample in picked.items()}
    assert set(questions) == {0, 1} and all(len(q) == 4 for q in questions.values())
    assert questions[0] != questions[1] and set(questions[0]) <= {d.question for d in debates}
    assert len(extraction_debates(StyleConfig(debates=str(path), n_extract=50, seeds=(0,)))[0]) == 6  # all there is


def test_degenerate_rates_are_shares_per_model_and_arm_kind():
    rows = [{"model": "base", "kind": "persona", "degenerate": d} for d in (True, False, False, False)]
    rows += [{"model": "distilled", "kind": "random", "degenerate": True}]
    rates = degenerate_rates(rows)
    assert list(rates["base"]) == list(ARM_KINDS)
    assert rates["base"]["persona"] == 0.25 and rates["distilled"]["random"] == 1.0
    assert rates["base"]["unsteered"] == 0.0  # no rows of a kind: nothing degenerate


def test_torch_threads_gives_the_callers_setting_back_even_on_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def test_run_steers_both_models_with_the_same_prompts_and_returns_what_is_written(tiny_dir):
    asked: dict[tuple[str, int], list[str]] = {}

    def recording_rows(name, model, prompts, *args, seed, **kwargs):
        asked[(name, seed)] = list(prompts)
        return style_rows(name, model, prompts, *args, seed=seed, **kwargs)

    t = str(tiny_dir)
    cfg = StyleConfig(base=t, distilled=t, sft=t, alphas=(0.0, 1.0), n_test=2, n_extract=2, n_random=1, seeds=(0, 1),
                      max_new_tokens=2, progress=False)
    result = run(cfg, generate=recording_rows)
    assert set(asked) == {(m, s) for m in ("base", "distilled") for s in (0, 1)}
    assert all(asked[("base", s)] == asked[("distilled", s)] for s in (0, 1))
    assert [p["prompt"] for p in result.prompts["1"]] == asked[("base", 1)]
    assert set(result.vectors) == {0, 1} and set(result.vectors[0]) == set(PERSONA_NAMES)
    # per model, seed and question: 1 unsteered + (3 personas + 3 sign flips + 1 random) at the one nonzero alpha
    assert len(result.rows) == 2 * 2 * 2 * (1 + 7) == result.metrics["n_generations"]
    metrics = result.metrics
    assert metrics["n_rows"] == 4 and metrics["alphas"] == [0.0, 1.0] and metrics["metric"] == "rougeL"
    assert metrics["site"] == "blocks.2.hook_resid_post"  # the middle block (4 // 2) of the tiny model
    assert metrics["curves"] is result.curves and set(result.curves["base"]) == {*PERSONA_NAMES, "mean"}
    assert {"distilled_vs_base/mean", "over_random/base/mean", "over_random/distilled/mean"} <= set(metrics["verdicts"])
