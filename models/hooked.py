"""The hooked-model interface: one API over the HF-hook, TransformerLens and nnsight backends.

A `HookedModel` tokenizes (left padding, so every row's prompt ends at the same position), runs
forward passes, reads activations at named sites (see `models.sites`) and generates. Interventions
are installed with the `intervene` context manager, which always removes exactly what it installed,
even when the body raises.

Example:
    >>> model = load("tiny", backend="hf")
    >>> acts = model.activations(["1+2*3 ="], sites=["blocks.1.hook_resid_post"], positions="last")
    >>> with model.intervene(Intervention("blocks.1.hook_resid_post", v, alpha=-4.0, positions="generated")):
    ...     out = model.generate(["1+2*3 ="], max_new_tokens=8)
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from models.errors import InterventionError
from models.interventions import Intervention, ResolvedIntervention, apply_intervention
from models.positions import CallState, Positions, chunk_coverage, position_mask, validate_positions
from models.sites import Site, SiteLike, parse_site

Inputs = str | Sequence[str] | Tensor
Reduce = Literal["mean"] | None


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
class Batch:
    """Left-padded token ids with their attention mask."""

    input_ids: Tensor  # [batch, pos]
    attention_mask: Tensor  # [batch, pos]

    @property
    def pad(self) -> Tensor:
        """Number of left-pad tokens per row, ``[batch]``."""
        return (self.attention_mask == 0).sum(dim=1)

    @property
    def lengths(self) -> list[int]:
        return self.attention_mask.sum(dim=1).tolist()

    @property
    def position_ids(self) -> Tensor:
        """Positions that make a left-padded row compute exactly what it computes unpadded."""
        return (self.attention_mask.cumsum(dim=1) - 1).clamp(min=0)

    def state(self) -> CallState:
        return CallState(prompt_len=self.input_ids.shape[1], pad=self.pad)


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

    def __init__(self, hf_model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, info: ModelInfo):
        self.hf_model = hf_model
        self.tokenizer = tokenizer
        self.info = info
        self._active: list[ResolvedIntervention] = []
        self._state: CallState | None = None

    def __repr__(self) -> str:
        i = self.info
        return f"{type(self).__name__}({i.name!r}, layers={i.n_layers}, d_model={i.d_model}, source={i.source!r})"

    # ----------------------------------------------------------------- inputs
    @property
    def device(self) -> torch.device:
        return next(self.hf_model.parameters()).device

    def tokenize(self, inputs: Inputs, add_special_tokens: bool = True) -> Batch:
        """Tokenize text (or wrap token ids) into a left-padded `Batch` on the model's device."""
        if isinstance(inputs, Tensor):
            ids = inputs.unsqueeze(0) if inputs.ndim == 1 else inputs
            return Batch(ids.to(self.device), torch.ones_like(ids).to(self.device))
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        if not texts:
            raise ValueError("inputs is empty; pass at least one prompt")
        self.tokenizer.padding_side = "left"
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=add_special_tokens)
        if enc["input_ids"].shape[1] > self.info.n_ctx:
            raise ValueError(
                f"a prompt has {enc['input_ids'].shape[1]} tokens but the model's context is {self.info.n_ctx}"
            )
        return Batch(enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device))

    def chat_prompt(self, user: str, system: str | None = None) -> str:
        """Format one user turn (and optional system line) with the tokenizer's chat template, if any."""
        if getattr(self.tokenizer, "chat_template", None):
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": user}
            ]
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return (f"System: {system}\n" if system else "") + f"User: {user}\nAssistant:"

    def site(self, spec: SiteLike) -> Site:
        """Parse and range-check a site against this model."""
        return parse_site(spec, self.info.n_layers)

    # ----------------------------------------------------------------- running
    @torch.no_grad()
    def forward(self, inputs: Inputs | Batch) -> Tensor:
        """Logits ``[batch, pos, vocab]`` with the active interventions applied."""
        batch = inputs if isinstance(inputs, Batch) else self.tokenize(inputs)
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
        batch = inputs if isinstance(inputs, Batch) else self.tokenize(inputs)
        validate_positions(positions)
        requests = [_ReadRequest(self.site(s), positions, reduce) for s in sites]
        if not requests:
            raise ValueError("sites is empty; name at least one site, e.g. 'blocks.0.hook_resid_post'")
        with self._call(batch):
            _, recorded = self._forward(batch, requests)
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
        """Greedy (default) or sampled continuation with the active interventions applied at every step."""
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        batch = inputs if isinstance(inputs, Batch) else self.tokenize(inputs)
        if batch.input_ids.shape[1] + max_new_tokens > self.info.n_ctx:
            raise ValueError(
                f"prompt ({batch.input_ids.shape[1]} tokens) + max_new_tokens ({max_new_tokens}) exceeds "
                f"the model's context of {self.info.n_ctx} tokens"
            )
        stops = list(stop_token_ids) if stop_token_ids else [self.tokenizer.eos_token_id]
        options = dict(
            max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature, top_p=top_p, stop_ids=stops
        )
        rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
        with rng, self._call(batch):
            if seed is not None:
                torch.manual_seed(seed)
            sequences = self._generate(batch, **options)
        return self._finish(batch, sequences, stops)

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

    # ----------------------------------------------------------------- interventions
    @contextlib.contextmanager
    def intervene(self, *interventions: Intervention) -> Iterator[list[Intervention]]:
        """Install interventions for the duration of the block; they are removed even on exceptions."""
        resolved = [iv.resolve(self.info.n_layers, self.info.d_model) for iv in interventions]
        if not resolved:
            raise InterventionError("intervene() needs at least one Intervention")
        token = self._install(resolved)  # all-or-nothing: a failed install leaves nothing behind
        self._active.extend(resolved)
        try:
            yield list(interventions)
        finally:
            for r in resolved:
                self._active.remove(r)
            self._uninstall(token)

    def _apply_all(self, site: Site, h: Tensor) -> Tensor:
        """Apply every active intervention at `site` to a chunk ``[batch, pos, d_model]``."""
        for r in self._active:
            if r.site == site:
                h = apply_at(r.spec, h, self._current_state(h))
        return h

    def _steer_fn(self, spec: Any) -> Callable[[Tensor], Tensor]:
        """A hook body that applies one intervention; a factory, so each hook binds its own `spec`."""
        return lambda h: apply_at(spec, h, self._current_state(h))

    def _read_fn(self, r: _ReadRequest, sink: dict[Site, Tensor]) -> Callable[[Tensor], Tensor]:
        """A hook body that stores the positions `r` asks for in `sink` and passes `h` on unchanged."""

        def read(h: Tensor) -> Tensor:
            state = self._current_state(h)
            sink[r.site] = select(h, position_mask(r.positions, state, h.shape[1]), r.reduce, r.site)
            return h

        return read

    def _current_state(self, h: Tensor) -> CallState:
        if self._state is None:  # a direct call on the wrapped module, outside our API
            self._state = CallState(prompt_len=h.shape[1], pad=torch.zeros(h.shape[0], dtype=torch.long))
            self._state.advance(h.shape[1])
        return self._state

    @contextlib.contextmanager
    def _call(self, batch: Batch) -> Iterator[CallState]:
        """Own the position state of one forward/generate call."""
        previous = self._state
        self._state = batch.state()
        token = self._begin_call()
        try:
            yield self._state
        finally:
            self._end_call(token)
            self._state = previous

    def _begin_call(self) -> Any:
        """Backends that hook modules install their position tracker here (see `CallState.advance`)."""
        return None

    def _end_call(self, token: Any) -> None:
        """Remove what `_begin_call` installed."""

    # ----------------------------------------------------------------- backend primitives
    @abstractmethod
    def _forward(self, batch: Batch, reads: list[_ReadRequest]) -> tuple[Tensor, dict[Site, Tensor]]:
        """One forward pass with active interventions; returns logits and the requested reads."""

    @abstractmethod
    def _generate(self, batch: Batch, **options: Any) -> Tensor:
        """Token ids ``[batch, prompt_len + new]``; prompt part as given (left-padded)."""

    @abstractmethod
    def _install(self, resolved: list[ResolvedIntervention]) -> Any:
        """Start applying `resolved`; returns a token that `_uninstall` takes."""

    @abstractmethod
    def _uninstall(self, token: Any) -> None:
        """Stop applying exactly what `_install` started."""


def apply_at(iv: Intervention, h: Tensor, state: CallState) -> Tensor:
    """Apply one intervention to a chunk, resolving its positions against the call's state."""
    covered = chunk_coverage(iv.positions, state)
    if covered is False:
        iv.fired.append(h.shape[1])
        return h
    return apply_intervention(h, iv, None if covered else position_mask(iv.positions, state, h.shape[1]))


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
