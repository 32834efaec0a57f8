"""Shipped adapters (models.train.adapters, models.registry): published small, loaded by name on their base."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from models import load, registry
from models.debate import DEBATE_TAGS
from models.errors import CheckpointError, ConfigError
from models.train.adapters import AdapterPipelineConfig, publish, smollm2_sft, stage_config


@pytest.fixture
def published(tiny_sft: Path, tmp_path: Path) -> Path:
    out = tmp_path / "adapters"
    publish(tiny_sft, out, "tiny-lora", "float16")
    return out


@pytest.fixture
def named(published: Path, tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Register the published adapter under a name, on `tiny_base`, with a fresh cache."""
    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(registry, "ADAPTER_ASSETS", published)
    monkeypatch.setitem(registry.SHIPPED_ADAPTERS, "tiny-lora",
                        registry.ShippedAdapter(str(tiny_base), "arithmetic", "test adapter"))
    monkeypatch.setitem(registry.REGISTRY, "tiny-lora", registry.Entry(
        "tiny-lora", "test adapter", lambda out: registry.assemble_adapter("tiny-lora", out), base=str(tiny_base)))
    return "tiny-lora"


def test_publish_writes_fp16_lora_and_one_shared_tokenizer(published: Path, tiny_sft: Path) -> None:
    folder = published / "tiny-lora"
    assert sorted(f.name for f in folder.iterdir()) == [
        "adapter_config.json", "adapter_model.safetensors", "manifest.json", "run_config.json"]
    with safe_open(folder / "adapter_model.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
        assert any("trainable_tokens_delta" in k for k in f.keys())  # the tag rows travel in the adapter
    assert (published / "tokenizer" / "tokenizer.json").read_bytes() == (tiny_sft / "adapter" / "tokenizer.json").read_bytes()
    # no whole embedding matrix: only LoRA factors and the tag rows
    assert (folder / "adapter_model.safetensors").stat().st_size < (tiny_sft / "adapter" / "adapter_model.safetensors").stat().st_size


def test_publish_refuses_an_adapter_with_another_tokenizer(published: Path, tiny_sft: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(tiny_sft, other)
    cfg = json.loads((other / "adapter" / "tokenizer_config.json").read_text())
    (other / "adapter" / "tokenizer_config.json").write_text(json.dumps({**cfg, "model_max_length": 7}))
    with pytest.raises(ConfigError, match="tokenizer differs"):
        publish(other, published, "second", "float16")
    assert not (published / "second").exists()


def test_publish_refuses_a_run_without_an_adapter(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a finished LoRA"):
        publish(tmp_path, tmp_path / "out", "x", "float16")


def test_a_shipped_adapter_loads_by_name_as_its_base_with_the_adapter_merged(named: str, tiny_sft: Path) -> None:
    model = load(named)
    assert model.info.name == named and " + " in model.info.source
    assert all(model.tokenizer(t, add_special_tokens=False)["input_ids"] == [model.tokenizer.convert_tokens_to_ids(t)]
               for t in DEBATE_TAGS)
    reference = load(tiny_sft)  # the run's own merged fp32 weights
    x = reference.tokenize(["Problem: 1+2*3-4\n\n" + DEBATE_TAGS[0] + " I"])
    torch.testing.assert_close(model.forward(x), reference.forward(x), atol=2e-2, rtol=0)  # fp16 LoRA factors


def test_a_shipped_adapter_loads_in_every_backend_alike(named: str) -> None:
    ref = load(named, backend="hf")
    x = ["Problem: 2+3*4-1\n\n" + DEBATE_TAGS[0]]
    sites = ["blocks.1.hook_resid_post"]
    for backend in ("tl", "nnsight"):
        got = load(named, backend=backend).activations(x, sites, positions="last")
        torch.testing.assert_close(got[sites[0]], ref.activations(x, sites, positions="last")[sites[0]],
                                   atol=1e-4, rtol=0)


def test_an_adapter_name_refuses_a_second_adapter(named: str, tiny_sft: Path) -> None:
    with pytest.raises(CheckpointError, match="already an adapter"):
        load(named, adapter=tiny_sft / "adapter")


def test_a_retrained_adapter_is_assembled_afresh(named: str, published: Path) -> None:
    first = registry.materialize(named)
    manifest = json.loads((published / named / "manifest.json").read_text())
    (published / named / "manifest.json").write_text(json.dumps({**manifest, "name": "retrained"}))
    second = registry.materialize(named)
    assert first != second and json.loads((second / "manifest.json").read_text())["name"] == "retrained"


def test_a_missing_shipped_adapter_names_the_command_that_trains_it(named: str, published: Path) -> None:
    shutil.rmtree(published / named)
    with pytest.raises(CheckpointError, match="python -m models.train adapters"):
        load(named)


def test_stage_configs_share_settings_and_differ_in_data_and_folder(tmp_path: Path) -> None:
    cfg = AdapterPipelineConfig(work_dir=str(tmp_path), threads=2)
    stages = {n: stage_config(cfg, n) for n in cfg.names}
    assert {s.data for s in stages.values()} == {"arithmetic", "evil", "hallucination"}
    assert {(s.lora_r, s.n, s.parent, s.threads) for s in stages.values()} == {
        (smollm2_sft().lora_r, smollm2_sft().n, "smollm2-135m-instruct", 2)}
    assert stages["smollm2-evil-sft"].out == str(tmp_path / "smollm2-evil-sft")
    with pytest.raises(ConfigError, match="distinct"):
        AdapterPipelineConfig(names=("smollm2-sft", "smollm2-sft"))


def test_a_run_folder_named_like_an_adapter_loads_as_that_folder(named: str, tiny_sft: Path, tmp_path: Path) -> None:
    """Regression: a folder whose manifest is named like a registry adapter was taken for the registry entry."""
    run = tmp_path / "run"
    shutil.copytree(tiny_sft, run)
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "name": named}))
    model = load(run)
    assert model.info.source == str(run)


def test_a_resumed_pipeline_skips_finished_runs_and_still_reports_their_seconds(tiny_sft: Path, tmp_path: Path) -> None:
    from models.manifest import Manifest
    from models.train.adapters import train_adapters

    shutil.copytree(tiny_sft, tmp_path / "work" / "smollm2-sft")
    cfg = AdapterPipelineConfig(out_dir=str(tmp_path / "out"), work_dir=str(tmp_path / "work"), names=("smollm2-sft",),
                                resume=True)
    assert train_adapters(cfg) == {"smollm2-sft": tmp_path / "out" / "smollm2-sft"}
    record = json.loads((tmp_path / "out" / "adapters.json").read_text())
    assert record["seconds"] == {"smollm2-sft": Manifest.load(tiny_sft).metrics["seconds"]}


def test_a_published_adapter_names_its_registry_base_not_a_local_folder(tiny_sft: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: the shipped adapter_config.json named /root/.cache/... as its base, a path only one machine has."""
    from models.manifest import Manifest

    run = tmp_path / "run"
    shutil.copytree(tiny_sft, run)
    manifest = Manifest.load(run)
    manifest.parent = "tiny-base"  # a registry name, as the SmolLM2 runs record "smollm2-135m-instruct"
    manifest.save(run)
    publish(run, tmp_path / "out", "x", "float16")
    config = json.loads((tmp_path / "out" / "x" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "tiny-base"
    shipped = json.loads((tiny_sft / "adapter" / "adapter_config.json").read_text())
    assert {k: v for k, v in config.items() if k != "base_model_name_or_path"} == {
        k: v for k, v in shipped.items() if k != "base_model_name_or_path"}
