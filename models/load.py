"""`load`: any checkpoint source to a `HookedModel` on any backend.

Sources: a registry name (`models.registry`), a local HF folder, a ``.gguf`` file, optionally with a
LoRA adapter folder that is merged into the weights first (TransformerLens cannot see unmerged LoRA).
Weights are read from safetensors only, and remote code is never run.

Everything is checked before the weights are trusted, and every failure is a `CheckpointError` or
`FileFormatError` naming the file, the field and the fix, never a dependency's traceback:

* the arguments (dtype, device, source and adapter types);
* ``config.json``: JSON object (a UTF-8 BOM is fine), ``model_type``, field types, no custom code;
* the safetensors headers against the model that ``config.json`` describes: every weight present,
  none left over, every shape as the config implies (transformers would otherwise drop layers or
  initialise them at random);
* the loaded weights: no NaN or infinity;
* a LoRA adapter against its base: target module shapes, ``base_model_name_or_path`` when it names a
  local checkpoint, and the vocabulary (a resize is allowed only to grow a vocabulary whose first
  tokens are the base tokenizer's);
* the tokenizer: readable, and no token id beyond the embedding.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from models.architecture import find_blocks
from models.errors import CheckpointError, FileFormatError, ModelsError
from models.files import read_object, read_safetensors_header, require_file
from models.hooked import HookedModel, ModelInfo
from models.manifest import Manifest
from models.registry import REGISTRY, build_into_cache, check_gguf_file, convert_gguf, did_you_mean, materialize

Backend = Literal["hf", "tl", "nnsight"]
BACKENDS: tuple[str, ...] = ("hf", "tl", "nnsight")
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64,
}
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
# Config fields that size the weights; each must be a positive integer when the config has it.
SIZE_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "num_key_value_heads", "max_position_embeddings")
_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
             "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
_LAYER = re.compile(r"\.(?:layers|h|blocks)\.(\d+)\.")


# --------------------------------------------------------------------------- arguments

def _as_path(value: Any, what: str) -> Path:
    """A non-empty str or path-like argument as a Path (``""`` would silently mean the current folder)."""
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise CheckpointError(f"{what} must be a registry name, folder or file path; got {value!r}")
    return Path(os.fspath(value)).expanduser()


def resolve_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """A floating torch dtype from a dtype or its name; anything else is refused with the choices."""
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in DTYPES:
        return DTYPES[dtype.removeprefix("torch.")]
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    raise CheckpointError(f"dtype={dtype!r} is not supported; use one of {', '.join(DTYPES)} (or torch.<name>)")


def resolve_device(device: str | torch.device) -> torch.device:
    """A device this torch build and machine actually have; refuses e.g. ``cuda`` on a CPU-only build."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise CheckpointError(f"device={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:1' or 'mps'") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise CheckpointError(f"device={device!r}: this torch build ({torch.__version__}) or machine has no CUDA "
                                  "device; use device='cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise CheckpointError(f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible")
        return dev
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise CheckpointError(f"device={device!r}: MPS is not available on this machine; use device='cpu'")
        return dev
    raise CheckpointError(f"device={device!r}: only cpu, cuda and mps devices are supported")


@contextmanager
def _named(where: Path | str, doing: str) -> Iterator[None]:
    """Turn a dependency's exception into a `CheckpointError` naming `where` and what was being done.

    Used only around calls into transformers / peft / tokenizers after our own checks passed, as the
    last line: their failures on malformed input come in many classes and rarely name the file.
    """
    try:
        yield
    except ModelsError:
        raise
    except Exception as e:  # noqa: BLE001 -- classifying foreign failures is the point
        raise CheckpointError(f"{where}: {doing} failed ({type(e).__name__}: {str(e)[:400]})") from None


# --------------------------------------------------------------------------- sources

