"""The hooked-model interface: one API over the HF-hook, TransformerLens and nnsight backends.

A `HookedModel` tokenizes (left padding, so every row's prompt ends at the same position), runs
forward passes, reads activations at named sites (see `models.sites`) and generates. Interventions
are installed with the `intervene` context manager, which always removes exactly what it installed,
even when the body raises or when contexts nest at one site.

Arguments are checked once, at this boundary, against the batch about to run (positions inside each
row, one alpha per row), so a bad value fails before any forward pass instead of steering nothing.

Many generations of one prompt (an alpha sweep, control directions) need its keys and values only
once: `prefill` computes them and `PromptCache.rows` decodes any number of rows from them (see
`models.prefix`; hf and nnsight backends).

Example:
    >>> model = load("tiny-random", backend="hf")
    >>> acts = model.activations(["1+2*3 ="], sites=["blocks.1.hook_resid_post"], positions="last")
    >>> with model.intervene(Intervention("blocks.1.hook_resid_post", v, alpha=-4.0, positions="generated")):
    ...     out = model.generate(["1+2*3 ="], max_new_tokens=8)
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, SupportsIndex, TypeVar

import torch
from torch import Tensor
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from models.batch import Batch, check_ids
from models.errors import CallError, InterventionError
from models.interventions import Intervention, ResolvedIntervention, apply_intervention
from models.positions import (
    CallState, Positions, call_mask, check_positions_fit, chunk_coverage, validate_positions,
)
from models.prefix import CachedBatch, PromptCache, check_unwritten
from models.sites import Site, SiteLike, parse_site
from models.vocab import plain_chat

Inputs = str | Sequence[str] | Tensor
Reduce = Literal["mean"] | None
T = TypeVar("T")


def run_all(steps: Iterable[Callable[[], object]]) -> None:
    """Run every cleanup step even if an earlier one raises, then re-raise the first error.

    A cleanup that stops at its first failure leaves the later hooks installed, and a leaked hook
    silently steers every later forward pass.
    """
    first: BaseException | None = None
    for step in steps:
        try:
            step()
        except BaseException as e:  # noqa: BLE001 -- re-raised below, after the other steps ran
            first = first or e
    if first is not None:
        raise first


def attach_all(makers: Iterable[Callable[[], T]], remove: Callable[[list[T]], None]) -> list[T]:
    """Attach hooks all-or-nothing: if one fails, the ones already attached are removed before raising."""
    handles: list[T] = []
    try:
        for make in makers:
            handles.append(make())
    except BaseException:
        remove(handles)
        raise
    return handles


@dataclass(frozen=True)
class ModelInfo:
    """What a checkpoint is: shape, and where it came from."""

    name: str
    n_layers: int
    d_model: int
    vocab_size: int
    n_ctx: int
    source: str  # folder, registry name or "<memory>"


@dataclass
class Generation:
    """Result of `HookedModel.generate`; token counts are per row, never per padded batch."""

    texts: list[str]
    new_token_ids: list[list[int]]
    n_prompt_tokens: list[int]
    sequences: Tensor = field(repr=False)  # [batch, prompt_len + new], left-padded prompt

    @property
    def n_new_tokens(self) -> list[int]:
        return [len(ids) for ids in self.new_token_ids]


@dataclass(frozen=True)
class _ReadRequest:
    site: Site
    positions: Positions
    reduce: Reduce


class HookedModel(ABC):
    """Backend-neutral hooked model. Subclasses implement the four `_` primitives."""

    backend: ClassVar[str]
    supports_prompt_cache: ClassVar[bool] = False  # `prefill` and decoding from a `CachedBatch`

    def __init__(self, hf_model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, info: ModelInfo):
        self.hf_model = hf_model
        self.tokenizer = tokenizer
        self.info = info
        # One entry per open `intervene` block, keyed by an object only that block holds, so nested
        # blocks at one site (even with the same Intervention) remove exactly their own entry.
        self._installed: dict[object, list[ResolvedIntervention]] = {}
        self._state: CallState | None = None

    def __repr__(self) -> str:
        i = self.info
        return f"{type(self).__name__}({i.name!r}, layers={i.n_layers}, d_model={i.d_model}, source={i.source!r})"

    # ----------------------------------------------------------------- inputs
    @property
    def _active(self) -> list[ResolvedIntervention]:
        """Every installed intervention, outermost block first (the order hooks run in)."""
        return [r for resolved in self._installed.values() for r in resolved]

    @property
    def device(self) -> torch.device:
        return next(self.hf_model.parameters()).device

    def tokenize(self, inputs: Inputs, add_special_tokens: bool = True) -> Batch:
        """Tokenize text (or wrap token ids) into a left-padded `Batch` on the model's device."""
        if isinstance(inputs, Tensor):
            if inputs.ndim not in (1, 2) or inputs.numel() == 0:
                raise CallError(f"token ids must be a non-empty [pos] or [batch, pos] tensor, got shape {tuple(inputs.shape)}")
            check_ids(inputs, self.info.vocab_size)
            ids = inputs.unsqueeze(0) if inputs.ndim == 1 else inputs
            return self._fits_context(Batch(ids.to(self.device), torch.ones_like(ids).to(self.device)))
        if isinstance(inputs, Batch):
            raise CallError("tokenize() got a Batch, which is already tokenized; pass it to forward/activations/generate")
        if not isinstance(inputs, (str, Sequence)):
            raise CallError(f"inputs must be a str, a list of str or a tensor of token ids, got {type(inputs).__name__}")
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        if not texts:
            raise CallError("inputs is empty; pass at least one prompt")
        if not all(isinstance(t, str) for t in texts):
            bad = next(i for i, t in enumerate(texts) if not isinstance(t, str))
            raise CallError(f"inputs[{bad}] is a {type(texts[bad]).__name__}, not a str")
        self.tokenizer.padding_side = "left"
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=add_special_tokens)
        if enc["input_ids"].shape[1] == 0:
            raise CallError("every prompt tokenized to zero tokens; pass non-empty text or add_special_tokens=True")
        return self._fits_context(Batch(enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device)))

    def _fits_context(self, batch: Batch, new_tokens: int = 0) -> Batch:
        n = batch.input_ids.shape[1]
        if n + new_tokens > self.info.n_ctx:
            raise CallError(
                f"a prompt has {n} tokens but the model's context is {self.info.n_ctx}"
                if new_tokens == 0
                else f"prompt ({n} tokens) + max_new_tokens ({new_tokens}) exceeds the model's context of "
                f"{self.info.n_ctx} tokens"
            )
        return batch

    def _batch(self, inputs: Inputs | Batch) -> Batch:
        """The call's `Batch`: tokenized text, or a caller-built one checked for left padding."""
        if isinstance(inputs, Batch):
            inputs.check(self.info.vocab_size)
            return self._fits_context(inputs)
        return self.tokenize(inputs)

    def _check_active(self, batch: Batch, horizon: int) -> None:
        """Once per call: every installed intervention fits this batch (alpha rows, positions in range)."""
        lengths = batch.lengths
        for r in self._active:
            r.spec.check_batch(len(lengths))
            check_positions_fit(r.spec.positions, lengths, horizon, what=f"intervention at {r.site}")

    def chat_prompt(self, user: str, system: str | None = None) -> str:
        """Format one user turn (and optional system line) with the tokenizer's chat template, if any."""
        if getattr(self.tokenizer, "chat_template", None):
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": user}
            ]
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return plain_chat(user, system)

    def site(self, spec: SiteLike) -> Site:
        """Parse and range-check a site against this model."""
        return parse_site(spec, self.info.n_layers)

    # ----------------------------------------------------------------- running
    @torch.no_grad()
    def forward(self, inputs: Inputs | Batch) -> Tensor:
        """Logits ``[batch, pos, vocab]`` with the active interventions applied."""
        batch = self._batch(inputs)
        self._check_active(batch, horizon=0)
        with self._call(batch):
            logits, _ = self._forward(batch, [])
        return logits

    @torch.no_grad()
    def activations(
        self,
        inputs: Inputs | Batch,
        sites: Sequence[SiteLike],
        positions: Positions = "all",
        reduce: Reduce = None,
    ) -> dict[str, Tensor]:
        """Read activations at `sites`, keyed by TL site name, as detached CPU float32 snapshots.

        Returns ``[batch, n_selected, d_model]`` per site (``[batch, d_model]`` with ``reduce="mean"``).
        Reads see the interventions active at the time (record inside `intervene` to read steered values).
        """
        if isinstance(sites, (str, Site, tuple)) and _looks_like_one_site(sites) or not isinstance(sites, Iterable):
            raise CallError(f"sites must be a list of site names, got {sites!r}; wrap one site in a list")
        sites = list(sites)
        if not sites:
            raise CallError("sites is empty; name at least one site, e.g. 'blocks.0.hook_resid_post'")
        if reduce not in (None, "mean"):
            raise CallError(f"reduce={reduce!r} is not known; use None (every selected token) or 'mean'")
        validate_positions(positions)
        requests = [_ReadRequest(self.site(s), positions, reduce) for s in sites]
        batch = self._batch(inputs)
        check_positions_fit(positions, batch.lengths, what="activations(positions=...)")
        self._check_active(batch, horizon=0)
        with self._call(batch):
            recorded = self._read(batch, requests)
        return {str(r.site): recorded[r.site] for r in requests}

    @torch.no_grad()
    def generate(
        self,
        inputs: Inputs | Batch,
        max_new_tokens: int = 32,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop_token_ids: Sequence[int] | None = None,
    ) -> Generation:
        """Greedy (default) or sampled continuation with the active interventions applied at every step.

        An installed int position k >= 0 may name a token still to be generated, so positions are
        checked against each row's prompt length + `max_new_tokens` here.
        """
        _check_generate_options(max_new_tokens, do_sample, temperature, top_p, seed)
        stops = self._stop_ids(stop_token_ids)
        batch = self._fits_context(self._batch(inputs), max_new_tokens)
        self._check_active(batch, horizon=max_new_tokens)
        if isinstance(batch, CachedBatch):
            self._check_cached(batch)
        options = dict(
            max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature, top_p=top_p, stop_ids=stops
        )
        rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
        with rng, self._call(batch):
            if seed is not None:
                torch.manual_seed(seed)
            sequences = self._generate(batch, **options)
        return self._finish(batch, sequences, stops)

    @torch.no_grad()
    def prefill(self, inputs: Inputs | Batch, upto: int | None = None) -> PromptCache:
        """Compute the prompts' keys and values once, for many generations to decode from (`PromptCache.rows`).

        Caches the first `upto` padded positions (default: all but the last token). The prompts run
        unsteered, one at a time without padding (padding would force a slower attention kernel), so
        call it outside `intervene` blocks; a generation from the cache refuses interventions that would
        write to the cached positions.

        Example:
            >>> cache = model.prefill(prompts)
            >>> with steer(model, v, alpha=torch.tensor([-2.0, -2.0, 2.0, 2.0])):
            ...     out = model.generate(cache.rows([0, 1, 0, 1]), max_new_tokens=24)
        """
        self._require_prompt_cache()
        if self._active:
            raise CallError("prefill() runs the prompts unsteered; call it outside intervene()/steer() blocks "
                            "(steering at generated positions never touches the cached prompt)")
        batch = self._batch(inputs)
        if isinstance(batch, CachedBatch):
            raise CallError("prefill() got a CachedBatch, which is already cached; pass the prompts")
        n = batch.input_ids.shape[1] - 1 if upto is None else upto
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n < batch.input_ids.shape[1]:
            raise CallError(f"upto must be an int in 1..{batch.input_ids.shape[1] - 1} (the padded prompt length - 1), got {upto!r}")
        if n <= int(batch.pad.max()):
            raise CallError(f"upto={n} leaves a row with no real token in the cached part (it has {int(batch.pad.max())} pads)")
        layers: list[tuple[Tensor, Tensor]] = []
        for row, pad in enumerate(batch.pad.tolist()):
            ids = batch.input_ids[row : row + 1, pad:n]
            one = Batch(ids, torch.ones_like(ids))
            with self._call(one):
                computed = self._prefill(one)
            if not layers:  # zeros under the padding: masked keys must still be finite
                layers = [(k.new_zeros(len(batch.pad), *k.shape[1:2], n, k.shape[3]),
                           v.new_zeros(len(batch.pad), *v.shape[1:2], n, v.shape[3])) for k, v in computed]
            for (keys, values), (k, v) in zip(layers, computed):
                keys[row, :, pad:n], values[row, :, pad:n] = k[0], v[0]
        return PromptCache(batch, n, layers)

    def _require_prompt_cache(self) -> None:
        if not self.supports_prompt_cache:
            raise CallError(f"the {self.backend} backend cannot decode from a prompt cache; use the hf or nnsight backend")

    def _check_cached(self, batch: CachedBatch) -> None:
        self._require_prompt_cache()
        for r in self._active:
            check_unwritten(r.spec.positions, batch, what=f"intervention at {r.site}")

    def _finish(self, batch: Batch, sequences: Tensor, stops: list[int]) -> Generation:
        prompt_len = batch.input_ids.shape[1]
        new_ids: list[list[int]] = []
        texts: list[str] = []
        for row in sequences[:, prompt_len:].tolist():
            cut = next((i + 1 for i, t in enumerate(row) if t in stops), len(row))
            kept = row[:cut]
            new_ids.append(kept)
            body = kept[:-1] if kept and kept[-1] in stops else kept
            texts.append(self.tokenizer.decode(body, skip_special_tokens=False))
        return Generation(texts, new_ids, batch.lengths, sequences.cpu())

    def _stop_ids(self, stop_token_ids: Sequence[int] | None) -> list[int]:
        """The ids that end a row: as given, or the tokenizer's EOS when none (or an empty list) is given."""
        if stop_token_ids is None or (isinstance(stop_token_ids, Sequence) and len(stop_token_ids) == 0):
            return [self.tokenizer.eos_token_id]
        if isinstance(stop_token_ids, (str, bytes)) or not isinstance(stop_token_ids, Iterable):
            raise CallError(f"stop_token_ids must be a list of token ids, got {stop_token_ids!r}")
        return [_token_id("stop_token_ids", t, self.info.vocab_size) for t in stop_token_ids]

    # ----------------------------------------------------------------- interventions
    @contextlib.contextmanager
    def intervene(self, *interventions: Intervention) -> Iterator[list[Intervention]]:
        """Install interventions for the duration of the block; they are removed even on exceptions.

        Blocks nest, also at one site and with the same `Intervention` object: each block removes
        exactly what it installed, keyed by a handle only it holds (never by comparing tensors).
        """
        if not interventions:
            raise InterventionError("intervene() needs at least one Intervention")
        for i, iv in enumerate(interventions):
            if not isinstance(iv, Intervention):
                raise InterventionError(f"intervene() argument {i} is a {type(iv).__name__}, not an Intervention")
        resolved = [iv.resolve(self.info.n_layers, self.info.d_model) for iv in interventions]
        handle = object()
        token = self._install(resolved)  # all-or-nothing: a failed install leaves nothing behind
        self._installed[handle] = resolved
        try:
            yield list(interventions)
        finally:
            run_all([lambda: self._installed.pop(handle, None), lambda: self._uninstall(token)])

    def _steer_fn(self, spec: Any) -> Callable[[Tensor], Tensor]:
        """A hook body that applies one intervention; a factory, so each hook binds its own `spec`."""
        return lambda h: apply_at(spec, h, self._current_state(h))

    def _read_fn(self, r: _ReadRequest, sink: dict[Site, Tensor]) -> Callable[[Tensor], Tensor]:
        """A hook body that stores the positions `r` asks for in `sink` and passes `h` on unchanged."""

        def read(h: Tensor) -> Tensor:
            state = self._current_state(h)
            sink[r.site] = select(h, call_mask(r.positions, state, h.shape[1]), r.reduce, r.site)
            return h

        return read

    def _current_state(self, h: Tensor) -> CallState:
        if self._state is None:
            # A direct call on the wrapped module, outside our API: treat the chunk as a whole unpadded
            # sequence, and keep nothing, so no later call inherits this one's positions.
            state = CallState(prompt_len=h.shape[1], pad=torch.zeros(h.shape[0], dtype=torch.long))
            state.advance(h.shape[1])
            return state
        return self._state

    @contextlib.contextmanager
    def _call(self, batch: Batch) -> Iterator[CallState]:
        """Own the position state of one forward/generate call."""
        previous = self._state
        self._state = state = batch.state()
        try:
            token = self._begin_call()
        except BaseException:
            self._state = previous
            raise
        try:
            yield state
        finally:
            run_all([lambda: self._end_call(token), lambda: setattr(self, "_state", previous)])

    def _begin_call(self) -> Any:
        """Backends that hook modules install their position tracker here (see `CallState.advance`)."""
        return None

    def _end_call(self, token: Any) -> None:
        """Remove what `_begin_call` installed."""

    # ----------------------------------------------------------------- backend primitives
    @abstractmethod
    def _forward(self, batch: Batch, reads: list[_ReadRequest]) -> tuple[Tensor, dict[Site, Tensor]]:
        """One forward pass with active interventions; returns logits and the requested reads."""

    def _read(self, batch: Batch, reads: list[_ReadRequest]) -> dict[Site, Tensor]:
        """The requested reads of one forward pass; backends may skip what no read needs (later layers, logits)."""
        return self._forward(batch, reads)[1]

    @abstractmethod
    def _generate(self, batch: Batch, **options: Any) -> Tensor:
        """Token ids ``[batch, prompt_len + new]``; prompt part as given (left-padded)."""

    def _call_hf(self, batch: Batch, use_cache: bool) -> Any:
        """The wrapped HF model on one batch, positions as if every row were unpadded."""
        return self.hf_model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                             position_ids=batch.position_ids, use_cache=use_cache)

    def _prefill(self, batch: Batch) -> list[tuple[Tensor, Tensor]]:
        """Keys and values per layer, ``[batch, kv_heads, pos, head_dim]``. `prefill` runs unsteered, so
        the wrapped HF model computes them directly in every backend that can decode from them."""
        out = self._call_hf(batch, use_cache=True)
        return [(layer.keys, layer.values) for layer in out.past_key_values.layers]

    @abstractmethod
    def _install(self, resolved: list[ResolvedIntervention]) -> Any:
        """Start applying `resolved`; returns a token that `_uninstall` takes."""

    @abstractmethod
    def _uninstall(self, token: Any) -> None:
        """Stop applying exactly what `_install` started."""


