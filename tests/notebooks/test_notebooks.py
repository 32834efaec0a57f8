"""Every notebook in notebooks/ runs top to bottom on the tiny checkpoints, so none of them rots."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENT_AGENTS_NOTEBOOK_SIZE", "tiny")  # notebooks read this to shrink their runs
    monkeypatch.setenv("LATENT_AGENTS_RESULTS", str(tmp_path / "results"))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "a code cell was not executed"
    # Each notebook ends its analysis in figures: the executed cells must have displayed at least one.
    shown = [o for c in code for o in c.get("outputs", []) if o.output_type in ("execute_result", "display_data")]
    figures = [o for o in shown if "application/vnd.plotly.v1+json" in o.get("data", {})
               or "plotly" in str(o.get("data", {}).get("text/html", ""))]
    assert figures, f"{path.name} displayed no figure ({len(shown)} outputs)"
