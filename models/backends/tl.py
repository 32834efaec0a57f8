"""TransformerLens 4.x backend: a `TransformerBridge` over the HF model, hooked by TL hook names.

Our site names are TL's names, so a site maps to ``bridge.hook_dict[str(site)]`` directly. The bridge
wraps the HF modules in place, so it must get a model object nobody else uses (the loader passes a
fresh copy), and LoRA adapters must be merged first (a PeftModel is silently ignored or breaks).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from models.hooked import Batch, HookedModel, ModelInfo, _ReadRequest, attach_all, run_all
from models.sites import Site

Transform = Callable[[Tensor], Tensor]
_Handle = tuple[Any, Any]  # (HookPoint, LensHandle)


class TLHookedModel(HookedModel):
    """Hooks added on TL hook points; each context removes exactly its own handles (not `reset_hooks`)."""

    backend = "tl"

    def __init__(self, hf_model: nn.Module, tokenizer: Any, info: ModelInfo):
        from transformer_lens.model_bridge import TransformerBridge

        # TL reloads a tokenizer by name (a hub lookup) unless add_bos_token is set; give it its own
        # copy so our tokenization (which never goes through TL) keeps the checkpoint's BOS behaviour.
        tl_tokenizer = copy.deepcopy(tokenizer)
        tl_tokenizer.add_bos_token = True
        tl_tokenizer.init_kwargs.setdefault("name_or_path", info.name)
        self.bridge = TransformerBridge.boot_transformers(
            info.name, hf_model=hf_model, tokenizer=tl_tokenizer, device=str(next(hf_model.parameters()).device)
        )
        super().__init__(hf_model, tokenizer, info)  # type: ignore[arg-type]

    def _hook(self, name: str, transform: Transform) -> _Handle:
        point = self.bridge.hook_dict[name]
        return point, point.add_hook(lambda activation, hook: transform(activation))

    def _maker(self, name: str, transform: Transform) -> Callable[[], _Handle]:
        return lambda: self._hook(name, transform)

    @staticmethod
    def _remove(handles: list[_Handle]) -> None:
        """Remove exactly these handles, by identity (TL's `remove_hooks` would also drop an outer block's)."""
        run_all(lambda p=point, h=handle: _drop(p, h) for point, handle in handles)

    def _begin_call(self) -> list[_Handle]:
        def track(ids: Tensor) -> Tensor:
            if self._state is not None:
                self._state.advance(ids.shape[1], ids)
            return ids

        return [self._hook("embed.hook_in", track)]  # the embedding's input: token ids

    def _end_call(self, token: list[_Handle]) -> None:
        self._remove(token)

    def _install(self, resolved: list) -> list[_Handle]:
        return attach_all([self._maker(str(r.site), self._steer_fn(r.spec)) for r in resolved], self._remove)

    def _uninstall(self, token: list[_Handle]) -> None:
        self._remove(token)

    def _forward(self, batch: Batch, reads: list[_ReadRequest]) -> tuple[Tensor, dict[Site, Tensor]]:
        recorded: dict[Site, Tensor] = {}
        handles = attach_all([self._maker(str(r.site), self._read_fn(r, recorded)) for r in reads], self._remove)
        try:
            logits = self.bridge(batch.input_ids, attention_mask=batch.attention_mask, return_type="logits")
        finally:
            self._remove(handles)
        return logits, recorded

    def _generate(self, batch: Batch, **options: Any) -> Tensor:
        sampling = {"temperature": options["temperature"], "top_p": options["top_p"]} if options["do_sample"] else {}
        return self.bridge.generate(
            batch.input_ids,
            attention_mask=batch.attention_mask,
            max_new_tokens=options["max_new_tokens"],
            do_sample=options["do_sample"],
            stop_at_eos=True,
            eos_token_id=options["stop_ids"],
            return_type="tokens",
            verbose=False,
            **sampling,
        )


def _drop(point: Any, handle: Any) -> None:
    """Detach one LensHandle from its hook point: the torch hook first, then TL's own record of it."""
    try:
        handle.hook.remove()
    finally:
        kept = [h for h in point.fwd_hooks if h is not handle]
        point.fwd_hooks[:] = kept
