"""`ActivationSet`: activations of many debate turns at several sites, with one metadata row per turn.

Rows are `Row` records (question, round, agent, persona label, trait, ...); values are one
``[n, d_model]`` tensor per site, row i of every tensor belonging to ``rows[i]``. Sets filter like a
table (``acts.where(agent=2, round=1)``) and carry their provenance (model, checkpoint fingerprint,
read position, data hash), which every `Direction` derived from them inherits. `ReadPosition` names where
a turn is read.

Example:
    >>> acts = collect_turns(model, debates, sites=["blocks.2.hook_resid_post"], positions="turn_mean")
    >>> acts.where(agent=2).at("blocks.2.hook_resid_post").shape     # [n_agent2_turns, d_model]
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor

from models.vocab import MALICIOUS_PERSONAS
from models.sites import site_layer
from probes.errors import ProbeError

if TYPE_CHECKING:
    from jaxtyping import Float

MALICIOUS_TRAITS = MALICIOUS_PERSONAS

# ----------------------------------------------------------------- read positions
ReadPosition = Literal["agent_tag", "turn_last", "turn_mean"]
"""Where a probe reads one debate turn: a position spec relative to that turn's token spans.

* ``"agent_tag"``: the agent's tag token (the tag's last token when the tokenizer splits the tag).
* ``"turn_last"``: the last token of the turn's response text (the original code's read position).
* ``"turn_mean"``: the mean over the turn's response tokens.

