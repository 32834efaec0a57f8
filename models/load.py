"""`load`: any checkpoint source to a `HookedModel` on any backend.

Sources: a registry name (`models.registry`), a local HF folder, a ``.gguf`` file, optionally with a
LoRA adapter folder that is merged into the weights first (TransformerLens cannot see unmerged LoRA).
Weights are read from safetensors only, and remote code is never run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from models.architecture import find_blocks
from models.errors import CheckpointError
from models.hooked import HookedModel, ModelInfo
from models.manifest import Manifest
from models.registry import REGISTRY, convert_gguf, materialize

Backend = Literal["hf", "tl", "nnsight"]
BACKENDS: tuple[str, ...] = ("hf", "tl", "nnsight")


def resolve_folder(name_or_path: str | Path) -> Path:
    """A local HF folder for a registry name, folder or GGUF file; clear errors for anything else."""
    text = str(name_or_path)
    if text in REGISTRY:
        return materialize(text)
    path = Path(text).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        from models.registry import cache_dir

        out = cache_dir() / f"gguf-{path.stem}"
        if not (out / "config.json").exists():
            tmp = out.with_name(out.name + ".tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            convert_gguf(path, tmp, path.stem)
            tmp.replace(out)
        return out
    if path.is_dir():
        if not (path / "config.json").exists():
            raise CheckpointError(f"folder {path} has no config.json; is it a Hugging Face checkpoint folder?")
        return path
    raise CheckpointError(
        f"unknown checkpoint {text!r}: not a folder or .gguf file; known names: {', '.join(sorted(REGISTRY))}"
    )


def _refuse_remote_code(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    if "auto_map" in config:
        raise CheckpointError(
            f"{folder}/config.json declares custom code (auto_map); this toolkit never runs trust_remote_code models"
        )


def load_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """Read the folder's own tokenizer; tokenizer.json is loaded as-is (Auto* may swap in another class)."""
    if (folder / "tokenizer.json").exists():
        tok = PreTrainedTokenizerFast.from_pretrained(folder)
    else:
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def load_hf(
    name_or_path: str | Path,
    adapter: str | Path | None = None,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    device_map: str | dict | None = None,
) -> tuple[torch.nn.Module, PreTrainedTokenizerBase, Path]:
    """The plain HF model (LoRA merged) and tokenizer of a checkpoint, plus its folder."""
    folder = resolve_folder(name_or_path)
    _refuse_remote_code(folder)
    tokenizer = load_tokenizer(Path(adapter) if adapter and (Path(adapter) / "tokenizer.json").exists() else folder)
    placement = {"device_map": device_map} if device_map is not None else {}
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=dtype, trust_remote_code=False, use_safetensors=True, **placement
    )
    if adapter is not None:
        model = merge_adapter(model, Path(adapter))
    if device_map is None:
        model = model.to(device)
    return model.eval(), tokenizer, folder


def merge_adapter(model: torch.nn.Module, adapter: Path) -> torch.nn.Module:
    """Apply a PEFT LoRA adapter folder and merge it into the weights."""
    if not (adapter / "adapter_config.json").exists():
        raise CheckpointError(f"adapter folder {adapter} has no adapter_config.json")
    from peft import PeftModel

    vocab = _adapter_vocab(adapter)
    if vocab and model.get_input_embeddings().weight.shape[0] != vocab:
        model.resize_token_embeddings(vocab)
    return PeftModel.from_pretrained(model, adapter).merge_and_unload()


def _adapter_vocab(adapter: Path) -> int | None:
    """The vocabulary the adapter was trained with: the tokenizer saved beside it (Stage 1 adds the
    debate tags), or a ``vocab_size`` note in adapter_config.json from older checkpoints."""
    if (adapter / "tokenizer.json").exists() or (adapter / "tokenizer_config.json").exists():
        return len(load_tokenizer(adapter))
    return json.loads((adapter / "adapter_config.json").read_text()).get("vocab_size")


def load(
    name_or_path: str | Path,
    backend: Backend = "hf",
    *,
    adapter: str | Path | None = None,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    device_map: str | dict | None = None,
    remote: bool | str | None = None,
) -> HookedModel:
    """Load a checkpoint as a `HookedModel`.

    Args:
        name_or_path: registry name (``tiny-random``, ``smollm2-135m-instruct``, ...), HF folder or .gguf file.
        backend: ``hf`` (forward hooks, the reference), ``tl`` (TransformerLens bridge) or ``nnsight``.
        adapter: optional LoRA adapter folder, merged before the backend sees the model.
        device_map: HF backend only, e.g. ``"auto"`` to spread a large model over several GPUs.
        remote: nnsight backend only, passed to every trace (``True`` for NDIF, ``"local"`` to simulate).

    Example:
        >>> model = load("smollm2-135m-instruct", backend="tl")
        >>> model.generate([model.chat_prompt("What is the capital of France?")], max_new_tokens=12).texts
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not known; use one of {', '.join(BACKENDS)}")
    if device_map is not None and backend != "hf":
        raise ValueError("device_map is only supported by backend='hf'; place the model yourself for tl/nnsight")
    if remote is not None and backend != "nnsight":
        raise ValueError("remote= is only supported by backend='nnsight'")
    model, tokenizer, folder = load_hf(name_or_path, adapter, dtype, device, device_map)
    manifest = Manifest.load(folder)
    name = str(name_or_path) if str(name_or_path) in REGISTRY else (manifest.name if manifest else folder.name)
    return wrap(model, tokenizer, name=name, source=str(folder), backend=backend, remote=remote)


def wrap(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    *,
    name: str = "model",
    source: str = "<memory>",
    backend: Backend = "hf",
    remote: bool | str | None = None,
) -> HookedModel:
    """Wrap an already loaded HF causal LM. TL wraps modules in place: give it an object nobody else uses."""
    config = model.config
    info = ModelInfo(
        name=name,
        n_layers=len(find_blocks(model)),
        d_model=int(config.hidden_size),
        vocab_size=int(model.get_input_embeddings().weight.shape[0]),
        n_ctx=int(getattr(config, "max_position_embeddings", 2048)),
        source=source,
    )
    model.eval()
    if backend == "hf":
        from models.backends.hf import HFHookedModel

        return HFHookedModel(model, tokenizer, info)
    if backend == "tl":
        from models.backends.tl import TLHookedModel

        return TLHookedModel(model, tokenizer, info)
    if backend == "nnsight":
        from models.backends.nnsight import NNsightHookedModel

        return NNsightHookedModel(model, tokenizer, info, remote=remote)
    raise ValueError(f"backend={backend!r} is not known; use one of {', '.join(BACKENDS)}")
