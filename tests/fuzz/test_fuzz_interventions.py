"""Fuzz the intervention boundary: malformed alphas, vectors, sites, positions, inputs and generation options.

Every case must end in a named `ModelsError` (or a declared harmless refusal), and afterwards the model
must be exactly as before: no hook left on any module or hook point, nothing in `_active`, no call state,
and the same unsteered logits. Seeded with ``random.Random(0)``; runs in a few seconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import torch
from tests.fuzz.outcomes import Tally

from models import Batch, Intervention, Spans
from tests.conftest import PROMPTS

NAN, INF = float("nan"), float("inf")
D_MODEL = 128
VALID_SITES = ["blocks.0.hook_resid_pre", "blocks.1.hook_attn_out", "blocks.2.hook_mlp_out", "blocks.3.hook_resid_post"]
VALID_POSITIONS: list[Any] = ["all", "prompt", "last", "response", "generated", 1, -1, [0, 2]]

BAD_ALPHAS: list[Any] = [
    NAN, INF, -INF, None, "1.0", True, False, 1 + 2j, [1.0], {"alpha": 1}, torch.tensor(1.0), torch.tensor([[1.0]]),
    torch.tensor([]), torch.tensor([NAN, 1.0, 1.0]), torch.tensor([1.0, INF, 1.0]), torch.tensor([True, False, True]),
    torch.tensor([1 + 1j, 1, 1]), 1e300,
]
BAD_VECTORS: list[Any] = [
    torch.full((D_MODEL,), NAN), torch.cat([torch.ones(D_MODEL - 1), torch.tensor([INF])]), torch.arange(D_MODEL),
    torch.ones(2, D_MODEL), torch.ones(0), torch.ones(()), [1.0] * D_MODEL, None, "vector", torch.ones(D_MODEL, dtype=torch.bool),
    torch.ones(D_MODEL, dtype=torch.complex64),
]
WRONG_WIDTHS = [1, 64, D_MODEL - 1, D_MODEL + 1, 4 * D_MODEL]
BAD_SITES: list[Any] = [
    "blocks.4.hook_resid_post", "blocks.-5.hook_mlp_out", "blocks.1.hook_resid", "blocks.1.hook_q", "nonsense", "",
    3, None, ("resid_post", 99), ("bogus", 1), 1.5,
]
BAD_KINDS: list[Any] = ["scale", "", None, "ADD"]
BAD_POSITION_SPECS: list[Any] = ["everything", [], 3.5, True, [1, None], [1.0], None, {"start": 0}]
BAD_SPANS: list[Callable[[], Any]] = [
    lambda: Spans.single([(3, 3)] * 3), lambda: Spans.single([(-1, 2)] * 3), lambda: Spans.single([(5, 2)] * 3),
    lambda: Spans.single([(0.5, 2)] * 3), lambda: Spans(()), lambda: Spans(((1, 2),)), lambda: Spans("ab"),
]


def _out_of_range(lengths: list[int]) -> list[Any]:
    """Positions that are well-formed but name no token of this batch's rows."""
    n = min(lengths)
    return [10**6, -(10**6), n + 40, -(n + 1) - 40, [0, 10**6], Spans.single([(0, 10**6)] * len(lengths)),
            Spans.single([(0, 1)] * (len(lengths) + 1)), Spans.single([(0, 1)])]


def _state(model) -> tuple:
    """Everything an intervention or a failed call could leave behind."""
    torch_hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.hf_model.modules())
    tl_hooks = 0
    if model.backend == "tl":
        tl_hooks = sum(len(p.fwd_hooks) for p in {id(p): p for p in model.bridge.hook_dict.values()}.values())
    return torch_hooks, tl_hooks, len(model._active), model._state is None


def _steer(model, iv_factory: Callable[[], Intervention], call: Callable[[], Any]) -> Callable[[], None]:
    """A case: build the intervention, install it, run `call` inside the block."""

    def run() -> None:
        with model.intervene(iv_factory()):
            call()

    return run