def resolve_folder(name_or_path: str | Path) -> Path:
    """A local HF folder for a registry name, folder or GGUF file; clear errors for anything else."""
    path = _as_path(name_or_path, "the checkpoint")
    text = str(name_or_path)
    if text in REGISTRY:
        return materialize(text)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise CheckpointError(f"folder {path} has no config.json; is it a Hugging Face checkpoint folder?")
        return path
    if path.exists() or path.is_symlink():
        require_file(path, "checkpoint file")  # a FIFO, socket or device is named as such
        if path.suffix != ".gguf":
            raise CheckpointError(f"{path} is a file but not a .gguf checkpoint; give its folder (with config.json) "
                                  "or a .gguf file")
        return gguf_folder(path)
    raise CheckpointError(f"unknown checkpoint {text!r}{did_you_mean(text)}: not a folder or .gguf file; known "
                          f"names: {', '.join(sorted(REGISTRY))}")


def gguf_folder(path: Path) -> Path:
    """The converted HF folder of a GGUF file, built once into the cache under a name unique to that file.

    The name carries a hash of the file's resolved path, size and mtime, so two GGUF files with the same
    stem do not share a cache entry, and an edited file is converted again.
    """
    check_gguf_file(path)
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:10]
    return build_into_cache(f"gguf-{path.stem}-{key}", lambda out: convert_gguf(path, out, path.stem))


# --------------------------------------------------------------------------- config

def read_config(folder: Path) -> dict[str, Any]:
    """``config.json`` as a dict, checked for the fields the loader relies on."""
    path = folder / "config.json"
    raw = read_object(path, "config.json")
    if "auto_map" in raw:
        raise CheckpointError(
            f"{path} declares custom code (auto_map); this toolkit never runs trust_remote_code models"
        )
    if not isinstance(raw.get("model_type"), str) or not raw["model_type"]:
        raise CheckpointError(f"{path}: field 'model_type' is missing or not a string; it names the architecture "
                              "(e.g. \"llama\"); restore the config.json saved with the weights")
    return raw


def build_config(folder: Path, raw: dict[str, Any]) -> Any:
    """The transformers config object of `raw` (parsed by us, so a BOM and our JSON checks apply)."""
    from transformers import CONFIG_MAPPING

    path = folder / "config.json"
    model_type = raw["model_type"]
    if model_type not in CONFIG_MAPPING:
        raise CheckpointError(f"{path}: model_type {model_type!r} is not an architecture this transformers knows")
    with _named(path, "reading the config"):
        config = CONFIG_MAPPING[model_type].from_dict(raw)
    for name in SIZE_FIELDS:
        value = raw[name] if name in raw else getattr(config, name, None)  # getattr follows attribute_map aliases
        if (name in raw or value is not None) and not _positive_int(value):
            raise CheckpointError(f"{path}: field {name!r} must be a positive integer, found {value!r}")
    return config


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _skeleton(folder: Path, config: Any) -> torch.nn.Module:
    """The model `config` describes, on the meta device (shapes only, no memory, no initialisation)."""
    with _named(folder / "config.json", "building the model it describes"), torch.device("meta"):
        return AutoModelForCausalLM.from_config(config, trust_remote_code=False)


# --------------------------------------------------------------------------- weights

def weight_files(folder: Path) -> list[Path]:
    """The safetensors files holding the weights (one file, or the shards an index lists)."""
    if (folder / WEIGHTS).exists():
        return [folder / WEIGHTS]
    if (folder / WEIGHTS_INDEX).exists():
        index = read_object(folder / WEIGHTS_INDEX, "weights index")
        weight_map = index.get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map or not all(isinstance(v, str) for v in weight_map.values()):
            raise CheckpointError(f"{folder / WEIGHTS_INDEX}: field 'weight_map' must map tensor names to shard files")
        shards = sorted(set(weight_map.values()))
        if any(Path(s).name != s for s in shards):
            raise CheckpointError(f"{folder / WEIGHTS_INDEX}: shard names must be plain file names in the folder")
        return [folder / s for s in shards]
    others = sorted(p.name for p in folder.glob("*.bin")) + sorted(p.name for p in folder.glob("*.pt*"))
    hint = f" ({', '.join(others)} found: only safetensors are read; convert with save_pretrained)" if others else ""
    raise CheckpointError(f"folder {folder} has no {WEIGHTS} (nor {WEIGHTS_INDEX}){hint}")


