"""Files on disk: written whole or not at all, durably, by one process at a time; read with errors that name the file.

Every artifact the toolkit writes (manifests, debate files, vectors, shards, checkpoints, run folders)
goes through the writers here: the content is written to a temporary sibling whose name is unique to
this process and call, then renamed over the target in one step, so a reader sees the old file or the
whole new one, and a crash leaves at most a dot-file that `sweep_stale` recognises.

Durability: `rename_into_place` (which every writer here ends with) fsyncs the file, or every file and
folder of a tree, before the rename and the parent folder after it, so a power loss right after a write
returns leaves the new file, never an empty or half-flushed one. A full disk (ENOSPC or a quota, at the
write, the fsync or the rename) is one `DiskFullError` naming the path, the bytes the write needed and
the bytes free; the temporary is removed, so nothing partial is left and no cache entry is half-built.

Concurrency: `EntryLock` is an exclusive lock between processes on one cache entry (a ``filelock``
lock, flock on Linux, released when its process dies). Builders of shared cache entries (registry
checkpoints, converted GGUF files, fetched data, activation shards) take it around check, build and
rename, so a second process started at the same moment waits, then finds the finished entry and reads it.

Readers here turn every way a file can be unusable (missing, a directory or FIFO, not UTF-8, a BOM,
bad JSON, absurd nesting, a number that underflows to 0, a corrupt safetensors header) into one
`FileFormatError` naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from models.errors import DiskFullError, FileFormatError

logger = logging.getLogger(__name__)

TMP_MARK = ".tmp-"
STALE_AFTER_S = 6 * 3600  # a temporary name this old whose writer process is gone is a leftover
MAX_JSON_DEPTH = 200  # far deeper than any file we read; deeper input is refused before json recurses
LOCKS_ENV = "LATENT_AGENTS_LOCKS"  # folder of the lock files (default: a per-user folder in the system temp dir)
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "StorageFull", "os error 28")


# --------------------------------------------------------------------------- temporary names

def temp_sibling(path: str | Path) -> Path:
    """A hidden name beside `path`, unique to this process and call: ``.<name>.tmp-<pid>-<random>``."""
    path = Path(path)
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def is_temp_name(path: Path) -> bool:
    return path.name.startswith(".") and TMP_MARK in path.name


def writer_alive(path: Path) -> bool:
    """Whether the process named in a temporary name (``.<name>.tmp-<pid>-<hex>``) still runs on this host.

    A name that names no process (an older naming scheme) counts as orphaned.
    """
    try:
        pid = int(path.name.split(TMP_MARK, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def sweep_stale(parent: str | Path, older_than_s: float = STALE_AFTER_S,
                legacy: Callable[[Path], bool] | None = None) -> list[Path]:
    """Delete what crashed writers left in `parent`: temporary names older than `older_than_s` whose
    writer process is gone (a long write by a live process is never touched), plus entries that
    `legacy` recognises from an older naming scheme. Returns what was removed.
    """
    parent = Path(parent)
    if not parent.is_dir():
        return []
    removed = []
    cutoff = time.time() - older_than_s
    for p in parent.iterdir():
        if not (is_temp_name(p) or (legacy is not None and legacy(p))):
            continue
        with contextlib.suppress(OSError):
            if p.lstat().st_mtime < cutoff and not writer_alive(p):
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
                removed.append(p)
    return removed


# --------------------------------------------------------------------------- durability

def fsync_file(path: str | Path) -> None:
    """Flush `path`'s data and metadata to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | Path) -> None:
    """Flush folder `path` (the names in it: a rename or a new file) to the disk.

    Filesystems that cannot fsync a folder (EINVAL / ENOTSUP) are let be: there the rename is as durable as
    that filesystem makes it.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(fd)


def fsync_tree(folder: str | Path) -> None:
    """fsync every file under `folder`, then every folder, deepest first, `folder` last."""
    folders = []
    for root, _, files in os.walk(folder):
        folders.append(root)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                fsync_file(path)
    for root in reversed(folders):
        fsync_dir(root)


def rename_into_place(tmp: str | Path, final: str | Path) -> Path:
    """Rename the finished `tmp` (a file or a folder) over `final` durably: fsync its contents, rename, fsync
    the parent folder. The one way a finished write is published; use it for any rename into place."""
    tmp, final = Path(tmp), Path(final)
    if tmp.is_dir() and not tmp.is_symlink():
        fsync_tree(tmp)
    else:
        fsync_file(tmp)
    os.replace(tmp, final)
    fsync_dir(final.parent)
    return final


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc` (or an exception it was raised from) is the disk running out of space: an `OSError` with
    ENOSPC / EDQUOT, or a library's own error saying so (safetensors reports "No space left on device (os error
    28)" in a `SafetensorError`)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError) or (isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS):
            return True
        if not isinstance(exc, OSError) and any(text in str(exc) for text in _DISK_FULL_TEXT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def free_bytes(path: str | Path) -> int | None:
    """Bytes free on the filesystem holding `path` (or its nearest existing parent); None when unknown."""
    path = Path(path)
    for candidate in (path, *path.parents):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(candidate).free
    return None


def tree_size(path: str | Path) -> int:
    """Bytes in file `path`, or in every file under folder `path` (0 when it is gone)."""
    path = Path(path)
    with contextlib.suppress(OSError):
        if not path.is_dir():
            return path.stat().st_size
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return 0


@contextlib.contextmanager
def naming_disk_full(path: str | Path, needed: int | Callable[[], int] | None, *, at_least: bool = False,
                     restate: bool = False) -> Iterator[None]:
    """Turn running out of space inside the block into one `DiskFullError` naming `path`, the bytes needed
    (`needed`, or a callable giving it when the error happens) and the bytes free there.

    A `DiskFullError` from inside passes unchanged, unless `restate` (a folder being built names itself, not
    the temporary file inside it that filled the disk). Cleaning up what the block wrote is the caller's.
    """
    try:
        yield
    except BaseException as e:
        if not is_disk_full(e) or (isinstance(e, DiskFullError) and not restate):
            raise
        count = needed() if callable(needed) else needed
        inner = e.needed if isinstance(e, DiskFullError) else None
        if inner is not None:
            count = inner if count is None else max(count, inner)
        raise DiskFullError(path, count, free_bytes(Path(path).parent), at_least=at_least) from None


# --------------------------------------------------------------------------- locks

def lock_dir() -> Path:
    """Where lock files live: ``$LATENT_AGENTS_LOCKS``, else ``<system temp>/latent-agents-locks-<uid>``.

    Never inside a cache folder, so a cache holds only its entries. Locks are between processes of one host:
    two hosts sharing a cache over a network filesystem are still kept apart from a half-written entry by the
    renames, but may each build it once.
    """
    folder = _lock_root()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _lock_root() -> Path:
    configured = os.environ.get(LOCKS_ENV)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(configured) if configured else Path(tempfile.gettempdir()) / f"latent-agents-locks-{uid}"


def lock_path(target: str | Path) -> Path:
    """The lock file of `target`: its name plus a hash of its real absolute path (symlinked caches share one)."""
    target = Path(os.path.abspath(target))
    real = Path(os.path.realpath(target.parent)) / target.name
    digest = hashlib.sha256(str(real).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", real.name)[:60]
    return lock_dir() / f"{safe}-{digest}.lock"


class EntryLock:
    """An exclusive lock between processes on one cache entry (a file or folder, which need not exist yet).

    ``with EntryLock(folder): ...`` waits while another process holds it (saying so once in the log), and is
    re-entrant within a thread. A process that dies releases its locks (the OS drops its flock), so a killed
    build never blocks the next one. Threads of one process exclude each other too.
    """

    def __init__(self, target: str | Path) -> None:
        from filelock import FileLock

        self.target = Path(target)
        with naming_disk_full(_lock_root(), 0):
            self.path = lock_path(self.target)
        self._lock = FileLock(str(self.path), is_singleton=True)

    def __repr__(self) -> str:
        return f"EntryLock({str(self.target)!r}, held={self.held})"

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)

    def acquire(self) -> EntryLock:
        from filelock import Timeout

        with naming_disk_full(self.path, 0):
            try:
                self._lock.acquire(timeout=0)
            except Timeout:
                logger.warning("waiting for another process to finish %s (lock %s)", self.target, self.path)
                self._lock.acquire()
        return self

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> EntryLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


# --------------------------------------------------------------------------- writers

def _publish(tmp: Path, path: Path, write: Any, needed: int) -> Path:
    """Write `tmp` with `write`, then rename it into place durably; a failure removes `tmp` and leaves `path` as
    it was, and a full disk is a `DiskFullError` naming `path` and `needed` bytes."""
    try:
        with naming_disk_full(path, needed):
            path.parent.mkdir(parents=True, exist_ok=True)
            write(tmp)
            rename_into_place(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically and durably."""
    path = Path(path)
    data = text.encode("utf-8")
    return _publish(temp_sibling(path), path, lambda tmp: tmp.write_text(text, encoding="utf-8"), len(data))


