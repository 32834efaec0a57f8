"""The README's Python blocks run as written, top to bottom in one namespace, so the tour cannot rot.

Every ```python fenced block of README.md is extracted in order and executed with one shared globals
dict, as a reader pasting them into one Python session would. (Today all of them are in the "## Tour"
section; the other sections hold only ```bash blocks, which are not run.) The blocks use only the
shipped tiny checkpoints, offline. The working directory is a temporary folder, and so are the
registry cache (``LATENT_AGENTS_CACHE``, where ``tiny-random`` is built) and `tempfile`'s default
folder (where the tour saves its vector), so a run writes nothing into the repository or the home cache.
"""

from __future__ import annotations

import re
import tempfile
import traceback
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\S*)\s*$")
MIN_BLOCKS = 5  # the tour has seven; fewer than this means part of it was deleted


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line, source)`` of every top-level ```python block, in order; `line` is the 1-based line of its fence."""
    blocks: list[tuple[int, str]] = []
    lang: str | None = None
    start, body = 0, []
    for n, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if lang is None:
            if match:
                lang, start, body = match.group(1).lower(), n, []
        elif match and not match.group(1):  # a bare ``` closes the block
            if lang == "python":
                blocks.append((start, "\n".join(body) + "\n"))
            lang = None
        else:
            body.append(line)
    assert lang is None, f"README.md: the ```{lang} block opened at line {start} is never closed"
    return blocks


def test_python_blocks_are_found() -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= MIN_BLOCKS, f"README.md has {len(blocks)} ```python blocks; the tour has at least {MIN_BLOCKS}"


def test_readme_python_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= MIN_BLOCKS, f"README.md has {len(blocks)} ```python blocks; the tour has at least {MIN_BLOCKS}"
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("LATENT_AGENTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    # One intra-op thread: the tour's tensors are tiny, and with two threads a CPU shared with other jobs
    # spends most of its time in thread synchronisation (a 16-token generation: 0.1 s vs 8 s of CPU).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    ns: dict[str, object] = {"__name__": "readme_tour"}
    try:
        for i, (line, source) in enumerate(blocks, start=1):
            name = f"README.md block {i} (line {line})"
            try:
                exec(compile(source, name, "exec"), ns)
            except Exception as e:  # noqa: BLE001 -- any failure is reported with where it happened in the README
                at = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == name]
                if isinstance(e, SyntaxError) and e.filename == name:
                    at = [e.lineno]
                where = f"README line {line + at[-1]}" if at and at[-1] else "compiling it"
                pytest.fail(f"{name} failed at {where}: {type(e).__name__}: {e}\n\n{traceback.format_exc()}")
    finally:
        torch.set_num_threads(threads)
    assert not any(work.iterdir()), f"the tour wrote into the working directory: {sorted(work.iterdir())}"