def tensor_shapes(path: Path, what: str) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor in a safetensors file, after checking each header entry is consistent."""
    header = read_safetensors_header(path, what)
    shapes: dict[str, tuple[int, ...]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, (begin, end) = entry.get("dtype"), entry.get("shape"), entry["data_offsets"]
        if dtype not in _ITEMSIZE:
            raise FileFormatError(f"{path}: {what} tensor {name!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            raise FileFormatError(f"{path}: {what} tensor {name!r} has a corrupt shape {shape!r}")
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end
                and end - begin == math.prod(shape) * _ITEMSIZE[dtype]):
            raise FileFormatError(f"{path}: {what} tensor {name!r}: data_offsets {[begin, end]} do not fit "
                                  f"shape {shape} of {dtype}; the file is corrupt")
        shapes[name] = tuple(shape)
    return shapes


def folder_shapes(folder: Path) -> dict[str, tuple[tuple[int, ...], Path]]:
    """Name → (shape, file) of every weight of a checkpoint folder."""
    out: dict[str, tuple[tuple[int, ...], Path]] = {}
    for path in weight_files(folder):
        for name, shape in tensor_shapes(path, "weights file").items():
            out[name] = (shape, path)
    return out


def _expected(skeleton: torch.nn.Module) -> tuple[dict[str, tuple[int, ...]], list[set[str]]]:
    """Shapes of every state-dict entry, and the groups of names that share one tensor (tied weights)."""
    shapes = {name: tuple(t.shape) for name, t in skeleton.state_dict().items()}
    groups: dict[int, set[str]] = {}
    for name, param in skeleton.named_parameters(remove_duplicate=False):
        groups.setdefault(id(param), set()).add(name)
    named = set().union(*groups.values()) if groups else set()
    buffers = [{n} for n in shapes if n not in named]
    return shapes, list(groups.values()) + buffers


def _field_for(name: str, want: tuple[int, ...], got: tuple[int, ...], config: Any) -> str:
    """The config field(s) most likely responsible for a weight's shape disagreeing with the file."""
    def show(*fields: str) -> str:
        return ", ".join(f"{f}={getattr(config, f)}" for f in fields if getattr(config, f, None) is not None)

    differing = {w for w, g in zip(want, got) if w != g} if len(want) == len(got) else set(want)
    module = name.rsplit(".", 2)[-2] if name.count(".") >= 1 else name
    if "norm" in module or "ln" in module:
        return show("hidden_size")
    if any(k in name for k in ("embed", "lm_head", "wte")) and want[:1] != got[:1]:
        return show("vocab_size")
    if any(k in name for k in ("attn", "attention")):
        return show("hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim")
    if getattr(config, "intermediate_size", None) in differing:
        return show("intermediate_size")
    return show("hidden_size") or "the size fields"


def _check_tied(folder: Path, config: Any, groups: list[set[str]], found: dict[str, tuple[tuple[int, ...], Path]]) -> None:
    """Weights the config ties (one tensor under several names) must be equal when the file stores them twice.

    transformers silently unties them otherwise, so the model would not be the one the config describes.
    """
    from safetensors import safe_open

    for group in groups:
        stored = sorted(group & found.keys())
        if len(stored) < 2:
            continue
        with _named(folder, "reading tied weights"):
            tensors = []
            for name in stored:
                with safe_open(str(found[name][1]), framework="pt") as f:
                    tensors.append(f.get_tensor(name))
        if any(t.shape != tensors[0].shape or not torch.equal(t, tensors[0]) for t in tensors[1:]):
            raise CheckpointError(
                f"{folder / 'config.json'}: tie_word_embeddings={getattr(config, 'tie_word_embeddings', None)} ties "
                f"{' and '.join(stored)}, but {found[stored[0]][1].name} stores them with different values; set "
                "tie_word_embeddings to false (or restore the config.json saved with these weights)")