def _cases(model, rng: random.Random) -> list[tuple[str, Callable[[], Any], bool]]:
    """(label, fn, harmless) for every malformed input; `harmless` marks declared refusals."""
    site = lambda: rng.choice(VALID_SITES)  # noqa: E731
    pos = lambda: rng.choice(VALID_POSITIONS)  # noqa: E731
    vec = lambda: torch.randn(D_MODEL, generator=torch.Generator().manual_seed(rng.randrange(10**6)))  # noqa: E731
    fwd = lambda: model.forward(PROMPTS)  # noqa: E731
    gen = lambda: model.generate(PROMPTS, max_new_tokens=2)  # noqa: E731
    lengths = model.tokenize(PROMPTS).lengths
    cases: list[tuple[str, Callable[[], Any], bool]] = []

    def add(label: str, fn: Callable[[], Any], harmless: bool = False) -> None:
        cases.append((label, fn, harmless))

    for a in BAD_ALPHAS:
        s, p = site(), pos()
        add(f"Intervention(alpha={a!r})", lambda a=a, s=s, p=p: Intervention(s, vec(), alpha=a, positions=p))
    for v in BAD_VECTORS:
        add(f"Intervention(vector={type(v).__name__} {getattr(v, 'shape', '')})", lambda v=v, s=site(): Intervention(s, v))
    for w in WRONG_WIDTHS:
        add(f"intervene(width={w})", _steer(model, lambda w=w, s=site(): Intervention(s, torch.randn(w)), fwd))
    for s in BAD_SITES:
        add(f"intervene(site={s!r})", _steer(model, lambda s=s: Intervention(s, vec()), fwd))
    for k in BAD_KINDS:
        add(f"Intervention(kind={k!r})", lambda k=k: Intervention(site(), vec(), kind=k))
    add("project_out of a zero vector", lambda: Intervention(site(), torch.zeros(D_MODEL), kind="project_out"))
    for p in BAD_POSITION_SPECS:
        add(f"Intervention(positions={p!r})", lambda p=p: Intervention(site(), vec(), positions=p))
        add(f"activations(positions={p!r})", lambda p=p: model.activations(PROMPTS, [site()], positions=p))
    for make in BAD_SPANS:
        add("bad Spans", make)
    for p in _out_of_range(lengths):
        add(f"activations(positions={p!r})", lambda p=p: model.activations(PROMPTS, [site()], positions=p))
        add(f"forward under positions={p!r}", _steer(model, lambda p=p: Intervention(site(), vec(), positions=p), fwd))
    for p in (max(lengths) + 2, Spans.single([(0, n + 3) for n in lengths])):  # fine for 3+ new tokens, not for 2
        add(f"generate(2) under positions={p!r}", _steer(model, lambda p=p: Intervention(site(), vec(), positions=p), gen))
    for k in (1, 2, 4, 7):
        add(f"alpha with {k} rows", _steer(model, lambda k=k: Intervention(site(), vec(), alpha=torch.ones(k)), rng.choice([fwd, gen])))
    add("intervene()", lambda: model.intervene().__enter__())
    for bad in ("blocks.1.hook_resid_post", None, 3, vec()):
        add(f"intervene({type(bad).__name__})", lambda bad=bad: model.intervene(bad).__enter__())
    for m in (0, -1, -(10**6), 2.5, True, None, "4", 10**6):
        add(f"generate(max_new_tokens={m!r})", lambda m=m: model.generate(PROMPTS, max_new_tokens=m))
    for opts in ({"do_sample": True, "temperature": NAN}, {"do_sample": True, "temperature": 0.0},
                 {"do_sample": True, "temperature": -1.0}, {"do_sample": True, "top_p": 0.0}, {"do_sample": True, "top_p": 1.5},
                 {"do_sample": "yes"}, {"temperature": "hot"}, {"seed": -1}, {"seed": "x"}, {"seed": 1.5},
                 {"stop_token_ids": [-1]}, {"stop_token_ids": [10**9]}, {"stop_token_ids": ["a"]}, {"stop_token_ids": 5},
                 {"stop_token_ids": [True]}):
        add(f"generate({opts})", lambda opts=opts: model.generate(PROMPTS, max_new_tokens=2, **opts))
    # Harmless: greedy decoding ignores temperature and top_p; an empty stop list means "the default EOS".
    add("greedy generate(temperature=nan)", lambda: model.generate(PROMPTS, max_new_tokens=2, temperature=NAN), True)
    add("generate(stop_token_ids=[])", lambda: model.generate(PROMPTS, max_new_tokens=2, stop_token_ids=[]), True)
    for sites in ([], "blocks.1.hook_resid_post", ["bad"], [None], 5, ("resid_post", 1)):
        add(f"activations(sites={sites!r})", lambda sites=sites: model.activations(PROMPTS, sites))
    add("activations(reduce='sum')", lambda: model.activations(PROMPTS, [site()], reduce="sum"))
    left = model.tokenize(PROMPTS)
    for inputs in ([], [None], ["ok", 3], 3, None, torch.tensor([[1.5]]), torch.tensor([[-1]]), torch.tensor([[10**6]]),
                   torch.empty(1, 0, dtype=torch.long), torch.ones(1, 1, 1, dtype=torch.long),
                   Batch(left.input_ids.flip(1), left.attention_mask.flip(1)),
                   Batch(left.input_ids, torch.zeros_like(left.attention_mask)),
                   Batch(left.input_ids, left.attention_mask[:, :-1]), "x " * 5000):
        fn = rng.choice([fwd, gen])
        label = f"{'forward' if fn is fwd else 'generate'}(inputs={str(inputs)[:40]!r})"
        call = (lambda i=inputs: model.forward(i)) if fn is fwd else (lambda i=inputs: model.generate(i, max_new_tokens=2))
        add(label, call)
    rng.shuffle(cases)
    return cases


@pytest.mark.parametrize("backend, n_cases", [("hf", None), ("tl", 25), ("nnsight", 25)])
def test_malformed_interventions_end_in_named_errors_and_leave_the_model_clean(tiny_models, backend, n_cases):
    model = tiny_models[backend]
    base = model.forward(PROMPTS)  # first, as TL attaches its own permanent hooks on a first forward
    clean = _state(model)
    cases = _cases(model, random.Random(0))[:n_cases]
    assert len(cases) >= (60 if n_cases is None else n_cases)
    tally = Tally(f"interventions/{backend}")
    for label, fn, harmless in cases:
        tally.check(label, fn, accept_ok=harmless)
        assert _state(model) == clean, f"{label} left {_state(model)} behind (clean: {clean})"
    assert torch.equal(model.forward(PROMPTS), base), "unsteered logits changed after the fuzz cases"
    tally.assert_clean()
