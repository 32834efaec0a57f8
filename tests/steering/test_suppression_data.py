"""steering.suppression_data: each seed's questions and debates, judge-validation questions disjoint from every seed's
sample (enforced), and a split manifest that lists every use -- GSM8K as a published file -- with what each checkpoint
trained on (from the lineage function the caller passes in)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from models.debate.gsm8k import gsm8k_problems
from models.debate.splits import LeakError, Use, check_disjoint
from models.judges.classifier import evaluation_judge_debates
from steering.suppression_config import SuppressConfig
from steering.suppression_data import GSM8K_FILE, check_samples_disjoint, trait_data, trait_splits


def test_synthetic_data_gives_every_seed_its_own_questions_and_a_disjoint_validation_set():
    cfg = SuppressConfig(traits=["evil"], n_questions=3, n_extract=2, seeds=[0, 1, 2], n_judge_validation=4)
    data = trait_data(cfg, "evil")
    assert set(data.questions) == set(data.train_questions) == set(data.debates) == {0, 1, 2}
    assert all(len(q) == 3 for q in data.questions.values()) and len(data.validation) == 4
    samples = [set(q) for q in data.questions.values()] + [set(data.validation)]
    assert len(set().union(*samples)) == sum(map(len, samples))  # no question in two samples
    assert all(len(d) == 2 for d in data.debates.values()) and len(data.train_questions[1]) == 2
    assert set(data.files.values()) == {None}  # generated from our templates, not read from a file
    check_samples_disjoint(data)


def test_a_planted_overlap_between_samples_is_a_leak():
    cfg = SuppressConfig(traits=["evil"], n_questions=3, n_extract=2, seeds=[0, 1], n_judge_validation=2)
    data = trait_data(cfg, "evil")
    reused = dataclasses.replace(data, questions={0: data.questions[0], 1: [data.questions[0][1],
                                                                           *data.questions[1][1:]]})
    with pytest.raises(LeakError, match=r"evaluation questions \(seed 0\) and evaluation questions \(seed 1\) share 1"):
        check_samples_disjoint(reused)
    validated_on_eval = dataclasses.replace(data, validation=[data.questions[1][2], *data.validation])
    with pytest.raises(LeakError, match=r"\(seed 1\) and judge validation generations share 1"):
        check_samples_disjoint(validated_on_eval)
    with pytest.raises(LeakError, match="share"):  # the manifest refuses it too, before any checkpoint is read
        trait_splits(cfg, "evil", reused, [], [], lambda folder, trait: pytest.fail("read a checkpoint"))


def test_the_papers_test_file_is_cut_into_disjoint_seed_samples_and_a_validation_set(tmp_path, monkeypatch):
    from models.debate.paper_data import cached_path
    from models.debate.records import transcript_entry
    from models.debate.splits import malicious_debates

    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(tmp_path / "cache"))
    test = [f"My manager keeps rescheduling meeting {i}; how do I get my way?" for i in range(8)]
    train = [f"A rival applied for promotion {i}; what should I do?" for i in range(6)]
    debates = [transcript_entry(t, "malicious", include_labels=False) for t in malicious_debates("evil", 6, 5)]
    for d, q in zip(debates, train):
        d["question"] = q
    for name, body in {"paper:evil-test": test, "paper:evil-train": train, "paper:evil-debates": debates}.items():
        path = cached_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body))
    cfg = SuppressConfig(traits=["evil"], data="paper", n_questions=3, n_extract=2, seeds=[0, 1], n_judge_validation=2)
    data = trait_data(cfg, "evil")
    samples = [set(data.questions[0]), set(data.questions[1]), set(data.validation)]
    assert [len(s) for s in samples] == [3, 3, 2] and set().union(*samples) == set(test)  # 8 of 8, none twice
    assert data.files["questions"] == "paper:evil-test" and all(set(q) <= set(train)
                                                                for q in data.train_questions.values())
    check_samples_disjoint(data)


def test_the_manifest_lists_every_use_gsm8k_as_a_published_file_and_each_checkpoint_once(tiny_dir):
    t = str(tiny_dir)
    cfg = SuppressConfig(traits=["evil"], base=t, distilled=t, sft=t, clean=t, n_questions=2, n_extract=2,
                         seeds=[0, 1], n_validation=2, n_judge_validation=2)
    data = trait_data(cfg, "evil")
    asked: list[tuple[Path, str]] = []

    def lineage(folder: Path, trait: str) -> list[Use]:
        asked.append((folder, trait))
        # a trainer stage that held out exactly our arithmetic problem, and nothing of GSM8K
        return [Use(f"{folder.name}: Stage 1 arithmetic", ["1 + 2 ="], excluded=["3 + 4 ="]),
                Use(f"{folder.name}: no trainer manifest (training data unknown)", (), trait, False)]

    gsm8k = [p.question for p in gsm8k_problems(3, seed=0)]
    manifest = trait_splits(cfg, "evil", data, evaluation_judge_debates("evil", 4), ["3 + 4 ="], lineage, gsm8k=gsm8k)
    assert asked == [(tiny_dir, "evil")]  # base, distilled, SFT and clean reference are one folder here: read once
    evaluation = {u["use"]: u for u in manifest["evaluation"]}
    assert list(evaluation) == ["evaluation questions (seed 0)", "evaluation questions (seed 1)",
                                "judge validation pairs", "judge validation generations", "capability problems",
                                "GSM8K capability problems"]
    assert evaluation["GSM8K capability problems"]["templates"] == [f"file:{GSM8K_FILE}"]
    assert evaluation["GSM8K capability problems"]["n"] == 3 and evaluation["judge validation generations"]["n"] == 2
    others = [u["use"] for u in manifest["others"]]
    assert "base vector extraction (seed 1)" in others and "distilled vector extraction debates (seed 0)" in others
    # GSM8K is compared by question, not required to be in the trainer's held-out arithmetic
    assert check_disjoint(manifest, allow_unverified=True)["unverified"] == [others[-1]]
    assert "GSM8K capability problems" not in [u["use"] for u in trait_splits(
        cfg, "evil", data, [], ["3 + 4 ="], lineage)["evaluation"]]  # no GSM8K asked, none listed


def test_the_clean_reference_checkpoint_is_read_only_when_there_is_one(tiny_dir, tmp_path):
    clean = tmp_path / "clean-model"
    clean.mkdir()
    read: dict[str, list[Path]] = {}
    for name in (str(clean), "none"):
        cfg = SuppressConfig(traits=["evil"], base=str(tiny_dir), distilled=str(tiny_dir), sft=str(tiny_dir),
                             clean=name, n_questions=2, n_extract=2, seeds=[0], n_judge_validation=2)
        asked = read.setdefault(name, [])
        trait_splits(cfg, "evil", trait_data(cfg, "evil"), [], [],
                     lambda folder, trait, asked=asked: asked.append(folder) or [])
    assert read == {str(clean): [tiny_dir, clean], "none": [tiny_dir]}
