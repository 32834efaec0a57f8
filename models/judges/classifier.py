"""A classifier judge: TF-IDF + logistic regression trained on labelled synthetic turns.

Cheap and deterministic, so the trainer can use it as a GRPO reward and steering sweeps can score
thousands of generations. It is saved as plain JSON (vocabulary, idf, weights), never pickled, written
atomically through `models.files`; loading checks every field (types, finite weights, a vocabulary
that indexes the weights exactly), so a garbled file is a `FileFormatError` naming the file and
field instead of a wrong reward or a scikit-learn traceback at scoring time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from models.errors import FileFormatError
from models.files import read_object, write_text
from models.judges.base import JudgeError, JudgeScore, check_trait

FORMAT = "latent-agents-classifier-judge/1"

Features = Literal["word", "char"]
_VECTORIZERS: dict[str, dict[str, Any]] = {
    # word uni/bigrams: the reward judge's features
    "word": dict(ngram_range=(1, 2), min_df=2, max_features=20000, sublinear_tf=True, lowercase=True),
    # character 3-5-grams inside word boundaries: the evaluation judge's, so it is not a near-copy of the reward
    "char": dict(analyzer="char_wb", ngram_range=(3, 5), min_df=2, max_features=40000, sublinear_tf=True,
                 lowercase=True),
}


@dataclass
class ClassifierJudge:
    """Scores 100 * P(trait | response text). Build with `ClassifierJudge.fit`."""

    trait: str
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: float
    metrics: dict[str, Any] = field(default_factory=dict)
    features: Features = "word"

    @classmethod
    def fit(
        cls, trait: str, texts: Sequence[str], labels: Sequence[int | bool], test_fraction: float = 0.2, seed: int = 0,
        features: Features = "word",
    ) -> "ClassifierJudge":
        """Train on labelled texts (1 = expresses the trait); held-out accuracy goes to `metrics`."""
        check_trait(trait)
        y = np.asarray([int(bool(v)) for v in labels])
        if len(texts) != len(y):
            raise JudgeError(f"texts has {len(texts)} items but labels has {len(y)}")
        if len(set(y.tolist())) < 2:
            raise JudgeError("labels must contain both classes (0 and 1) to train a judge")
        x_train, x_test, y_train, y_test = train_test_split(
            list(texts), y, test_size=test_fraction, random_state=seed, stratify=y
        )
        if features not in _VECTORIZERS:
            raise JudgeError(f"features must be one of {', '.join(_VECTORIZERS)}, got {features!r}")
        vec = TfidfVectorizer(**_VECTORIZERS[features])
        clf = LogisticRegression(C=4.0, max_iter=2000, random_state=seed)
        clf.fit(vec.fit_transform(x_train), y_train)
        accuracy = float((clf.predict(vec.transform(x_test)) == y_test).mean())
        return cls(
            trait=trait,
            vocabulary={k: int(v) for k, v in vec.vocabulary_.items()},
            idf=vec.idf_.astype(np.float64),
            coef=clf.coef_[0].astype(np.float64),
            intercept=float(clf.intercept_[0]),
            metrics={"heldout_accuracy": accuracy, "n_train": len(x_train), "n_test": len(x_test)},
            features=features,
        )

    def _vectorizer(self) -> TfidfVectorizer:
        vec = TfidfVectorizer(**_VECTORIZERS[self.features], vocabulary=self.vocabulary)
        vec.fit(["x"])  # sets the fixed vocabulary; idf is replaced below
        vec.idf_ = self.idf
        return vec

    def probabilities(self, responses: Sequence[str]) -> np.ndarray:
        if len(responses) == 0:  # scikit-learn refuses an empty batch; there is simply nothing to score
            return np.zeros(0)
        x = self._vectorizer().transform(list(responses))
        logits = x @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.asarray(logits).ravel()))

    def score(self, questions: Sequence[str], responses: Sequence[str]) -> list[JudgeScore]:
        """Scores depend on the response only; questions are accepted for the common Judge signature."""
        return [JudgeScore(round(100.0 * float(p), 4)) for p in self.probabilities(responses)]

    def save(self, path: str | Path) -> Path:
        """Write the judge as compact JSON, atomically; NaN/inf weights are refused (JSON cannot hold them)."""
        data = {
            "format": FORMAT,
            "trait": self.trait,
            "vocabulary": self.vocabulary,
            "idf": self.idf.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "metrics": self.metrics,
            "features": self.features,
        }
        try:
            text = json.dumps(data, allow_nan=False)
        except ValueError as e:
            raise FileFormatError(f"{path}: refusing to save a classifier judge with non-finite weights ({e})") from None
        return write_text(path, text)

    @classmethod
    def load(cls, path: str | Path) -> "ClassifierJudge":
        """Read a judge written by `save`; any defect is a `FileFormatError` naming the file and field."""
        data = read_object(path, "classifier judge file")
        for key in ("trait", "vocabulary", "idf", "coef", "intercept"):
            if key not in data:
                raise FileFormatError(f"{path}: field {key!r} is missing; not a classifier judge file")
        if data.get("format", FORMAT) != FORMAT:
            raise FileFormatError(f"{path}: field 'format' is {data['format']!r}, expected {FORMAT!r}")
        trait = data["trait"]
        try:
            check_trait(trait if isinstance(trait, str) else repr(trait))
        except ValueError as e:
            raise FileFormatError(f"{path}: field 'trait': {e}") from None
        vocabulary = _vocabulary(path, data["vocabulary"])
        idf = _weights(path, "idf", data["idf"], len(vocabulary))
        coef = _weights(path, "coef", data["coef"], len(vocabulary))
        if (idf <= 0).any():
            raise FileFormatError(f"{path}: field 'idf' holds values <= 0; idf weights are positive")
        intercept = data["intercept"]
        if isinstance(intercept, bool) or not isinstance(intercept, (int, float)) or not math.isfinite(intercept):
            raise FileFormatError(f"{path}: field 'intercept' is {intercept!r}, not a finite number")
        features = data.get("features", "word")
        if features not in _VECTORIZERS:
            raise FileFormatError(f"{path}: field 'features' is {features!r}; expected one of {', '.join(_VECTORIZERS)}")
        metrics = data.get("metrics", {})
        if not isinstance(metrics, dict):
            raise FileFormatError(f"{path}: field 'metrics' is {type(metrics).__name__}, not an object")
        return cls(trait=trait, vocabulary=vocabulary, idf=idf, coef=coef, intercept=float(intercept),
                   metrics=metrics, features=features)


def _vocabulary(path: str | Path, raw: object) -> dict[str, int]:
    """Term -> column; the columns must be exactly 0..n-1, as the vectorizer indexes the weights by them."""
    if not isinstance(raw, dict) or not raw:
        raise FileFormatError(f"{path}: field 'vocabulary' must be a non-empty object of term -> column")
    bad = [(k, v) for k, v in raw.items() if isinstance(v, bool) or not isinstance(v, int)]
    if bad:
        raise FileFormatError(f"{path}: field 'vocabulary' entry {bad[0][0]!r} has column {bad[0][1]!r}, not an integer")
    if sorted(raw.values()) != list(range(len(raw))):
        raise FileFormatError(f"{path}: field 'vocabulary' columns are not exactly 0..{len(raw) - 1}")
    return dict(raw)


def _weights(path: str | Path, name: str, raw: object, n: int) -> np.ndarray:
    """A list of `n` finite numbers (one per vocabulary column)."""
    if not isinstance(raw, list) or len(raw) != n:
        found = f"{len(raw)} items" if isinstance(raw, list) else type(raw).__name__
        raise FileFormatError(f"{path}: field {name!r} must be a list of {n} numbers (one per term), found {found}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        raise FileFormatError(f"{path}: field {name!r} holds a value that is not a number")
    values = np.asarray(raw, dtype=np.float64)
    if not np.isfinite(values).all():
        raise FileFormatError(f"{path}: field {name!r} holds NaN or infinite values")
    return values


def turn_examples(debates: Sequence[Any]) -> tuple[list[str], list[int]]:
    """Every turn's text of `debates`, labelled 1 when its speaker expresses the trait."""
    turns = [turn for d in debates for turn in d.turns]
    return [t.text for t in turns], [int(t.label is not None and t.label.malicious) for t in turns]


