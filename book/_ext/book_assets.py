"""The book's own Sphinx extension (`_config.yml`, `sphinx.local_extensions`): each script once, lighter pages.

Four repairs to what the installed theme and extensions put on every page:

- **Each inline script once.** Sphinx 7.4 adds a script body registered after the builder started (sphinx-thebe's
  ``const THEBE_JS_URL = …``, sphinx-togglebutton's selector) twice: once with ``filename=None`` when it is
  registered and again with ``filename=''`` when pages are prepared, and the two do not compare equal. A page then
  declares ``THEBE_JS_URL`` twice and the browser logs ``SyntaxError: Identifier 'THEBE_JS_URL' has already been
  declared``. ``dedupe_scripts`` keeps the first of each script on every page.
- **Only the icons used.** The theme ships Font Awesome's whole icon set as ``_static/scripts/fontawesome.js``
  (1.5 MB, loaded by every page). ``keep_used_icons`` rewrites it after the build with only the icons the pages
  and the theme's scripts name (``fa-…``), aliases included.
- **Only the icon glyphs used.** The theme's CSS loads Font Awesome's web fonts (0.27 MB on every page: the admonition,
  breadcrumb and repository icons it draws with CSS, and each ``<i class="fa-…">`` before fontawesome.js swaps it
  for an SVG). ``subset_icon_fonts`` writes each font again with only those glyphs (a few kB, WOFF) and points the
  CSS at it; the whole fonts stay in ``_static`` unloaded.
- **One MathJax build, the parts a page needs.** sphinx-mathjax-offline copies all of MathJax 3 (24 MB: every
  combined build for SVG, MathML and speech) into ``_static/mathjax`` and points the pages at ``tex-chtml.js``
  (1.16 MB, most of it the right-click menu). ``load_mathjax_components`` loads MathJax's own component loader
  (``startup.js``) with TeX input, CommonHTML output and the assistive MathML that screen readers read (0.65 MB),
  and ``keep_one_mathjax`` removes every other build, keeping what those components load on demand (TeX
  extensions through ``autoload``, the CHTML fonts).

And one addition: **a phone's rendition of a figure.** A figure glued with a phone rendition
(``lgtools.report.figures.glue_figure(..., phone=...)``) is one PNG that carries a second, narrower PNG in a private
chunk. ``phone_renditions`` writes that PNG beside it (``NAME.phone.png``), leaves the page's PNG without it, and
wraps each ``<img>`` of it in a ``<picture>`` whose ``<source>`` a narrow window picks (PHONE_MEDIA).
"""

from __future__ import annotations

import re
import shutil
import zlib
from pathlib import Path
from typing import Any

# One icon of fontawesome.js's icon tables: name:[width,height,[aliases],"unicode",path or [paths]].
ICON_ENTRY = re.compile(r'(?<=[{,])(?:"(?P<q>[a-z0-9-]+)"|(?P<b>[a-z0-9_$]+)):\[\d+,\d+,\[(?P<aliases>[^\]]*)\],'
                        r'"[0-9a-f]+",(?:"(?:[^"\\]|\\.)*"|\[[^\]]*\])\],?')
ICON_NAME = re.compile(r"\bfa-([a-z0-9][a-z0-9-]*)")
# The MathJax components a page loads (startup.js loads them, and core.js before them), and what they load on
# demand, relative to _static/mathjax; everything else there is another build.
# A Font Awesome glyph a theme stylesheet draws: a private-use character or a "\fxxx" escape in a string, in a rule
# that is not Font Awesome's own per-icon rule (.fa-…:before, for an <i> that fontawesome.js swaps for an SVG).
CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
CSS_GLYPH = re.compile(r'"([\ue000-\uf8ff])"|"\\(f[0-9a-f]{3})"')
ICON_UNICODE = re.compile(r':\[\d+,\d+,\[[^\]]*\],"([0-9a-f]+)",')
FONT_SOURCES = re.compile(r'url\((?P<dir>[^)]*/webfonts/)(?P<name>fa-[a-z]+-\d+)\.woff2\) format\("woff2"\),'
                          r'url\((?P=dir)(?P=name)\.ttf\) format\("truetype"\)')
MATHJAX_START = "mathjax/startup.js"
MATHJAX_COMPONENTS = ["input/tex", "output/chtml", "a11y/assistive-mml"]
MATHJAX_KEEP = ("startup.js", "core.js", "input/tex.js", "output/chtml.js", "a11y/assistive-mml.js",
                "input/tex/extensions", "output/chtml/fonts")


PHONE_CHUNK = b"lgPh"  # lgtools.report.figures.PHONE_CHUNK (tests/test_figures.py checks they agree)
PHONE_MEDIA = "(max-width: 640px)"  # a window whose text column is narrower than about 560 px: a phone's
PHONE_DENSITY = 2  # lgtools.report.figures.PHONE_DENSITY: the phone PNG's pixels per CSS px
PNG_IMG = re.compile(r'<img\b[^>]*?\bsrc="(?P<src>[^"]*?(?P<name>[^"/]+)\.png)"[^>]*>')


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PHONE_BYTES = 4 * 2 ** 20  # a phone rendition is tens of kB; more is not one of ours


