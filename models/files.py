"""Files on disk: written whole or not at all, read with errors that name the file.

Every artifact the toolkit writes (manifests, debate files, vectors, shards, checkpoints, run folders)
goes through the writers here: the content is written to a temporary sibling whose name is unique to
this process and call, then renamed over the target in one step, so a reader sees the old file or the
whole new one, and a crash leaves at most a dot-file that `sweep_stale` recognises. Readers here turn
every way a file can be unusable (missing, a directory or FIFO, not UTF-8, a BOM, bad JSON, absurd
nesting, a corrupt safetensors header) into one `FileFormatError` naming the path.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from models.errors import FileFormatError

TMP_MARK = ".tmp-"
STALE_AFTER_S = 6 * 3600  # a temporary name this old whose writer process is gone is a leftover
MAX_JSON_DEPTH = 200  # far deeper than any file we read; deeper input is refused before json recurses


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


# --------------------------------------------------------------------------- writers

def _publish(tmp: Path, path: Path, write: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically."""
    path = Path(path)
    return _publish(temp_sibling(path), path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj: Any, *, sort_keys: bool = True) -> Path:
    """Write `obj` as indented UTF-8 JSON atomically. NaN and infinities are refused: JSON has no spelling for them."""
    try:
        text = json.dumps(obj, indent=2, sort_keys=sort_keys, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError as e:
        raise FileFormatError(f"{path}: refusing to write a non-finite number as JSON ({e})") from None
    return write_text(path, text + "\n")


def write_tensors(path: str | Path, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None) -> Path:
    """Write a safetensors file atomically (tensors detached, contiguous and on the CPU)."""
    from safetensors.torch import save_file

    payload = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    path = Path(path)
    return _publish(temp_sibling(path), path,
                    lambda tmp: save_file(payload, str(tmp), metadata=dict(metadata) if metadata else None))


@contextlib.contextmanager
def atomic_folder(final: str | Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield an empty temporary folder beside `final`; when the body succeeds it becomes `final` in one rename.

    With ``replace=False`` an existing `final` wins: the new folder is discarded (two processes building
    the same cache entry both end with the complete folder, and neither deletes what the other reads).
    On failure the temporary folder is removed and `final` is untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(final)
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            if not replace:
                return
            old = temp_sibling(final)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(tmp, final)
            except OSError:  # another process published `final` between our check and the rename
                if replace or not final.exists():
                    raise
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
    """Parse JSON text from `source`, refusing NaN/Infinity and nesting deeper than `MAX_JSON_DEPTH`."""
    _check_depth(text, source)

    def no_constants(name: str) -> Any:
        raise FileFormatError(f"{source}: JSON holds {name}, which is not a number JSON allows")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            twice = sorted({k for k in keys if keys.count(k) > 1})
            raise FileFormatError(f"{source}: JSON object repeats key(s) {twice}; which value is meant is unclear")
        return dict(pairs)

    try:
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=no_duplicates)
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
