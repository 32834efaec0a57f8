"""Fuzz `models.load`: malformed checkpoint folders, files, adapters and arguments, seeded (random.Random(0)).

Every case must end in a named project error (`ModelsError`), never a dependency's traceback, a silent
load or a hang; and no temporary file or folder may be left in the cache or in a checkpoint folder.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from tests.fuzz.outcomes import Tally
from safetensors.torch import load_file, save_file

from models.files import is_temp_name
from models.load import load_hf

BAD_VALUES = ["abc", -1, 0, 1.5, None, True, [], {}, "128", 10**12]
SIZE_FIELDS = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "num_key_value_heads"]


@pytest.fixture(scope="module")
def adapter_dir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small LoRA adapter of the tiny model, saved with its tokenizer."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from models.load import load_tokenizer

    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_dir),
                                LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    out = tmp_path_factory.mktemp("fuzz-adapter") / "lora"
    peft_model.save_pretrained(out)
    load_tokenizer(tiny_dir).save_pretrained(out)
    return out


def _temp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if is_temp_name(p)]


class Cases:
    """Builds one corrupted copy per case under `root` and runs `load_hf` on it through the tally."""

    def __init__(self, tiny_dir: Path, adapter_dir: Path, root: Path, tally: Tally) -> None:
        self.tiny, self.adapter, self.root, self.tally = tiny_dir, adapter_dir, root, tally
        self.n = 0

    def copy(self, source: Path) -> Path:
        self.n += 1
        dest = self.root / f"case{self.n:03d}"
        shutil.copytree(source, dest)
        return dest

    def folder(self, label: str, corrupt: Callable[[Path], object]) -> None:
        folder = self.copy(self.tiny)
        corrupt(folder)
        self.tally.check(label, lambda: load_hf(folder))

    def adapter_case(self, label: str, corrupt: Callable[[Path], object], base: Path | None = None) -> None:
        adapter = self.copy(self.adapter)
        corrupt(adapter)
        self.tally.check(label, lambda: load_hf(base or self.tiny, adapter=adapter))

    def call(self, label: str, fn: Callable[[], object]) -> None:
        self.tally.check(label, fn)


def _truncate(path: Path, at: int) -> None:
    path.write_bytes(path.read_bytes()[:at])


def _flip(path: Path, rng: random.Random, lo: int, hi: int, n: int = 3) -> None:
    data = bytearray(path.read_bytes())
    for _ in range(n):
        i = rng.randrange(lo, min(hi, len(data)))
        data[i] = rng.choice([b for b in range(256) if b != data[i]])
    path.write_bytes(bytes(data))


def _edit_config(folder: Path, edit: Callable[[dict], object], name: str = "config.json") -> None:
    config = json.loads((folder / name).read_text())
    edit(config)
    (folder / name).write_text(json.dumps(config))


def _edit_tensor(path: Path, edit: Callable[[dict[str, torch.Tensor], str], object], rng: random.Random) -> None:
    tensors = load_file(str(path))
    name = rng.choice(sorted(tensors))
    edit(tensors, name)
    save_file(tensors, str(path))


def _swap_ids(vocab: dict[str, int], rng: random.Random) -> None:
    a, b = rng.sample(sorted(vocab), 2)
    vocab[a], vocab[b] = vocab[b], vocab[a]


def _replace_all(tensors: dict[str, torch.Tensor], new: dict[str, torch.Tensor]) -> None:
    tensors.clear()
    tensors.update(new)


def _header_len(path: Path) -> int:
    return 8 + int.from_bytes(path.read_bytes()[:8], "little")


def test_fuzz_load(tiny_dir: Path, adapter_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(0)
    cache = tmp_path / "cache"
    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(cache))
    work = tmp_path / "cases"
    work.mkdir()
    tally = Tally("load")
    cases = Cases(tiny_dir, adapter_dir, work, tally)
    weights = tiny_dir / "model.safetensors"
    size, header = weights.stat().st_size, _header_len(weights)

    # -- the weights file: truncated, header bytes flipped, NaN / inf, wrong shapes, extra and missing tensors
    for at in sorted(rng.randrange(0, size) for _ in range(8)):
        cases.folder(f"model.safetensors truncated at {at}", lambda f, at=at: _truncate(f / "model.safetensors", at))
    for i in range(8):
        cases.folder(f"model.safetensors header flip #{i}",
                     lambda f: _flip(f / "model.safetensors", rng, 0, header))
    for value in (float("nan"), float("inf"), float("-inf")):
        cases.folder(f"weight set to {value}", lambda f, v=value: _edit_tensor(
            f / "model.safetensors", lambda t, n: t[n].view(-1).__setitem__(rng.randrange(t[n].numel()), v), rng))
    cases.folder("a weight with a wrong shape", lambda f: _edit_tensor(
        f / "model.safetensors", lambda t, n: t.__setitem__(n, torch.zeros(*[d + 1 for d in t[n].shape])), rng))
    cases.folder("a weight deleted", lambda f: _edit_tensor(f / "model.safetensors", lambda t, n: t.pop(n), rng))
    cases.folder("an extra weight", lambda f: _edit_tensor(
        f / "model.safetensors", lambda t, n: t.__setitem__("model.extra.weight", torch.zeros(3)), rng))
    cases.folder("model.safetensors is empty", lambda f: (f / "model.safetensors").write_bytes(b""))
    cases.folder("model.safetensors is a folder", lambda f: ((f / "model.safetensors").unlink(),
                                                              (f / "model.safetensors").mkdir()))

    # -- config.json: not JSON, not an object, no model_type, wrong types, sizes that disagree with the weights
    cases.folder("config.json truncated", lambda f: _truncate(f / "config.json", rng.randrange(1, 200)))
    cases.folder("config.json is a list", lambda f: (f / "config.json").write_text("[1, 2]"))
    cases.folder("config.json is not UTF-8", lambda f: (f / "config.json").write_bytes(b"\xff\xfe{"))
    cases.folder("config.json has NaN", lambda f: (f / "config.json").write_text('{"model_type": "llama", "x": NaN}'))
    cases.folder("config.json without model_type", lambda f: _edit_config(f, lambda c: c.pop("model_type")))
    cases.folder("config.json model_type unknown", lambda f: _edit_config(f, lambda c: c.update(model_type="nope")))
    cases.folder("config.json model_type not causal", lambda f: _edit_config(f, lambda c: c.update(model_type="bert")))
    cases.folder("config.json model_type a number", lambda f: _edit_config(f, lambda c: c.update(model_type=3)))
    for _ in range(8):
        field, value = rng.choice(SIZE_FIELDS), rng.choice(BAD_VALUES)
        cases.folder(f"config.json {field}={value!r}", lambda f, k=field, v=value: _edit_config(f, lambda c: c.update({k: v})))
    for field, value in [("num_hidden_layers", 2), ("num_hidden_layers", 6), ("hidden_size", 64), ("vocab_size", 600),
                         ("intermediate_size", 256), ("num_key_value_heads", 4), ("tie_word_embeddings", True)]:
        cases.folder(f"config.json {field}={value} disagrees with the weights",
                     lambda f, k=field, v=value: _edit_config(f, lambda c: c.update({k: v})))

    # -- deleted files and broken tokenizers
    for name in ("config.json", "model.safetensors"):
        cases.folder(f"{name} deleted", lambda f, n=name: (f / n).unlink())
    cases.folder("tokenizer deleted", lambda f: [(f / n).unlink() for n in ("tokenizer.json", "tokenizer_config.json")])
    cases.folder("tokenizer.json truncated", lambda f: _truncate(f / "tokenizer.json", rng.randrange(1, 5000)))
    cases.folder("tokenizer.json bytes flipped", lambda f: _flip(f / "tokenizer.json", rng, 0, 4000, n=20))
    cases.folder("tokenizer.json is a list", lambda f: (f / "tokenizer.json").write_text("[]"))
    cases.folder("tokenizer.json model has no vocab", lambda f: _edit_config(
        f, lambda c: c["model"].update(vocab="x"), "tokenizer.json"))
    cases.folder("tokenizer_config.json is not JSON", lambda f: (f / "tokenizer_config.json").write_text("{oops"))
    cases.folder("tokenizer larger than the embedding", lambda f: _edit_config(
        f, lambda c: c["model"]["vocab"].update({f"tok{i}": 10_000 + i for i in range(3)}), "tokenizer.json"))

    # -- adapters: missing or broken files, wrong type, wrong shapes, another tokenizer, NaN
    cases.adapter_case("adapter_config.json deleted", lambda a: (a / "adapter_config.json").unlink())
    cases.adapter_case("adapter_config.json not JSON", lambda a: _truncate(a / "adapter_config.json", 30))
    cases.adapter_case("adapter peft_type PROMPT", lambda a: _edit_config(
        a, lambda c: c.update(peft_type="PROMPT_TUNING"), "adapter_config.json"))
    cases.adapter_case("adapter base_model_name_or_path a number", lambda a: _edit_config(
        a, lambda c: c.update(base_model_name_or_path=7), "adapter_config.json"))
    cases.adapter_case("adapter weights deleted", lambda a: (a / "adapter_model.safetensors").unlink())
    for at in sorted(rng.randrange(0, (adapter_dir / "adapter_model.safetensors").stat().st_size) for _ in range(3)):
        cases.adapter_case(f"adapter weights truncated at {at}",
                           lambda a, at=at: _truncate(a / "adapter_model.safetensors", at))
    cases.adapter_case("adapter weight NaN", lambda a: _edit_tensor(
        a / "adapter_model.safetensors", lambda t, n: t[n].view(-1).__setitem__(0, float("nan")), rng))
    cases.adapter_case("adapter LoRA A with wrong in_features", lambda a: _edit_tensor(
        a / "adapter_model.safetensors", lambda t, n: t.update(
            {k: torch.zeros(v.shape[0], v.shape[1] + 8) if "lora_A" in k else v for k, v in t.items()}), rng))
    cases.adapter_case("adapter LoRA B with wrong out_features", lambda a: _edit_tensor(
        a / "adapter_model.safetensors", lambda t, n: t.update(
            {k: torch.zeros(v.shape[0] * 2, v.shape[1]) if "lora_B" in k else v for k, v in t.items()}), rng))
    cases.adapter_case("adapter targets a layer the base lacks", lambda a: _edit_tensor(
        a / "adapter_model.safetensors", lambda t, n: _replace_all(
            t, {k.replace("layers.0.", "layers.9."): v for k, v in t.items()}), rng))
    cases.adapter_case("adapter tokenizer is another vocabulary", lambda a: _edit_config(
        a, lambda c: c["model"].update(vocab={f"{k}x": v for k, v in c["model"]["vocab"].items()}), "tokenizer.json"))
    cases.adapter_case("adapter tokenizer with two token ids swapped", lambda a: _edit_config(
        a, lambda c: _swap_ids(c["model"]["vocab"], rng), "tokenizer.json"))
    cases.adapter_case("adapter tokenizer smaller than the base", lambda a: _edit_config(
        a, lambda c: c["model"].update(vocab=dict(list(c["model"]["vocab"].items())[:100]), merges=[]),
        "tokenizer.json"))
    cases.adapter_case("adapter without tokenizer, legacy vocab_size differs", lambda a: (
        [(a / n).unlink() for n in ("tokenizer.json", "tokenizer_config.json")],
        _edit_config(a, lambda c: c.update(vocab_size=700), "adapter_config.json")))
    cases.adapter_case("adapter_config.json is a FIFO", lambda a: ((a / "adapter_config.json").unlink(),
                                                                   os.mkfifo(a / "adapter_config.json")))

    # -- arguments and odd paths
    fifo = work / "fifo"
    os.mkfifo(fifo)
    not_gguf = work / "weights.bin"
    not_gguf.write_bytes(os.urandom(64))
    fake_gguf = work / "fake.gguf"
    fake_gguf.write_bytes(os.urandom(64))
    bad_gguf = work / "broken.gguf"
    bad_gguf.write_bytes(b"GGUF" + bytes(rng.randrange(256) for _ in range(200)))
    short_gguf = work / "short.gguf"
    short_gguf.write_bytes(b"GGUF\x03\x00\x00\x00")
    for label, fn in [
        ("dtype int8", lambda: load_hf(tiny_dir, dtype=torch.int8)),
        ("dtype 'fp8'", lambda: load_hf(tiny_dir, dtype="fp8")),
        ("dtype 3", lambda: load_hf(tiny_dir, dtype=3)),  # type: ignore[arg-type]
        ("device cuda on a CPU build", lambda: load_hf(tiny_dir, device="cuda")),
        ("device 'gpu0'", lambda: load_hf(tiny_dir, device="gpu0")),
        ("device 5.5", lambda: load_hf(tiny_dir, device=5.5)),  # type: ignore[arg-type]
        ("device_map 3", lambda: load_hf(tiny_dir, device_map=3)),  # type: ignore[arg-type]
        ("source None", lambda: load_hf(None)),  # type: ignore[arg-type]
        ("source ''", lambda: load_hf("")),
        ("source 42", lambda: load_hf(42)),  # type: ignore[arg-type]
        ("source is a FIFO", lambda: load_hf(fifo)),
        ("source is a file that is not .gguf", lambda: load_hf(not_gguf)),
        ("source .gguf without the magic", lambda: load_hf(fake_gguf)),
        ("source .gguf corrupt after the magic", lambda: load_hf(bad_gguf)),
        ("source .gguf truncated", lambda: load_hf(short_gguf)),
        ("source does not exist", lambda: load_hf(work / "nothing-here")),
        ("adapter is a file", lambda: load_hf(tiny_dir, adapter=not_gguf)),
        ("adapter is a FIFO", lambda: load_hf(tiny_dir, adapter=fifo)),
        ("adapter 3", lambda: load_hf(tiny_dir, adapter=3)),  # type: ignore[arg-type]
        ("adapter ''", lambda: load_hf(tiny_dir, adapter="")),
    ]:
        cases.call(label, fn)

    assert cases.n + 20 >= 50 and sum(tally.counts.values()) >= 80
    leftovers = _temp_leftovers(tmp_path)
    assert leftovers == [], f"temporary files left behind: {leftovers}"
    assert not cache.exists() or not any(p.name.startswith("gguf-") for p in cache.iterdir())
    tally.assert_clean()
