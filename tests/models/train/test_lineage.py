"""models.train.lineage: what each shipped checkpoint trained on, rebuilt and checked against its data hash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models.debate.splits import LeakError, Use, check_disjoint, evaluation_questions, split_manifest
from models.errors import CheckpointError
from models.registry import materialize
from models.train.lineage import checkpoint_uses, trained_questions


@pytest.fixture(scope="module")
def evil_uses() -> list[Use]:
    return checkpoint_uses(materialize("tiny-evil-imad"), "evil")


def test_the_shipped_lineage_is_rebuilt_and_verified(evil_uses: list[Use]) -> None:
    names = [u.name for u in evil_uses]
    assert names == ["tiny-evil-imad: Stage 2 prompts", "tiny-evil-imad: reward judge data (2000 texts)",
                     "tiny-evil-sft: Stage 1 debates", "tiny-base: pretraining persona documents"]
    assert all(u.verified for u in evil_uses)
    assert [len(u.questions) for u in evil_uses] == [48, 1000, 300, 400]  # Stage 2: 48 prompts since 2026-12-01
    assert all(len(u.excluded) == 500 for u in evil_uses)  # every stage left the 500 held-out problems out


def test_evaluation_questions_are_disjoint_from_every_stage_and_a_leak_is_caught(evil_uses: list[Use]) -> None:
    evaluation = evaluation_questions("evil", 48, seed=0)
    manifest = json.loads(json.dumps(split_manifest([Use("evaluation", evaluation, "evil")], evil_uses)))
    assert check_disjoint(manifest)["pairs_compared"] == 4
    leaked = evaluation + [evil_uses[2].questions[7]]  # one Stage 1 training question slipped into evaluation
    manifest = json.loads(json.dumps(split_manifest([Use("evaluation", leaked, "evil")], evil_uses)))
    with pytest.raises(LeakError, match="tiny-evil-imad: Stage 2 prompts|tiny-evil-sft: Stage 1 debates"):
        check_disjoint(manifest)


def test_a_manifest_whose_data_hash_does_not_match_is_unverified(tmp_path: Path) -> None:
    source = materialize("tiny-evil-sft")
    copy = tmp_path / "tiny-evil-sft"
    copy.mkdir()
    manifest = json.loads((source / "manifest.json").read_text())
    manifest["config"]["n"] = 299  # the data it claims no longer hashes to what it recorded
    manifest["parent"] = None
    (copy / "manifest.json").write_text(json.dumps(manifest))
    (use,) = checkpoint_uses(copy, "evil")
    assert not use.verified and len(use.questions) == 299
    with pytest.raises(LeakError, match="unproven"):
        check_disjoint(split_manifest([Use("evaluation", evaluation_questions("evil", 4, 0), "evil")], [use]))


def test_an_outside_model_is_recorded_as_unknown_and_blocks_the_check_unless_allowed(tmp_path: Path) -> None:
    shutil.copy(materialize("tiny-evil-sft") / "config.json", tmp_path / "config.json")
    (use,) = checkpoint_uses(tmp_path, "evil")
    assert not use.verified and "training data unknown" in use.name
    manifest = split_manifest([Use("evaluation", evaluation_questions("evil", 4, 0), "evil")], [use])
    with pytest.raises(LeakError, match="unproven"):
        check_disjoint(manifest)
    assert check_disjoint(manifest, allow_unverified=True)["unverified"] == [use.name]


def test_a_parent_that_cannot_be_found_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "child"
    copy.mkdir()
    manifest = json.loads((materialize("tiny-evil-sft") / "manifest.json").read_text())
    manifest["parent"] = "/nowhere/tiny-missing-parent"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="tiny-missing-parent"):
        checkpoint_uses(copy, "evil")


def test_a_converted_outside_model_ends_the_lineage_at_its_source_file(tmp_path: Path) -> None:
    """Regression: a GGUF-converted base (stage 'converted', parent = the .gguf file) raised 'parent not found'."""
    adapter_child = tmp_path / "child"
    converted = tmp_path / "smollm2-135m-instruct"
    for folder in (adapter_child, converted):
        folder.mkdir()
    (converted / "manifest.json").write_text(json.dumps(
        {"name": "smollm2-135m-instruct", "stage": "converted", "parent": "/elsewhere/SmolLM2.Q4_1.gguf"}))
    manifest = json.loads((materialize("tiny-evil-sft") / "manifest.json").read_text())
    manifest["parent"] = str(converted)
    (adapter_child / "manifest.json").write_text(json.dumps(manifest))
    uses = checkpoint_uses(adapter_child, "evil")
    assert [u.verified for u in uses] == [True, False]
    assert "converted from /elsewhere/SmolLM2.Q4_1.gguf (training data unknown)" in uses[1].name


def test_trained_questions_rebuild_stage_1_and_2_and_refuse_an_unproven_stage(tmp_path: Path) -> None:
    from models.debate.splits import heldout_problems, problem_key

    prompts = trained_questions(materialize("tiny-evil-imad"))
    assert len(prompts) == 48 + 300 + 200  # Stage 2 prompts, Stage 1 evil debates, Stage 1 arithmetic mix
    held = {problem_key(p.question) for p in heldout_problems("easy", 500, 0)}
    assert not held & {problem_key(t) for t in prompts}
    copy = tmp_path / "tiny-evil-sft"
    copy.mkdir()
    manifest = json.loads((materialize("tiny-evil-sft") / "manifest.json").read_text())
    manifest["config"]["n"] = 299
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="tiny-evil-sft/manifest.json: the rebuilt sft rows do not match"):
        trained_questions(copy)
