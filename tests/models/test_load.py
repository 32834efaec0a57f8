import json
import os
import shutil

import pytest
import torch

from models import CheckpointError, FileFormatError, Manifest, MissingDependencyError, load, materialize
from models import registry
from tests.conftest import PROMPTS


def test_unknown_name_lists_known_checkpoints():
    with pytest.raises(CheckpointError, match="known names: .*smollm2-135m-instruct.*tiny-random"):
        load("no-such-model")


def test_a_mistyped_name_gets_the_close_match():
    with pytest.raises(CheckpointError, match=r"unknown checkpoint 'tiny-sfft' \(did you mean 'tiny-sft'\?\)"):
        load("tiny-sfft")
    with pytest.raises(CheckpointError) as info:
        load("no-such-model")
    assert "did you mean" not in str(info.value)


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


# --------------------------------------------------------------------------- reliability: every bad input is named

def _copy(tiny_dir, tmp_path, name="ckpt"):
    folder = tmp_path / name
    shutil.copytree(tiny_dir, folder)
    return folder


def _edit_json(path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_config_with_a_utf8_bom_loads(tiny_dir, tmp_path):
    folder = _copy(tiny_dir, tmp_path)
    (folder / "config.json").write_bytes(b"\xef\xbb\xbf" + (folder / "config.json").read_bytes())
    assert load(folder).info.n_layers == 4


@pytest.mark.parametrize("field,value,named", [
    ("num_hidden_layers", 2, "num_hidden_layers=2 but model.safetensors holds weights for 4 layers"),
    ("num_hidden_layers", 6, "num_hidden_layers=6 but model.safetensors holds weights for 4 layers"),
    ("hidden_size", 64, r"weight '.*' in model.safetensors has shape .* config.json \(hidden_size=64"),
    ("vocab_size", 600, r"weight '.*(embed_tokens|lm_head).*' .* \(vocab_size=600\)"),
    ("intermediate_size", 256, r"weight '.*mlp.*' .* \(intermediate_size=256\)"),
])
def test_config_that_disagrees_with_the_weights_is_refused(tiny_dir, tmp_path, field, value, named):
    folder = _copy(tiny_dir, tmp_path)
    _edit_json(folder / "config.json", **{field: value})
    with pytest.raises(CheckpointError, match=named) as err:
        load(folder)
    assert str(folder) in str(err.value)


def test_weights_with_nan_name_the_tensor(tiny_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(tiny_dir, tmp_path)
    tensors = load_file(str(folder / "model.safetensors"))
    tensors["model.layers.1.mlp.up_proj.weight"][3, 4] = float("nan")
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"tensor 'model.layers.1.mlp.up_proj.weight' holds 1 NaN"):
        load(folder)


def test_truncated_weights_name_the_file(tiny_dir, tmp_path):
    folder = _copy(tiny_dir, tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=f"{folder / 'model.safetensors'}: .* truncated"):
        load(folder)


@pytest.mark.parametrize("text,named", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"hidden_size": 128}', "field 'model_type' is missing"),
    ('{"model_type": "llama", "num_hidden_layers": "4"}', "num_hidden_layers"),
])
def test_broken_config_json_is_named(tiny_dir, tmp_path, text, named):
    folder = _copy(tiny_dir, tmp_path)
    (folder / "config.json").write_text(text)
    with pytest.raises((CheckpointError, FileFormatError), match=named) as err:
        load(folder)
    assert str(folder) in str(err.value)


def test_broken_tokenizer_json_is_named(tiny_dir, tmp_path):
    folder = _copy(tiny_dir, tmp_path)
    (folder / "tokenizer.json").write_text('{"model": ')
    with pytest.raises(FileFormatError, match=f"{folder / 'tokenizer.json'}: not valid JSON"):
        load(folder)


def test_folder_without_weights(tiny_dir, tmp_path):
    folder = _copy(tiny_dir, tmp_path)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="has no model.safetensors.*pytorch_model.bin found: only safetensors"):
        load(folder)


def test_fifo_and_non_gguf_files_are_named(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileFormatError, match=f"{fifo}: .*not a FIFO"):
        load(fifo)
    other = tmp_path / "weights.pt"
    other.write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError, match="is a file but not a .gguf checkpoint"):
        load(other)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_on_a_cpu_build_is_named(tiny_dir):
    with pytest.raises(CheckpointError, match="device='cuda'.*no CUDA device; use device='cpu'"):
        load(tiny_dir, device="cuda")


@pytest.mark.parametrize("dtype", [torch.int8, "fp8", "float"])
def test_unknown_dtype_is_named(tiny_dir, dtype):
    with pytest.raises(CheckpointError, match="is not supported; use one of float32"):
        load(tiny_dir, dtype=dtype)


def test_dtype_by_name(tiny_dir):
    assert load(tiny_dir, dtype="bfloat16").hf_model.dtype == torch.bfloat16


def test_corrupt_manifest_is_named(tiny_dir, tmp_path):
    folder = _copy(tiny_dir, tmp_path)
    (folder / "manifest.json").write_text('{"name": 3}')
    with pytest.raises(FileFormatError, match="manifest field 'name' must be a string"):
        load(folder)


