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


# ----------------------------------------------------------------- judge files: plain JSON, checked, atomic
import numpy as np  # noqa: E402

from models.errors import FileFormatError, ModelsError  # noqa: E402


def _small_judge() -> ClassifierJudge:
    return ClassifierJudge("evil", {"lie": 0, "fair": 1, "rumour": 2}, np.array([1.5, 1.2, 2.0]),
                           np.array([2.0, -1.0, 3.0]), -0.5, {"heldout_accuracy": 1.0})


def test_small_judge_round_trips(tmp_path):
    judge = _small_judge()
    again = ClassifierJudge.load(judge.save(tmp_path / "j.json"))
    assert again.vocabulary == judge.vocabulary and np.array_equal(again.coef, judge.coef)
    assert again.score(["q"], ["spread a rumour"])[0].score == judge.score(["q"], ["spread a rumour"])[0].score


@pytest.mark.parametrize("changes, message", [
    ({"trait": "rude"}, "field 'trait': trait='rude' is not known"),
    ({"trait": ["evil"]}, "field 'trait'"),
    ({"vocabulary": {"lie": 0, "fair": 1, "rumour": 5}}, "field 'vocabulary' columns are not exactly 0..2"),
    ({"vocabulary": {"lie": 0, "fair": "1", "rumour": 2}}, "entry 'fair' has column '1', not an integer"),
    ({"vocabulary": []}, "field 'vocabulary' must be a non-empty object"),
    ({"idf": [1.0, 1.0]}, "field 'idf' must be a list of 3 numbers (one per term), found 2 items"),
    ({"coef": [1.0, "x", 2.0]}, "field 'coef' holds a value that is not a number"),
    ({"coef": [1.0, 1e999, 2.0]}, "field 'coef' holds NaN or infinite values"),
    ({"idf": [1.0, 0.0, 2.0]}, "field 'idf' holds values <= 0"),
    ({"intercept": True}, "field 'intercept' is True, not a finite number"),
    ({"intercept": None}, "field 'intercept' is None, not a finite number"),
    ({"metrics": []}, "field 'metrics' is list, not an object"),
    ({"format": "pickle"}, "field 'format' is 'pickle'"),
])
def test_garbled_judge_files_are_named(tmp_path, changes, message):
    path = _small_judge().save(tmp_path / "j.json")
    data = {**json.loads(path.read_text()), **changes}
    path.write_text(json.dumps(data).replace("Infinity", "1e999"))
    with pytest.raises(FileFormatError) as info:
        ClassifierJudge.load(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


@pytest.mark.parametrize("raw", [b"", b"\x80\x81", b'{"trait": NaN}', b"[1]", b"{" * 300])
def test_unreadable_judge_files_are_named(tmp_path, raw):
    path = tmp_path / "j.json"
    path.write_bytes(raw)
    with pytest.raises(ModelsError, match=r"j\.json: "):
        ClassifierJudge.load(path)


def test_judge_save_is_atomic_and_refuses_nan(tmp_path, monkeypatch):
    import models.files

    path = _small_judge().save(tmp_path / "j.json")
    before = path.read_bytes()
    bad = _small_judge()
    bad.coef = np.array([np.nan, 0.0, 1.0])
    with pytest.raises(FileFormatError, match="non-finite weights"):
        bad.save(path)

    def half(self, text, encoding=None):
        with open(self, "w", encoding=encoding) as f:
            f.write(text[:10])
        raise OSError("disk full")

    monkeypatch.setattr(models.files.Path, "write_text", half)
    with pytest.raises(OSError, match="disk full"):
        _small_judge().save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["j.json"]
