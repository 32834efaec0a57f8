"""One site vocabulary for every backend, and the layer convention.

Sites use TransformerLens names: ``blocks.{layer}.hook_{name}`` with ``name`` one of
``resid_pre``, ``resid_post``, ``attn_out``, ``mlp_out``. ``layer`` is the 0-based block index.

Layer convention (same in all backends, tested against HF ``output_hidden_states``):

* ``resid_pre`` of layer L is the input of block L, which equals HF ``hidden_states[L]``.
* ``resid_post`` of layer L is the output of block L, which equals HF ``hidden_states[L+1]``
  for every layer except the last: HF stores its last hidden state *after* the final norm,
  while our ``resid_post`` of the last layer is *before* it.
* ``attn_out`` / ``mlp_out`` of layer L are the outputs of block L's attention / MLP sublayer,
  before they are added to the residual stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from models.errors import SiteError

SiteName = Literal["resid_pre", "resid_post", "attn_out", "mlp_out"]
SITE_NAMES: tuple[str, ...] = get_args(SiteName)

_TL_PATTERN = re.compile(r"^blocks\.(-?\d+)\.hook_(\w+)$")
_SHORT_PATTERN = re.compile(r"^(\w+?)[.:](-?\d+)$")


@dataclass(frozen=True, order=True)
class Site:
    """A place in the residual computation: a sublayer output or residual stream at one block."""

    layer: int
    name: SiteName

    def __str__(self) -> str:
        return f"blocks.{self.layer}.hook_{self.name}"


SiteLike = Site | str | tuple[str, int]


def parse_site(spec: SiteLike, n_layers: int) -> Site:
    """Turn ``"blocks.3.hook_resid_post"``, ``"resid_post.3"``, ``("resid_post", 3)`` or a Site into a Site.

    Negative layers count from the end (-1 is the last block). Unknown names and layers out of range
    raise SiteError naming the valid choices.
    """
    if isinstance(spec, Site):
        name, layer = spec.name, spec.layer
    elif isinstance(spec, tuple) and len(spec) == 2:
        name, layer = spec[0], int(spec[1])
    elif isinstance(spec, str):
        match = _TL_PATTERN.match(spec) or _SHORT_PATTERN.match(spec)
        if match is None:
            raise SiteError(
                f"site {spec!r} is not a site name; write 'blocks.<layer>.hook_<name>' "
                f"or '<name>.<layer>' with <name> one of {', '.join(SITE_NAMES)}"
            )
        if match.re is _TL_PATTERN:
            layer, name = int(match.group(1)), match.group(2)
        else:
            name, layer = match.group(1), int(match.group(2))
    else:
        raise SiteError(f"site {spec!r} has type {type(spec).__name__}; expected Site, str or (name, layer)")
    if name not in SITE_NAMES:
        raise SiteError(f"unknown site {name!r} in {spec!r}; known sites: {', '.join(SITE_NAMES)}")
    if not -n_layers <= layer < n_layers:
        raise SiteError(
            f"layer {layer} in site {str(spec)!r} is out of range: this model has {n_layers} blocks, "
            f"valid layers are 0..{n_layers - 1} (or -{n_layers}..-1 counting from the end)"
        )
    return Site(layer=layer % n_layers, name=name)  # type: ignore[arg-type]  # name checked above


def site_layer(spec: SiteLike) -> int:
    """The block index a site names, read without a model (so no range check; negative layers are refused).

    Probes and saved directions record sites as strings; this is the one way they get the layer back.
    """
    layer = parse_site(spec, _UNBOUNDED).layer  # a negative layer comes back as _UNBOUNDED + layer
    if layer >= _UNBOUNDED // 2:
        raise SiteError(f"site {str(spec)!r} counts its layer from the end; resolve it against a model first")
    return layer


_UNBOUNDED = 1 << 30  # parse_site's range check needs a depth; site names alone do not give one