def write_json(path: str | Path, obj: Any, *, sort_keys: bool = True) -> Path:
    """Write `obj` as indented UTF-8 JSON atomically. NaN and infinities are refused: JSON has no spelling for them."""
    try:
        text = json.dumps(obj, indent=2, sort_keys=sort_keys, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError as e:
        raise FileFormatError(f"{path}: refusing to write a non-finite number as JSON ({e})") from None
    return write_text(path, text + "\n")


def write_tensors(path: str | Path, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None) -> Path:
    """Write a safetensors file atomically and durably (tensors detached, contiguous and on the CPU)."""
    from safetensors.torch import save_file

    payload = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    path = Path(path)
    header = 8 + len(json.dumps(dict(metadata or {}))) + sum(len(k) + 96 for k in payload)  # close to the real header
    needed = header + sum(v.numel() * v.element_size() for v in payload.values())
    return _publish(temp_sibling(path), path,
                    lambda tmp: save_file(payload, str(tmp), metadata=dict(metadata) if metadata else None), needed)


@contextlib.contextmanager
def atomic_folder(final: str | Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield an empty temporary folder beside `final`; when the body succeeds it becomes `final` in one rename.

    Everything in it is fsynced before the rename and the parent folder after it. With ``replace=False`` an
    existing `final` wins: the new folder is discarded (two processes building the same cache entry both end
    with the complete folder, and neither deletes what the other reads; `EntryLock` keeps the second from
    building at all). On failure the temporary folder is removed and `final` is untouched; running out of
    space in the body, the fsync or the rename is a `DiskFullError` naming `final` and the bytes written so far.
    """
    final = Path(final)
    tmp = temp_sibling(final)
    with naming_disk_full(final, 0):
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
    try:
        with naming_disk_full(final, lambda: tree_size(tmp), at_least=True, restate=True):
            yield tmp
            if final.exists() and not replace:
                return
            fsync_tree(tmp)
            if final.exists():
                old = temp_sibling(final)
                os.replace(final, old)
                os.replace(tmp, final)
                fsync_dir(final.parent)
                shutil.rmtree(old, ignore_errors=True)
            else:
                try:
                    os.replace(tmp, final)
                except OSError:  # another process published `final` between our check and the rename
                    if replace or not final.exists():
                        raise
                fsync_dir(final.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- readers

def require_file(path: str | Path, what: str = "file") -> Path:
    """`path` as a regular file, or a `FileFormatError` that says what it is instead (never opens a FIFO)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileFormatError(f"{path}: {what} does not exist") from None
    except OSError as e:
        raise FileFormatError(f"{path}: cannot read {what} ({e.strerror})") from None
    if stat.S_ISDIR(mode):
        raise FileFormatError(f"{path}: expected a {what} but this is a folder")
    if not stat.S_ISREG(mode):
        raise FileFormatError(f"{path}: expected a regular {what}, not a FIFO, socket or device")
    return path


def read_text(path: str | Path, what: str = "file") -> str:
    """UTF-8 text of a regular file; a leading byte-order mark is dropped."""
    path = require_file(path, what)
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileFormatError(f"{path}: {what} is not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise FileFormatError(f"{path}: cannot read {what} ({e.strerror})") from None


def parse_json(text: str, source: str | Path) -> Any:
    """Parse JSON text from `source`, refusing NaN/Infinity, numbers that underflow to 0 (``1e-400``), repeated
    keys and nesting deeper than `MAX_JSON_DEPTH`."""
    _check_depth(text, source)

    def no_constants(name: str) -> Any:
        raise FileFormatError(f"{source}: JSON holds {name}, which is not a number JSON allows")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            twice = sorted({k for k in keys if keys.count(k) > 1})
            raise FileFormatError(f"{source}: JSON object repeats key(s) {twice}; which value is meant is unclear")
        return dict(pairs)

    def no_underflow(literal: str) -> float:
        value = float(literal)
        if value == 0.0 and re.search(r"[1-9]", re.split(r"[eE]", literal)[0]):
            at = text.find(literal)
            line = text.count("\n", 0, at) + 1
            raise FileFormatError(f"{source}: JSON number {literal} (line {line}) underflows to 0: it is smaller than "
                                  "a float can hold, so reading it would silently give 0")
        return value

    try:
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=no_duplicates,
                          parse_float=no_underflow)
    except FileFormatError:
        raise
    except json.JSONDecodeError as e:
        raise FileFormatError(f"{source}: not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except ValueError as e:  # e.g. an integer longer than Python's 4300-digit conversion limit
        raise FileFormatError(f"{source}: JSON holds a value that cannot be read ({e})") from None
    except RecursionError:
        raise FileFormatError(f"{source}: JSON is nested too deeply to read") from None


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """Parse a JSON file; every failure is a `FileFormatError` naming the path."""
    return parse_json(read_text(path, what), path)


def read_object(path: str | Path, what: str = "JSON file") -> dict[str, Any]:
    """A JSON file whose top level must be an object."""
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise FileFormatError(f"{path}: {what} must hold a JSON object, found {type(data).__name__}")
    return data


def json_punctuation(text: str) -> Iterator[tuple[int, str]]:
    """``(index, char)`` of every JSON bracket, colon and comma outside strings (a cheap scan, no parse)."""
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{}[]:,":
            yield i, ch


def _check_depth(text: str, source: str | Path) -> None:
    depth = 0
    for _, ch in json_punctuation(text):
        if ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise FileFormatError(f"{source}: JSON is nested more than {MAX_JSON_DEPTH} levels deep")
        elif ch in "]}":
            depth -= 1


def read_safetensors_header(path: str | Path, what: str = "safetensors file") -> dict[str, Any]:
    """The parsed header of a safetensors file, after checking that the file is as long as it claims.

    A truncated or corrupt file is reported here with its name, before any tensor is read.
    """
    path = require_file(path, what)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise FileFormatError(f"{path}: {what} is truncated ({size} bytes, no header)")
        n = int.from_bytes(head, "little")
        if n <= 0 or 8 + n > size:
            raise FileFormatError(f"{path}: {what} is truncated or corrupt (header claims {n} bytes, file has {size})")
        try:
            header = json.loads(f.read(n).decode("utf-8").rstrip())
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise FileFormatError(f"{path}: {what} has a corrupt header") from None
    if not isinstance(header, dict):
        raise FileFormatError(f"{path}: {what} has a corrupt header")
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2):
            raise FileFormatError(f"{path}: {what} entry {name!r} has no valid data_offsets")
        end = max(end, int(offsets[1]))
    if 8 + n + end > size:
        raise FileFormatError(f"{path}: {what} is truncated ({size} bytes, tensors need {8 + n + end})")
    return header


def load_tensors(path: str | Path, what: str = "safetensors file", *, finite: bool = True,
                 names: Sequence[str] | None = None) -> dict[str, Any]:
    """The tensors of a safetensors file (all, or only `names`); corrupt files, missing names and (with
    ``finite``) NaN/inf values are named errors. Reading only `names` leaves the others on disk."""
    import torch
    from safetensors import SafetensorError, safe_open

    header = read_safetensors_header(path, what)
    stored = [n for n in header if n != "__metadata__"]
    wanted = stored if names is None else list(names)
    missing = [n for n in wanted if n not in stored]
    if missing:
        raise FileFormatError(f"{path}: {what} has no tensor(s) {missing}; it holds {stored}")
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {n: f.get_tensor(n) for n in wanted}
    except (SafetensorError, OSError, ValueError) as e:
        raise FileFormatError(f"{path}: {what} cannot be read ({e})") from None
    if finite:
        for name, t in tensors.items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise FileFormatError(f"{path}: tensor {name!r} holds NaN or infinite values")
    return tensors
