"""report.html: one self-contained page per run, verdicts first, every figure inline with its caption."""

from __future__ import annotations

import re

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from experiments._report import verdict_items
from experiments._results import report_path, run_folder


def _run(tmp_path):
    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[3, 1, 2], name="score"))
    fig.update_layout(width=1400)  # a fixed width must not survive into the page or the figure file
    with run_folder("exp", {"alpha": [0, -1]}, root=tmp_path) as run:
        run.text("summary.md", "# Result\n\n| arm | score |\n|---|---|\n| base | 1.0 [0.5, 1.5] |\n\n"
                               "<script>x</script>\n")
        run.figure(fig, "curve", "Look at where the curve crosses the threshold.")
        run.headline("A title", "One sentence to take away.",
                     ["CONFIRMED: the effect is there -- 0.4 [0.1, 0.7]", "=> REFUTED: the other one", "a note"])
    return run


def test_the_page_leads_with_the_takeaway_and_verdicts_and_embeds_plotly_once(tmp_path):
    run = _run(tmp_path)
    page = report_path(run).read_text()
    assert f"run {run.path.name}</p>" in page  # the published name, not the temporary folder's
    assert page.index("One sentence to take away.") < page.index("How it was run") < page.index("Figures")
    assert re.findall(r'class="badge (\w+)"', page) == ["CONFIRMED", "REFUTED", "NOTE"]
    assert page.count(get_plotlyjs()[:200]) == 1 and "<script src=" not in page  # works offline and when copied
    assert "Look at where the curve crosses the threshold." in page and 'href="figures/curve.html"' in page
    assert "<table>" in page and "<td>1.0 [0.5, 1.5]</td>" in page  # the summary's pipe table is rendered
    assert "<script>x</script>" not in page  # raw HTML in a summary is shown as text, never run
    assert '"width":1400' not in page.replace(" ", "")
    for name in ("config.json", "env.json", "summary.md", "figures/curve.html"):
        assert f'href="{name}"' in page


def test_a_figure_file_is_self_contained_and_takes_the_window_width(tmp_path):
    run = _run(tmp_path)
    figure = (run.path / "figures" / "curve.html").read_text()
    assert "<script src=" not in figure and get_plotlyjs()[:200] in figure
    assert '"width":1400' not in figure.replace(" ", "") and "100%" in figure
    assert not (run.path / "figures" / "plotly.min.js").exists()


def test_a_run_without_a_headline_still_gets_a_page_that_says_so(tmp_path):
    with run_folder("exp", {}, root=tmp_path) as run:
        run.text("summary.md", "text")
    assert "No takeaway was recorded" in report_path(run).read_text()


def test_verdict_lines_are_split_into_kind_and_text():
    assert verdict_items(["CONFIRMED: a", "=> INCONCLUSIVE -- b", "REFUTED c", "plain"]) == [
        ("CONFIRMED", "a"), ("INCONCLUSIVE", "b"), ("REFUTED", "c"), ("NOTE", "plain")]
