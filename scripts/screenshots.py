"""Screenshots of what a new user opens first: a run's report.html and an executed notebook, as a browser shows them.

Headless Chromium (Debian: ``apt-get install -y chromium``) renders each page at a desktop and a narrow
width, so a cut-off legend, a horizontal scrollbar or a blank figure shows up in the PNG. Notebooks
are turned into HTML with nbconvert (``pip install -e '.[docs]'``) first.

    python scripts/screenshots.py                                  # newest demo report + the steering notebook
    python scripts/screenshots.py --report results/agent_style/<run>/report.html --out /tmp/shots
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (1280, 720)
HEIGHT = 2400


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    raise SystemExit("error: no headless Chromium on PATH; install Debian's package: apt-get install -y chromium")


def newest_report(experiment: str = "suppress_malicious") -> Path:
    runs = sorted((ROOT / "results" / experiment).glob("*/report.html"))
    if not runs:
        raise SystemExit(f"error: no results/{experiment}/*/report.html yet; run `make demo` first or pass --report")
    return runs[-1]


def notebook_html(notebook: Path, folder: Path) -> Path:
    """The executed notebook as one HTML page (its outputs as saved; nothing is re-run)."""
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        raise SystemExit("error: nbconvert is not installed; pip install -e '.[docs]'") from None
    import nbformat

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    page = folder / f"{notebook.stem}.html"
    page.write_text(body)
    return page


def shoot(browser: str, page: Path, png: Path, width: int) -> Path:
    """One screenshot of `page` at `width`; the virtual-time budget lets plotly draw before the capture."""
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--virtual-time-budget=8000", f"--window-size={width},{HEIGHT}", f"--screenshot={png}",
                    page.resolve().as_uri()], check=True, capture_output=True, timeout=180)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--report", type=Path, help="a report.html (default: the newest suppress_malicious run)")
    parser.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / "steering_base_vs_distilled.ipynb",
                        help="an executed notebook (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "screenshots", help="folder for the PNGs")
    args = parser.parse_args(argv)
    for given in (args.report, args.notebook):
        if given is not None and not given.is_file():
            parser.error(f"{given} is not a file")
    browser = chromium()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pages = {"report": args.report or newest_report(), "notebook": notebook_html(args.notebook, Path(tmp))}
        for name, page in pages.items():
            for width in WIDTHS:
                print(shoot(browser, page, args.out / f"{name}_{width}px.png", width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
