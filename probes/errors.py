"""Exceptions of the `probes` package; each subclasses `ValueError`, like the bad input it reports."""

from __future__ import annotations

from models.errors import ModelsError


class ProbeError(ModelsError, ValueError):
    """Activations, groups or settings that a probe cannot work with; the message names the thing."""


class ShardError(ProbeError):
    """An activation shard that is missing, malformed, or was written for another model, data or settings."""
