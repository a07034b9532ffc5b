"""The book as a whole: build it, look at it in a browser, run a chapter through papermill.

These tests are slow (they execute every chapter) but run in `make test` like every other test.
They need Debian's `chromium`, which `make test` installs when it is missing. To look again at a book
already built the way the fixture builds it, point LGTOOLS_BUILT_BOOK at its HTML folder (or at the
folder given to --path-output): the build is then reused, not repeated. The page-load check writes what each page
loaded to LGTOOLS_LOAD_REPORT (a JSON file) when that is set.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
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


def _reused_build(folder: str) -> tuple[subprocess.CompletedProcess, Path]:
    """A finished build named by LGTOOLS_BUILT_BOOK: its HTML folder, or the folder holding _build/html."""
    html = Path(folder)
    if (html / "_build" / "html" / "index.html").is_file():
        html = html / "_build" / "html"
    if not (html / "index.html").is_file():
        pytest.fail(f"LGTOOLS_BUILT_BOOK={folder} holds no built book (no index.html)")
    return subprocess.CompletedProcess(["LGTOOLS_BUILT_BOOK", folder], 0, f"reused the build in {html}", ""), html


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """Build the whole book once (tiny mode, warnings as errors) into a temporary folder.

    LGTOOLS_BUILT_BOOK=<folder> reuses a book built this way instead (the browser checks on it).
    """
    if os.environ.get("LGTOOLS_BUILT_BOOK"):
        return _reused_build(os.environ["LGTOOLS_BUILT_BOOK"])
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


def _chromium_run(args: list[str], profile: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}"]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=timeout)


def _dump_dom(uri: str, profile: Path, budget_ms: int | None = None) -> str:
    """The DOM of a page after its scripts ran (``budget_ms`` of virtual time), asserting Chromium succeeded."""
    budget = [f"--virtual-time-budget={budget_ms}"] if budget_ms else []
    done = _chromium_run(budget + ["--dump-dom", uri], profile)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _assert_not_blank(shot: Path, size: tuple[int, int]) -> None:
    """A screenshot of a rendered page: the requested size, real contrast and many shades of grey."""
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (size[1], size[0]), f"{shot.name}: {pixels.shape}"
    assert pixels.var() > 10.0, f"{shot.name}: the screenshot is blank (variance {pixels.var():.1f})"
    assert len(np.unique(pixels)) > 16, f"{shot.name}: the screenshot has almost no distinct shades"


def test_browser_renders_index_and_chapter(built_book, tmp_path):
    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    # The index redirects to the intro; give the redirect virtual time to happen.
    index = _dump_dom((html / "index.html").as_uri(), tmp_path / "profile-index", 5000)
    assert "Label granularity, replicated" in index

    chapter_uri = (html / "book" / "01_label_granularity.html").as_uri()
    dom = _dump_dom(chapter_uri, tmp_path / "profile-dom")
    assert "Label granularity: fine and coarse classes" in dom
    assert "<img" in dom and ("_images/" in dom or "data:image/png" in dom)
    assert "<table" in dom

    shot = tmp_path / "chapter01.png"
    done = _chromium_run([f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars", chapter_uri],
                         tmp_path / "profile-shot")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-3000:]
    _assert_not_blank(shot, (1280, 1600))


# The chapters whose equations the book numbers (STYLE: A_FC, A_CC, ΔA, eq. 1, the authors' ACR).
EQUATIONS = {"book/01_label_granularity": ("eq-acc", "eq-afc", "eq-delta-a"),
             "book/06_acr": ("eq-acr-printed", "eq-acr-code")}
# TeX that MathJax should have replaced: display and inline delimiters, environments, common commands,
# and a $…$ pair with TeX inside it.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\(?:frac|mathbb|mathrm|Delta|sum)\b"
                     r"|\$[^$\n]{0,80}[_^\\][^$\n]{0,80}\$")


def _raw_tex(dom: str) -> list[str]:
    """Raw TeX left in a rendered page's text, outside code, scripts and MathJax's own output."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(dom, "html.parser")
    for tag in soup(["head", "script", "style", "noscript", "textarea", "pre", "code", "mjx-container"]):
        tag.decompose()
    text = soup.get_text(" ")
    return [text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ") for m in RAW_TEX.finditer(text)]


def _math_in_pages(html: Path) -> dict[str, int]:
    """Every `_toc.yml` page that has math, with the number of math elements Sphinx wrote into it."""
    counts = {}
    for page in _toc_files():
        source = (html / f"{page}.html").read_text(encoding="utf-8")
        found = len(re.findall(r'class="math notranslate nohighlight"', source))
        if found:
            counts[page] = found
    return counts


def _rendered_math(dom: str) -> dict:
    """MathJax's output in a dumped DOM: containers, math elements left without one, raw TeX in the text."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(dom, "html.parser")
    unrendered = [el.get_text()[:80] for el in soup.select(".math") if el.find("mjx-container") is None]
    errors = [el.get_text()[:80] for el in soup.select("mjx-merror, [data-mjx-error]")]
    return {"containers": len(soup.find_all("mjx-container")), "unrendered": unrendered, "errors": errors,
            "raw": _raw_tex(dom)}


def test_every_page_with_math_renders_it_offline(built_book, tmp_path):
    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    with_math = _math_in_pages(html)
    assert set(EQUATIONS) <= set(with_math), f"no math in {sorted(set(EQUATIONS) - set(with_math))}"
    for page, labels in EQUATIONS.items():
        source = (html / f"{page}.html").read_text(encoding="utf-8")
        for label in labels:
            block = re.search(rf'<div class="math notranslate nohighlight" id="equation-{label}">(.*?)</div>',
                              source, flags=re.S)
            assert block and 'class="eqno"' in block.group(1), f"{page}: no numbered equation {label}"
            assert f'href="#equation-{label}"' in source, f"{page}: the prose never refers to {label}"
    problems = []
    for number, (page, expected) in enumerate(sorted(with_math.items())):
        found = _rendered_math(_dump_dom((html / f"{page}.html").as_uri(), tmp_path / f"profile-math-{number}",
                                         20000))
        if found["containers"] < expected or found["unrendered"] or found["errors"] or found["raw"]:
            problems.append(f"{page}: {found['containers']} mjx-container for {expected} math elements; "
                            f"unrendered {found['unrendered'][:3]}, errors {found['errors'][:3]}, "
                            f"raw TeX {found['raw'][:3]}")
    assert not problems, "\n".join(problems)


def test_mathjax_is_served_from_the_book_not_a_cdn(built_book):
    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    static = (html / "_static").resolve()
    assert (static / "mathjax" / "startup.js").is_file(), "MathJax was not copied into _static/mathjax"
    remote, local = [], 0
    for page in sorted(html.rglob("*.html")):
        if static in page.resolve().parents:
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        name = page.relative_to(html).as_posix()
        if "cdn.jsdelivr" in text:
            remote.append(f"{name}: cdn.jsdelivr")
        for src in re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', text):
            if "mathjax" not in src.lower():
                continue
            target = (page.parent / src.split("?")[0]).resolve()
            if "://" in src or src.startswith("//") or static not in target.parents or not target.is_file():
                remote.append(f"{name}: {src}")
            else:
                local += 1
    assert not remote, "MathJax is not served from _static:\n" + "\n".join(remote)
    assert local >= len(EQUATIONS), f"only {local} pages load MathJax from _static"


def test_screenshots_are_not_blank(built_book, tmp_path):
    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    for page in ["index", *EQUATIONS]:
        shot = tmp_path / f"{page.replace('/', '_')}.png"
        done = _chromium_run(["--virtual-time-budget=10000", f"--screenshot={shot}", "--window-size=1280,1600",
                              "--hide-scrollbars", (html / f"{page}.html").as_uri()],
                             tmp_path / f"profile-{shot.stem}")
        assert done.returncode == 0 and shot.is_file(), done.stderr[-3000:]
        _assert_not_blank(shot, (1280, 1600))


# Loads each page in a same-origin iframe as wide as the screenshots, opens every <details>, and writes
# per page the text column's width and each table's full width (scrollWidth) into <pre id="report">.
TABLE_CHECK = """<!doctype html>
<html><head><meta charset="utf-8"><title>table widths</title></head>
<body><pre id="report">pending</pre>
<script>
const pages = __PAGES__;
const report = [];
function measure(doc, page) {
  doc.querySelectorAll("details").forEach(d => { d.open = true; });
  const column = doc.querySelector("article.bd-article") || doc.querySelector("main");
  if (!column) { report.push({page: page, error: "no article.bd-article or main"}); return; }
  const style = doc.defaultView.getComputedStyle(column);
  const width = column.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const tables = Array.from(doc.querySelectorAll("table")).map((table, index) => ({
    index: index, width: table.scrollWidth,
    caption: (table.caption ? table.caption.textContent : "").trim().slice(0, 120),
    head: Array.from(table.querySelectorAll("th")).slice(0, 4).map(th => th.textContent.trim()).join(" | ").slice(0, 160),
  }));
  const images = Array.from(column.querySelectorAll("img")).map(img => {
    // a figure with a phone rendition sits in a <picture> (inline, no width of its own): its room is the figure's
    const box = img.parentElement.tagName === "PICTURE" ? img.parentElement.parentElement : img.parentElement;
    const boxStyle = doc.defaultView.getComputedStyle(box);
    return {src: (img.getAttribute("src") || "").slice(-60), natural: img.naturalWidth,
            shown: img.getBoundingClientRect().width,
            room: box.clientWidth - parseFloat(boxStyle.paddingLeft) - parseFloat(boxStyle.paddingRight)};
  });
  report.push({page: page, column: width, tables: tables, images: images});
}
function next(i) {
  if (i >= pages.length) {
    document.getElementById("report").textContent = JSON.stringify(report);
    return;
  }
  const frame = document.createElement("iframe");
  frame.style.width = "1280px";
  frame.style.height = "1000px";
  frame.onload = () => setTimeout(() => {
    try { measure(frame.contentDocument, pages[i]); }
    catch (error) { report.push({page: pages[i], error: String(error)}); }
    frame.remove();
    next(i + 1);
  }, 1500);
  frame.src = pages[i];
  document.body.appendChild(frame);
}
next(0);
</script></body></html>
"""


def _check_page_report(html: Path, name: str, page: str, budget_ms: int, window: str, profile: Path,
                       timeout: int = 180) -> object:
    """Run a measuring page (written into the book as ``_lgtools_<name>_check.html``) in Chromium; its JSON report."""
    check = html / f"_lgtools_{name}_check.html"
    check.write_text(page, encoding="utf-8")
    try:
        dom = _chromium_run(["--allow-file-access-from-files", f"--virtual-time-budget={budget_ms}",
                             f"--window-size={window}", "--dump-dom", check.as_uri()], profile, timeout=timeout)
    finally:
        check.unlink()
    assert dom.returncode == 0, dom.stderr[-3000:]
    found = re.search(r'<pre id="report">(.*?)</pre>', dom.stdout, flags=re.S)
    assert found and found.group(1) != "pending", f"the {name} check did not finish:\n{dom.stdout[-2000:]}"
    return json.loads(html_lib.unescape(found.group(1)))


def _table_widths(html: Path, pages: list[str], profile: Path) -> list[dict]:
    """Every table's width against its page's text column, measured in Chromium (see TABLE_CHECK)."""
    page = TABLE_CHECK.replace("__PAGES__", json.dumps([f"{page}.html" for page in pages]))
    return _check_page_report(html, "table", page, 3000 * len(pages) + 10000, "1400,1100", profile, timeout=600)


def test_no_table_is_wider_than_the_text_column(built_book, tmp_path):
    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    pages = _toc_files()
    report = _table_widths(html, pages, tmp_path / "profile-tables")
    errors = [f"{row['page']}: {row['error']}" for row in report if "error" in row]
    assert not errors, "\n".join(errors)
    assert [row["page"] for row in report] == [f"{page}.html" for page in pages]
    assert sum(len(row["tables"]) for row in report) > 0, "no table measured in the whole book"
    too_wide = [f"{row['page']} table {table['index']} ({table['caption'] or table['head']}): "
                f"{table['width']} px in a {row['column']:.0f} px column ({table['width'] / row['column']:.2f}x)"
                for row in report for table in row["tables"] if table["width"] > row["column"] + 1]
    assert not too_wide, "tables wider than the text column (1280 px window):\n" + "\n".join(too_wide)


def test_figures_fit_the_text_column_at_their_own_size(built_book, tmp_path):
    """Every figure fits the room the text column gives it and is shown at its own pixel size, never squeezed.

    `figures.glue_figure` renders a figure at most figures.COLUMN_PX pixels wide, so a font of N points drawn is
    shown at N × `figures.shown_scale` points (tests/test_figures.py asserts ≥ 10 pt); this checks, in Chromium
    at 1280 px, that a figure's room in the column is COLUMN_PX and that no image is shown smaller than drawn.
    """
    from lgtools.report.figures import COLUMN_PX

    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    pages = [page for page in _toc_files() if _is_chapter(page)]
    report = _table_widths(html, pages, tmp_path / "profile-figures")
    assert not [row for row in report if "error" in row], report
    images = [(row["page"], row["column"], image) for row in report for image in row["images"]]
    assert len(images) >= 20, f"only {len(images)} figures measured"
    print("figures (drawn px -> shown px, room in a column of so many px):\n" + "\n".join(
        f"  {page} {image['src'][-24:]}: {image['natural']} -> {image['shown']:.0f}, room {image['room']:.0f} "
        f"of {column:.0f}" for page, column, image in images))
    rooms = sorted({round(image["room"]) for _, _, image in images})
    assert all(abs(room - COLUMN_PX) <= 2 for room in rooms), f"figures get {rooms} px, figures.COLUMN_PX is {COLUMN_PX}"
    wrong = [f"{page} {image['src']}: {image['natural']} px drawn, {image['shown']:.0f} px shown, room "
             f"{image['room']:.0f} px" for page, column, image in images
             if image["natural"] > image["room"] + 1 or image["shown"] > column + 1
             or image["shown"] < image["natural"] - 1]
    assert not wrong, "figures wider than their room or squeezed below their own size:\n" + "\n".join(wrong)


# Every page as a reader's browser loads it: served over HTTP (no cache, so each page pays for every file it
# loads), each page in a 1280 px iframe of one harness page. The server writes ERROR_PROBE at the top of each
# page's <head>; it records uncaught exceptions (a script that does not parse included), rejected promises,
# console.error calls and files that fail to load. The harness then reports per page the bytes of the page and of
# every file it loaded (Performance API, decoded sizes) and what the probe caught.
ERROR_PROBE = ("<script>window.__lgErrors=[];performance.setResourceTimingBufferSize(2000);"
               "addEventListener('error',function(e){var t=e.target;window.__lgErrors.push(t&&t!==window&&"
               "(t.src||t.href)?'failed to load '+(t.src||t.href):String(e.message)+' at '+e.filename+':'+e.lineno)},"
               "true);addEventListener('unhandledrejection',function(e){window.__lgErrors.push('unhandled rejection: '"
               "+String(e.reason))});(function(){var o=console.error;console.error=function(){window.__lgErrors.push("
               "'console.error: '+Array.prototype.map.call(arguments,String).join(' '));return o.apply(console,"
               "arguments)}})();</script>")
LOAD_CHECK = """<!doctype html>
<html><head><meta charset="utf-8"><title>page loads</title></head>
<body><pre id="report">pending</pre>
<script>
const pages = __PAGES__;
const probe = __PROBE__;
const report = [];
function measure(win, page) {
  const nav = win.performance.getEntriesByType("navigation")[0];
  const files = win.performance.getEntriesByType("resource")
    .filter(r => !r.name.startsWith("data:"))
    .map(r => [r.name.replace(location.origin + "/", ""), r.decodedBodySize]);
  const html = nav.decodedBodySize - probe;
  report.push({page: page, html: html, bytes: html + files.reduce((s, f) => s + f[1], 0), files: files,
               errors: win.__lgErrors || ["the error probe did not run"]});
}
function settle(win) {
  const mathjax = win.MathJax && win.MathJax.startup && win.MathJax.startup.promise;
  return Promise.resolve(mathjax).then(() => win.document.fonts.ready).then(
    () => new Promise(done => setTimeout(done, 1500)));
}
function next(i) {
  if (i >= pages.length) {
    document.getElementById("report").textContent = JSON.stringify(report);
    return;
  }
  const frame = document.createElement("iframe");
  frame.style.width = "1280px";
  frame.style.height = "1000px";
  frame.onload = () => settle(frame.contentWindow).then(() => {
    try { measure(frame.contentWindow, pages[i]); }
    catch (error) { report.push({page: pages[i], error: String(error)}); }
    frame.remove();
    next(i + 1);
  });
  frame.src = pages[i];
  document.body.appendChild(frame);
}
next(0);
</script></body></html>
"""
# A chapter page (figures, tables, scripts, styles, fonts) may load at most this much (issue 31). The book loaded
# 1.36-2.58 MB a chapter page (tiny-mode build, 2026-12-07 noon; 2.8-4.4 MB before book_assets); since then the
# figures are column-wide 256-colour PNGs (figures.small_png: 0.05-0.49 MB a chapter before) and Font Awesome's web
# fonts hold only the glyphs the theme draws (book_assets.subset_icon_fonts: 0.27 MB before, ~6 kB now). What is
# left is mostly the theme's CSS (0.40 MB) and MathJax's components and fonts (0.78 MB on a page with maths).
CHAPTER_BYTES = 2_000_000


def _page_loads(html: Path, pages: list[str], profile: Path) -> tuple[list[dict], list[str]]:
    """Each page's bytes and errors as Chromium loads it over HTTP (see LOAD_CHECK), and every path answered 404."""
    import functools
    import http.server
    import threading

    harness = LOAD_CHECK.replace("__PAGES__", json.dumps([f"{page}.html" for page in pages])).replace(
        "__PROBE__", str(len(ERROR_PROBE.encode())))
    missing: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def end_headers(self):
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def send_error(self, code, message=None, explain=None):
            if code == 404:
                missing.append(self.path)
            super().send_error(code, message, explain)

        def do_GET(self):
            path = self.path.split("?")[0]
            if path == "/_lgtools_load_check.html":
                return self._send(harness.encode())
            target = Path(self.translate_path(path))
            if target.suffix == ".html" and target.is_file():
                text = target.read_text(encoding="utf-8")
                return self._send(text.replace("<head>", "<head>" + ERROR_PROBE, 1).encode())
            return super().do_GET()

        def _send(self, body: bytes):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/_lgtools_load_check.html"
        dom = _chromium_run([f"--virtual-time-budget={8000 * len(pages) + 10000}", "--window-size=1400,1100",
                             "--dump-dom", url], profile, timeout=900)
    finally:
        server.shutdown()
        server.server_close()
    assert dom.returncode == 0, dom.stderr[-3000:]
    found = re.search(r'<pre id="report">(.*?)</pre>', dom.stdout, flags=re.S)
    assert found and found.group(1) != "pending", f"the load check did not finish:\n{dom.stdout[-2000:]}"
    return json.loads(html_lib.unescape(found.group(1))), missing


def _is_chapter(page: str) -> bool:
    return re.fullmatch(r"book/\d\d_\w+", page) is not None


def test_pages_load_without_errors_and_chapters_stay_light(built_book, tmp_path):
    """No page logs an error or misses a file, and a chapter page loads at most CHAPTER_BYTES."""
    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    pages = _toc_files()
    report, missing = _page_loads(html, pages, tmp_path / "profile-loads")
    assert [row["page"] for row in report] == [f"{page}.html" for page in pages], report
    failed = [f"{row['page']}: {row['error']}" for row in report if "error" in row]
    assert not failed, "\n".join(failed)
    weights = "\n".join(f"  {row['page']}: {row['bytes'] / 1e6:.2f} MB ({len(row['files'])} files; largest "
                        f"{', '.join(f'{name} {size / 1e3:.0f} kB' for name, size in sorted(row['files'], key=lambda f: -f[1])[:3])})"
                        for row in report)
    print("bytes each page loads:\n" + weights)
    (Path(os.environ.get("LGTOOLS_LOAD_REPORT", tmp_path / "loads.json"))).write_text(json.dumps(report, indent=1))
    errors = [f"{row['page']}: {error}" for row in report for error in row["errors"]]
    assert not errors, "errors in the browser:\n" + "\n".join(errors)
    missing = sorted(set(missing) - {"/favicon.ico"})  # the browser asks for it on its own
    assert not missing, f"files the pages asked for and the book lacks: {missing}"
    heavy = [row for row in report if _is_chapter(row["page"][:-5]) and row["bytes"] > CHAPTER_BYTES]
    assert sum(_is_chapter(page) for page in pages) >= 12
    assert not heavy, f"chapter pages over {CHAPTER_BYTES / 1e6:.1f} MB:\n{weights}"


def test_one_search_box_and_one_thebe_configuration(built_book):
    """Every page declares Thebe's configuration once and has one search field (the sidebar's)."""
    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    for page in _toc_files():
        text = (html / f"{page}.html").read_text(encoding="utf-8")
        assert text.count("const THEBE_JS_URL") <= 1, f"{page}: Thebe configured {text.count('const THEBE_JS_URL')} times"
        scripts = re.findall(r"<script\b[^>]*>.*?</script>", text, flags=re.S)
        repeated = sorted({s[:120] for s in scripts if scripts.count(s) > 1})
        assert not repeated, f"{page}: scripts included twice: {repeated}"
        fields = text.count('class="btn search-button-field')
        assert fields == 1, f"{page}: {fields} search fields"


def test_static_files_hold_one_mathjax_build_and_the_icons_used(built_book):
    """_static ships the MathJax components the pages load, not MathJax's other builds; fontawesome.js only the icons used."""
    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    mathjax = html / "_static" / "mathjax"
    builds = sorted(p.name for p in mathjax.glob("*.js"))
    assert builds == ["core.js", "startup.js"], builds
    assert not (mathjax / "output" / "svg").exists() and not (mathjax / "sre").exists()
    assert (mathjax / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert (mathjax / "input" / "tex" / "extensions" / "ams.js").is_file()
    assert sum(p.stat().st_size for p in mathjax.rglob("*") if p.is_file()) < 3_000_000
    icons = html / "_static" / "scripts" / "fontawesome.js"
    assert icons.stat().st_size < 200_000, f"fontawesome.js is {icons.stat().st_size} bytes"
    text = icons.read_text(encoding="utf-8")
    for name in ("magnifying-glass", "rocket", "github", "download", "expand", "circle-half-stroke"):
        assert re.search(rf'(?:"{name}"|\b{name}):\[', text), f"fontawesome.js lost the icon {name}"
    # The theme's CSS loads Font Awesome fonts cut to the glyphs it draws (book_assets.subset_icon_fonts), not 0.27 MB.
    css = (html / "_static" / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    sources = re.findall(r"url\(([^)]*webfonts/[^)]*)\)", css)
    assert sources and all(src.endswith(".used.woff") for src in sources), sources
    fonts = (html / "_static" / "styles" / sources[0]).resolve().parent
    sizes = {src: (fonts / Path(src).name).stat().st_size for src in sources}
    assert all(size < 20_000 for size in sizes.values()), sizes


def test_landing_page_shows_the_verdict_ledger(built_book, tmp_path):
    from bs4 import BeautifulSoup

    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    # The index redirects to the intro; the DOM dumped is the intro's.
    soup = BeautifulSoup(_dump_dom((html / "index.html").as_uri(), tmp_path / "profile-landing", 5000),
                         "html.parser")
    article = soup.select_one("article.bd-article") or soup.find("main")
    assert article is not None, "the landing page has no article"
    ledgers = [table for table in article.find_all("table") if table.select("td .lg-chip")]
    assert ledgers, "the landing page has no table with verdict chips"
    body = ledgers[0].find("tbody") or ledgers[0]
    assert len(body.find_all("tr")) >= 3, "the verdict ledger has almost no rows"
    intro = html / f"{_toc_files()[0]}.html"
    images = [img.get("src", "") for img in article.find_all("img")]
    shown = [src for src in images if src.startswith("data:image/")
             or ("://" not in src and (intro.parent / src).resolve().is_file())]
    assert shown, f"the landing page shows no figure (img src: {images})"
    _check_ledger_chips_and_tally(article)
    narrow = _chips_at_width(html, f"{_toc_files()[0]}.html", 390, tmp_path / "profile-phone")
    assert narrow["chips"] >= len(body.find_all("tr")), f"the ledger's chips were not found at 390 px: {narrow}"
    assert narrow["width"] <= 390 and not narrow["off"], f"verdicts off-screen at 390 px: {narrow}"
    wide = _chips_at_width(html, f"{_toc_files()[0]}.html", 1280, tmp_path / "profile-desktop")
    assert wide["tall"] == [], f"ledger rows over four lines at 1280 px: {wide['tall']}"


def _check_ledger_chips_and_tally(article) -> None:
    """Every row of the paper's ledger has a chip saying its verdict; the box's tally counts those chips."""
    verdicts = ("agrees", "disagrees", "inconclusive", "not run")
    tables = [t for t in article.find_all("table") if t.select(".lg-chip")]
    assert len(tables) >= 2, "the ledger is not split into the paper's claims and the rest"
    rows = tables[0].find("tbody").find_all("tr")
    last = [row.find_all("td")[-1].select_one(".lg-chip") for row in rows]  # the CPU-scale column's chip
    assert all(chip is not None for chip in last), "a row of the paper's ledger has no verdict chip"
    for chip in last:
        word = chip.get_text(strip=True)
        assert word in verdicts and f"lg-{word.replace(' ', '')}" in chip["class"], f"chip {chip}"
    box = article.select_one(".admonition.tip") or article
    tally = box.find(string=re.compile("claims at CPU scale")).find_parent("li").get_text(" ", strip=True)
    tally = tally.replace("\u2019", "'")  # Sphinx's smart quotes
    assert f"The paper's {len(rows)} claims" in tally, tally
    for word in verdicts:
        count = sum(chip.get_text(strip=True) == word for chip in last)
        assert (f"{count} {word}" in tally) == (count > 0), f"the tally says otherwise than the ledger on {word}: {tally}"
    if any(chip.get_text(strip=True) == "disagrees" for chip in last):
        assert "Disagrees:" in tally, "the tally does not name the claim that disagrees"


# A page in a same-origin iframe of a given width; __MEASURE__ (JavaScript with ``doc``, the page's document, and
# ``win``, its window) sets ``report``, which the harness writes out as JSON two seconds after the page loads.
FRAME_CHECK = """<!doctype html>
<html><head><meta charset="utf-8"><title>frame</title></head>
<body style="margin:0"><pre id="report">pending</pre>
<script>
const frame = document.createElement("iframe");
frame.style.width = "__WIDTH__px";
frame.style.height = "900px";
frame.style.border = "0";
frame.onload = () => setTimeout(() => {
  const doc = frame.contentDocument, win = frame.contentWindow;
  let report = {};
__MEASURE__
  document.getElementById("report").textContent = JSON.stringify(report);
}, 2000);
frame.src = "__PAGE__";
document.body.appendChild(frame);
</script></body></html>
"""


def _frame_check(measure: str, page: str, width: int) -> str:
    """FRAME_CHECK for ``page`` at ``width`` px with its measurement."""
    return FRAME_CHECK.replace("__MEASURE__", measure).replace("__WIDTH__", str(width)).replace("__PAGE__", page)


# Each verdict chip of a ledger table, whether it lies off-screen (its right edge past the frame's width), and each
# ledger row taller than four lines of its text.
CHIP_CHECK = """
  const width = win.innerWidth;
  const chips = Array.from(doc.querySelectorAll("table .lg-chip"));
  const off = chips.filter(c => c.getBoundingClientRect().right > width + 0.5).map(c => c.textContent);
  const tall = Array.from(doc.querySelectorAll("table")).filter(t => t.querySelector(".lg-chip"))
    .flatMap(t => Array.from(t.querySelectorAll("tbody tr"))).filter(r => {
      const line = parseFloat(win.getComputedStyle(r.cells[0]).lineHeight) || 20;
      return r.getBoundingClientRect().height > 4 * line + 16;
    }).map(r => r.cells[0].textContent.trim().slice(0, 60));
  report = {width: width, chips: chips.length, off: off, tall: tall};
"""


def _chips_at_width(html: Path, page: str, width: int, profile: Path) -> dict:
    """The landing page's verdict chips measured in a ``width`` px frame (see CHIP_CHECK)."""
    check = _frame_check(CHIP_CHECK, page, width)
    return _check_page_report(html, "chip", check, 12000, f"{max(width, 800)},1000", profile)


# Each shell block's full width (scrollWidth) against its box, and each figure's drawn and shown width with the
# rendition the browser picked (currentSrc).
PHONE_CHECK = """
  const shells = Array.from(doc.querySelectorAll("div[class*='highlight-bash'] pre, div[class*='highlight-shell'] pre"))
    .map(pre => ({text: pre.textContent.trim().slice(0, 60), full: pre.scrollWidth, box: pre.clientWidth}));
  const column = doc.querySelector("article.bd-article") || doc.body;
  const images = Array.from(column.querySelectorAll("figure img, .cell_output img")).map(img => ({
    src: (img.currentSrc || img.src).slice(-40), natural: img.naturalWidth,
    shown: Math.round(img.getBoundingClientRect().width)}));
  report = {width: win.innerWidth, shells: shells, images: images};
"""


def _at_width(html: Path, page: str, width: int, profile: Path) -> dict:
    """Shell blocks and figures of ``page`` measured in a ``width`` px frame (see PHONE_CHECK)."""
    check = _frame_check(PHONE_CHECK, page, width)
    return _check_page_report(html, "phone", check, 12000, f"{max(width, 800)},1000", profile)


def test_landing_page_shell_commands_wrap_on_a_phone(built_book, tmp_path):
    """Issue 31: at 390 px the landing page's make and papermill lines scrolled sideways; they wrap in the column."""
    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    found = _at_width(html, f"{_toc_files()[0]}.html", 390, tmp_path / "profile-shell")
    assert len(found["shells"]) >= 2, f"the landing page's shell blocks were not found: {found}"
    wide = [shell for shell in found["shells"] if shell["full"] > shell["box"] + 1]
    assert not wide, f"shell blocks wider than their box at 390 px: {wide}"


def test_a_phone_shows_the_landing_figure_drawn_for_it_at_its_own_size(built_book, tmp_path):
    """Issue 31: at 390 px Fig. 1 was its desktop PNG squeezed to ~327 px (text at 4-6 px); a phone gets the figures'
    own renditions (figures.PHONE_PX CSS px wide at most) on every page that offers one, shown unsqueezed, and a
    desktop window keeps the page's PNG."""
    from lgtools.report.figures import PHONE_PX

    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    offered = [page for page in _toc_files() if "phone.png 2x" in (html / f"{page}.html").read_text(encoding="utf-8")]
    assert _toc_files()[0] in offered, "the landing page offers no phone rendition"
    for number, page in enumerate(offered):  # every page with one: the phone's picked at 390 px, shown at its size
        phone = _at_width(html, f"{page}.html", 390, tmp_path / f"profile-phone-{number}")
        picked = [image for image in phone["images"] if image["src"].endswith(".phone.png")]
        assert picked, f"{page}: no phone rendition picked at 390 px: {phone['images']}"
        for image in picked:
            assert image["natural"] <= PHONE_PX and abs(image["shown"] - image["natural"]) <= 1, (page, image)
    desktop = _at_width(html, f"{_toc_files()[0]}.html", 1280, tmp_path / "profile-desktop-figure")
    assert desktop["images"] and not [i for i in desktop["images"] if i["src"].endswith(".phone.png")], desktop


def test_whole_book_prints_to_one_pdf_linked_from_the_landing_page(built_book, monkeypatch):
    """book/print_pdf.py (make pdf) prints the single-page build offline; the landing page links the file."""
    import importlib.util

    result, html = built_book
    assert result.returncode == 0, "the book build failed; see test_book_builds_every_chapter"
    for name, value in _env().items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("print_pdf", ROOT / "book" / "print_pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pdf = module.main(html.parents[1])
    assert pdf == html / module.PDF_NAME
    data = pdf.read_bytes()
    pages = max(int(n) for n in re.findall(rb"/Count (\d+)", data))
    assert data.startswith(b"%PDF-") and pages >= 60, f"{pdf}: {pages} pages"
    # The figures are in it (printed from book/intro.html where it lies, the page finds no image and no style).
    images = len(re.findall(rb"/Subtype\s*/Image", data))
    assert images >= 30, f"{pdf}: {images} images"
    intro = html / f"{_toc_files()[0]}.html"
    links = re.findall(rf'href="([^"]*{re.escape(module.PDF_NAME)})"', intro.read_text(encoding="utf-8"))
    assert links and all((intro.parent / link).resolve() == pdf.resolve() for link in links), links


def test_launch_buttons_point_at_the_configured_repository(built_book):
    """Every chapter page's Binder and Colab links open this repository (``_config.yml``), not another."""
    import re
    from urllib.parse import urlparse

    from lgtools.report.launch import repository_url

    _, html = built_book
    repo = urlparse(repository_url(ROOT)).path.strip("/")  # owner/name
    checked = 0
    for name in _toc_files():
        page = html / f"{name}.html"
        if not page.is_file() or not (ROOT / f"{name}.ipynb").is_file():
            continue
        links = re.findall(r'href="(https://(?:colab\.research\.google\.com|mybinder\.org)[^"]+)"', page.read_text())
        assert links, f"{page.name}: no launch button"
        wrong = [link for link in links if repo not in link]
        assert not wrong, f"{page.name}: launch links not at {repo}: {wrong}"
        checked += 1
    assert checked >= 10


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
    # Figures are glued (MyST-NB stores them under application/papermill.record/image/png).
    images = [o for o in outputs if any(key.endswith("image/png") for key in o.get("data", {}))]
    assert len(images) >= 2, "expected the hierarchy trees and the digits sample grid"
    html = "\n".join(o["data"].get("text/html", "") for o in outputs if "data" in o)
    # The digits hierarchy (closed loops vs open strokes) replaced the synthetic one.
    assert "The hierarchy of digits" in html and "loop" in html and "open" in html
    assert "polygon" not in html


@pytest.mark.parametrize("chapter", ["09_hierarchy_inside", "10_hierarchy_in_the_loss", "11_automatic_fine_labels",
                                     "12_pretraining_granularity"])
def test_beyond_the_paper_chapters_run_through_papermill(chapter, tmp_path):
    """Each "Beyond the paper" chapter takes injected parameters and draws its stored results without an error."""
    import nbformat
    import papermill

    out = tmp_path / f"{chapter}.ipynb"
    papermill.execute_notebook(str(ROOT / "book" / f"{chapter}.ipynb"), str(out),
                               parameters={"epochs": 1, "max_train": 240, "max_test": 120, "seed": 1},
                               kernel_name="python3", cwd=str(ROOT / "book"), progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "seed = 1" in injected[0].source
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    found = [o for o in outputs if o.get("metadata", {}).get("scrapbook", {}).get("name", "").endswith("_found")]
    assert len(found) == 1, "the chapter glues its finding box"


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


def test_a_page_outside_the_numbered_parts_numbers_its_figures_within_itself(tmp_path):
    """Issue 31: the performance page's first figure read "Fig. 2" (after the landing page's Fig. 1); now "Fig. P.1".

    A three-page Sphinx project shaped like the book (a root with a figure, a numbered chapter, an unnumbered
    page with two figures and a reference) is built with book_assets, without building the book.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert config["page_figure_prefixes"] == {"book/about_performance": "P"}
    figure = ".. figure:: a.png\n   :name: {0}\n\n   {0}\n\n"
    (tmp_path / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
                                      "extensions = ['book_assets']\nnumfig = True\n"
                                      "page_figure_prefixes = {'about': 'P'}\n")
    (tmp_path / "index.rst").write_text("Root\n====\n\n" + figure.format("fig-root")
                                        + ".. toctree::\n   :numbered:\n\n   chapter\n\n.. toctree::\n\n   about\n")
    (tmp_path / "chapter.rst").write_text("Chapter\n=======\n\n" + figure.format("fig-chapter"))
    (tmp_path / "about.rst").write_text("About\n=====\n\n" + figure.format("fig-one") + figure.format("fig-two")
                                        + "See :numref:`fig-two`.\n")
    subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(tmp_path), str(tmp_path / "out")],
                   check=True, capture_output=True)
    numbers = {page: re.findall(r"Fig\. ([\w.]+)", (tmp_path / "out" / f"{page}.html").read_text())
               for page in ("index", "chapter", "about")}
    assert numbers == {"index": ["1"], "chapter": ["1.1"], "about": ["P.1", "P.2", "P.2"]}, numbers


def test_a_figure_with_a_phone_rendition_is_offered_to_a_phone_by_the_built_page(tmp_path):
    """Issue 31: a figure glued with ``phone=`` (figures.with_phone) is one PNG in the notebook; book_assets writes its
    phone PNG beside it and wraps the page's <img> in a <picture> (a one-page Sphinx project, without the book)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lgtools.report import figures

    fig, ax = plt.subplots(figsize=(6.4, 3))
    ax.plot([0, 1], [0, 1])
    phone, ax = plt.subplots(figsize=(figures.PHONE_INCHES, 3))
    ax.plot([0, 1], [1, 0])
    page_png, phone_png = figures.small_png(fig), figures.phone_png(phone)
    plt.close("all")
    (tmp_path / "a.png").write_bytes(figures.with_phone(page_png, phone_png))
    (tmp_path / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
                                      "extensions = ['book_assets']\n")
    (tmp_path / "index.rst").write_text("Root\n====\n\n.. figure:: a.png\n   :alt: a line\n\n   A line.\n")
    out = tmp_path / "out"
    for _ in range(2):  # the second build keeps the page and the images: nothing is wrapped twice
        subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(tmp_path), str(out)],
                       check=True, capture_output=True)
    images = sorted(p.name for p in (out / "_images").iterdir())
    assert images == ["a.phone.png", "a.png"], images
    assert (out / "_images" / "a.png").read_bytes() == page_png  # the page's PNG without the phone's
    assert (out / "_images" / "a.phone.png").read_bytes() == phone_png
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count("<picture>") == 1, html
    assert re.search(r'<picture><source media="\(max-width: \d+px\)" srcset="_images/a\.phone\.png 2x" '
                     r'type="image/png"><img alt="a line" src="_images/a\.png"[^>]*></picture>', html), html


def test_a_glued_figure_keeps_its_phone_rendition_through_myst_nb(tmp_path):
    """The phone rendition survives MyST-NB's glue: a one-notebook project whose stored output is a glued PNG
    (as glue_figure leaves it) builds into a figure offered to a phone through <picture>."""
    import base64

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat

    from lgtools.report import figures

    fig, ax = plt.subplots(figsize=(6.4, 3))
    ax.plot([0, 1], [0, 1])
    phone, ax = plt.subplots(figsize=(figures.PHONE_INCHES, 3))
    ax.plot([0, 1], [1, 0])
    data = figures.with_phone(figures.small_png(fig), figures.phone_png(phone))
    plt.close("all")
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("glued = True")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(data).decode()},
                                           metadata={"scrapbook": {"name": "fig-a", "mime_prefix": ""}})]
    cell.metadata["tags"] = ["remove-cell"]
    notebook.cells = [nbformat.v4.new_markdown_cell("# Page"), cell, nbformat.v4.new_markdown_cell(
        "```{glue:figure} fig-a\n:name: fig-a\n:alt: a line\n\nA line.\n```")]
    nbformat.write(notebook, tmp_path / "index.ipynb")
    (tmp_path / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
                                      "extensions = ['myst_nb', 'book_assets']\nnb_execution_mode = 'off'\n")
    subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(tmp_path), str(tmp_path / "out")],
                   check=True, capture_output=True)
    phones = list((tmp_path / "out" / "_images").glob("*.phone.png"))
    assert len(phones) == 1
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert html.count("<picture>") == 1 and f'srcset="_images/{phones[0].name} 2x"' in html
    assert re.search(r'<source [^>]*><img alt="a line"', html), html  # the glued figure's own <img>, alt kept
