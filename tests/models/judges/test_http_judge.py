"""HTTPJudge against a local server: retries on 429/5xx, one named error for everything else."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from models.errors import ModelsError
from models.judges.llm import HTTPJudge, JudgeEndpointError


class _Scripted(BaseHTTPRequestHandler):
    """Answers each POST with the next (status, body) of `script`; counts the requests."""

    script: list[tuple[int, bytes]] = []
    seen = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        self.rfile.read(int(self.headers["Content-Length"]))
        status, body = type(self).script[min(type(self).seen, len(type(self).script) - 1)]
        type(self).seen += 1
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _reply(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


@pytest.fixture
def server() -> Iterator[str]:
    _Scripted.seen = 0
    httpd = HTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/v1/chat/completions"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_retries_a_503_then_scores(server: str) -> None:
    _Scripted.script = [(503, b"busy"), (429, b"slow down"), (200, _reply("73"))]
    got = HTTPJudge(server, "evil", backoff_s=0.0).score(["q"], ["a"])
    assert got[0].score == 73.0
    assert _Scripted.seen == 3


def test_gives_up_after_the_retries_with_the_url(server: str) -> None:
    _Scripted.script = [(503, b"busy")]
    with pytest.raises(JudgeEndpointError, match="failed after 3 attempts: HTTP 503"):
        HTTPJudge(server, "evil", retries=2, backoff_s=0.0).score(["q"], ["a"])
    assert _Scripted.seen == 3


@pytest.mark.parametrize("status, body", [(400, b"bad request"), (200, b"not json"), (200, b'{"choices": []}')])
def test_a_non_completion_is_one_named_error_without_retry(server: str, status: int, body: bytes) -> None:
    _Scripted.script = [(status, body)]
    with pytest.raises(JudgeEndpointError, match=server):
        HTTPJudge(server, "evil", backoff_s=0.0).score(["q"], ["a"])
    assert _Scripted.seen == 1


def test_unreachable_endpoint_is_named() -> None:
    with pytest.raises(JudgeEndpointError, match="127.0.0.1:9"):
        HTTPJudge("http://127.0.0.1:9/v1/chat/completions", "evil", retries=0, timeout_s=2).score(["q"], ["a"])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ModelsError, match="retries >= 0"):
        HTTPJudge("http://127.0.0.1:9", "evil", retries=-1)