def split_phone(data: bytes) -> tuple[bytes, bytes | None]:
    """A PNG without its PHONE_CHUNK chunk, and that chunk's PNG (None when it has none).

    Only a well-formed file is split: every chunk inside the data and the last one IEND, the phone chunk's CRC
    right and its payload a PNG under MAX_PHONE_BYTES. Anything else is left exactly as it is (``data``, None), so
    a damaged figure is never rewritten into a broken page image nor served to a phone as a PNG it is not.
    """
    if not data.startswith(PNG_SIGNATURE):
        return data, None
    at, kept, phone, last = 8, [data[:8]], None, b""
    while at + 12 <= len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind, end = data[at + 4:at + 8], at + 12 + length
        if end > len(data):
            return data, None
        if kind == PHONE_CHUNK:
            payload = data[at + 8:at + 8 + length]
            crc = int.from_bytes(data[at + 8 + length:end], "big")
            if (phone is not None or crc != zlib.crc32(kind + payload) or not payload.startswith(PNG_SIGNATURE)
                    or length > MAX_PHONE_BYTES):
                return data, None
            phone = payload
        else:
            kept.append(data[at:end])
        at, last = end, kind
    if at != len(data) or last != b"IEND":
        return data, None
    return b"".join(kept), phone


def with_pictures(page: str, phones: set[str]) -> str:
    """``page`` with each ``<img>`` of a PNG named in ``phones`` (stems) wrapped in a ``<picture>`` offering its phone PNG."""
    def wrap(match: re.Match) -> str:
        phone = match.group("src")[:-len(".png")] + ".phone.png"
        offered = page.rfind(f'srcset="{phone} ', max(0, match.start() - 400), match.start()) >= 0  # a page kept
        if match.group("name") not in phones or offered:
            return match.group(0)
        return (f'<picture><source media="{PHONE_MEDIA}" srcset="{phone} {PHONE_DENSITY}x" type="image/png">'
                f"{match.group(0)}</picture>")

    return PNG_IMG.sub(wrap, page)


