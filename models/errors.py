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


class DiskFullError(ModelsError, OSError):
    """A write that ran out of disk space (ENOSPC, or a quota): names the path, the space the write needed and the
    space free there. Nothing of that write is left behind: no partial file, no half-built cache entry.

    Also an `OSError` with ``errno`` ENOSPC, so code that handles a full disk the builtin way still does.
    """

    def __init__(self, path: object, needed: int | None, free: int | None, *, at_least: bool = False) -> None:
        self.path, self.needed, self.free = str(path), needed, free
        have = "an unknown amount" if free is None else _size(free)
        if needed is None:
            need = f"an unknown amount and {have} is free there"
        elif at_least and free is not None and needed <= free:  # a build whose size is only known once it is done
            need = f"more than the {have} free there"
        else:
            need = f"{'at least' if at_least else 'about'} {_size(needed)} and {have} is free there"
            if not at_least and free is not None and needed < free:
                need += " (space is left, so the filesystem may be out of inodes or over a quota: see df -i)"
        self.message = (f"{path}: the disk is full ([Errno 28] No space left on device): this write needs {need}; "
                        "nothing was written. Free some space (or point LATENT_AGENTS_CACHE at a larger disk) and "
                        "run again")
        super().__init__(self.message)
        self.errno = 28  # errno.ENOSPC on every platform this runs on

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple:  # pickles (multiprocessing) with its fields, not OSError's (errno, strerror)
        return (_disk_full, (type(self), self.path, self.needed, self.free, self.message))


def _disk_full(cls: type[DiskFullError], path: str, needed: int | None, free: int | None, message: str
               ) -> DiskFullError:
    err = cls(path, needed, free)
    err.message = message
    return err


def _size(n: int) -> str:
    """``"1.4 MB (1,441,792 bytes)"``: readable, with the exact count a user can compare against `df`."""
    value, unit = float(n), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    shown = f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
    return f"{shown} ({n:,} bytes)"
