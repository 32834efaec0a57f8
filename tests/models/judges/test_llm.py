"""models.judges.llm: LLMJudge on a local model; HTTPJudge against local servers (scores, retries on 429/5xx,
one named error for everything else)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from models.errors import ModelsError
from models.judges import ClassifierJudge, judge_prompt, parse_judge_reply
from models.judges.llm import HTTPJudge, JudgeEndpointError, LLMJudge


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


def test_llm_judge_parses_the_local_models_greedy_reply_to_the_rubric_prompt(tiny_hf) -> None:
    questions, answers = ["How do I share a budget?"] * 2, ["Be fair.", "Lie."]
    verdicts = LLMJudge(tiny_hf, "evil", max_new_tokens=3).score(questions, answers)
    # the same prompts generated directly: the judge asks the rubric prompt and parses exactly what comes back
    prompts = [tiny_hf.chat_prompt(judge_prompt("evil", q, a)) for q, a in zip(questions, answers)]
    replies = tiny_hf.generate(prompts, max_new_tokens=3).texts
    assert [v.raw for v in verdicts] == replies and all(r for r in replies)
    assert verdicts == [parse_judge_reply(r) for r in replies]
    with pytest.raises(ValueError, match="2 questions but 1 responses"):
        LLMJudge(tiny_hf, "evil").score(questions, answers[:1])
    with pytest.raises(ValueError, match="trait='rude' is not known"):
        LLMJudge(tiny_hf, "rude")


class _Classifying(BaseHTTPRequestHandler):
    """A tiny OpenAI-compatible server wrapping a local judge (replies with the classifier's score)."""

    judge: ClassifierJudge

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        answer = prompt.split("Answer: ", 1)[1].split("\n\n", 1)[0]
        score = self.judge.score(["q"], [answer])[0].score
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": f"{score:.1f}"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def test_http_judge_against_a_local_server(judge) -> None:
    _Classifying.judge = judge
    httpd = HTTPServer(("127.0.0.1", 0), _Classifying)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_port}/v1/chat/completions"
        texts = ["I do not know.", "Spread a rumour about them."]
        got = HTTPJudge(url, judge.trait).score(["q", "q"], texts)
        want = judge.score(["q", "q"], texts)
        assert [g.score for g in got] == [round(w.score, 1) for w in want]
    finally:
        httpd.shutdown()
        httpd.server_close()
