"""``report.html``: the one page that ties a run together, readable offline and after being copied elsewhere.

Top to bottom: the takeaway and the verdicts, the command and config, the run's ``summary.md``
(its tables rendered), every figure inline with a sentence saying what to look at, and links to the
raw files. plotly.js is embedded once in the page, so the page needs neither the network nor the
files beside it; every experiment uses this one template and `probes.plots.COLORWAY`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markdown_it import MarkdownIt

from probes.plots import COLORWAY, FIGURE_CONFIG, page_figure

VERDICTS = ("CONFIRMED", "REFUTED", "INCONCLUSIVE")
REPORT = "report.html"  # its file name in every run folder


@dataclass(frozen=True)
class ReportFigure:
    """A plotly figure, the file it was also saved to (relative to the run folder), and what to look at."""

    figure: Any
    file: str
    caption: str


_PAGE = Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
 body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0; background: #fafafa; }
 main { max-width: 1100px; margin: 0 auto; padding: 1.2em 1.5em 4em; background: #fff; }
 h1 { font-size: 1.5em; margin: .2em 0; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
 .takeaway { font-size: 1.1em; background: #f0f4fa; border-left: 4px solid {{ accent }}; padding: .6em 1em; }
 ul.verdicts { list-style: none; padding: 0; } ul.verdicts li { margin: .35em 0; }
 .badge { display: inline-block; min-width: 8.5em; text-align: center; font-weight: 600; font-size: .8em;
          padding: .1em .4em; border-radius: 3px; color: #fff; margin-right: .5em; }
 .CONFIRMED { background: #2e7d32; } .REFUTED { background: #c62828; } .INCONCLUSIVE { background: #757575; }
 .NOTE { background: #1565c0; }
 pre, code { font: 13px/1.4 ui-monospace, Menlo, Consolas, monospace; }
 pre { background: #f6f8fa; padding: .7em; overflow-x: auto; white-space: pre-wrap; }
 table { border-collapse: collapse; margin: .8em 0; font-size: .9em; display: block; overflow-x: auto; }
 th, td { border: 1px solid #ddd; padding: .25em .55em; text-align: left; } th { background: #f3f3f3; }
 figure { margin: 1.5em 0; } figcaption { color: #444; font-size: .95em; margin-top: .3em; }
 .meta { color: #666; font-size: .9em; }
</style>
<script type="text/javascript">{{ plotly_js | safe }}</script>
</head><body><main>
<p class="meta">{{ experiment }} · run {{ run_id }}</p>
<h1>{{ title }}</h1>
<p class="takeaway">{{ takeaway }}</p>
{% if verdicts %}<ul class="verdicts">{% for kind, text in verdicts %}
 <li><span class="badge {{ kind }}">{{ kind }}</span>{{ text }}</li>{% endfor %}</ul>{% endif %}
<h2>How it was run</h2>
<pre>{{ command }}</pre>
<details><summary>config.json</summary><pre>{{ config }}</pre></details>
{% if figures %}<h2>Figures</h2>{% for f in figures %}
<figure>{{ f.div | safe }}<figcaption>{{ f.caption }} <a href="{{ f.file }}">({{ f.file }})</a></figcaption></figure>
{% endfor %}{% endif %}
<h2>Summary</h2>
{{ summary | safe }}
<h2>Files</h2>
<ul>{% for name, size in files %}<li><a href="{{ name }}">{{ name }}</a> <span class="meta">{{ size }}</span></li>{% endfor %}</ul>
</main></body></html>
""")


def verdict_items(lines: Sequence[str]) -> list[tuple[str, str]]:
    """``"CONFIRMED: x"`` -> ``("CONFIRMED", "x")``; a line with no verdict word is shown as a note."""
    out = []
    for line in lines:
        text = line.strip().lstrip("=> ").strip()
        kind = next((v for v in VERDICTS if text.upper().startswith(v)), "NOTE")
        out.append((kind, text[len(kind):].lstrip(" :-—") if kind != "NOTE" else text))
    return out


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n} B"


def _figure_div(fig: Any) -> str:
    """The figure as a responsive ``<div>`` without its own copy of plotly.js, in the shared colours."""
    return page_figure(fig).to_html(full_html=False, include_plotlyjs=False, default_width="100%",
                                    config=FIGURE_CONFIG)


def render_report(folder: Path, *, experiment: str, title: str, takeaway: str, verdicts: Sequence[str],
                  command: str, figures: Sequence[ReportFigure], run_id: str | None = None) -> str:
    """The page for the run in `folder` (its config.json, summary.md and files are read from there; `run_id`
    is the folder's final name when the page is written before the temporary folder is renamed)."""
    from plotly.offline import get_plotlyjs

    config_file, summary_file = folder / "config.json", folder / "summary.md"
    config = json.dumps(json.loads(config_file.read_text()), indent=2) if config_file.is_file() else "(none)"
    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
    summary = markdown.render(summary_file.read_text()) if summary_file.is_file() else "<p>(no summary.md)</p>"
    files = sorted((str(p.relative_to(folder)), _size(p.stat().st_size)) for p in folder.rglob("*")
                   if p.is_file() and p.name != REPORT)
    return _PAGE.render(
        title=title, experiment=experiment, run_id=run_id or folder.name, takeaway=takeaway,
        verdicts=verdict_items(verdicts), command=command, config=config, summary=summary, files=files,
        figures=[{"div": _figure_div(f.figure), "file": f.file, "caption": f.caption} for f in figures],
        plotly_js=get_plotlyjs(), accent=COLORWAY[0])