def synthetic_judge(trait: str, n_debates: int = 300, seed: int = 0) -> ClassifierJudge:
    """A classifier judge trained on the turns of synthetic `trait` debates (Agent 2 expresses it)."""
    from models.debate.generate import GenerateConfig, generate_debates

    debates, _ = generate_debates(GenerateConfig(kind=check_trait(trait), n=n_debates, seed=seed))  # type: ignore[arg-type]
    texts, labels = turn_examples(debates)
    return ClassifierJudge.fit(trait, texts, labels, seed=seed)


def evaluation_judge_debates(trait: str, n_debates: int = 300, seed: int = 0) -> list[Any]:
    """The debates `evaluation_judge` trains on (``judge``-template questions), for split manifests to list."""
    from models.debate.splits import family_debates

    return family_debates(check_trait(trait), n_debates, seed + 1009, "judge")  # type: ignore[arg-type]


def evaluation_judge(trait: str, n_debates: int = 300, seed: int = 0) -> ClassifierJudge:
    """The judge experiments report with: character n-grams, trained only on debates whose questions come
    from the ``judge`` templates, so it shares neither data nor features with the reward judge
    (`synthetic_judge`, word n-grams on ``train``-template debates) the distilled models were optimised
    against. Validate it with `models.judges.validation.pair_agreement` on `validation_pairs`."""
    texts, labels = turn_examples(evaluation_judge_debates(trait, n_debates, seed))
    return ClassifierJudge.fit(trait, texts, labels, seed=seed, features="char")