def apply_at(iv: Intervention, h: Tensor, state: CallState) -> Tensor:
    """Apply one intervention to a chunk, resolving its positions against the call's state."""
    iv.count.record(h.shape[1])
    covered = chunk_coverage(iv.positions, state)
    if covered is False:
        return h
    return apply_intervention(h, iv, None if covered else call_mask(iv.positions, state, h.shape[1]))


def _check_generate_options(
    max_new_tokens: object, do_sample: object, temperature: object, top_p: object, seed: object
) -> None:
    """Generation options with their valid ranges; HF would otherwise fail deep inside `generate` or loop on."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise CallError(f"max_new_tokens must be an int >= 1, got {max_new_tokens!r}")
    if not isinstance(do_sample, bool):
        raise CallError(f"do_sample must be True or False, got {do_sample!r}")
    t, p = _number("temperature", temperature), _number("top_p", top_p)
    # Greedy decoding ignores both, so their ranges matter only when sampling (temperature=0 is a common greedy idiom).
    if do_sample and not (math.isfinite(t) and t > 0):
        raise CallError(f"temperature must be a finite number > 0 when sampling, got {temperature!r}")
    if do_sample and not 0 < p <= 1:
        raise CallError(f"top_p must be in (0, 1] when sampling, got {top_p!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise CallError(f"seed must be None or an int >= 0, got {seed!r}")


def _looks_like_one_site(sites: object) -> bool:
    """``"blocks.1.hook_resid_post"``, a `Site` or ``("resid_post", 1)`` is one site, not a list of them."""
    return not isinstance(sites, tuple) or (len(sites) == 2 and isinstance(sites[0], str) and isinstance(sites[1], int))


def _token_id(name: str, value: object, vocab_size: int) -> int:
    t = -1
    if isinstance(value, SupportsIndex) and not isinstance(value, bool):  # numpy/tensor ints yes, floats no
        try:
            t = operator.index(value)
        except TypeError:  # a float or multi-element tensor
            pass
    if not 0 <= t < vocab_size:
        raise CallError(f"{name} holds {value!r}; token ids are ints in 0..{vocab_size - 1}")
    return t


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CallError(f"{name} must be a number, got {value!r}")
    return float(value)


def select(h: Tensor, mask: Tensor, reduce: Reduce, site: Site) -> Tensor:
    """Pick the masked positions of ``h [batch, pos, d_model]`` as a detached CPU float32 snapshot."""
    counts = mask.sum(dim=1)
    if bool((counts == 0).any()):
        row = int((counts == 0).nonzero()[0])
        raise InterventionError(f"positions select no token in row {row} at {site}; check the spec or spans")
    h = h.detach()
    if reduce == "mean":
        m = mask.to(h.device, h.dtype).unsqueeze(-1)
        return ((h * m).sum(dim=1) / m.sum(dim=1)).float().cpu()
    if not bool((counts == counts[0]).all()):
        raise InterventionError(
            f"positions select {counts.tolist()} tokens per row at {site}; rows differ, so pass "
            "reduce='mean' or batch rows of equal length"
        )
    b, _, d = h.shape
    return h[mask.to(h.device)].reshape(b, int(counts[0]), d).float().cpu()