def check_weights_match_config(folder: Path, config: Any, skeleton: torch.nn.Module) -> None:
    """Refuse a folder whose weights are not the model its config.json describes (before any weight is read)."""
    found = folder_shapes(folder)
    want, groups = _expected(skeleton)
    prefix = getattr(skeleton, "base_model_prefix", "") + "."
    if prefix != "." and not any(n.startswith(prefix) for n in found):  # saved from the bare base model
        want = {n.removeprefix(prefix): s for n, s in want.items()}
        groups = [{n.removeprefix(prefix) for n in g} for g in groups]
    cfg_path = folder / "config.json"
    file_layers = {int(m.group(1)) for n in found if (m := _LAYER.search("." + n))}
    n_layers = getattr(config, "num_hidden_layers", None)
    if file_layers and n_layers is not None and max(file_layers) + 1 != n_layers:
        raise CheckpointError(
            f"{cfg_path}: num_hidden_layers={n_layers} but {found[next(iter(found))][1].name} holds weights for "
            f"{max(file_layers) + 1} layers; the config belongs to another checkpoint (fix num_hidden_layers or "
            "restore the config.json saved with these weights)")
    for name, (shape, path) in sorted(found.items()):
        if name in want and want[name] != shape:
            raise CheckpointError(
                f"{cfg_path}: weight {name!r} in {path.name} has shape {list(shape)} but config.json "
                f"({_field_for(name, want[name], shape, config)}) makes it {list(want[name])}; the config and the "
                "weights belong to different checkpoints")
    _check_tied(folder, config, groups, found)
    missing = sorted(min(g) for g in groups if not g & found.keys())
    unexpected = sorted(n for n in found if n not in want)
    if missing or unexpected:
        parts = ([f"missing from the weights: {', '.join(missing[:4])}" + (" ..." if len(missing) > 4 else "")]
                 if missing else [])
        parts += ([f"not in the model: {', '.join(unexpected[:4])}" + (" ..." if len(unexpected) > 4 else "")]
                  if unexpected else [])
        raise CheckpointError(f"{folder}: the weights do not match the model config.json describes "
                              f"({'; '.join(parts)}); a missing weight would be initialised at random")


def check_finite(model: torch.nn.Module, where: Path | str, names: set[str] | None = None) -> None:
    """Refuse weights holding NaN or infinity, naming the first such tensor (only `names`, when given).

    A float64 sum is non-finite exactly when some element is (finite fp32/16 weights cannot overflow it), and
    is a single pass without a mask as large as the tensor; the count is only taken on failure.
    """
    # with `names`, tied weights are listed under every name, so a tied lm_head is found by its own name
    params = model.named_parameters(remove_duplicate=names is None)
    for name, t in list(params) + list(model.named_buffers()):
        if names is not None and name not in names:
            continue
        if not t.is_floating_point() or t.device.type == "meta":
            continue
        if not bool(torch.isfinite(t.detach().sum(dtype=torch.float64))):
            bad = int((~torch.isfinite(t.detach())).sum())
            if bad == 0:  # float64 weights near their range can overflow the sum while every element is finite
                continue
            raise CheckpointError(f"{where}: tensor {name!r} holds {bad} NaN or infinite value(s); the checkpoint is "
                                  "corrupt or diverged in training")


# --------------------------------------------------------------------------- tokenizer

def has_tokenizer(folder: Path) -> bool:
    return any((folder / f).exists() for f in TOKENIZER_FILES)


