"""The book as a whole: build it, look at it in a browser, run a chapter through papermill.

These tests are slow (they execute every chapter) but run in `make test` like every other test.
They need Debian's `chromium`, which `make test` installs when it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _toc_files() -> list[str]:
    """Every document `_toc.yml` lists (root first), without extension."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files


def _env() -> dict[str, str]:
    env = dict(os.environ, LGTOOLS_TINY="1")
    env.pop("MPLBACKEND", None)  # keep the inline backend, so figures become <img> in the HTML
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """Build the whole book once (tiny mode, warnings as errors) into a temporary folder."""
    out = tmp_path_factory.mktemp("book")
    command = [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", str(out),
               "-W", "-n", "--keep-going"]
    result = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=1500)
    return result, out / "_build" / "html"


def test_book_builds_every_chapter(built_book):
    result, html = built_book
    assert result.returncode == 0, f"jupyter-book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    missing = [f for f in _toc_files() if not (html / f"{f}.html").is_file()]
    assert not missing, f"no HTML page for {missing}"
    assert (html / "index.html").is_file()
    # Every paper chapter shows evidence: at least one figure or table.
    for page in sorted((html / "book").glob("0*.html")):
        text = page.read_text(encoding="utf-8")
        assert "<img" in text or "<table" in text, f"{page.name} has neither a figure nor a table"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed: run `make test`, which installs Debian's chromium")
    return found


def _chromium_run(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}"]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=180)


def test_browser_renders_index_and_chapter(built_book, tmp_path):
    from PIL import Image

    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    # The index redirects to the intro; give the redirect virtual time to happen.
    index = _chromium_run(["--virtual-time-budget=5000", "--dump-dom", (html / "index.html").as_uri()],
                          tmp_path / "profile-index")
    assert index.returncode == 0, index.stderr[-3000:]
    assert "Label granularity, replicated" in index.stdout

    chapter_uri = (html / "book" / "01_label_granularity.html").as_uri()
    dom = _chromium_run(["--dump-dom", chapter_uri], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-3000:]
    assert "Label granularity: fine and coarse classes" in dom.stdout
    assert "<img" in dom.stdout and ("_images/" in dom.stdout or "data:image/png" in dom.stdout)
    assert "<table" in dom.stdout

    shot = tmp_path / "chapter01.png"
    done = _chromium_run([f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars", chapter_uri],
                         tmp_path / "profile-shot")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-3000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (1600, 1280)
    assert pixels.var() > 10.0, "the screenshot is blank"
    assert len(np.unique(pixels)) > 16, "the screenshot has almost no distinct shades"


def test_papermill_runs_chapter_with_injected_parameters(tmp_path):
    import nbformat
    import papermill

    out = tmp_path / "01_digits.ipynb"
    papermill.execute_notebook(
        str(ROOT / "book" / "01_label_granularity.ipynb"), str(out),
        parameters={"dataset": "digits", "seed": 3, "per_class": 2},
        kernel_name="python3", cwd=str(ROOT / "book"), progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert 'dataset = "digits"' in injected[0].source and "seed = 3" in injected[0].source
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4, "expected the three hierarchy trees and the digits sample grid"
    html = "\n".join(o["data"].get("text/html", "") for o in outputs if "data" in o)
    # The digits hierarchy (closed loops vs open strokes) replaced the synthetic one.
    assert "The hierarchy of digits" in html and "loop" in html and "open" in html
    assert "polygon" not in html


def test_a_chapter_runs_as_a_notebook_sweep(tmp_path):
    # The users' way to batch-run a chapter: a notebook spec through papermill. The chapter's
    # live runs land under the sweep's results, tagged with its scale; nothing else is written.
    from lgtools.runs.results import load_results
    from lgtools.runs.sweep import run_sweep
    from lgtools.runs.sweep_spec import spec_from_dict

    spec = spec_from_dict({"name": "ch05-sweep", "notebook": str(ROOT / "book" / "05_generalization.ipynb"),
                           "scale": "unit-scale", "parameters": {"max_train": 240, "max_test": 120},
                           "grid": {"epochs": [1]}})
    summary = run_sweep(spec, tmp_path / "res", tmp_path / "runs", progress=False)
    assert len(summary.done) == 1 and not summary.failed, summary.failed
    frame = load_results(tmp_path / "res")
    assert len(frame) >= 2 and set(frame["labels"]) == {"fine", "coarse"}
    assert set(frame["experiment"]) == {"ch05-live"} and set(frame["scale"]) == {"unit-scale"}
    assert (tmp_path / "runs" / "ch05-sweep" / f"{summary.done[0]}.ipynb").is_file()
