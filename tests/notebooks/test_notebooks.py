"""Every notebook in notebooks/ runs top to bottom on the tiny checkpoints, so none of them rots; the committed
copies carry their outputs, with figures that render without the plotly mimetype and without a network."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

FOLDER = Path(__file__).parents[2] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
PLOTLY = "application/vnd.plotly.v1+json"
PLOTLYJS = re.compile(r"\* plotly\.js v\d")  # the licence header of the bundled library
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)
REMOTE = re.compile(r"""cdn\.plot\.ly|import\s*\(?\s*["'](https?:)?//""", re.IGNORECASE)
CAPABILITY = "capability accuracy by arm and alpha (json):"
MAX_BYTES = 8_000_000


def _build_script() -> Any:
    spec = importlib.util.spec_from_file_location("build_notebooks", FOLDER / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _loads_remote_script(html: str) -> bool:
    """Whether an HTML output fetches code from the network (a script src, a CDN import) to render."""
    for attributes, body in SCRIPT.findall(html):
        if re.search(r"\bsrc\s*=", attributes):
            return True
        if not PLOTLYJS.search(body) and REMOTE.search(body):  # the library itself names a default topojson URL
            return True
    return bool(REMOTE.search(SCRIPT.sub("", html)))


def _outputs(notebook: Any) -> list[Any]:
    return [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _check_outputs(notebook: Any, name: str) -> None:
    """No errors, every code cell run, and figures that render offline in viewers that skip the plotly mimetype."""
    outputs = _outputs(notebook)
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, f"{name}: {[(e.ename, e.evalue) for e in errors]}"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), f"{name}: a code cell was not executed"
    shown = [o for o in outputs if o.output_type in ("execute_result", "display_data")]
    figures = [o for o in shown if PLOTLY in o.get("data", {})]
    assert figures, f"{name} displayed no figure ({len(shown)} outputs)"
    for i, fig in enumerate(figures):
        html = fig["data"].get("text/html", "")
        assert "Plotly.newPlot" in html, f"{name}: figure {i} has no static HTML rendering beside the plotly JSON"
        assert not _loads_remote_script(html), f"{name}: figure {i} loads a script from the network"
    assert PLOTLYJS.search(figures[0]["data"]["text/html"]), f"{name}: the first figure does not embed plotly.js"
    assert sum(bool(PLOTLYJS.search(f["data"]["text/html"])) for f in figures) == 1, f"{name}: plotly.js embedded twice"


def _capability(notebook: Any) -> dict[str, dict[str, float]]:
    """The steering notebook's capability accuracies, from the line it prints for this purpose."""
    text = "".join(o.get("text", "") for o in _outputs(notebook) if o.output_type == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith(CAPABILITY)), None)
    assert line is not None, f"no {CAPABILITY!r} line in the outputs"
    return json.loads(line[len(CAPABILITY):])


def _check_capability(notebook: Any) -> None:
    """Quick mode must show the effect: capability that moves with alpha, not a panel flat at one value."""
    capability = _capability(notebook)
    values = [v for by_alpha in capability.values() for v in by_alpha.values()]
    assert len(set(values)) > 1, f"capability is flat: {capability}"
    assert any(len(set(by_alpha.values())) > 1 for by_alpha in capability.values()), \
        f"no arm's capability changes with alpha: {capability}"


def test_committed_notebooks_are_the_built_ones_with_outputs() -> None:
    """The committed cells are exactly build_notebooks.py's (for the mode their outputs come from), each
    figure is followed by a sentence on how to read it, and the saved outputs pass the same checks as a run."""
    build = _build_script()
    assert sorted(build.SOURCES) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        committed = nbformat.read(path, as_version=4)
        mode = committed.metadata.get("latent_agents", {}).get("outputs_from")
        assert mode in ("tiny", "full"), f"{path.name} is committed without outputs: run build_notebooks.py --execute"
        expected = build.build(path.name, mode)
        assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in expected.cells], \
            f"{path.name} differs from build_notebooks.py: rerun `python notebooks/build_notebooks.py --execute {mode}`"
        for i, cell in enumerate(committed.cells):
            if cell.cell_type == "code" and "show(" in cell.source:
                assert i + 1 < len(committed.cells) and committed.cells[i + 1].cell_type == "markdown", \
                    f"{path.name}: the figure in cell {i} has no reading note under it"
        _check_outputs(committed, path.name)
        assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"
        if path.stem == "steering_base_vs_distilled":
            _check_capability(committed)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENT_AGENTS_NOTEBOOK_SIZE", "tiny")  # notebooks read this to shrink their runs
    monkeypatch.setenv("LATENT_AGENTS_RESULTS", str(tmp_path / "results"))
    if "OMP_NUM_THREADS" not in os.environ:  # one torch thread, as build_notebooks.py --execute (see THREADS there)
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    _check_outputs(notebook, path.name)
    if path.stem == "steering_base_vs_distilled":
        _check_capability(notebook)