def load_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """Read the folder's own tokenizer; tokenizer.json is loaded as-is (Auto* may swap in another class)."""
    folder = Path(folder)
    for file in TOKENIZER_FILES:
        if (folder / file).exists():
            read_object(folder / file, file)  # named error for a damaged file, before the tokenizers library sees it
    if not has_tokenizer(folder) and not any((folder / f).exists() for f in ("vocab.json", "tokenizer.model")):
        raise CheckpointError(f"folder {folder} has no tokenizer (tokenizer.json or tokenizer_config.json); "
                              "copy the tokenizer saved with the model")
    with _named(folder, "loading the tokenizer"):
        if (folder / "tokenizer.json").exists():
            tok = PreTrainedTokenizerFast.from_pretrained(folder)
        else:
            tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    if len(tok) == 0:
        raise CheckpointError(f"{folder}: the tokenizer has no tokens")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def check_tokenizer_fits(tok: PreTrainedTokenizerBase, model: torch.nn.Module, where: Path) -> None:
    """Refuse a tokenizer that can emit ids beyond the embedding (they would fail at the first forward pass)."""
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tok) > rows:
        raise CheckpointError(
            f"{where}: the tokenizer has {len(tok)} tokens but the model's embedding has {rows} rows; the tokenizer "
            "files belong to another checkpoint (copy the tokenizer that was saved with this model)")


# --------------------------------------------------------------------------- the HF model

def load_hf(
    name_or_path: str | Path,
    adapter: str | Path | None = None,
    dtype: torch.dtype | str = torch.float32,
    device: str | torch.device = "cpu",
    device_map: str | dict | None = None,
) -> tuple[torch.nn.Module, PreTrainedTokenizerBase, Path]:
    """The plain HF model (LoRA merged) and tokenizer of a checkpoint, plus its folder; all checked."""
    torch_dtype = resolve_dtype(dtype)
    target = resolve_device(device) if device_map is None else None
    if device_map is not None and not isinstance(device_map, (str, dict)):
        raise CheckpointError(f"device_map must be a string such as 'auto' or a dict, got {device_map!r}")
    entry = REGISTRY.get(str(name_or_path))
    if entry is not None and entry.base is not None:  # a shipped adapter: its base, with it merged
        if adapter is not None:
            raise CheckpointError(f"{name_or_path} is already an adapter of {entry.base}; load {entry.base} with "
                                  "adapter=... to merge another adapter")
        name_or_path, adapter = entry.base, materialize(entry.name)
    adapter_folder = _adapter_folder(adapter) if adapter is not None else None
    folder = resolve_folder(name_or_path)
    raw = read_config(folder)
    config = build_config(folder, raw)
    check_weights_match_config(folder, config, _skeleton(folder, config))
    tokenizer = load_tokenizer(folder)
    placement = {"device_map": device_map} if device_map is not None else {}
    with _named(folder, "loading the weights"):
        model, info = AutoModelForCausalLM.from_pretrained(
            folder, config=config, dtype=torch_dtype, trust_remote_code=False, use_safetensors=True,
            output_loading_info=True, **placement)
    _check_loading_info(folder, info)
    check_finite(model, folder)
    if adapter_folder is not None:
        model, tokenizer = merge_adapter(model, adapter_folder, tokenizer)
    check_tokenizer_fits(tokenizer, model, adapter_folder or folder)
    if target is not None:
        model = model.to(target)
    return model.eval(), tokenizer, folder


def _check_loading_info(folder: Path, info: dict[str, Any]) -> None:
    """transformers' own report of what it could not place: any entry is an error, never a random init."""
    problems = {k: sorted(map(str, v))[:4] for k, v in info.items() if v}
    if problems:
        raise CheckpointError(f"{folder}: transformers could not load every weight as is ({problems}); the config "
                              "and the weights belong to different checkpoints")


# --------------------------------------------------------------------------- LoRA adapters

