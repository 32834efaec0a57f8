"""Activation shards on disk: streamed writes, resume, and a cache keyed by model, data and settings.

A store is one folder per (weights, data, settings) triple, ``<cache_dir>/<model8>-<data8>-<settings8>/``::

    manifest.json              key, provenance of the rows, and whether every shard is written
    shard-00000.jsonl          one `Row` per line
    shard-00000.safetensors    one [n_rows, d_model] tensor per site; header: key, shard index, rows hash

Every file is written under a temporary name and renamed, and the tensors file is written after its
rows file, so a shard exists only when both are whole. A run that stops leaves complete shards
behind; the next run with the same key skips them. A changed model, data set or setting changes the
key, so stale shards are never reused. A shard whose header names another key is refused, and so is
one that is not the shard its name says: the header records its index and row count, and every read
checks them against the file name, the rows file and each tensor's first dimension. Truncated or
corrupt tensors files and NaN/inf activations are `ShardError`s naming the file (NaN is refused on
write too, so a run never seals a poisoned shard).

Two processes may collect into one store at once: a shard that `has_shard` reports missing is claimed
by the asking process (`models.files.EntryLock` on the shard) until it writes it, so the other process
waits at that shard, then finds it written and reuses it; a shard is never computed twice at the same
time, and a claimant that dies releases its claim. Every file is fsynced before and after its rename
(`models.files`), and a full disk is a `DiskFullError` that leaves no partial shard.

Example:
    >>> store = ShardStore.open("cache", key, header)
    >>> store.write_shard(0, rows, values)
    >>> store.mark_complete(1); store.load().at("blocks.1.hook_resid_post").shape
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from models.errors import FileFormatError
from models.files import EntryLock, load_tensors, parse_json, read_object, read_safetensors_header, read_text, \
    write_json, write_tensors, write_text
from models.hooked import HookedModel
from models.identity import model_fingerprint
from models.manifest import hash_json
from probes.activations import ActivationSet, Row
from probes.errors import ShardError

FORMAT = "latent-agents-shards/1"


@dataclass(frozen=True)
class ShardKey:
    """What a store's activations depend on: model weights, input data and collection settings."""

    model: str
    data: str
    settings: str

    @classmethod
    def of(cls, model: HookedModel, data_hash: str, settings: Mapping[str, Any]) -> "ShardKey":
        return cls(model_fingerprint(model), data_hash, hash_json(dict(settings)))

    @property
    def name(self) -> str:
        return f"{self.model[:8]}-{self.data[:8]}-{self.settings[:8]}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------- store
