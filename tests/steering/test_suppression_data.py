"""steering.suppression_data: each seed's questions and debates, and a split manifest that lists every use with
what each checkpoint trained on (from the lineage function the caller passes in)."""

from __future__ import annotations

from pathlib import Path

from models.debate.splits import Use, check_disjoint
from models.judges.classifier import evaluation_judge_debates
from steering.suppression_config import SuppressConfig
from steering.suppression_data import trait_data, trait_splits


def test_synthetic_data_gives_every_seed_its_own_questions_and_debates():
    cfg = SuppressConfig(traits=["evil"], n_questions=3, n_extract=2, seeds=[0, 1])
    data = trait_data(cfg, "evil")
    assert set(data.questions) == set(data.train_questions) == set(data.debates) == {0, 1}
    assert all(len(q) == 3 for q in data.questions.values()) and data.questions[0] != data.questions[1]
    assert all(len(d) == 2 for d in data.debates.values()) and len(data.train_questions[1]) == 2
    assert set(data.files.values()) == {None}  # generated from our templates, not read from a file


def test_the_manifest_lists_every_use_and_each_checkpoint_once(tiny_dir):
    t = str(tiny_dir)
    cfg = SuppressConfig(traits=["evil"], base=t, distilled=t, sft=t, n_questions=2, n_extract=2, seeds=[0, 1],
                         n_validation=2)
    data = trait_data(cfg, "evil")
    asked: list[tuple[Path, str]] = []

    def lineage(folder: Path, trait: str) -> list[Use]:
        asked.append((folder, trait))
        return [Use(f"{folder.name}: no trainer manifest (training data unknown)", (), trait, False)]

    manifest = trait_splits(cfg, "evil", data, evaluation_judge_debates("evil", 4), ["1 + 2 ="], lineage)
    assert asked == [(tiny_dir, "evil")]  # base, distilled and SFT are one folder here: read once
    evaluation = [u["use"] for u in manifest["evaluation"]]
    assert evaluation == ["evaluation questions (seed 0)", "evaluation questions (seed 1)", "judge validation pairs",
                          "capability problems"]
    others = [u["use"] for u in manifest["others"]]
    assert "base vector extraction (seed 1)" in others and "distilled vector extraction debates (seed 0)" in others
    assert others[-1].endswith("no trainer manifest (training data unknown)")
    assert check_disjoint(manifest, allow_unverified=True)["unverified"] == [others[-1]]
