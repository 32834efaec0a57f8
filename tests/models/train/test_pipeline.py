"""One command trains base → SFT → internalized (+ a malicious variant); the evaluation writes its run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models.manifest import Manifest
from models.train.config import PipelineConfig


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory, pretrain_cfg, sft_cfg, grpo_cfg) -> Path:
    from models.train.pipeline import run_pipeline

    out = tmp_path_factory.mktemp("pipeline")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = PipelineConfig(
            out_dir=str(out), variants=("arithmetic", "evil"), save_dtype="float16", seeds=(0, 3),
            pretrain=pretrain_cfg(out / "unused"), sft=sft_cfg("unused", out / "unused", max_steps=3),
            grpo=grpo_cfg("unused", out / "unused", max_steps=1),
            malicious_sft=sft_cfg("unused", out / "unused", data="evil", n=6, max_steps=3),
            malicious_grpo=grpo_cfg("unused", out / "unused", task="evil", max_steps=1, n_prompts=4))
        run_pipeline(cfg)
    finally:
        torch.set_num_threads(before)
    return out


def test_pipeline_writes_every_stage(pipeline_dir: Path) -> None:
    names = ["tiny-base", "tiny-sft", "tiny-imad", "tiny-sft-s3", "tiny-imad-s3", "tiny-evil-sft", "tiny-evil-imad"]
    for name in names:
        m = Manifest.load(pipeline_dir / name)
        assert m is not None and m.name == name
    # a further seed trains its own chain on the shared base; the malicious chain trains once, with its own seed
    assert [Manifest.load(pipeline_dir / n).config["seed"] for n in ("tiny-sft", "tiny-imad", "tiny-sft-s3",  # type: ignore[union-attr]
                                                                     "tiny-imad-s3", "tiny-evil-sft")] == [0, 0, 3, 3, 0]
    assert Manifest.load(pipeline_dir / "tiny-imad-s3").parent == str(pipeline_dir / "tiny-sft-s3")  # type: ignore[union-attr]
    assert Manifest.load(pipeline_dir / "tiny-evil-sft").parent == str(pipeline_dir / "tiny-base")  # type: ignore[union-attr]
    assert Manifest.load(pipeline_dir / "tiny-evil-imad").config["task"] == "evil"  # type: ignore[union-attr]
    record = json.loads((pipeline_dir / "pipeline.json").read_text())
    assert set(record["seconds"]) == set(names) and record["total_seconds"] > 0
    assert not list(pipeline_dir.glob("*.work")) and not list(pipeline_dir.glob(".*tmp*"))


def test_pipeline_resume_skips_finished_stages(pipeline_dir: Path) -> None:
    from models.cli import build_config
    from models.train.pipeline import run_pipeline

    first = json.loads((pipeline_dir / "pipeline.json").read_text())
    cfg = build_config(PipelineConfig, {**first["config"], "resume": True})
    created = Manifest.load(pipeline_dir / "tiny-imad").created  # type: ignore[union-attr]
    run_pipeline(cfg)
    assert Manifest.load(pipeline_dir / "tiny-imad").created == created  # type: ignore[union-attr]
    record = json.loads((pipeline_dir / "pipeline.json").read_text())
    # nothing trained now, and the skipped stages keep the times the first run measured
    assert record["trained_now"] == [] and record["seconds"] == first["seconds"]


def test_evaluation_writes_table_json_and_figure(pipeline_dir: Path, tmp_path: Path) -> None:
    from experiments import evaluate_internalization as ev

    cfg = ev.EvalConfig(base=str(pipeline_dir / "tiny-base"), sft=(str(pipeline_dir / "tiny-sft"),),
                        imad=(str(pipeline_dir / "tiny-imad"),), n=1, out=str(tmp_path), batch_size=4,
                        max_new_tokens=24, debate_max_new_tokens=12, threads=1)
    run = ev.main(cfg)
    assert not run.name.endswith(".tmp") and not list(tmp_path.glob("*/*.tmp"))
    metrics = json.loads((run / "metrics.json").read_text())
    systems = metrics["systems"]
    assert set(systems) == {"single", "debate", "sft", "imad", "debate_round1"}
    assert systems["debate"]["pct_of_debate"] == 100.0
    for s in systems.values():
        assert 0.0 <= s["accuracy"]["value"] <= 1.0 and s["tokens"]["value"] > 0 and s["n"] == 3  # 3 seeds x 1
    # explicit debate: 3 agents x 2 rounds, each call reads a prompt and writes at most 12 tokens
    assert systems["debate"]["mean_output_tokens"] <= 6 * 12
    assert "| system | n | accuracy % [95% CI] |" in (run / "summary.md").read_text()
    assert "plotly" in (run / "figures" / "accuracy_tokens.html").read_text()[:100000].lower()
    assert len((run / "rows.jsonl").read_text().splitlines()) == 12  # 4 systems x 3 seeds x 1 problem
