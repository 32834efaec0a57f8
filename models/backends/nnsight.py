"""nnsight 0.8 backend: interventions written inside `trace` / `generate` blocks on the HF module tree.

nnsight requires a trace to touch modules in execution order, so every read and edit of a call is
sorted by (layer, block input, attention, MLP, block output) before the body runs. Decode steps are
addressed with a bounded ``tracer.iter[:n]`` (an unbounded ``tracer.all()`` never returns). When every
row stops early the loop is cut short and the statements after it never run, so the result is saved
in a second invoke, which runs whatever the loop did.
``remote=`` is passed through to every trace, so NDIF-hosted models work the same way
(``remote="local"`` runs the same serialisation path offline).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn

from models.architecture import block_path, find_blocks, sublayer_name
from models.hooked import Batch, HookedModel, ModelInfo, _ReadRequest, apply_at, select
from models.positions import AgentSpan, call_mask
from models.prefix import CachedBatch, decoding_cache
from models.sites import Site

_ORDER = {"resid_pre": 0, "attn_out": 1, "mlp_out": 2, "resid_post": 3}


class NNsightHookedModel(HookedModel):
    """Active interventions live in `self._active` and are replayed inside each trace."""

    backend = "nnsight"
    supports_prompt_cache = True

    def __init__(self, hf_model: nn.Module, tokenizer: Any, info: ModelInfo, remote: bool | str | None = None):
        from nnsight.modeling.transformers import TransformersModel

        super().__init__(hf_model, tokenizer, info)  # type: ignore[arg-type]
        self.nn = TransformersModel(hf_model, tokenizer=tokenizer, task="text-generation")
        self.remote = remote
        self._path = block_path(hf_model).split(".")
        block = find_blocks(hf_model)[0]
        self._attn = sublayer_name(block, "attn")
        self._mlp = sublayer_name(block, "mlp")

    # ----------------------------------------------------------------- envoys
    def _block(self, layer: int) -> Any:
        envoy: Any = self.nn
        for part in self._path:
            envoy = getattr(envoy, part)
        return envoy[layer]

    def _embedding(self) -> Any:
        name = next(n for n, m in self.hf_model.named_modules() if m is self.hf_model.get_input_embeddings())
        envoy: Any = self.nn
        for part in name.split("."):
            envoy = getattr(envoy, part)
        return envoy

    def _trace_kwargs(self) -> dict[str, Any]:
        return {} if self.remote is None else {"remote": self.remote}

    def _sites_in_order(self, reads: list[_ReadRequest]) -> list[Site]:
        sites = {r.site for r in reads} | {r.site for r in self._active}
        return sorted(sites, key=lambda s: (s.layer, _ORDER[s.name]))

    def _visit(self, site: Site, reads: list[_ReadRequest], sink: dict[Site, Tensor]) -> None:
        """Inside a trace: apply the site's interventions, then record its reads (reads see edits)."""
        block = self._block(site.layer)
        envoy = block if site.name in ("resid_pre", "resid_post") else getattr(
            block, self._attn if site.name == "attn_out" else self._mlp
        )
        out: Any = envoy.input if site.name == "resid_pre" else envoy.output
        h = out[0] if isinstance(out, tuple) else out
        state = self._state
        assert state is not None  # set by HookedModel._call
        edited = h
        for r in self._active:
            if r.site == site:
                edited = apply_at(r.spec, edited, state)
        if edited is not h:
            new = (edited, *out[1:]) if isinstance(out, tuple) else edited
            if site.name == "resid_pre":
                envoy.input = new
            else:
                envoy.output = new
        for r in reads:
            if r.site == site:
                sink[site] = select(edited, call_mask(r.positions, state, h.shape[1]), r.reduce, site)

    # ----------------------------------------------------------------- primitives
    def _inputs(self, batch: Batch) -> dict[str, Tensor]:
        return {
            "input_ids": batch.input_ids,
            "attention_mask": batch.attention_mask,
            "position_ids": batch.position_ids,
        }

    def _forward(self, batch: Batch, reads: list[_ReadRequest]) -> tuple[Tensor, dict[Site, Tensor]]:
        sink: dict[Site, Tensor] = {}
        sites = self._sites_in_order(reads)
        state = self._state
        assert state is not None
        state.advance(batch.input_ids.shape[1], batch.input_ids)
        with self.nn.trace(self._inputs(batch), use_cache=False, **self._trace_kwargs()):
            for site in sites:
                self._visit(site, reads, sink)
            logits = self.nn.output.logits.save()
        return torch.as_tensor(logits), sink

    def _generate(self, batch: Batch, **options: Any) -> Tensor:
        sampling = {"temperature": options["temperature"], "top_p": options["top_p"]} if options["do_sample"] else {}
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else options["stop_ids"][0]
        n_steps = options["max_new_tokens"]
        first_chunk = batch.input_ids.shape[1]
        if isinstance(batch, CachedBatch):  # HF decodes only the uncached tail of input_ids
            first_chunk -= batch.cached
            sampling["past_key_values"] = decoding_cache(batch, n_steps, self.hf_model.config)
        sites = self._sites_in_order([])
        state = self._state
        assert state is not None
        inputs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
        with warnings.catch_warnings():
            # nnsight warns when a bounded loop outruns a generation that stopped early; that is expected here.
            warnings.filterwarnings("ignore", message=".*was never reached: the loop asked for a step")
            with self.nn.generate(
                max_new_tokens=n_steps,
                do_sample=options["do_sample"],
                eos_token_id=options["stop_ids"],
                pad_token_id=pad_id,
                **sampling,
                **self._trace_kwargs(),
            ) as tracer:
                with tracer.invoke(inputs):
                    if sites:
                        # Token ids are read (one more intervention point per step) only for positions that
                        # depend on them; every other spec knows a step's positions from its length alone.
                        embed = self._embedding() if any(isinstance(r.spec.positions, AgentSpan)
                                                         for r in self._active) else None
                        for step in tracer.iter[:n_steps]:
                            # the embedding runs before every block, so reading its input keeps execution order
                            state.advance(first_chunk if step == 0 else 1, None if embed is None else embed.input)
                            for site in sites:
                                self._visit(site, [], {})
                with tracer.invoke():  # runs even when the loop above was cut short by an early stop
                    ids = tracer.result.save()
        return torch.as_tensor(ids)

    def _install(self, resolved: list) -> None:
        return None  # replayed from self._active inside each trace

    def _uninstall(self, token: None) -> None:
        return None
