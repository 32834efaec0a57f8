"""Exceptions of the `models` package. Each subclasses the builtin a caller would expect."""

from __future__ import annotations


class ModelsError(Exception):
    """Base class, so callers can catch everything this package raises on bad input."""


class SiteError(ModelsError, KeyError):
    """A site name or layer that the model does not have."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class CheckpointError(ModelsError, ValueError):
    """A checkpoint name or folder that cannot be loaded."""


class InterventionError(ModelsError, ValueError):
    """An intervention that does not fit the model (wrong width, bad positions)."""


class MissingDependencyError(ModelsError, ImportError):
    """An optional package is needed for this path; the message gives the install command."""
