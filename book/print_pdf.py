"""The whole book as one PDF, offline: Jupyter Book's single-page HTML printed by headless Chromium.

``.venv/bin/python book/print_pdf.py [OUT]`` (``make pdf``) builds ``OUT/_build/singlehtml`` (OUT defaults to the
repository root, where ``make book`` builds; with that build's doctrees no chapter runs again) and prints it to
``OUT/_build/html/label-granularity.pdf``, the file the landing page links to. This is what
``jupyter-book build --builder pdfhtml`` does, without pyppeteer, which would download its own Chromium.
Chromium: $CHROMIUM, else ``chromium``, ``chromium-browser`` or ``google-chrome`` on the PATH (``make browser-deps``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PDF_NAME = "label-granularity.pdf"


def chromium() -> str:
    """The Chromium to print with; raises FileNotFoundError naming what was looked for."""
    for name in [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"]:
        found = name and shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("no Chromium: set CHROMIUM or install chromium (make browser-deps)")


def build_single_page(out: Path) -> Path:
    """Build the single-page HTML of the book under ``out/_build/singlehtml``; return the page to print.

    Sphinx writes the single page at the root document's path (``book/intro.html``) but links its styles, scripts
    and images as if it lay at the top of the folder (``_static/…``, ``_images/…``), so it is printed from a copy
    there, ``label-granularity.html``. (Printed where it lies, as ``--builder pdfhtml`` does through the
    ``index.html`` redirect, the PDF has no styles, no figures and raw TeX.)
    """
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--builder", "singlehtml",
               "--path-output", str(out), "-n", "--keep-going"]
    subprocess.run(command, cwd=ROOT, check=True)
    single = out / "_build" / "singlehtml"
    written = single / "book" / "intro.html"
    if not written.is_file():
        raise FileNotFoundError(f"the single-page build wrote no {written}")
    page = single / "label-granularity.html"
    shutil.copyfile(written, page)
    return page


def print_pdf(page: Path, pdf: Path, budget_ms: int = 60000) -> Path:
    """Print ``page`` to ``pdf`` once its scripts (MathJax) have run for ``budget_ms`` of virtual time."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--no-first-run", f"--user-data-dir={profile}", "--no-pdf-header-footer",
                        f"--virtual-time-budget={budget_ms}", f"--print-to-pdf={pdf}", page.as_uri()],
                       check=True, capture_output=True, timeout=600)
    if not pdf.is_file() or pdf.read_bytes()[:5] != b"%PDF-":
        raise RuntimeError(f"Chromium wrote no PDF at {pdf}")
    return pdf


def main(out: Path = ROOT) -> Path:
    """Build the single page under ``out`` and print it into ``out/_build/html``."""
    return print_pdf(build_single_page(out), out / "_build" / "html" / PDF_NAME)


if __name__ == "__main__":
    written = main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT)
    print(f"{written}: {written.stat().st_size / 1e6:.1f} MB")
