"""The house style of the book's figures: red = fine, blue = coarse, the theme, short labels, and glue_figure.
"""

from __future__ import annotations

import io
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import re
import seaborn as sns
from matplotlib import ticker
from pathlib import Path
from typing import Any, Sequence
from typing import TYPE_CHECKING


if TYPE_CHECKING:  # imported only for type hints; plotting never needs torch itself
    from lgtools.labels.hierarchy import Hierarchy


FINE_COLOR = "#d62728"  # red: trained on fine labels (the paper's figures)


COARSE_COLOR = "#1f77b4"  # blue: trained on coarse labels


LABEL_COLORS = {"fine": FINE_COLOR, "coarse": COARSE_COLOR}  # read-only by convention


# The width a figure is shown at in a chapter page's text column at a 1280 px window, in CSS px (a CSS inch is
# 96 px): the column is 676 px and a figure's margins leave 660 (Chromium, tests/test_book.py measures both).
COLUMN_PX = 660


CSS_DPI = 96


COLUMN_INCHES = COLUMN_PX / CSS_DPI  # 6.875 in: a figure this wide is shown at its true size, fonts at their points


MIN_SHOWN_PT = 10.0  # the smallest font a page may show (points at the size shown)


# A phone's rendition of a figure (issue 31: at 390 px the column shows a figure about 327 px wide, its text at 4-6 px):
# drawn at most PHONE_PX CSS px wide (a 360 px phone's room) at twice the pixels, carried inside the page's PNG in
# a private chunk that book/_ext/book_assets.py takes out into a file of its own and offers through <picture>.
PHONE_PX = 300


PHONE_INCHES = PHONE_PX / 96  # 3.125 in: a figure this wide shows its fonts at their points on a phone


PHONE_DRAW_INCHES = PHONE_INCHES - 0.2  # the figsize width to draw at: a tight save pads 0.1 in on each side


PHONE_DENSITY = 2  # device pixels per CSS pixel the phone rendition is drawn for (srcset "… 2x")


PHONE_CHUNK = b"lgPh"  # ancillary (l), private (g), reserved bit clear (P), safe to copy (h): browsers skip it


# The smallest font of the figures a reader found hard to read at 10 pt (issue 31: the axis labels of Figs 11.1-12.2
# read as 8-9 px letters beside 11 pt tick labels), at the size shown; tests/test_figures.py holds them to it.
READABLE_PT = 11.0


LABEL_GAP_PX = 3.0  # the least room (CSS px, as shown) between a label and another text or the point it labels


def set_theme(context: str = "notebook", font_scale: float = 1.0) -> None:
    """Apply the book's seaborn theme: white grid, fonts of 10-12 pt, figures as wide as the text column."""
    sns.set_theme(context=context, style="whitegrid", font_scale=font_scale)
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "axes.titleweight": "bold",
                                "figure.figsize": (6.5, 4.0)})


def shown_width(fig: plt.Figure) -> float:
    """The width (inches) of ``fig`` saved with ``bbox_inches="tight"``: what `glue_figure` fits to the column."""
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    return float(box.width) + 2 * matplotlib.rcParams["savefig.pad_inches"]


def shown_scale(fig: plt.Figure) -> float:
    """Points shown on a chapter page per point drawn: 1 up to the column's width, less for a wider figure."""
    return min(1.0, COLUMN_INCHES / shown_width(fig))


def column_dpi(fig: plt.Figure) -> float:
    """The dpi at which ``fig`` (tight) is as many pixels wide as it is shown: the column, or less when narrower."""
    return COLUMN_PX / max(shown_width(fig), COLUMN_INCHES)


def small_png(fig: plt.Figure, dpi: float | None = None, colors: int = 256) -> bytes:
    """``fig`` as a compact PNG: tight, at `column_dpi` unless ``dpi`` is given, ``colors`` colours, optimised."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or column_dpi(fig), bbox_inches="tight")
    image = Image.open(buffer).convert("RGB")
    paletted = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    paletted.save(out, format="PNG", optimize=True)
    return out.getvalue()


def phone_png(fig: plt.Figure, colors: int = 256) -> bytes:
    """``fig`` as `small_png` for a phone: PHONE_DENSITY pixels per CSS px, at most PHONE_PX CSS px wide as shown."""
    return small_png(fig, dpi=PHONE_DENSITY * PHONE_PX / max(shown_width(fig), PHONE_INCHES), colors=colors)


def with_phone(png: bytes, phone: bytes) -> bytes:
    """``png`` with ``phone`` (a PNG) in a PHONE_CHUNK chunk before its end: one image, two renditions."""
    import struct
    import zlib

    end = png.rfind(b"IEND") - 4  # the IEND chunk's length field
    if end < 8 or not png.startswith(b"\x89PNG"):
        raise ValueError("png: not a PNG")
    chunk = struct.pack(">I", len(phone)) + PHONE_CHUNK + phone + struct.pack(">I", zlib.crc32(PHONE_CHUNK + phone))
    return png[:end] + chunk + png[end:]


def label_color(labels: str) -> str:
    """The book's colour for a training-label level: ``"fine"`` (red) or ``"coarse"`` (blue)."""
    if labels not in LABEL_COLORS:
        raise ValueError(f"labels: {labels!r} is not one of {sorted(LABEL_COLORS)}")
    return LABEL_COLORS[labels]