def _adapter_folder(adapter: Any) -> Path:
    """The adapter argument as a folder holding ``adapter_config.json`` and ``adapter_model.safetensors``."""
    path = _as_path(adapter, "adapter")
    if not path.is_dir():
        what = "does not exist" if not (path.exists() or path.is_symlink()) else "is not a folder"
        raise CheckpointError(f"adapter {path} {what}; give the folder a PEFT LoRA adapter was saved to")
    if not (path / ADAPTER_CONFIG).exists():
        raise CheckpointError(f"adapter folder {path} has no {ADAPTER_CONFIG}")
    if not (path / ADAPTER_WEIGHTS).exists():
        legacy = " (adapter_model.bin is not read: re-save with safe_serialization)" if (
            path / "adapter_model.bin").exists() else ""
        raise CheckpointError(f"adapter folder {path} has no {ADAPTER_WEIGHTS}{legacy}")
    return path


def merge_adapter(
    model: torch.nn.Module, adapter: Path, base_tokenizer: PreTrainedTokenizerBase
) -> tuple[torch.nn.Module, PreTrainedTokenizerBase]:
    """Check a PEFT LoRA adapter against its base, merge it into the weights; returns the model and its tokenizer.

    The tokenizer is the adapter's own when it saved one (Stage 1 adds the debate tags), else the base's.
    """
    adapter = _adapter_folder(adapter)
    cfg = read_object(adapter / ADAPTER_CONFIG, ADAPTER_CONFIG)
    if cfg.get("peft_type") != "LORA":
        raise CheckpointError(f"{adapter / ADAPTER_CONFIG}: peft_type is {cfg.get('peft_type')!r}; only LoRA "
                              "adapters (peft_type \"LORA\") can be merged")
    shapes = tensor_shapes(adapter / ADAPTER_WEIGHTS, "adapter weights")
    _check_adapter_finite(adapter / ADAPTER_WEIGHTS)
    _check_declared_base(adapter, cfg, model)
    tokenizer = _adapter_tokenizer(adapter, cfg, model, base_tokenizer)
    resized: set[str] = set()
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        # As in training (models.train.sft): the adapter carries the new rows' values, so they start at zero
        # rather than at a random draw (deterministic, and no notice on every load).
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        resized = _embedding_weights(model)
    changed = _check_adapter_shapes(adapter, shapes, model) | resized
    from peft import PeftModel

    with _named(adapter, "merging the LoRA adapter"), warnings.catch_warnings():
        # peft reads a transformers attribute deprecated in 5.x; the notice is theirs, printed on every load
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    # The base was checked before the merge and the adapter's own tensors just now: only the weights the
    # merge wrote can have overflowed, so only those are scanned again (a full pass costs seconds on 135M).
    check_finite(model, adapter, names=changed)
    return model, tokenizer


def _embedding_weights(model: torch.nn.Module) -> set[str]:
    """State-dict names of the input and output embedding weights (what a vocabulary resize rewrites)."""
    modules = {id(m) for m in (model.get_input_embeddings(), model.get_output_embeddings()) if m is not None}
    return {f"{name}.weight" if name else "weight" for name, m in model.named_modules() if id(m) in modules}


def _check_adapter_finite(path: Path) -> None:
    from models.files import load_tensors

    load_tensors(path, "adapter weights", finite=True)


