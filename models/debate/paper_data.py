"""The paper's published debate files by name: which file, which schema, how many entries, where it is cached.

Names such as ``paper:evil-debates`` stand for the JSON files in ``data/`` of the paper's repository
(johnsk95/latent_agents) at one pinned commit, so a name always means the same bytes. `resolve`
turns a name into its cached file (any other path passes through unchanged); every reader
(`read_debate_file` and the functions built on it, the trainer's data options, the experiments'
``--debates``) calls it, so a name works wherever a path does. Nothing here touches the network:
``python -m models.debate.fetch NAME`` downloads (see `models.debate.fetch`).

Entry ranges are the paper's counts (or, where the paper gives none, the counts inferred from the
file sizes in ``shared/notes/paper.md``) with wide margins: a download outside them is not the
published file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.debate.records import Schema
from models.errors import FileFormatError
from models.registry import cache_dir

PAPER_REPO = "johnsk95/latent_agents"
PAPER_COMMIT = "039fe30a935ae259fe8de9c62e8bd42336dff4f4"
PREFIX = "paper:"


@dataclass(frozen=True)
class PaperFile:
    """One published data file."""

    name: str  # without the ``paper:`` prefix
    filename: str  # under data/ in the repository
    schema: Schema
    entries: tuple[int, int]  # the range a genuine copy's entry count lies in
    size_mb: float  # as published, for the help text
    what: str


PAPER_FILES: dict[str, PaperFile] = {f.name: f for f in (
    PaperFile("arithmetic", "arithmetic_3_2.json", "arithmetic", (400, 2000), 3.4,
              "3-agent 2-round GPT-3.5 arithmetic debates (paper: 944)"),
    PaperFile("arithmetic-diverse", "arithmetic_3_2_diverse.json", "arithmetic", (400, 2000), 4.1,
              "persona debates (CoT / self-critique / program of thought), the paper's Stage 1 data"),
    PaperFile("mixture", "debate_combined.json", "mixture", (1000, 4000), 17.2,
              "arithmetic, GSM8K, BBH and CNN/DM debates (App. J; paper: 2000)"),
    PaperFile("steering-pairs-train", "agent_steering_pairs_diverse_train.json", "steering_pairs", (500, 20000), 18.4,
              "turn-level contrast pairs from ~700 persona debates"),
    PaperFile("steering-pairs-test", "agent_steering_pairs_diverse_test.json", "steering_pairs", (50, 5000), 2.6,
              "turn-level contrast pairs from ~100 held-out persona debates"),
    PaperFile("evil-debates", "evil_debate.json", "malicious", (250, 1000), 5.9,
              "debates on the evil training questions with an evil Agent 2"),
    PaperFile("evil-train", "evil_train.json", "questions", (250, 1000), 0.041, "evil-inviting questions (paper: 500)"),
    PaperFile("evil-test", "evil_test.json", "questions", (50, 250), 0.008, "held-out evil-inviting questions (paper: 100)"),
    PaperFile("hallu-debates", "hallu_debate.json", "malicious", (250, 1000), 4.5,
              "debates on fictional-entity questions with a hallucinating Agent 2"),
    PaperFile("hallu-train", "hallu_train.json", "questions", (250, 1000), 0.041,
              "questions about fictional entities (paper: 500)"),
    PaperFile("hallu-test", "hallu_test.json", "questions", (50, 250), 0.008,
              "held-out fictional-entity questions (paper: 100; indices match Table 17)"),
)}


class NotFetchedError(FileFormatError):
    """A ``paper:`` name whose file is not in the cache yet; the message gives the fetch command."""


def paper_file(name: str) -> PaperFile:
    """The published file a name (with or without ``paper:``) stands for; unknown names list the known ones."""
    key = name.removeprefix(PREFIX)
    if key not in PAPER_FILES:
        known = ", ".join(PREFIX + k for k in PAPER_FILES)
        raise FileFormatError(f"{name!r} is not a published data file; known names: {known}")
    return PAPER_FILES[key]


def data_cache() -> Path:
    """Where fetched files live: ``$LATENT_AGENTS_CACHE/paper-data/<commit>/`` (one folder per pinned commit)."""
    return cache_dir() / "paper-data" / PAPER_COMMIT[:12]


def cached_path(name: str) -> Path:
    return data_cache() / paper_file(name).filename


def is_paper_name(path: str | Path) -> bool:
    return isinstance(path, str) and path.startswith(PREFIX)


def resolve(path: str | Path) -> Path:
    """The file a ``paper:`` name stands for (it must have been fetched), or `path` itself."""
    if not is_paper_name(path):
        return Path(path)
    found = cached_path(str(path))
    if not found.is_file():
        raise NotFetchedError(f"{path} is not downloaded yet (looked in {data_cache()}); "
                              f"run `python -m models.debate.fetch {path}` on a machine with internet access")
    return found