class ShardStore:
    """One cache folder of activation shards; see the module docstring for the layout."""

    def __init__(self, root: Path, key: ShardKey, header: Mapping[str, Any]):
        self.root = root
        self.key = key
        self.header = dict(header)
        self._claims: dict[int, EntryLock] = {}  # shards this store reported missing and will write

    def __repr__(self) -> str:
        return f"ShardStore({str(self.root)!r}, complete={self.complete})"

    @classmethod
    def open(cls, cache_dir: str | Path, key: ShardKey, header: Mapping[str, Any]) -> "ShardStore":
        """Open (or create) the store for `key` under `cache_dir`; `header` is the rows' provenance."""
        root = Path(cache_dir) / key.name
        manifest = root / "manifest.json"
        if not manifest.exists():
            _create(root, key, header)
        data = _read_json(manifest)
        if data.get("key") != asdict(key):
            raise ShardError(
                f"{manifest} belongs to key {data.get('key')}, not {asdict(key)}; "
                "the folder was copied or renamed: delete it"
            )
        stored = data.get("header", header)
        if not isinstance(stored, Mapping):
            raise ShardError(f"{manifest} field 'header' is {type(stored).__name__}, not an object")
        return cls(root, key, stored)

    # ------------------------------------------------------------- paths and state
    def _paths(self, index: int) -> tuple[Path, Path]:
        stem = self.root / f"shard-{index:05d}"
        return stem.with_suffix(".safetensors"), stem.with_suffix(".jsonl")

    def _manifest(self) -> dict[str, Any]:
        return _read_json(self.root / "manifest.json")

    def _write_manifest(self, complete: bool, n_shards: int | None) -> None:
        body = {"format": FORMAT, "key": asdict(self.key), "header": self.header, "complete": complete,
                "n_shards": n_shards}
        try:
            write_json(self.root / "manifest.json", body)
        except FileFormatError as e:
            raise ShardError(str(e)) from None

    @property
    def complete(self) -> bool:
        return _manifest_state(self.root / "manifest.json", self._manifest())[0]

    @property
    def n_shards(self) -> int | None:
        return _manifest_state(self.root / "manifest.json", self._manifest())[1]

    def mark_complete(self, n_shards: int) -> None:
        missing = [i for i in range(n_shards) if not self._written(i)]
        if missing:
            raise ShardError(f"cannot mark {self.root} complete: shard(s) {missing} are missing")
        self._write_manifest(complete=True, n_shards=n_shards)
        self.release_claims()

    def has_shard(self, index: int) -> bool:
        """True when shard `index` is whole and was written for this key (a foreign or broken shard raises).

        False also claims the shard for this store: another process asking for it meanwhile waits until this
        one writes it (`write_shard`), releases it (`release_claims`, `mark_complete`) or exits, and then finds
        it written. So two collections on one store never compute a shard twice at the same time.
        """
        if self._written(index):
            return True
        return not self._claim(index)

    def _written(self, index: int) -> bool:
        tensors, rows = self._paths(index)
        if not (tensors.exists() and rows.exists()):
            return False
        self._check_header(index, tensors, rows)
        return True

    # ------------------------------------------------------------- claims (two processes, one store)
    def _claim(self, index: int) -> bool:
        """Hold shard `index`'s lock for this store; False when the shard was written while we waited."""
        if index in self._claims:
            return True
        lock = EntryLock(self._paths(index)[0]).acquire()
        if self._written(index):
            lock.release()
            return False
        self._claims[index] = lock
        return True

    def _unclaim(self, index: int) -> None:
        lock = self._claims.pop(index, None)
        if lock is not None:
            lock.release()

    def release_claims(self) -> None:
        """Let other processes compute the shards this store reported missing but did not write."""
        for index in list(self._claims):
            self._unclaim(index)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release_claims()

    def _check_header(self, index: int, tensors: Path, rows: Path) -> tuple[dict[str, str], list[str], str]:
        """The shard's header metadata, its site names and its rows text, after checking that the header
        names this store's key, this index and these rows."""
        try:
            header = read_safetensors_header(tensors, "activation shard")
        except FileFormatError as e:
            raise ShardError(f"{e}; delete it to recollect") from None
        meta = header.get("__metadata__") or {}
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else meta
            raise ShardError(f"{tensors} is not an activation shard (format {found!r}, expected {FORMAT!r})")
        for field, want in (("model", self.key.model), ("data", self.key.data), ("settings", self.key.settings)):
            if meta.get(field) != want:
                what = {"model": "model weights", "data": "data set", "settings": "collection settings"}[field]
                raise ShardError(
                    f"{tensors} was written for another {what} ({field} hash {meta.get(field)!r}) but the store "
                    f"{self.root} is for {field} hash {want!r}; it does not belong here: delete it"
                )
        if meta.get("index") != str(index):
            raise ShardError(f"{tensors} header field 'index' says shard {meta.get('index')!r} but the file is shard "
                             f"{index}: it was copied or renamed; delete it and {rows.name} to recollect")
        n_rows = meta.get("n_rows")
        if not (isinstance(n_rows, str) and n_rows.isdecimal()):
            raise ShardError(f"{tensors} header field 'n_rows' is {n_rows!r}, not a row count")
        for name, entry in header.items():
            shape = entry.get("shape") if name != "__metadata__" else None
            if name != "__metadata__" and not (isinstance(shape, list) and len(shape) == 2 and shape[0] == int(n_rows)):
                raise ShardError(f"{tensors} tensor {name!r} has shape {shape} but header field 'n_rows' says "
                                 f"{n_rows} rows of [n_rows, d_model]")
            if name != "__metadata__" and entry.get("dtype") != "F32":  # same width as I32/U32: bytes would be re-read
                raise ShardError(f"{tensors} tensor {name!r} has dtype {entry.get('dtype')!r}; shards hold F32 "
                                 "activations: delete it to recollect")
        try:
            text = read_text(rows, "shard rows file")
        except FileFormatError as e:
            raise ShardError(str(e)) from None
        if meta.get("rows_sha256") != _sha(text):
            raise ShardError(f"{rows} does not match {tensors.name} (rows hash differs); delete both to recollect")
        return meta, [name for name in header if name != "__metadata__"], text

    # ------------------------------------------------------------- write and read
    def write_shard(self, index: int, rows: Sequence[Row], values: Mapping[str, Tensor],
                    info: Mapping[str, Any] | None = None) -> None:
        """Write shard `index` atomically: rows first, then tensors (whose header seals the pair).

        Values must be finite ``[len(rows), d_model]`` tensors: a NaN written here would only surface
        later as a silently wrong direction, so it is refused before anything is written.
        """
        tensors, rows_path = self._paths(index)
        payload = {site: v.detach().float().cpu().contiguous() for site, v in values.items()}
        for site, v in payload.items():
            if v.ndim != 2 or v.shape[0] != len(rows):
                raise ShardError(f"shard {index} of {self.root}: site {site!r} has shape {tuple(v.shape)}, "
                                 f"expected [{len(rows)}, d_model] (one row per Row)")
            if not bool(torch.isfinite(v).all()):
                raise ShardError(f"shard {index} of {self.root}: site {site!r} holds NaN or infinite activations; "
                                 "nothing was written")
        text = "".join(json.dumps(r.to_json(), sort_keys=True) + "\n" for r in rows)
        meta = {"format": FORMAT, **asdict(self.key), "index": str(index), "n_rows": str(len(rows)),
                "rows_sha256": _sha(text), "info": json.dumps(dict(info or {}), sort_keys=True)}
        with _holding(self._claims.get(index) or EntryLock(tensors)):
            try:
                write_text(rows_path, text)
                write_tensors(tensors, payload, metadata=meta)
            finally:
                self._claims.pop(index, None)

    def read_shard(self, index: int, sites: Sequence[str] | None = None
                   ) -> tuple[list[Row], dict[str, Tensor], dict[str, Any]]:
        """Rows, ``{site: [n, d_model]}`` (all sites, or only `sites`) and the shard's info counts."""
        tensors, rows_path = self._paths(index)
        if not (tensors.exists() and rows_path.exists()):
            raise ShardError(f"shard {index} of {self.root} is missing; rerun the collection to resume it")
        meta, stored, text = self._check_header(index, tensors, rows_path)
        rows = _parse_rows(rows_path, text)
        if int(meta["n_rows"]) != len(rows):
            raise ShardError(f"{tensors} says {meta['n_rows']} rows but {rows_path.name} has {len(rows)}")
        expected = self.header.get("sites")
        if isinstance(expected, list) and sorted(stored) != sorted(expected):
            raise ShardError(f"{tensors} holds site(s) {sorted(stored)} but the store was collected at "
                             f"{sorted(expected)}; delete it to recollect")
        wanted = list(stored) if sites is None else list(sites)
        unknown = [s for s in wanted if s not in stored]
        if unknown:
            raise ShardError(f"{tensors} has no site(s) {unknown}; it holds {list(stored)}")
        try:  # only the wanted sites are read, so streaming one site of a many-site store keeps memory flat
            values = load_tensors(tensors, "activation shard", finite=True, names=wanted)
        except FileFormatError as e:
            raise ShardError(f"{e}; delete it to recollect") from None
        try:
            info = parse_json(meta.get("info", "{}"), f"{tensors} header field 'info'")
        except FileFormatError as e:
            raise ShardError(str(e)) from None
        if not isinstance(info, dict):
            raise ShardError(f"{tensors} header field 'info' is {type(info).__name__}, not an object")
        return rows, values, info

    def iter_shards(self, sites: Sequence[str] | None = None) -> Iterator[tuple[list[Row], dict[str, Tensor]]]:
        """Shards one at a time, so a reduction over many rows keeps memory flat."""
        for index in range(self._require_complete()):
            rows, values, _ = self.read_shard(index, sites)
            yield rows, values

    def _require_complete(self) -> int:
        complete, n_shards = _manifest_state(self.root / "manifest.json", self._manifest())
        if not complete or n_shards is None:
            raise ShardError(f"{self.root} is incomplete (a run stopped); rerun the collection to resume it")
        return n_shards

    def load(self, sites: Sequence[str] | None = None, info: Mapping[str, Any] | None = None) -> ActivationSet:
        """Every shard concatenated into one `ActivationSet` (optionally only some sites)."""
        n = self._require_complete()
        rows: list[Row] = []
        parts: dict[str, list[Tensor]] = {}
        counts: dict[str, Any] = {}
        for index in range(n):
            r, values, shard_info = self.read_shard(index, sites)
            rows.extend(r)
            for site, v in values.items():
                parts.setdefault(site, []).append(v)
            for k, v in shard_info.items():
                counts[k] = counts.get(k, 0) + v if isinstance(v, (int, float)) else v
        site_order = list(sites) if sites is not None else list(self.header.get("sites", parts))
        values = {s: torch.cat(parts[s]) if parts.get(s) else torch.zeros(0, int(self.header.get("d_model", 0)))
                  for s in site_order}
        h = self.header
        return ActivationSet(
            rows=tuple(rows), values=values, model=h.get("model", ""), checkpoint=h.get("checkpoint", ""),
            # stores written before the field was named read_position call it "positions"
            read_position=h.get("read_position", h.get("positions", "")), kind=h.get("kind", "turn"),
            data_hash=self.key.data,
            model_info=h.get("model_info", {}), info={**counts, **dict(info or {}), "store": str(self.root)},
        )


