"""A classifier judge: TF-IDF + logistic regression trained on labelled synthetic turns.

Cheap and deterministic, so the trainer can use it as a GRPO reward and steering sweeps can score
thousands of generations. It is saved as plain JSON (vocabulary, idf, weights), never pickled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from models.judges.base import JudgeScore, check_trait

_VECTORIZER = dict(ngram_range=(1, 2), min_df=2, max_features=20000, sublinear_tf=True, lowercase=True)


@dataclass
class ClassifierJudge:
    """Scores 100 * P(trait | response text). Build with `ClassifierJudge.fit`."""

    trait: str
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: float
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, trait: str, texts: Sequence[str], labels: Sequence[int | bool], test_fraction: float = 0.2, seed: int = 0
    ) -> "ClassifierJudge":
        """Train on labelled texts (1 = expresses the trait); held-out accuracy goes to `metrics`."""
        check_trait(trait)
        y = np.asarray([int(bool(v)) for v in labels])
        if len(texts) != len(y):
            raise ValueError(f"texts has {len(texts)} items but labels has {len(y)}")
        if len(set(y.tolist())) < 2:
            raise ValueError("labels must contain both classes (0 and 1) to train a judge")
        x_train, x_test, y_train, y_test = train_test_split(
            list(texts), y, test_size=test_fraction, random_state=seed, stratify=y
        )
        vec = TfidfVectorizer(**_VECTORIZER)
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
        )

    def _vectorizer(self) -> TfidfVectorizer:
        vec = TfidfVectorizer(**_VECTORIZER, vocabulary=self.vocabulary)
        vec.fit(["x"])  # sets the fixed vocabulary; idf is replaced below
        vec.idf_ = self.idf
        return vec

    def probabilities(self, responses: Sequence[str]) -> np.ndarray:
        x = self._vectorizer().transform(list(responses))
        logits = x @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.asarray(logits).ravel()))

    def score(self, questions: Sequence[str], responses: Sequence[str]) -> list[JudgeScore]:
        """Scores depend on the response only; questions are accepted for the common Judge signature."""
        return [JudgeScore(round(100.0 * float(p), 4)) for p in self.probabilities(responses)]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        data = {
            "format": "latent-agents-classifier-judge/1",
            "trait": self.trait,
            "vocabulary": self.vocabulary,
            "idf": self.idf.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "metrics": self.metrics,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "ClassifierJudge":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: cannot read a classifier judge ({e})") from e
        for key in ("trait", "vocabulary", "idf", "coef", "intercept"):
            if key not in data:
                raise ValueError(f"{path}: field {key!r} is missing; not a classifier judge file")
        return cls(
            trait=data["trait"],
            vocabulary=data["vocabulary"],
            idf=np.asarray(data["idf"]),
            coef=np.asarray(data["coef"]),
            intercept=float(data["intercept"]),
            metrics=data.get("metrics", {}),
        )


def synthetic_judge(trait: str, n_debates: int = 300, seed: int = 0) -> ClassifierJudge:
    """A classifier judge trained on the turns of synthetic `trait` debates (Agent 2 expresses it)."""
    from models.debate.generate import GenerateConfig, generate_debates

    debates, _ = generate_debates(GenerateConfig(kind=check_trait(trait), n=n_debates, seed=seed))  # type: ignore[arg-type]
    texts = [turn.text for d in debates for turn in d.turns]
    labels = [int(turn.label is not None and turn.label.malicious) for d in debates for turn in d.turns]
    return ClassifierJudge.fit(trait, texts, labels, seed=seed)