def _check_declared_base(adapter: Path, cfg: dict[str, Any], model: torch.nn.Module) -> None:
    """When ``base_model_name_or_path`` names a checkpoint on this machine, its architecture must be the base's.

    Training paths often no longer exist (a work folder) and hub ids cannot be read offline: those are
    skipped, and the shape checks that follow are what guard the merge.
    """
    declared = cfg.get("base_model_name_or_path")
    if declared is not None and not isinstance(declared, str):
        raise CheckpointError(f"{adapter / ADAPTER_CONFIG}: base_model_name_or_path must be a string, got {declared!r}")
    if not declared:
        return
    from models.registry import find

    folder = find(declared) if declared in REGISTRY else Path(declared)
    if folder is None or not (folder / "config.json").is_file():
        return
    try:
        theirs = read_object(folder / "config.json", "config.json")
    except FileFormatError:
        return
    ours = model.config.to_dict()
    for key in ("model_type", "hidden_size", "num_hidden_layers", "intermediate_size"):
        if key in theirs and key in ours and theirs[key] != ours[key]:
            raise CheckpointError(
                f"{adapter / ADAPTER_CONFIG}: the adapter was trained on {declared} ({key}={theirs[key]!r}) but the "
                f"base given has {key}={ours[key]!r}; load it on the checkpoint it was trained for")


def _adapter_tokenizer(
    adapter: Path, cfg: dict[str, Any], model: torch.nn.Module, base_tok: PreTrainedTokenizerBase
) -> PreTrainedTokenizerBase:
    """The tokenizer the adapter was trained with, refused unless it extends the base tokenizer.

    A vocabulary may only grow (a resize appends rows), and only when the adapter tokenizer's first
    tokens are exactly the base tokenizer's: otherwise every id would mean another token.
    """
    rows = model.get_input_embeddings().weight.shape[0]
    if not has_tokenizer(adapter):
        legacy = cfg.get("vocab_size")
        if legacy is not None and legacy != rows:
            raise CheckpointError(
                f"{adapter / ADAPTER_CONFIG}: vocab_size={legacy!r} but the base embedding has {rows} rows, and the "
                "adapter folder has no tokenizer that says which tokens differ; save the tokenizer beside the adapter")
        return base_tok
    tok = load_tokenizer(adapter)
    n_base = len(base_tok)
    if len(tok) < n_base:
        raise CheckpointError(
            f"{adapter}: the adapter's tokenizer has {len(tok)} tokens, fewer than the base's {n_base}; the adapter "
            "was trained for another base checkpoint")
    ours = base_tok.convert_ids_to_tokens(list(range(n_base)))
    theirs = tok.convert_ids_to_tokens(list(range(n_base)))
    if ours != theirs:
        i = next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
        raise CheckpointError(
            f"{adapter}: the adapter's tokenizer is not an extension of the base's (token id {i} is {theirs[i]!r} "
            f"there but {ours[i]!r} in the base); the adapter was trained for another base checkpoint")
    return tok


_LORA_KEY = re.compile(r"^(?P<module>.+)\.(?P<kind>lora_A|lora_B|lora_embedding_A|lora_embedding_B)(?:\.weight)?$")


