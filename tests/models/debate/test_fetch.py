"""models.debate.fetch against a loopback HTTP server: fetch, verify, cache, and name every failure.

The server (127.0.0.1, an ephemeral port) serves fixture files in the published schemas, built here
from our generator, plus the failure cases: a 404, a body cut short of its Content-Length, a file of
the wrong schema, a file with too few entries. After every failure the cache holds nothing.
"""

from __future__ import annotations

import errno
import http.server
import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from models.debate import fetch as fetch_module
from models.debate.fetch import (
    CacheWriteError, DownloadError, InvalidDownloadError, TruncatedDownloadError, fetch, main,
)
from models.debate.paper_data import NotFetchedError, cached_path, data_cache, resolve
from models.debate.readers import read_debate_file, read_questions
from models.debate.records import transcript_entry
from models.debate.splits import family_questions, malicious_debates
from models.errors import FileFormatError


class _Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    truncate: set[str]
    hits: Counter


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 -- the http.server API
        name = self.path.rsplit("/", 1)[-1]
        self.server.hits[name] += 1
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        cut = name in self.server.truncate
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if cut else body)  # a cut body: the connection closes early

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def published() -> dict[str, bytes]:
    """Fixture files in the published schemas: 60 test questions, 250 evil debates (each within its range)."""
    questions = family_questions("evil", 60, 0, "eval")
    debates = [transcript_entry(t, "malicious", include_labels=False) for t in malicious_debates("evil", 250, 5)]
    return {"evil_test.json": json.dumps(questions).encode(), "evil_debate.json": json.dumps(debates).encode()}


@pytest.fixture
def server(published):
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.files, srv.truncate, srv.hits = dict(published), set(), Counter()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LATENT_AGENTS_PAPER_URL", raising=False)
    return tmp_path / "cache"


def _url(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/data/"


def _cached_files() -> list[Path]:
    return sorted(p for p in data_cache().rglob("*") if p.is_file()) if data_cache().exists() else []


def test_a_fetched_file_is_verified_cached_and_read_by_name(server, cache):
    with pytest.raises(NotFetchedError, match=r"python -m models\.debate\.fetch paper:evil-test"):
        read_questions("paper:evil-test")
    path = fetch("paper:evil-test", url=_url(server), progress=False)
    assert path == cached_path("evil-test") and path.parent.parent.parent == cache
    assert len(read_questions("paper:evil-test")) == 60
    assert fetch("evil-test", url=_url(server), progress=False) == path  # cached: no second request
    assert server.hits["evil_test.json"] == 1
    fetch("paper:evil-test", url=_url(server), progress=False, force=True)
    assert server.hits["evil_test.json"] == 2
    assert _cached_files() == [path]


def test_the_readers_and_the_trainer_take_the_names(server, cache):
    from models.train.data import read_sft_file

    fetch("paper:evil-debates", url=_url(server), progress=False)
    data = read_debate_file("paper:evil-debates")
    assert data.schema == "malicious" and data.n_entries == 250
    rows = read_sft_file("paper:evil-debates")
    assert len(rows) == 250 and rows[0]["prompt"].startswith("Problem: ")
    assert resolve("some/file.json") == Path("some/file.json")


@pytest.mark.parametrize("case, error, message", [
    ("missing", DownloadError, "answered HTTP 404"),
    ("truncated", TruncatedDownloadError, r"announced \d+ bytes but sent \d+"),
    ("wrong schema", InvalidDownloadError, "is not the published malicious file"),
    ("too few", InvalidDownloadError, "holds 10 entries; the published file has 50..250"),
])
def test_every_failure_is_named_and_leaves_nothing_in_the_cache(server, cache, published, case, error, message):
    name = {"missing": "paper:hallu-test", "truncated": "paper:evil-debates", "wrong schema": "paper:evil-debates",
            "too few": "paper:evil-test"}[case]
    if case == "truncated":
        server.truncate.add("evil_debate.json")
    if case == "wrong schema":
        server.files["evil_debate.json"] = published["evil_test.json"]
    if case == "too few":
        server.files["evil_test.json"] = json.dumps(family_questions("evil", 10, 1, "eval")).encode()
    with pytest.raises(error, match=message):
        fetch(name, url=_url(server), progress=False)
    assert _cached_files() == []


def test_an_unreachable_server_and_a_full_disk_are_named(server, cache, monkeypatch):
    with pytest.raises(DownloadError, match="cannot reach .* internet access"):
        fetch("paper:evil-test", url="http://127.0.0.1:9/data/", progress=False, timeout=5)

    def full_disk(path, mode="r", *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fetch_module, "open", full_disk, raising=False)
    with pytest.raises(CacheWriteError, match="No space left on device"):
        fetch("paper:evil-test", url=_url(server), progress=False)
    assert _cached_files() == []


def test_the_cli_lists_the_names_and_prints_one_line_errors(server, cache, capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "paper:evil-debates" in out and "paper:arithmetic-diverse" in out and "039fe30a935a" in out
    assert main(["paper:evil-test", "--base-url", _url(server), "--no-progress"]) == 0
    assert "evil_test.json" in capsys.readouterr().out
    assert main(["paper:nope", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a published data file" in err
    assert main(["paper:hallu-test", "--base-url", _url(server), "--no-progress"]) == 1
    assert "HTTP 404" in capsys.readouterr().err
    with pytest.raises(FileFormatError, match="known names: paper:arithmetic"):
        cached_path("paper:nope")
