"""Exceptions of the toolkit. One root, `ModelsError`; each class also subclasses the builtin a caller would expect.

`probes` and `steering` derive their own errors from these, so ``except ModelsError`` catches every
refusal of bad input the toolkit makes, and the CLIs print it as one line.
"""

from __future__ import annotations


class ModelsError(Exception):
    """Base class, so callers can catch everything the toolkit raises on bad input."""


class SiteError(ModelsError, KeyError):
    """A site name or layer that the model does not have."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class CheckpointError(ModelsError, ValueError):
    """A checkpoint name or folder that cannot be loaded."""


class InterventionError(ModelsError, ValueError):
    """An intervention that does not fit the model (wrong width, bad positions, non-finite values)."""


class CallError(ModelsError, ValueError):
    """A `HookedModel` call argument that cannot run: empty or malformed inputs, sites, generation options."""


class FileFormatError(ModelsError, ValueError):
    """A file that cannot be read as what it should be (missing, not a regular file, corrupt, bad JSON); names the path."""


class ConfigError(ModelsError, ValueError):
    """A configuration field (from a flag or a config file) with the wrong type or an out-of-range value."""


class MissingDependencyError(ModelsError, ImportError):
    """An optional package is needed for this path; the message gives the install command."""