These are not `models.positions` specs, which count over a whole row: there ``"last"`` is the last
*prompt* token, which is why the turn's last token is ``"turn_last"``. Each read becomes a
`models.positions.Spans` entry of its row (`probes.batching`). The base-model system-prompt contrast reads
a `models.positions` int instead (a prompt token counted back from the end, the paper's -2); its read
position is recorded as that int's string, e.g. ``"-2"``.
"""
READ_POSITIONS: tuple[ReadPosition, ...] = ("agent_tag", "turn_last", "turn_mean")
RESPONSE_READ_POSITIONS: tuple[ReadPosition, ...] = ("turn_last", "turn_mean")  # over a response only (Eq. 3)



@dataclass(frozen=True)
class Row:
    """What one activation row is: which debate item, question, round, agent and label it was read from.

    `kind` says how it was read: ``turn`` (an agent's own turn in the full debate), ``eq3`` (agent
    `agent`'s context followed by `response_agent`'s response, paper Eq. 3) or ``system_prompt``
    (a question under a persona system prompt; `agent` and `round` are 0 there).
    """

    item: int  # index of the debate / question in the collected source
    question_id: str
    round: int
    agent: int
    label: str = ""  # persona, e.g. "chain_of_thought", "evil"
    trait: str = "neutral"  # a turn trait: models.vocab.TURN_TRAITS
    kind: str = "turn"
    response_agent: int = 0  # eq3 rows: whose response follows the context; else == agent
    n_tokens: int = 0  # tokens the value was read from (1 for a single position)

    @property
    def malicious(self) -> bool:
        return self.trait in MALICIOUS_TRAITS

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Row":
        known = {f.name for f in fields(cls)}
        missing = {"item", "question_id", "round", "agent"} - set(data)
        if missing:
            raise ProbeError(f"activation row {dict(data)} lacks field(s) {', '.join(sorted(missing))}")
        return cls(**{k: v for k, v in data.items() if k in known})


ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Row))
Filter = Any  # a value, a collection of values, or a predicate on the field's value


def _matcher(name: str, want: Filter) -> Callable[[Any], bool]:
    if callable(want):
        return want
    if isinstance(want, Collection) and not isinstance(want, str):
        allowed = set(want)
        return lambda v: v in allowed
    return lambda v: v == want


@dataclass(frozen=True)
class ActivationSet:
    """Per-row activations ``values[site]: [n, d_model]`` aligned with `rows`, plus provenance."""

    rows: tuple[Row, ...]
    values: Mapping[str, Tensor]
    model: str = ""  # registry name or folder
    checkpoint: str = ""  # models.identity.model_fingerprint of the model read
    read_position: str = ""  # a ReadPosition ("turn_mean", "turn_last", "agent_tag") or a prompt index ("-2")
    kind: str = "turn"  # "turn", "eq3", "system_prompt"
    data_hash: str = ""
    model_info: Mapping[str, Any] = field(default_factory=dict)  # n_layers, d_model, vocab_size, backend
    info: Mapping[str, Any] = field(default_factory=dict, compare=False)  # counts: dropped turns, cache use

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(self.rows))
        n = len(self.rows)
        for site, value in self.values.items():
            if value.ndim != 2 or value.shape[0] != n:
                raise ProbeError(
                    f"activations at {site} have shape {tuple(value.shape)}; expected [{n}, d_model] (one per row)"
                )

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return (f"ActivationSet({len(self)} rows, sites={list(self.values)}, read_position={self.read_position!r}, "
                f"kind={self.kind!r}, model={self.model!r})")

    # ------------------------------------------------------------- shape
    @property
    def sites(self) -> list[str]:
        return list(self.values)

    @property
    def layers(self) -> list[int]:
        return [site_layer(s) for s in self.values]

    @property
    def d_model(self) -> int:
        if not self.values:
            raise ProbeError("this ActivationSet has no sites")
        return int(next(iter(self.values.values())).shape[1])

    def at(self, site: str) -> Float[Tensor, "n d_model"]:
        """The ``[n, d_model]`` activations at `site`; a site that was not collected raises, listing those that were."""
        if site not in self.values:
            raise ProbeError(f"site {site!r} was not collected; this set has {', '.join(self.values) or 'no sites'}")
        return self.values[site]

    def stack(self, sites: Sequence[str] | None = None) -> Float[Tensor, "n site d_model"]:
        """All (or the given) sites stacked as ``[n, site, d_model]``."""
        return torch.stack([self.at(s) for s in (sites or self.sites)], dim=1)

    # ------------------------------------------------------------- table
    def column(self, name: str) -> list[Any]:
        """The values of one `Row` field, in row order."""
        if name not in ROW_FIELDS:
            raise ProbeError(f"rows have no field {name!r}; fields are {', '.join(ROW_FIELDS)}")
        return [getattr(r, name) for r in self.rows]

    def mask(self, **filters: Filter) -> Tensor:
        """Boolean ``[n]`` of the rows matching every filter (a value, a collection of values, or a predicate)."""
        keep = torch.ones(len(self), dtype=torch.bool)
        for name, want in filters.items():
            match = _matcher(name, want)
            keep &= torch.tensor([bool(match(v)) for v in self.column(name)], dtype=torch.bool)
        return keep

    def where(self, **filters: Filter) -> "ActivationSet":
        """The rows matching every filter, e.g. ``where(agent=2, round=[1, 2])`` or ``where(trait=lambda t: t != "neutral")``."""
        return self.take(self.mask(**filters))

    def take(self, index: Tensor | Sequence[int]) -> "ActivationSet":
        """Rows by boolean mask or integer index."""
        idx = torch.as_tensor(index)
        if idx.dtype == torch.bool:
            idx = idx.nonzero().flatten()
        picked = [self.rows[i] for i in idx.tolist()]
        return replace(self, rows=tuple(picked), values={s: v[idx] for s, v in self.values.items()})

    def groups(self, *names: str) -> dict[tuple[Any, ...], Tensor]:
        """Row indices ``[k]`` per distinct combination of the named fields, in first-seen order."""
        keys = list(zip(*(self.column(n) for n in names))) if names else [()] * len(self)
        out: dict[tuple[Any, ...], list[int]] = {}
        for i, key in enumerate(keys):
            out.setdefault(key, []).append(i)
        return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}

    def provenance(self) -> dict[str, Any]:
        """Fields a derived `Direction` copies: model, checkpoint, read position, data hash."""
        return {"model": self.model, "checkpoint": self.checkpoint, "read_position": self.read_position,
                "data_hash": self.data_hash}


def concat(sets: Sequence[ActivationSet]) -> ActivationSet:
    """Rows of several sets with the same sites and provenance, one after another."""
    if not sets:
        raise ProbeError("concat needs at least one ActivationSet")
    first = sets[0]
    for other in sets[1:]:
        if other.sites != first.sites:
            raise ProbeError(f"cannot concatenate sets with sites {first.sites} and {other.sites}")
        if (other.checkpoint, other.read_position, other.kind) != (first.checkpoint, first.read_position, first.kind):
            raise ProbeError(
                "cannot concatenate sets read differently: "
                f"{(first.checkpoint, first.read_position, first.kind)} vs {(other.checkpoint, other.read_position, other.kind)}"
            )
    rows = tuple(r for s in sets for r in s.rows)
    if not first.sites:
        return replace(first, rows=rows)
    values = {site: torch.cat([s.values[site] for s in sets]) for site in first.sites}
    return replace(first, rows=rows, values=values)
