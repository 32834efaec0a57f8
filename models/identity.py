"""What makes two models the same model: the one definition of checkpoint identity.

* `folder_fingerprint`: hash of a checkpoint folder's top-level config/tokenizer JSON and safetensors
  weights (the manifest, which records metrics added later, is left out). Cheap to recompute from disk;
  what manifests record as ``parent_fingerprint``.
* `weights_fingerprint`: hash of a module's actual tensors (names, shapes, dtypes, bytes). Exact for a
  model in memory, so it notices a merged LoRA adapter or an in-place edit that the folder hash cannot.
* `model_fingerprint`: the identity of a loaded model (a `HookedModel` or a plain module): its weights.
  Caches of anything computed *from a loaded model* (activations, directions) key on this one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"


def folder_fingerprint(folder: str | Path) -> str:
    """Hash of a checkpoint folder's config and weight files, so caches notice a changed checkpoint."""
    h = hashlib.sha256()
    root = Path(folder)
    for path in sorted(root.glob("*.json")) + sorted(root.glob("*.safetensors")):
        if path.name == MANIFEST_NAME:
            continue
        h.update(path.name.encode())
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def weights_fingerprint(module: Any) -> str:
    """Hash of a torch module's state dict: every tensor's name, shape, dtype and bytes."""
    import torch

    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(f"{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def model_fingerprint(model: Any) -> str:
    """Identity of a loaded model: the fingerprint of the weights it actually runs with (`HookedModel` or module)."""
    return weights_fingerprint(getattr(model, "hf_model", model))