def phone_renditions(app, exception: Exception | None) -> None:
    """Write each glued figure's phone rendition out of its PNG (``_images/NAME.phone.png``) and offer it in the pages."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for image in (outdir / "_images").glob("*.png"):
        if image.name.endswith(".phone.png"):
            continue
        data = image.read_bytes()
        page_png, phone = split_phone(data)
        if phone is None:
            continue
        image.write_bytes(page_png)
        image.with_name(f"{image.stem}.phone.png").write_bytes(phone)
    # Every rendition written, this build's or an earlier one's (Sphinx copies an image again only when it changed).
    phones = {image.name[:-len(".phone.png")] for image in (outdir / "_images").glob("*.phone.png")}
    if not phones:
        return
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        changed = with_pictures(text, phones)
        if changed != text:
            page.write_text(changed, encoding="utf-8")


def _script_key(script: Any) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return filename, tuple(sorted((key, str(value)) for key, value in attributes.items()))


def dedupe_scripts(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Keep the first of each script (same file, same body and attributes) on a page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def used_icon_names(outdir: Path) -> set[str]:
    """Every ``fa-…`` name in the built pages and in the scripts they load (other than Font Awesome's own)."""
    names: set[str] = set()
    sources = list(outdir.rglob("*.html"))
    static = outdir / "_static"
    sources += [path for path in static.rglob("*.js")
                if "mathjax" not in path.parts and path.name != "fontawesome.js"]
    for path in sources:
        names.update(ICON_NAME.findall(path.read_text(encoding="utf-8", errors="replace")))
    return names


def subset_icons(source: str, names: set[str]) -> tuple[str, int, int]:
    """``source`` (fontawesome.js) with only the icons called one of ``names``: (text, icons kept, icons seen)."""
    counts = [0, 0]

    def keep_or_drop(match: re.Match) -> str:
        counts[1] += 1
        aliases = set(re.findall(r'"([a-z0-9-]+)"', match.group("aliases")))
        if (match.group("q") or match.group("b")) in names or aliases & names:
            counts[0] += 1
            return match.group(0)
        return ""

    text = ICON_ENTRY.sub(keep_or_drop, source)
    text = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", text)
    return text, counts[0], counts[1]


def keep_used_icons(app, exception: Exception | None) -> None:
    """Rewrite ``_static/scripts/fontawesome.js`` with only the icons the book uses."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    script = outdir / "_static" / "scripts" / "fontawesome.js"
    if not script.is_file():
        return
    text, kept, seen = subset_icons(script.read_text(encoding="utf-8"), used_icon_names(outdir))
    if seen == 0:  # a Font Awesome build this pattern does not understand: leave it whole
        return
    script.write_text(text, encoding="utf-8")
    script.with_name("fontawesome.js.map").unlink(missing_ok=True)


def used_glyphs(static: Path) -> set[int]:
    """Code points of the Font Awesome glyphs the theme's stylesheets name and of the icons fontawesome.js keeps."""
    points: set[int] = set()
    for sheet in static.rglob("*.css"):
        for selector, body in CSS_RULE.findall(sheet.read_text(encoding="utf-8", errors="replace")):
            if ".fa-" not in selector:
                points.update(ord(char) if char else int(escape, 16) for char, escape in CSS_GLYPH.findall(body))
    script = static / "scripts" / "fontawesome.js"
    if script.is_file():
        points.update(int(code, 16) for code in ICON_UNICODE.findall(script.read_text(encoding="utf-8")))
    return points


def subset_icon_fonts(app, exception: Exception | None) -> None:
    """Point the theme's Font Awesome ``@font-face`` rules at WOFF subsets holding only the glyphs the book uses."""
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset

    static = Path(app.outdir) / "_static"
    sheet = static / "styles" / "pydata-sphinx-theme.css"
    fonts = static / "vendor" / "fontawesome" / "webfonts"
    if not sheet.is_file() or not fonts.is_dir():
        return
    points = used_glyphs(static)
    if not points:
        return

    def subset_source(match: re.Match) -> str:
        source = fonts / f"{match.group('name')}.ttf"
        if not source.is_file():
            return match.group(0)
        options = subset.Options()
        options.flavor = "woff"  # zlib; WOFF2 would need brotli
        font = subset.load_font(str(source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=points)
        subsetter.subset(font)
        subset.save_font(font, str(fonts / f"{match.group('name')}.used.woff"), options)
        return f'url({match.group("dir")}{match.group("name")}.used.woff) format("woff")'

    text = sheet.read_text(encoding="utf-8")
    sheet.write_text(FONT_SOURCES.sub(subset_source, text), encoding="utf-8")


def load_mathjax_components(app) -> None:
    """Point the pages at MathJax's ``startup.js`` with MATHJAX_COMPONENTS instead of the combined ``tex-chtml.js``."""
    if app.config.mathjax_path != "mathjax/tex-chtml.js":  # not sphinx-mathjax-offline's MathJax: leave it be
        return
    app.config.mathjax_path = MATHJAX_START
    settings = dict(app.config.mathjax3_config or {})
    settings["loader"] = {**settings.get("loader", {}), "load": MATHJAX_COMPONENTS}
    app.config.mathjax3_config = settings


def keep_one_mathjax(app, exception: Exception | None) -> None:
    """Remove every MathJax build but the components the pages load and what those load on demand."""
    if exception is not None or app.config.mathjax_path != MATHJAX_START:
        return
    root = Path(app.outdir) / "_static" / "mathjax"
    if not (root / "startup.js").is_file():
        return
    keep = [root / part for part in MATHJAX_KEEP]
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if any(path == k or k in path.parents for k in keep):
            continue
        if path.is_file():
            path.unlink()
        elif path.is_dir() and not any(k == path or path in k.parents for k in keep):
            shutil.rmtree(path, ignore_errors=True)


def number_figures_within_pages(app, env) -> list[str]:
    """Number the figures of each page in ``page_figure_prefixes`` within it: "Fig. P.1", "Fig. P.2", as a chapter's.

    Sphinx numbers a page outside the numbered parts with the book's one running count (the landing page's
    figure is Fig. 1, so the performance page's first was Fig. 2). Runs after Sphinx's own numbering and
    keeps its order; returns the pages renumbered, so that they are written again.
    """
    renumbered = []
    for docname, prefix in (app.config.page_figure_prefixes or {}).items():
        kinds = env.toc_fignumbers.get(docname)
        if not kinds or env.toc_secnumbers.get(docname):  # absent, or numbered as a chapter already
            continue
        for figtype, numbers in kinds.items():
            order = sorted(numbers, key=numbers.get)
            kinds[figtype] = {figure_id: (prefix, i + 1) for i, figure_id in enumerate(order)}
        renumbered.append(docname)
    return renumbered


def setup(app) -> dict:
    """Register the repairs (after the extensions that copy the files they trim), figures' phone renditions and the
    pages' own figure numbers."""
    app.add_config_value("page_figure_prefixes", {}, "env")
    app.connect("env-get-updated", number_figures_within_pages, priority=900)  # after Sphinx's numbering (500)
    app.connect("builder-inited", load_mathjax_components, priority=900)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    app.connect("build-finished", keep_one_mathjax, priority=900)
    app.connect("build-finished", keep_used_icons, priority=900)
    app.connect("build-finished", subset_icon_fonts, priority=910)  # after keep_used_icons: reads the icons kept
    app.connect("build-finished", phone_renditions, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