# --------------------------------------------------------------------------- adapters against their base

def _adapter_copy(lora_adapter, tmp_path):
    folder = tmp_path / "adapter"
    shutil.copytree(lora_adapter, folder)
    return folder


def test_missing_adapter_weights_are_named_not_a_hub_error(tiny_dir, lora_adapter, tmp_path):
    adapter = _adapter_copy(lora_adapter, tmp_path)
    (adapter / "adapter_model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=f"adapter folder {adapter} has no adapter_model.safetensors"):
        load(tiny_dir, adapter=adapter)


def test_broken_adapter_config_is_named(tiny_dir, lora_adapter, tmp_path):
    adapter = _adapter_copy(lora_adapter, tmp_path)
    (adapter / "adapter_config.json").write_text("{")
    with pytest.raises(FileFormatError, match=f"{adapter / 'adapter_config.json'}: not valid JSON"):
        load(tiny_dir, adapter=adapter)


def test_truncated_adapter_weights_are_named(tiny_dir, lora_adapter, tmp_path):
    adapter = _adapter_copy(lora_adapter, tmp_path)
    data = (adapter / "adapter_model.safetensors").read_bytes()
    (adapter / "adapter_model.safetensors").write_bytes(data[:-10])
    with pytest.raises(FileFormatError, match="adapter_model.safetensors: adapter weights is truncated"):
        load(tiny_dir, adapter=adapter)


def test_adapter_for_another_base_is_refused(lora_adapter, tmp_path):
    from models.tiny import TinyConfig, save_tiny

    narrower = save_tiny(tmp_path / "narrower", TinyConfig(d_model=64, n_heads=2, n_kv_heads=1, d_mlp=128))
    with pytest.raises(CheckpointError, match=r"trained on .* \(hidden_size=128\) but the base given has hidden_size=64"):
        load(narrower, adapter=lora_adapter)  # its adapter_config.json names the base it was trained on
    adapter = _adapter_copy(lora_adapter, tmp_path)
    _edit_json(adapter / "adapter_config.json", base_model_name_or_path="a/work/folder/that/is/gone")
    with pytest.raises(CheckpointError, match=r"lora_A.weight' has shape \[4, 128\] .* in_features=64"):
        load(narrower, adapter=adapter)  # no usable declaration: the shapes still refuse it


def test_adapter_whose_declared_base_differs_is_refused(tiny_dir, lora_adapter, tmp_path):
    from models.tiny import TinyConfig, save_tiny

    other = save_tiny(tmp_path / "deeper", TinyConfig(n_layers=6))
    adapter = _adapter_copy(lora_adapter, tmp_path)
    _edit_json(adapter / "adapter_config.json", base_model_name_or_path=str(other))
    with pytest.raises(CheckpointError, match="trained on .*deeper \\(num_hidden_layers=6\\)"):
        load(tiny_dir, adapter=adapter)


def test_adapter_vocabulary_may_only_grow_the_base_tokenizer(tiny_dir, lora_adapter, tmp_path):
    from models.load import load_tokenizer

    adapter = _adapter_copy(lora_adapter, tmp_path)
    tok = load_tokenizer(tiny_dir)
    tok.add_special_tokens({"additional_special_tokens": ["<agent1>", "</agent1>"]})
    tok.save_pretrained(adapter)
    grown = load(tiny_dir, adapter=adapter)
    assert grown.info.vocab_size == 514 and len(grown.tokenizer) == 514  # resized, and the tags tokenize

    vocab_file = adapter / "tokenizer.json"
    data = json.loads(vocab_file.read_text())
    vocab = data["model"]["vocab"]
    a, b = sorted(vocab)[10:12]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    vocab_file.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="not an extension of the base's"):
        load(tiny_dir, adapter=adapter)


def test_adapter_with_nan_names_the_tensor(tiny_dir, lora_adapter, tmp_path):
    from safetensors.torch import load_file, save_file

    adapter = _adapter_copy(lora_adapter, tmp_path)
    tensors = load_file(str(adapter / "adapter_model.safetensors"))
    name = sorted(tensors)[0]
    tensors[name][0, 0] = float("inf")
    save_file(tensors, str(adapter / "adapter_model.safetensors"))
    with pytest.raises(FileFormatError, match=f"tensor '{name}' holds NaN or infinite"):
        load(tiny_dir, adapter=adapter)


def test_a_merge_that_overflows_is_refused_naming_the_merged_weight(tiny_dir, tmp_path):
    # finite base, finite adapter: only the merge itself (B @ A in float16) can produce inf, so the
    # post-merge check must cover the weights the adapter writes to
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_dir),
                                LoraConfig(r=4, lora_alpha=4, target_modules=["v_proj"]))
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_A" in name or "lora_B" in name:
                param.fill_(300.0)  # 4 * 300 * 300 = 360000 > float16's 65504
    peft_model.save_pretrained(tmp_path / "loud")
    with pytest.raises(CheckpointError, match=r"v_proj\.weight' holds .* NaN or infinite"):
        load(tiny_dir, adapter=tmp_path / "loud", dtype="float16")
