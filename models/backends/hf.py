"""Reference backend: plain PyTorch forward hooks on the HF modules. Fastest, and the one the others are tested against."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from models.architecture import find_blocks, sublayer_name
from models.hooked import Batch, HookedModel, ModelInfo, _ReadRequest, attach_all, run_all
from models.prefix import CachedBatch, decoding_cache
from models.sites import Site

Transform = Callable[[Tensor], Tensor]


class HFHookedModel(HookedModel):
    """Hooks registered with `register_forward_hook`; every handle is owned and removed by its context."""

    backend = "hf"
    supports_prompt_cache = True

    def __init__(self, hf_model: nn.Module, tokenizer: Any, info: ModelInfo):
        super().__init__(hf_model, tokenizer, info)  # type: ignore[arg-type]  # any causal LM module
        self._blocks = find_blocks(hf_model)

    # ----------------------------------------------------------------- hooks
    def _module(self, site: Site) -> nn.Module:
        block = self._blocks[site.layer]
        if site.name in ("resid_pre", "resid_post"):
            return block
        return getattr(block, sublayer_name(block, "attn" if site.name == "attn_out" else "mlp"))

    def _hook(self, site: Site, transform: Transform) -> RemovableHandle:
        """Hook `transform` onto the tensor that `site` names, whatever container the module returns."""
        module = self._module(site)
        if site.name == "resid_pre":

            def pre_hook(_mod: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
                if args:
                    return (transform(args[0]), *args[1:]), kwargs
                return args, {**kwargs, "hidden_states": transform(kwargs["hidden_states"])}

            return module.register_forward_pre_hook(pre_hook, with_kwargs=True)

        def post_hook(_mod: nn.Module, _args: tuple, output: Any) -> Any:
            if isinstance(output, tuple):  # attention returns (out, weights); older blocks return tuples
                return (transform(output[0]), *output[1:])
            return transform(output)

        return module.register_forward_hook(post_hook)

    def _begin_call(self) -> RemovableHandle:
        embed = self.hf_model.get_input_embeddings()

        def track(_mod: nn.Module, args: tuple) -> None:
            if self._state is not None:
                self._state.advance(args[0].shape[1], args[0])

        return embed.register_forward_pre_hook(track)

    def _end_call(self, token: RemovableHandle) -> None:
        token.remove()

    def _install(self, resolved: list) -> list[RemovableHandle]:
        # `_steer_fn` is a factory, so each hook binds its own spec (a loop closure would share the variable).
        return attach_all([self._maker(r.site, self._steer_fn(r.spec)) for r in resolved], self._uninstall)

    def _maker(self, site: Site, transform: Transform) -> Callable[[], RemovableHandle]:
        return lambda: self._hook(site, transform)

    def _uninstall(self, token: list[RemovableHandle]) -> None:
        run_all(handle.remove for handle in token)

    # ----------------------------------------------------------------- running
    def _run(self, batch: Batch, reads: list[_ReadRequest], stop_after: int | None = None) -> tuple[Any, dict[Site, Tensor]]:
        """One forward pass with the reads hooked; with `stop_after`, it ends once that block has run."""
        recorded: dict[Site, Tensor] = {}
        makers = [self._maker(r.site, self._read_fn(r, recorded)) for r in reads]
        if stop_after is not None:  # attached last, so it runs after the reads on that block
            makers.append(lambda: self._blocks[stop_after].register_forward_hook(_stop))
        handles = attach_all(makers, self._uninstall)
        try:
            out = self._call_hf(batch, use_cache=False)
        except _ReadsDone:
            out = None
        finally:
            self._uninstall(handles)
        return out, recorded

    def _forward(self, batch: Batch, reads: list[_ReadRequest]) -> tuple[Tensor, dict[Site, Tensor]]:
        out, recorded = self._run(batch, reads)
        return out.logits, recorded

    def _read(self, batch: Batch, reads: list[_ReadRequest]) -> dict[Site, Tensor]:
        """Stops after the last read block: later blocks and the logits (a vocabulary-wide matmul per
        token) are never computed for a read."""
        return self._run(batch, reads, stop_after=max(r.site.layer for r in reads))[1]

    def _generate(self, batch: Batch, **options: Any) -> Tensor:
        sampling = {"temperature": options["temperature"], "top_p": options["top_p"]} if options["do_sample"] else {}
        if isinstance(batch, CachedBatch):  # HF decodes only the uncached tail of input_ids
            sampling["past_key_values"] = decoding_cache(batch, options["max_new_tokens"], self.hf_model.config)
        return self.hf_model.generate(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            max_new_tokens=options["max_new_tokens"],
            do_sample=options["do_sample"],
            eos_token_id=options["stop_ids"],
            pad_token_id=self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else options["stop_ids"][0],
            **sampling,
        )


class _ReadsDone(Exception):
    """Raised by the hook after the last read block, to end a forward pass whose remaining work no one reads."""


def _stop(_mod: nn.Module, _args: tuple, _output: Any) -> None:
    raise _ReadsDone
