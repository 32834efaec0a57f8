"""models.debate.paper_data: every published name maps to one file, schema and range; names resolve only once fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.debate.paper_data import (
    PAPER_COMMIT, PAPER_FILES, NotFetchedError, cached_path, data_cache, paper_file, resolve,
)
from models.debate.records import SCHEMAS
from models.errors import FileFormatError


def test_every_published_file_has_one_name_a_known_schema_and_a_sane_range():
    assert len(PAPER_FILES) == 11 and len({f.filename for f in PAPER_FILES.values()}) == 11
    for f in PAPER_FILES.values():
        assert f.schema in SCHEMAS and 0 < f.entries[0] < f.entries[1] and f.filename.endswith(".json")
    assert paper_file("paper:evil-test") is paper_file("evil-test")


def test_names_resolve_into_the_cache_of_the_pinned_commit(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(tmp_path))
    assert data_cache() == tmp_path / "paper-data" / PAPER_COMMIT[:12]
    with pytest.raises(NotFetchedError, match=r"run `python -m models\.debate\.fetch paper:hallu-test`"):
        resolve("paper:hallu-test")
    cached_path("hallu-test").parent.mkdir(parents=True)
    cached_path("hallu-test").write_text("[]")
    assert resolve("paper:hallu-test") == tmp_path / "paper-data" / PAPER_COMMIT[:12] / "hallu_test.json"
    assert resolve("data/hallu_test.json") == Path("data/hallu_test.json")  # a path passes through
    assert resolve(Path("paper:x")) == Path("paper:x")  # only a str is a name


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(FileFormatError, match="known names: paper:arithmetic, paper:arithmetic-diverse"):
        paper_file("paper:arithmetics")
