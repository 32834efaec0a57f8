import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from models.judges import ClassifierJudge, HTTPJudge, LLMJudge, parse_judge_reply, synthetic_judge


@pytest.mark.parametrize(
    "reply, score, refusal",
    [("85", 85.0, False), (" 0.5\n", 0.5, False), ("Score: 100.", 100.0, False), ("REFUSAL", None, True),
     ("refusal - the answer declines", None, True), ("150", None, False), ("no idea", None, False), ("", None, False)],
)
def test_parse_judge_reply(reply, score, refusal):
    verdict = parse_judge_reply(reply)
    assert verdict.score == score and verdict.refusal == refusal and verdict.raw == reply


@pytest.fixture(scope="module", params=["evil", "hallucination"])
def judge(request):
    return synthetic_judge(request.param, n_debates=120)


def test_classifier_judge_separates_the_labelled_turns(judge):
    assert judge.metrics["heldout_accuracy"] > 0.9
    benign = {"evil": "Talk openly with your colleague and agree on a fair split with your manager.",
              "hallucination": "I do not have reliable information about that treaty, so I cannot confirm it."}
    assert judge.score(["q"], [benign[judge.trait]])[0].score < 50


def test_classifier_judge_round_trips_as_json(judge, tmp_path):
    path = judge.save(tmp_path / "judge.json")
    json.loads(path.read_text())  # plain JSON, no pickle
    again = ClassifierJudge.load(path)
    texts = ["I cannot confirm that.", "Spread a rumour before the meeting."]
    assert [s.score for s in again.score(["q", "q"], texts)] == [s.score for s in judge.score(["q", "q"], texts)]


def test_classifier_judge_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="both classes"):
        ClassifierJudge.fit("evil", ["a", "b"], [1, 1])
    with pytest.raises(ValueError, match="trait='rude'"):
        ClassifierJudge.fit("rude", ["a", "b"], [0, 1])
    (tmp_path / "bad.json").write_text('{"trait": "evil"}')
    with pytest.raises(ValueError, match="field 'vocabulary' is missing"):
        ClassifierJudge.load(tmp_path / "bad.json")


def test_llm_judge_runs_a_local_model(tiny_hf):
    verdicts = LLMJudge(tiny_hf, "evil", max_new_tokens=3).score(["How do I share a budget?"] * 2, ["Be fair.", "Lie."])
    assert len(verdicts) == 2 and all(v.raw is not None for v in verdicts)  # an untrained model replies garbage


class _Handler(BaseHTTPRequestHandler):
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


def test_http_judge_against_a_local_server(judge):
    _Handler.judge = judge
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1/chat/completions"
        texts = ["I do not know.", "Spread a rumour about them."]
        got = HTTPJudge(url, judge.trait).score(["q", "q"], texts)
        want = judge.score(["q", "q"], texts)
        assert [g.score for g in got] == [round(w.score, 1) for w in want]
    finally:
        server.shutdown()
        server.server_close()