def _check_adapter_shapes(adapter: Path, shapes: dict[str, tuple[int, ...]], model: torch.nn.Module) -> set[str]:
    """Every adapter tensor must fit the base module it targets (LoRA A: in_features, B: out_features).

    Returns the base weights the adapter writes to when merged.
    """
    base = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    targets: set[str] = set()
    path = adapter / ADAPTER_WEIGHTS
    if not shapes:
        raise CheckpointError(f"{path}: the adapter holds no tensors")
    for key, shape in shapes.items():
        # peft's trainable-token rows (Stage 1's new tag embeddings) wrap the module as `<m>.token_adapter`
        name = key.removeprefix("base_model.model.").replace(".token_adapter.base_layer.", ".")
        if name.endswith(".token_adapter.trainable_tokens_delta"):
            module = name.removesuffix(".token_adapter.trainable_tokens_delta")
            weight = base.get(f"{module}.weight")
            if weight is None or len(shape) != 2 or shape[1] != weight[-1]:
                raise CheckpointError(f"{path}: tensor {key!r} of shape {list(shape)} does not fit the base's "
                                      f"{module} ({weight and list(weight)}); the adapter was trained for another base")
            targets.add(f"{module}.weight")
            continue
        m = _LORA_KEY.match(name)
        if m is None:  # a fully saved module (modules_to_save) or bias: must match the base tensor
            want = base.get(name)
            if want is None:
                raise CheckpointError(f"{path}: tensor {key!r} targets {name!r}, which the base model does not have; "
                                      "the adapter was trained for another architecture")
            if want != shape:
                raise CheckpointError(f"{path}: tensor {key!r} has shape {list(shape)} but the base's {name} is "
                                      f"{list(want)}; the adapter was trained for another base checkpoint")
            targets.add(name)
            continue
        module, kind = m.group("module"), m.group("kind")
        weight = base.get(f"{module}.weight")
        if weight is None or len(weight) != 2 or len(shape) != 2:
            raise CheckpointError(f"{path}: tensor {key!r} targets module {module!r}, which the base model does not "
                                  "have as a 2-d weight; the adapter was trained for another architecture")
        out_f, in_f = weight
        if kind.startswith("lora_embedding"):  # nn.Embedding weight is (num_embeddings, dim)
            need, axis, label = (out_f, 1, "num_embeddings") if kind.endswith("A") else (in_f, 0, "embedding_dim")
        else:
            need, axis, label = (in_f, 1, "in_features") if kind.endswith("A") else (out_f, 0, "out_features")
        if shape[axis] != need:
            raise CheckpointError(
                f"{path}: tensor {key!r} has shape {list(shape)} but the base's {module} has {label}={need}; the "
                "adapter was trained for another base checkpoint")
        targets.add(f"{module}.weight")
    return targets


# --------------------------------------------------------------------------- the hooked model

def load(
    name_or_path: str | Path,
    backend: Backend = "hf",
    *,
    adapter: str | Path | None = None,
    dtype: torch.dtype | str = torch.float32,
    device: str | torch.device = "cpu",
    device_map: str | dict | None = None,
    remote: bool | str | None = None,
) -> HookedModel:
    """Load a checkpoint as a `HookedModel`.

    Args:
        name_or_path: registry name (``tiny-random``, ``smollm2-135m-instruct``, ...), HF folder or .gguf file.
        backend: ``hf`` (forward hooks, the reference), ``tl`` (TransformerLens bridge) or ``nnsight``.
        adapter: optional LoRA adapter folder, merged before the backend sees the model.
        dtype: ``torch.float32`` (default), ``float16``, ``bfloat16`` or ``float64``, or its name.
        device_map: HF backend only, e.g. ``"auto"`` to spread a large model over several GPUs.
        remote: nnsight backend only, passed to every trace (``True`` for NDIF, ``"local"`` to simulate).

    Raises:
        CheckpointError / FileFormatError: naming the file and what is wrong with it, for every bad input.

    Example:
        >>> model = load("smollm2-135m-instruct", backend="tl")
        >>> model.generate([model.chat_prompt("What is the capital of France?")], max_new_tokens=12).texts
    """
    if backend not in BACKENDS:
        raise CheckpointError(f"backend={backend!r} is not known; use one of {', '.join(BACKENDS)}")
    if device_map is not None and backend != "hf":
        raise CheckpointError("device_map is only supported by backend='hf'; place the model yourself for tl/nnsight")
    if remote is not None and backend != "nnsight":
        raise CheckpointError("remote= is only supported by backend='nnsight'")
    model, tokenizer, folder = load_hf(name_or_path, adapter, dtype, device, device_map)
    manifest = Manifest.load(folder)
    name = str(name_or_path) if str(name_or_path) in REGISTRY else (manifest.name if manifest else folder.name)
    entry = REGISTRY.get(str(name_or_path))  # the name asked for, not a folder's manifest name
    source = f"{folder} + {materialize(name)}" if entry is not None and entry.base is not None else str(folder)
    return wrap(model, tokenizer, name=name, source=source, backend=backend, remote=remote)


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
    raise CheckpointError(f"backend={backend!r} is not known; use one of {', '.join(BACKENDS)}")
