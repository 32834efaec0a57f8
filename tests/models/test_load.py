import json
import shutil

import pytest
import torch

from models import CheckpointError, Manifest, MissingDependencyError, load, materialize
from models import registry
from tests.conftest import PROMPTS


def test_unknown_name_lists_known_checkpoints():
    with pytest.raises(CheckpointError, match="known names: .*smollm2-135m-instruct.*tiny-random"):
        load("no-such-model")


def test_folder_without_config_json(tmp_path):
    with pytest.raises(CheckpointError, match=f"folder {tmp_path} has no config.json"):
        load(tmp_path)


def test_trust_remote_code_models_are_refused(tiny_dir, tmp_path):
    folder = tmp_path / "custom"
    shutil.copytree(tiny_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="never runs trust_remote_code"):
        load(folder)


def test_unknown_backend(tiny_dir):
    with pytest.raises(ValueError, match="use one of hf, tl, nnsight"):
        load(tiny_dir, backend="jax")  # type: ignore[arg-type]


def test_gguf_without_the_gguf_package_names_the_install(monkeypatch):
    real = registry.importlib.util.find_spec
    monkeypatch.setattr(registry.importlib.util, "find_spec", lambda name: None if name == "gguf" else real(name))
    with pytest.raises(MissingDependencyError, match="pip install gguf"):
        registry.require_gguf()


def test_registry_builds_atomically_and_writes_a_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(tmp_path))
    folder = materialize("tiny-random")
    assert (folder / "model.safetensors").exists() and (folder / "tokenizer.json").exists()
    assert Manifest.load(folder).stage == "random-init"
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-random"]  # no temp folder left
    model = load("tiny-random")
    assert model.info.name == "tiny-random" and model.info.n_layers == 4


def test_interrupted_registry_build_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(tmp_path))

    def crash(out):
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setitem(registry.REGISTRY, "crashy", registry.Entry("crashy", "fails half-way", crash))
    with pytest.raises(KeyboardInterrupt):
        materialize("crashy")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def lora_adapter(tiny_dir, tmp_path_factory):
    """A LoRA adapter on the tiny model with non-zero B, so merging changes the outputs."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_dir)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    out = tmp_path_factory.mktemp("adapter") / "lora"
    peft_model.save_pretrained(out)
    return out


@pytest.mark.parametrize("backend", ["hf", "tl", "nnsight"])
def test_lora_adapter_is_merged_in_every_backend(tiny_dir, lora_adapter, backend):
    plain = load(tiny_dir).forward(PROMPTS)
    ref = load(tiny_dir, adapter=lora_adapter).forward(PROMPTS)
    got = load(tiny_dir, backend=backend, adapter=lora_adapter).forward(PROMPTS)
    mask = load(tiny_dir).tokenize(PROMPTS).attention_mask.bool()
    assert not torch.allclose(ref[mask], plain[mask], atol=1e-3)  # the adapter matters...
    torch.testing.assert_close(got[mask], ref[mask], atol=1e-5, rtol=0)  # ...and every backend sees it


def test_adapter_folder_without_config(tiny_dir, tmp_path):
    with pytest.raises(CheckpointError, match="has no adapter_config.json"):
        load(tiny_dir, adapter=tmp_path)


def test_context_overflow_is_a_clear_error(tiny_hf):
    with pytest.raises(ValueError, match="exceeds the model's context of 1024 tokens"):
        tiny_hf.generate(PROMPTS, max_new_tokens=2000)
