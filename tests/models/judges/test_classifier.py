"""ClassifierJudge (models.judges.classifier): separates labelled turns, plain-JSON files that are checked and atomic."""

import json

import numpy as np
import pytest

from models.errors import FileFormatError, ModelsError
from models.judges import ClassifierJudge


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


# ----------------------------------------------------------------- judge files: plain JSON, checked, atomic
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


def test_an_empty_batch_scores_to_an_empty_list(judge):
    # regression: scikit-learn refused a 0-row matrix, which broke sweeps in which no output reached a consensus
    assert judge.score([], []) == []


def test_the_evaluation_judge_shares_neither_features_nor_templates_with_the_reward_judge(tmp_path):
    from models.debate.malicious import template_id
    from models.debate.splits import family_debates
    from models.judges.classifier import evaluation_judge

    judge = evaluation_judge("evil", n_debates=60)
    assert judge.features == "char" and any(len(term) <= 5 and " " not in term.strip() for term in judge.vocabulary)
    seen = {template_id("evil", d.question).split("/")[1] for d in family_debates("evil", 60, 1009, "judge")}
    assert seen == {"judge"}
    again = ClassifierJudge.load(judge.save(tmp_path / "j.json"))  # the feature kind survives the file
    text = ["Book the meeting while your colleague is on holiday."]
    assert again.features == "char" and again.score(["q"], text)[0].score == judge.score(["q"], text)[0].score