def label_palette(levels: Sequence[str] = ("fine", "coarse")) -> dict[str, str]:
    """A seaborn ``palette`` mapping each label level to its colour."""
    return {level: label_color(level) for level in levels}


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where figures are displayed as rich outputs)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def save_or_show(fig: plt.Figure, path: str | Path | None = None, dpi: int = 150) -> None:
    """Save ``fig`` to ``path`` (if given) and display it in a notebook, then close it.

    Closing after display keeps a figure from appearing twice (once here, once when the
    inline backend flushes open figures at the end of the cell).
    """
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    if _in_notebook():
        from IPython.display import display

        display(fig)
        plt.close(fig)
    elif path is None:
        plt.show()
    else:
        plt.close(fig)


def _split_styles() -> dict[str, tuple]:
    """Line dashes of the paper's curves: training dotted, testing solid."""
    return {"train": (1, 2), "test": ""}


# Bands around a mean over seeds: seaborn's ``errorbar`` per name ("range" = min–max, a 100 % percentile interval).
BANDS = {"sd": ("sd", "±1 std"), "range": (("pi", 100), "min–max"), "none": (None, "")}


COARSE_LEVEL = "coarse-level accuracy (%)\nfine runs read out as $A_{FC}$, coarse runs $A_{CC}$"


def _split_lines(data: Any, x: str, xlabel: str, title: str, ax: plt.Axes | None,
                 markers: bool = False, band: str = "sd") -> plt.Figure:
    """Coarse-level accuracy against ``x``: fine red / coarse blue, train dotted / test solid, a band over seeds."""
    if band not in BANDS:
        raise ValueError(f"band: {band!r} is not one of {sorted(BANDS)}")
    fig, ax = plt.subplots(figsize=(6.5, 4)) if ax is None else (ax.figure, ax)
    sns.lineplot(data=data, x=x, y="accuracy", hue="labels", style="split", markers=markers,
                 palette=label_palette(sorted(set(data["labels"]))), dashes=_split_styles(),
                 errorbar=BANDS[band][0], ax=ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(COARSE_LEVEL)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=10, loc="lower right")
    return fig


def coarse_order(hierarchy: "Hierarchy") -> np.ndarray:
    """Fine class indices ordered so that the fine classes of one coarse class are adjacent (label order within)."""
    return np.argsort(np.asarray(hierarchy.fine_to_coarse), kind="stable")


def coarse_colors(num_coarse: int) -> list[tuple[float, float, float]]:
    """One colour per coarse class, as in chapter 1's hierarchy trees (tab10, tab20 beyond ten)."""
    return sns.color_palette("tab10" if num_coarse <= 10 else "tab20", num_coarse)


# Short names of the paper's datasets for point labels (``short_label``); other names stay as they are.
SHORT_NAMES = {"cifar10": "C10", "cifar100": "C100", "cifar100_animals": "C100 animals",
               "cifar100_5": "C100 (5)", "cifar100_15": "C100 (15)", "imagenet_dog_cat": "dog/cat",
               "imagenet_fruit_veg": "fruit/veg"}


_NUMBER = re.compile(r"^[+-]?(\d+\.\d*|\.\d+)$")  # a decimal number: a randomness factor


def short_label(text: Any) -> str:
    """A readable point label: ``cifar10_table6_5`` → ``"VI-5"``, ``"0.1"`` → ``"r=0.1"``, ``cifar10`` → ``C10``.

    Integers (Table VI's row numbers) and unknown text stay as they are; ``"a / b"`` shortens
    each part, leaves out a randomness of 0 and joins the rest with ", ".
    """
    text = str(text).strip()
    if " / " in text:
        parts = [short_label(part) for part in text.split(" / ")]
        kept = [part for part in parts if part != "r=0"]
        return ", ".join(kept or parts[:1])
    table6 = re.fullmatch(r"cifar10_table6_(\d+)", text)
    if table6:
        return f"VI-{table6.group(1)}"
    if _NUMBER.match(text):
        return f"r={float(text):g}"
    return SHORT_NAMES.get(text, text)


def readable_log_ticks(axis: Any) -> None:
    """Plain tick labels on a log axis (0.02, 0.05, 0.1 …), 1-2-5 per decade when narrow, minor ticks unlabelled."""
    low, high = sorted(axis.get_view_interval())
    if low <= 0:
        raise ValueError(f"axis: a log axis needs positive limits, got {low}..{high}")
    decades = np.log10(high / low)
    subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_locator(ticker.LogLocator(base=10, subs=np.arange(2, 10), numticks=12))
    axis.set_minor_formatter(ticker.NullFormatter())


def glue_figure(name: str, fig: plt.Figure, dpi: float | None = None, phone: plt.Figure | None = None) -> None:
    """Glue ``fig`` into the page as a PNG under ``name`` for a ``{glue:figure}`` directive, then close it.

    The PNG is rendered here by `small_png` (tight, as many pixels wide as the text column shows it, 256
    colours), so the page gets a light image whatever the kernel's matplotlib backend. ``phone``: the same
    figure drawn PHONE_INCHES wide, carried inside the PNG (`with_phone`); the built page shows it on a
    phone (book/_ext/book_assets.py). In a markdown cell of the same notebook::

        ```{glue:figure} name
        :name: fig-name
        :alt: what the figure shows, for readers who cannot see it

        Caption, numbered as "Fig. N" and referenced with {numref}`fig-name`.
        ```
    """
    from IPython.display import Image
    from myst_nb import glue

    data = small_png(fig, dpi)
    plt.close(fig)
    if phone is not None:
        data = with_phone(data, phone_png(phone))
        plt.close(phone)
    glue(name, Image(data=data, format="png"), display=False)
