"""The run-folder writer every experiment uses: one folder per run, complete or absent.

``results/<experiment>/<YYYYmmdd-HHMMSS>-<config-hash8>/`` is built under a hidden temporary name unique
to the process and call (``models.files.temp_sibling``) and renamed when the run finishes, so a crashed
or interrupted run never leaves a folder that looks done, and two runs never share a temporary folder.
A killed run's temporary folder is swept by the next run in the same experiment folder once its
writer process is gone and it is older than `STALE_AFTER_S`.

Every finished folder ends with ``report.html`` (`experiments._report`): the run's takeaway and verdicts
(`RunFolder.headline`), command, config, summary and every figure with its caption, on one page.
"""

from __future__ import annotations

import csv
import hashlib
import dataclasses
import json
import shlex
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from experiments._report import REPORT, ReportFigure, render_report
from models.files import STALE_AFTER_S, atomic_folder, sweep_stale
from models.manifest import hash_json
from models.provenance import env_info
from probes.plots import write_figure


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and obj != obj:  # NaN is not JSON
        return None
    return obj


class RunFolder:
    """A run's output folder: ``path`` is the temporary folder while the run writes, the final one after."""

    def __init__(self, path: Path):
        self.path = path
        self.figures: list[ReportFigure] = []
        self.title = self.takeaway = ""
        self.verdicts: list[str] = []
        (path / "figures").mkdir(parents=True, exist_ok=True)

    def headline(self, title: str, takeaway: str, verdicts: Sequence[str] = ()) -> None:
        """What ``report.html`` opens with: a title, one sentence to take away, and the verdict lines."""
        self.title, self.takeaway, self.verdicts = title, takeaway, list(verdicts)

    def json(self, name: str, obj: Any) -> Path:
        target = self.path / name
        target.write_text(json.dumps(to_jsonable(obj), indent=2, sort_keys=True) + "\n")
        return target

    def text(self, name: str, content: str) -> Path:
        target = self.path / name
        target.write_text(content)
        return target

    def jsonl(self, name: str, rows: Sequence[Mapping[str, Any]]) -> Path:
        target = self.path / name
        target.write_text("".join(json.dumps(to_jsonable(r), sort_keys=True) + "\n" for r in rows))
        return target

    def csv(self, name: str, rows: Sequence[Mapping[str, Any]]) -> Path:
        target = self.path / name
        fields = list(dict.fromkeys(k for r in rows for k in r))
        with target.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows([to_jsonable(r) for r in rows])
        return target

    def figure(self, fig: Any, stem: str, caption: str) -> list[Path]:
        """``figures/<stem>.html`` with plotly bundled inline (works offline; PNG too when a renderer exists),
        shown in ``report.html`` with `caption`: one sentence saying what to look at."""
        written = write_figure(fig, self.path / "figures" / stem, png_scale=None)
        self.figures.append(ReportFigure(fig, f"figures/{stem}.html", caption))
        return written


def sweep_stale_runs(parent: str | Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete temporary run folders in `parent` left by killed runs (`models.files.sweep_stale`), and the
    ``<run>.tmp`` folders of the earlier naming scheme. Returns what was removed."""
    return sweep_stale(parent, older_than_s, legacy=lambda p: p.name.endswith(".tmp") and p.is_dir())


def command_line(script: str) -> str:
    """The command that ran `script`, for summaries: ``python experiments/<script>.py <args>``."""
    return shlex.join(["python", f"experiments/{script}.py", *sys.argv[1:]])


def report_path(run: RunFolder) -> Path:
    """Where the finished run's page is (print it: it is the first thing to open)."""
    return run.path / REPORT


@contextmanager
def run_folder(experiment: str, config: Any, root: str | Path = "results", seed: int | None = None) -> Iterator[RunFolder]:
    """Create the run folder, write config.json and env.json, and publish it only if the body succeeds."""
    final = Path(root) / experiment / f"{time.strftime('%Y%m%d-%H%M%S')}-{hash_json(to_jsonable(config))[:8]}"
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_runs(final.parent)
    command = command_line(experiment)
    with atomic_folder(final) as tmp:
        run = RunFolder(tmp)
        written = run.json("config.json", config)
        # the predeclared criteria live in config.json: its hash pins them before any generation
        run.json("env.json", {**env_info(seed), "config_sha256": hashlib.sha256(written.read_bytes()).hexdigest()})
        yield run
        run.text(REPORT, render_report(
            tmp, experiment=experiment, title=run.title or experiment, command=command, figures=run.figures,
            run_id=final.name,
            takeaway=run.takeaway or "No takeaway was recorded for this run: read the summary below.",
            verdicts=run.verdicts))
    run.path = final