def _create(root: Path, key: ShardKey, header: Mapping[str, Any]) -> None:
    """Write an empty store's manifest unless another process did while we waited for its lock."""
    with EntryLock(root / "manifest.json"):
        if not (root / "manifest.json").exists():
            made = not root.exists()
            root.mkdir(parents=True, exist_ok=True)
            try:
                ShardStore(root, key, header)._write_manifest(complete=False, n_shards=None)
            except BaseException:
                if made:  # a store folder without its manifest is no store: leave nothing (e.g. on a full disk)
                    shutil.rmtree(root, ignore_errors=True)
                raise


@contextlib.contextmanager
def _holding(lock: EntryLock) -> Iterator[None]:
    """Hold `lock` (taking it when not yet held by this thread) and release it once at the end."""
    if not lock.held:
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return read_object(path, "shard store manifest")
    except FileFormatError as e:
        raise ShardError(f"{e}; delete the store folder to recollect") from None


def _manifest_state(path: Path, manifest: dict[str, Any]) -> tuple[bool, int | None]:
    """``(complete, n_shards)`` of a manifest, refusing values of the wrong type instead of guessing."""
    complete, n_shards = manifest.get("complete", False), manifest.get("n_shards")
    if not isinstance(complete, bool):
        raise ShardError(f"{path} field 'complete' is {complete!r}, not true or false")
    if n_shards is not None and (isinstance(n_shards, bool) or not isinstance(n_shards, int) or n_shards < 0):
        raise ShardError(f"{path} field 'n_shards' is {n_shards!r}, not a shard count")
    if complete and n_shards is None:
        raise ShardError(f"{path} says complete but field 'n_shards' is missing")
    return complete, n_shards


def _parse_rows(path: Path, text: str) -> list[Row]:
    """One `Row` per line of `path`'s `text`; a line that is not a row object is named by file and line number."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        try:
            data = parse_json(line, f"{path} line {number}")
        except FileFormatError as e:
            raise ShardError(str(e)) from None
        if not isinstance(data, dict):
            raise ShardError(f"{path} line {number}: expected a row object, got {type(data).__name__}")
        try:
            rows.append(Row.from_json(data))
        except (TypeError, ValueError) as e:
            raise ShardError(f"{path} line {number}: not a valid row ({e})") from None
    return rows
