"""Download the paper's published debate files by name, verify them and cache them.

    python -m models.debate.fetch paper:evil-debates        # one file
    python -m models.debate.fetch all                       # all eleven (about 56 MB)
    python -m models.debate.fetch paper:evil-test --force   # download again

A file is streamed from the pinned commit (an immutable URL) to a temporary name beside its cache
entry, checked (the byte count against ``Content-Length``, then the readers' full validation: schema,
every entry, the entry count in its published range) and only then fsynced and renamed into place, so
the cache never holds a partial or unverified file. A second call finds the file and does nothing; two
processes fetching the same name at once take turns (`models.files.EntryLock`), so the second finds the
first one's file instead of downloading it again.

Every failure is one named error (`FetchError` and its subclasses): the server's answer
(`DownloadError`), a cut-off transfer (`TruncatedDownloadError`), a file that is not the published
one (`InvalidDownloadError`), a cache that cannot be written (`CacheWriteError`; a full disk is its
subclass `CacheFullError`, also a `models.errors.DiskFullError` naming the file and the bytes needed).
``--base-url`` (or ``LATENT_AGENTS_PAPER_URL``) points at a mirror; the tests use a loopback server.
"""

from __future__ import annotations

import argparse
import errno
import http.client
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from models.debate.format import DebateFormatError
from models.debate.paper_data import PAPER_COMMIT, PAPER_FILES, PAPER_REPO, PREFIX, PaperFile, cached_path, paper_file
from models.debate.readers import read_debate_file
from models.errors import DiskFullError, ModelsError
from models.files import EntryLock, free_bytes, rename_into_place, temp_sibling, tree_size

DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/{PAPER_REPO}/{PAPER_COMMIT}/data/"
CHUNK = 1 << 20


class FetchError(ModelsError, RuntimeError):
    """A published file could not be fetched; nothing was written to the cache."""


class DownloadError(FetchError):
    """The server refused or could not be reached (HTTP status, DNS, timeout)."""


class TruncatedDownloadError(FetchError):
    """Fewer bytes arrived than the server announced."""


class InvalidDownloadError(FetchError):
    """The bytes arrived but are not the published file (wrong schema, bad entries, implausible count)."""


class CacheWriteError(FetchError):
    """The cache folder cannot be written (a full disk, no permission)."""


class CacheFullError(CacheWriteError, DiskFullError):
    """The disk filled while a file was fetched: names the file, the bytes it needs and the bytes free."""


def base_url(override: str | None = None) -> str:
    url = override or os.environ.get("LATENT_AGENTS_PAPER_URL") or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def fetch(name: str, force: bool = False, url: str | None = None, progress: bool = True, timeout: float = 60.0) -> Path:
    """The cached path of published file `name` (``paper:evil-debates`` or ``evil-debates``), downloaded if needed."""
    spec = paper_file(name)
    final = cached_path(spec.name)
    if final.is_file() and not force:
        return final
    source = base_url(url) + spec.filename
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise CacheFullError(final, 0, free_bytes(final.parent)) from None
        raise CacheWriteError(f"cannot create the cache folder {final.parent}: {e.strerror}") from None
    with EntryLock(final):
        if final.is_file() and not force:  # another process fetched it while we waited
            return final
        part = temp_sibling(final)
        try:
            expected = _download(source, part, spec, progress, timeout)
            _validate(part, spec, source)
            try:
                rename_into_place(part, final)
            except OSError as e:
                raise _cache_error(spec, part, final, e, expected) from None
        finally:
            part.unlink(missing_ok=True)
    return final


def _cache_error(spec: PaperFile, part: Path, final: Path, e: OSError, expected: int | None) -> CacheWriteError:
    """A full disk (`CacheFullError`, with the bytes needed) or another write failure, naming the cached file."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):  # without Content-Length: at least what had arrived
        needed = expected if expected is not None else tree_size(part)
        return CacheFullError(final, needed, free_bytes(final.parent), at_least=expected is None)
    return CacheWriteError(f"{PREFIX}{spec.name}: cannot write {part.parent} ({e.strerror}); "
                           "nothing was kept in the cache")


def _download(source: str, part: Path, spec: PaperFile, progress: bool, timeout: float) -> int | None:
    """Stream `source` to `part`; returns the announced size (None when the server gave none)."""
    try:
        response = urllib.request.urlopen(source, timeout=timeout)  # noqa: S310 -- an https (or test loopback) URL
    except urllib.error.HTTPError as e:
        raise DownloadError(f"{PREFIX}{spec.name}: {source} answered HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"{PREFIX}{spec.name}: cannot reach {source} ({reason}); "
                            "fetching needs internet access (or --base-url of a mirror)") from None
    announced = response.headers.get("Content-Length")
    expected = int(announced) if announced and announced.isdigit() else None
    received = 0
    try:
        with response, open(part, "wb") as out, tqdm(total=expected, unit="B", unit_scale=True, desc=spec.filename,
                                                      disable=not progress, leave=False) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    except http.client.IncompleteRead as e:
        received += len(e.partial)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
            raise _cache_error(spec, part, cached_path(spec.name), e, expected) from None
        raise DownloadError(f"{PREFIX}{spec.name}: the transfer from {source} failed ({e})") from None
    if expected is not None and received != expected:
        raise TruncatedDownloadError(f"{PREFIX}{spec.name}: {source} announced {expected} bytes but sent {received}; "
                                     "nothing was kept, run the command again")
    return expected


def _validate(part: Path, spec: PaperFile, source: str) -> None:
    try:
        data = read_debate_file(part, schema=spec.schema)
    except DebateFormatError as e:
        detail = str(e).replace(str(part), spec.filename)
        raise InvalidDownloadError(f"{PREFIX}{spec.name}: {source} is not the published {spec.schema} file: "
                                   f"{detail}") from None
    low, high = spec.entries
    if not low <= data.n_entries <= high:
        raise InvalidDownloadError(f"{PREFIX}{spec.name}: {source} holds {data.n_entries} entries; the published file "
                                   f"has {low}..{high}")


def _names_help() -> str:
    def size(mb: float) -> str:
        return f"{mb:5.1f} MB" if mb >= 0.1 else f"{mb * 1000:5.0f} KB"

    rows = [f"  {PREFIX + f.name:<28} {f.filename:<42} {size(f.size_mb)}  {f.what}" for f in PAPER_FILES.values()]
    return (f"names (johnsk95/latent_agents data/ at commit {PAPER_COMMIT[:12]}):\n" + "\n".join(rows)
            + "\n\nFetched files are cached under $LATENT_AGENTS_CACHE/paper-data/; every reader takes the names.")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.debate.fetch", description=__doc__.split("\n\n")[0],
                                epilog=_names_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+", metavar="NAME", help="a name below (with or without 'paper:'), or 'all'")
    p.add_argument("--force", action="store_true", help="download again even when the file is cached")
    p.add_argument("--base-url", default=None, help="a mirror of the data/ folder (default: the pinned GitHub commit)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    names = list(PAPER_FILES) if args.names == ["all"] else args.names
    try:
        for name in names:
            path = fetch(name, force=args.force, url=args.base_url, progress=not args.no_progress, timeout=args.timeout)
            print(f"{PREFIX}{paper_file(name).name}: {path}")
    except ModelsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
