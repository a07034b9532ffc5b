"""Figure helpers for the book's chapters (seaborn + matplotlib).

One colour convention runs through the book, as in the paper's figures: fine-label training is
red, coarse-label training is blue. Chapters call `set_theme()` once, draw with the helpers below
and finish each figure with `save_or_show`. Helpers return the matplotlib ``Figure`` so that a
caller can adjust or save it.

Layout of this file: base helpers, then chapters 1–2 (hierarchies, image grids, decision
boundaries), then the helpers of chapters 3–8 appended after them, then the figures of the
stored evidence (``lgtools.chapters.evidence`` gathers their data) and `glue_figure`, which puts a
figure into a page as a numbered, captioned ``{glue:figure}``.
"""

from __future__ import annotations

import io
import re
import textwrap

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.patches import Patch, Rectangle

if TYPE_CHECKING:  # imported only for type hints; plotting never needs torch itself
    from lgtools.labels.hierarchy import Hierarchy

FINE_COLOR = "#d62728"  # red: trained on fine labels (the paper's figures)
COARSE_COLOR = "#1f77b4"  # blue: trained on coarse labels
LABEL_COLORS = {"fine": FINE_COLOR, "coarse": COARSE_COLOR}  # read-only by convention


# --- base helpers -----------------------------------------------------------------------------

def set_theme(context: str = "notebook", font_scale: float = 1.0) -> None:
    """Apply the book's seaborn theme (white grid, readable fonts, crisp inline PNGs)."""
    sns.set_theme(context=context, style="whitegrid", font_scale=font_scale)
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "axes.titleweight": "bold"})


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


# --- chapter 1: hierarchies and sample images ------------------------------------------------

def hierarchy_tree(hierarchy: "Hierarchy", title: str | None = None, max_fine: int = 60,
                   ax: plt.Axes | None = None) -> plt.Figure:
    """Draw a hierarchy as a two-level tree: the root, its coarse classes, their fine classes."""
    if max_fine < 1:
        raise ValueError(f"max_fine: must be at least 1, got {max_fine}")
    mapping = np.asarray(hierarchy.fine_to_coarse)
    order = [f for c in range(hierarchy.num_coarse) for f in np.flatnonzero(mapping == c)]
    shown = order[:max_fine]
    if ax is None:
        height = max(2.5, 0.22 * len(shown) + 0.8)
        fig, ax = plt.subplots(figsize=(7.5, height))
    else:
        fig = ax.figure
    colors = sns.color_palette("tab10" if hierarchy.num_coarse <= 10 else "tab20", hierarchy.num_coarse)
    y_fine = {f: -i for i, f in enumerate(shown)}
    for c, coarse in enumerate(hierarchy.coarse_names):
        kids = [f for f in shown if mapping[f] == c]
        if not kids:
            continue
        y_c = float(np.mean([y_fine[f] for f in kids]))
        ax.plot([0, 1], [-(len(shown) - 1) / 2, y_c], color="0.7", lw=1)
        for f in kids:
            ax.plot([1, 2], [y_c, y_fine[f]], color=colors[c], lw=1)
            ax.text(2.05, y_fine[f], hierarchy.fine_names[f], va="center", fontsize=8)
        # An opaque, lightened box so the edges never run through the coarse name.
        light = tuple(0.6 + 0.4 * channel for channel in colors[c])
        ax.text(1, y_c, f" {coarse} ({int(np.sum(mapping == c))}) ", va="center", ha="center",
                fontsize=9, zorder=3, bbox={"boxstyle": "round", "fc": light, "ec": colors[c]})
    ax.text(0, -(len(shown) - 1) / 2, f"{hierarchy.name} ", ha="right", va="center", fontweight="bold")
    if len(order) > len(shown):
        ax.text(2.05, -len(shown), f"… {len(order) - len(shown)} more fine classes", fontsize=8,
                style="italic", va="center")
    ax.set_xlim(-0.9, 3.3)
    ax.set_axis_off()
    ax.set_title(title or f"{hierarchy.name}: {hierarchy.num_coarse} coarse, {hierarchy.num_fine} fine classes")
    return fig


def _to_hwc(image: Any) -> np.ndarray:
    """A C×H×W (or H×W) uint8 image, tensor or array, as an H×W×C (or H×W) numpy array."""
    array = np.asarray(image.numpy() if hasattr(image, "numpy") else image)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = np.transpose(array, (1, 2, 0))
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return array


def image_grid(images: Any, labels: Any, hierarchy: "Hierarchy", per_class: int = 4,
               seed: int = 0) -> plt.Figure:
    """A grid of sample images: one row per fine class, grouped and coloured by coarse class."""
    if per_class < 1:
        raise ValueError(f"per_class: must be at least 1, got {per_class}")
    labels = np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels)
    rng = np.random.default_rng(seed)
    mapping = np.asarray(hierarchy.fine_to_coarse)
    rows = [f for c in range(hierarchy.num_coarse) for f in np.flatnonzero(mapping == c)]
    colors = sns.color_palette("tab10", hierarchy.num_coarse)
    fig, axes = plt.subplots(len(rows), per_class, squeeze=False,
                             figsize=(1.1 * per_class + 2.2, 1.05 * len(rows)))
    for r, fine in enumerate(rows):
        pool = np.flatnonzero(labels == fine)
        picks = rng.choice(pool, size=min(per_class, pool.size), replace=False) if pool.size else []
        for k, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(colors[mapping[fine]])
                spine.set_linewidth(2)
            if k < len(picks):
                ax.imshow(_to_hwc(images[int(picks[k])]), cmap="gray", interpolation="nearest")
        coarse = hierarchy.coarse_names[mapping[fine]]
        axes[r][0].set_ylabel(f"{coarse}\n{hierarchy.fine_names[fine]}", rotation=0, ha="right",
                              va="center", fontsize=8, color=colors[mapping[fine]])
    fig.suptitle("Samples per fine class (rows), grouped by coarse class (colour)", fontsize=10)
    fig.tight_layout()
    return fig


# --- chapter 2: linear vs kernel classifiers on a 2-D toy set --------------------------------

def decision_boundaries(models: dict[str, Any], x: np.ndarray, coarse: np.ndarray,
                        fine_to_coarse: np.ndarray | None = None, resolution: int = 200,
                        ncols: int = 2) -> plt.Figure:
    """Coarse decision regions of fitted 2-D classifiers, one panel per model.

    ``models`` maps a panel title to a fitted scikit-learn classifier. A title containing
    ``"fine"`` marks a model that predicts fine classes; its predictions are mapped to coarse
    classes through ``fine_to_coarse`` before drawing.
    """
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x: expected an N×2 array of 2-D points, got shape {x.shape}")
    if not models:
        raise ValueError("models: give at least one fitted classifier")
    pad = 0.5
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    nrows = int(np.ceil(len(models) / ncols))
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(4.2 * ncols, 3.9 * nrows))
    # Region colours name coarse *classes*, so they avoid the red/blue of label *levels*.
    cmap = matplotlib.colors.ListedColormap(sns.color_palette("Dark2", max(2, int(coarse.max()) + 1)))
    for ax, (title, model) in zip(axes.ravel(), models.items()):
        pred = np.asarray(model.predict(grid))
        if "fine" in title.lower():
            if fine_to_coarse is None:
                raise ValueError(f"fine_to_coarse: needed to draw the fine-label model {title!r}")
            pred = np.asarray(fine_to_coarse)[pred]
        ax.contourf(gx, gy, pred.reshape(gx.shape), alpha=0.25, cmap=cmap,
                    levels=np.arange(pred.max() + 2) - 0.5)
        ax.contour(gx, gy, pred.reshape(gx.shape), colors="k", linewidths=0.8,
                   levels=np.arange(pred.max() + 1) + 0.5)
        ax.scatter(x[:, 0], x[:, 1], c=coarse, cmap=cmap, s=8, edgecolors="none",
                   vmin=-0.5, vmax=cmap.N - 0.5)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(models):]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


# --- chapters 3–8 (appended below) ------------------------------------------------------------


def _split_styles() -> dict[str, tuple]:
    """Line dashes of the paper's curves: training dotted, testing solid."""
    return {"train": (1, 2), "test": ""}


# Bands around a mean over seeds: seaborn's ``errorbar`` per name ("range" = min–max, a 100 % percentile interval).
BANDS = {"sd": ("sd", "±1 std"), "range": (("pi", 100), "min–max"), "none": (None, "")}
COARSE_LEVEL = "coarse-level accuracy (%)\nfine runs read out as A_FC, coarse runs A_CC"


def training_curves(history: Any, title: str | None = None, ax: plt.Axes | None = None,
                    band: str = "sd") -> plt.Figure:
    """Fig 3: coarse-level accuracy per epoch, train dotted and test solid, fine red and coarse blue.

    ``history`` is a long table (``lgtools.chapters.experiments.history_frame`` or
    ``lgtools.chapters.evidence.training_histories``) with columns ``epoch``, ``accuracy``,
    ``split`` and ``labels``; several seeds draw as their mean with a band: ``band`` is ``"sd"``
    (±1 std), ``"range"`` (min–max over the seeds) or ``"none"``. With a ``seed`` column the
    title says how many seeds each level has.
    """
    missing = {"epoch", "accuracy", "split", "labels"} - set(history.columns)
    if missing:
        raise ValueError(f"history: missing columns {sorted(missing)}")
    if band not in BANDS:
        raise ValueError(f"band: {band!r} is not one of {sorted(BANDS)}")
    heading = title or "Training (dotted) and test (solid) accuracy"
    if "seed" in history.columns and len(history):
        seeds = history.groupby("labels")["seed"].nunique()
        counts = ", ".join(f"{level} {int(n)}" for level, n in seeds.items())
        heading += f"\nmean over seeds ({counts})" + (f", band = {BANDS[band][1]}" if BANDS[band][0] else "")
    fig = _split_lines(history, "epoch", "epoch", heading, ax, band=band)
    (ax or fig.axes[0]).xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    return fig


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
    ax.legend(fontsize=8, loc="lower right")
    return fig


def data_efficiency_curves(table: Any, title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Fig 2: coarse-level train (dotted) and test (solid) accuracy against the share of training data.

    ``table`` has columns ``data_ratio``, ``labels``, ``train_acc`` and ``test_acc`` (one row
    per run or per paper point); several seeds draw as a mean with a ±1 std band.
    """
    missing = {"data_ratio", "labels", "train_acc", "test_acc"} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    long = table.melt(id_vars=["data_ratio", "labels"], value_vars=["train_acc", "test_acc"],
                      var_name="split", value_name="accuracy").dropna(subset=["accuracy"])
    long["split"] = long["split"].str.replace("_acc", "")
    long["data %"] = 100 * long["data_ratio"].astype(float)
    return _split_lines(long, "data %", "training data used (%), equal weight updates",
                        title or "Data efficiency: fine (red) vs coarse (blue) labels", ax, markers=True)


def tsne_scatter(embedding: np.ndarray, coarse_labels: np.ndarray, coarse_names: Sequence[str],
                 title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Fig 4: a 2-D embedding coloured by coarse class, each class mean as a red triangle."""
    embedding, coarse_labels = np.asarray(embedding), np.asarray(coarse_labels)
    if embedding.ndim != 2 or embedding.shape[1] != 2 or len(embedding) != len(coarse_labels):
        raise ValueError(f"embedding must be n×2 with one coarse label per row, got {embedding.shape} "
                         f"and {coarse_labels.shape}")
    fig, ax = plt.subplots(figsize=(5, 4.5)) if ax is None else (ax.figure, ax)
    # Coarse classes get a palette without red, which is kept for the class means.
    colors = sns.color_palette("Set2" if len(coarse_names) <= 8 else "tab20", len(coarse_names))
    for c, name in enumerate(coarse_names):
        points = embedding[coarse_labels == c]
        ax.scatter(points[:, 0], points[:, 1], s=10, alpha=0.75, color=colors[c], label=name,
                   edgecolors="none")
    for c in range(len(coarse_names)):
        points = embedding[coarse_labels == c]
        if len(points):
            centre = points.mean(axis=0)
            ax.scatter(*centre, marker="^", s=120, color="red", edgecolors="black", zorder=3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or "t-SNE of penultimate features")
    ax.legend(fontsize=8, markerscale=2, loc="best", title="coarse class (▲ = mean)", title_fontsize=8)
    return fig


def coarse_order(hierarchy: "Hierarchy") -> np.ndarray:
    """Fine class indices ordered so that the fine classes of one coarse class are adjacent (label order within)."""
    return np.argsort(np.asarray(hierarchy.fine_to_coarse), kind="stable")


def coarse_colors(num_coarse: int) -> list[tuple[float, float, float]]:
    """One colour per coarse class, as in chapter 1's hierarchy trees (tab10, tab20 beyond ten)."""
    return sns.color_palette("tab10" if num_coarse <= 10 else "tab20", num_coarse)


def confusion_heatmap(confusion: np.ndarray, hierarchy: "Hierarchy", normalize: bool = True,
                      title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Fig 5: the fine confusion matrix ordered by coarse class, with the coarse blocks outlined.

    Rows are true fine classes, columns predicted ones; with ``normalize`` each row is shown as
    a percentage of that class's test images. Each coarse class's diagonal block is outlined in
    red (a ``Rectangle`` patch) and named above the matrix; thin lines separate the blocks, and
    the class names are coloured by coarse class.
    """
    confusion = np.asarray(confusion, dtype=float)
    if confusion.shape != (hierarchy.num_fine, hierarchy.num_fine):
        raise ValueError(f"confusion must be {hierarchy.num_fine}×{hierarchy.num_fine}, got {confusion.shape}")
    mapping = np.asarray(hierarchy.fine_to_coarse)
    order = coarse_order(hierarchy)
    shown = confusion[np.ix_(order, order)]
    if normalize:
        sums = shown.sum(axis=1, keepdims=True)
        shown = 100 * np.divide(shown, sums, out=np.zeros_like(shown), where=sums > 0)
    names = [hierarchy.fine_names[i] for i in order]
    size = max(4.5, 0.42 * len(names) + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1, size)) if ax is None else (ax.figure, ax)
    small = len(names) <= 16
    sns.heatmap(shown, ax=ax, cmap="Blues", square=True, annot=small, fmt=".0f",
                annot_kws={"fontsize": 7}, xticklabels=names if small else False,
                yticklabels=names if small else False,
                cbar_kws={"label": "% of the true class" if normalize else "test images"})
    counts = np.bincount(mapping, minlength=hierarchy.num_coarse)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for edge in starts[1:]:  # coarse-class boundaries: inside a diagonal block = same coarse class
        ax.axhline(edge, color="0.35", lw=0.8)
        ax.axvline(edge, color="0.35", lw=0.8)
    colors = coarse_colors(hierarchy.num_coarse)
    for c, (start, count) in enumerate(zip(starts, counts)):
        ax.add_patch(Rectangle((start, start), count, count, fill=False, edgecolor="red", lw=2,
                               clip_on=False, zorder=3, label=hierarchy.coarse_names[c]))
        if small:  # y grows downwards in a heatmap: above the matrix is y < 0
            ax.text(start + count / 2, -0.15, hierarchy.coarse_names[c], ha="center", va="bottom",
                    fontsize=8, fontweight="bold", color=colors[c])
    if small:
        ax.set_xticklabels(names, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_yticklabels(names, rotation=0)
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            for text, fine in zip(labels, order):
                text.set_color(colors[mapping[fine]])
    ax.set_xlabel("predicted fine class")
    ax.set_ylabel("true fine class")
    ax.set_title(title or "Fine confusion matrix, ordered by coarse class", fontsize=10, pad=18 if small else 6)
    return fig


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


# Label placement: offsets (points) tried around each point, nearest first, and the gap kept around a label.
_DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
_RADII = (3, 7, 12, 18, 26, 36, 48, 62)
_GAP = 1.5


def _overlap(box: np.ndarray, others: np.ndarray) -> float:
    """Total area of ``box`` (x0, y0, x1, y1) shared with each row of ``others``."""
    if not len(others):
        return 0.0
    width = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    height = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return float(np.sum(np.clip(width, 0, None) * np.clip(height, 0, None)))


def _label_box(anchor: np.ndarray, direction: tuple[int, int], radius: float, size: tuple[float, float],
               scale: float) -> np.ndarray:
    """Display box of a label set ``radius`` points from ``anchor`` in ``direction`` (aligned away from the point)."""
    dx, dy = direction
    x, y = anchor + scale * radius * np.array([dx, dy]) / (np.hypot(dx, dy) or 1)
    width, height = size
    x0 = x if dx > 0 else x - width if dx < 0 else x - width / 2
    y0 = y if dy > 0 else y - height if dy < 0 else y - height / 2
    pad = _GAP * scale
    return np.array([x0 - pad, y0 - pad, x0 + width + pad, y0 + height + pad])


def place_labels(ax: plt.Axes, x: Sequence[float], y: Sequence[float], texts: Sequence[str],
                 obstacles: Sequence[tuple[float, float, float, float]] = (), fontsize: float = 7.0,
                 colors: Sequence[Any] | None = None) -> list:
    """Annotate each point with its text where no other label, point or ``obstacles`` box (data x0, y0, x1, y1) lies.

    Deterministic: the limits are frozen, each label in turn takes the nearest of eight
    directions at growing distance that is free and inside the axes (else the least crowded),
    and a label set further than 10 points off gets a leader line. Call it last, after the
    limits, scales and layout are final. ``colors`` (one per text) colours the labels.
    Returns the annotations.
    """
    fig = ax.figure
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())
    scale = fig.dpi / 72
    anchors = ax.transData.transform(np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
    marker = 4.0 * scale  # half the size of a point's marker
    taken = [np.array([px - marker, py - marker, px + marker, py + marker]) for px, py in anchors]
    for x0, y0, x1, y1 in obstacles:
        (px0, py0), (px1, py1) = ax.transData.transform([(x0, y0), (x1, y1)])
        taken.append(np.array([min(px0, px1), min(py0, py1), max(px0, px1), max(py0, py1)]))
    frame = ax.get_window_extent()
    notes = []
    colors = list(colors) if colors is not None else ["0.15"] * len(anchors)
    for anchor, text, color in zip(anchors, texts, colors):
        probe = ax.text(0, 0, str(text), fontsize=fontsize)
        extent = probe.get_window_extent()
        probe.remove()
        size = (extent.width, extent.height)
        best = None
        for radius in _RADII:
            for direction in _DIRECTIONS:
                box = _label_box(anchor, direction, radius, size, scale)
                inside = _overlap(box, np.array([[frame.x0, frame.y0, frame.x1, frame.y1]]))
                outside = (box[2] - box[0]) * (box[3] - box[1]) - inside
                cost = _overlap(box, np.array(taken)) + 5 * outside
                if best is None or cost < best[0] - 1e-9:
                    best = (cost, direction, radius, box)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, (dx, dy), radius, box = best
        taken.append(box)
        norm = np.hypot(dx, dy) or 1
        offset = (radius * dx / norm, radius * dy / norm)
        align = {1: "left", -1: "right", 0: "center"}[dx], {1: "bottom", -1: "top", 0: "center"}[dy]
        leader = None
        if radius > 10:
            leader = {"arrowstyle": "-", "color": "0.55", "lw": 0.5, "shrinkA": 0, "shrinkB": 2,
                      "relpos": ((1 - dx) / 2, (1 - dy) / 2)}
        point = ax.transData.inverted().transform(anchor)
        notes.append(ax.annotate(str(text), point, textcoords="offset points", xytext=offset, fontsize=fontsize,
                                 ha=align[0], va=align[1], arrowprops=leader, annotation_clip=False,
                                 color=color))
    return notes


def _darker(color: Any, factor: float = 0.6) -> tuple[float, float, float]:
    """``color`` darkened towards black, so that a label in a group's colour stays readable on white."""
    red, green, blue = matplotlib.colors.to_rgb(color)
    return (factor * red, factor * green, factor * blue)


def _error_boxes(x: Any, low: Any, high: Any) -> list[tuple[float, float, float, float]]:
    """Data boxes of vertical error bars (zero width) where both ends are known, as ``place_labels`` obstacles."""
    return [(float(a), float(lo), float(a), float(hi)) for a, lo, hi in zip(x, low, high)
            if np.isfinite(float(lo)) and np.isfinite(float(hi))]


def _group_styles(points: Any) -> tuple[list, dict, dict]:
    """Groups in order of appearance, with a colour-blind-safe colour and a marker each."""
    groups = list(dict.fromkeys(points["group"]))
    colors = dict(zip(groups, sns.color_palette("colorblind", max(1, len(groups)))))
    markers = dict(zip(groups, "osD^vP*X" * (1 + len(groups) // 8)))
    return groups, colors, markers


def _finish_labelled(fig: plt.Figure, ax: plt.Axes, own: bool, points: Any, x: Any, y: Any,
                     colors: dict, obstacles: list, shorten: bool) -> plt.Figure:
    """Legend right of the axes, tight layout on an own figure, each point's label placed apart."""
    if colors:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    if own:
        fig.tight_layout()
    texts = [short_label(t) if shorten else str(t) for t in points["label"]]
    shades = [_darker(colors[g]) for g in points["group"]]
    place_labels(ax, x, y, texts, obstacles, colors=shades)
    return fig


def delta_vs_acr(points: Any, title: str | None = None, log_x: bool = False,
                 ax: plt.Axes | None = None, shorten: bool = True) -> plt.Figure:
    """Fig 6/7: ΔA against ACR, one colour per ``group``, each point labelled; Spearman ρ per group in the title.

    ``points`` has columns ``acr``, ``delta``, ``group`` and ``label`` (the text by a point,
    shortened by `short_label` unless ``shorten`` is False); with ``delta_low`` and
    ``delta_high`` the 95 % intervals are drawn as vertical bars (one errorbar container per
    group with any). Labels are placed apart by `place_labels`; a log x axis gets plain
    ticks (`readable_log_ticks`). The legend sits right of the axes.
    """
    missing = {"acr", "delta", "group", "label"} - set(points.columns)
    if missing:
        raise ValueError(f"points: missing columns {sorted(missing)}")
    points = points.dropna(subset=["acr", "delta"])
    own = ax is None
    fig, ax = plt.subplots(figsize=(8.5, 4.8)) if own else (ax.figure, ax)
    groups, colors, markers = _group_styles(points)
    rhos, obstacles = [], []
    for group in groups:
        part = points[points["group"] == group]
        ax.scatter(part["acr"], part["delta"], s=40, color=colors[group], marker=markers[group],
                   label=f"{group} (n={len(part)})", edgecolors="black", linewidths=0.4, zorder=3)
        if {"delta_low", "delta_high"} <= set(part.columns):  # 95 % intervals where we have them
            bars = part.dropna(subset=["delta_low", "delta_high"])
            if len(bars):
                ax.errorbar(bars["acr"], bars["delta"], yerr=[(bars["delta"] - bars["delta_low"]).clip(lower=0),
                            (bars["delta_high"] - bars["delta"]).clip(lower=0)], fmt="none",
                            ecolor=colors[group], elinewidth=0.8, capsize=2)
                obstacles += _error_boxes(bars["acr"], bars["delta_low"], bars["delta_high"])
        if len(part) >= 3:  # Spearman ρ = Pearson correlation of the ranks
            ranks = part[["acr", "delta"]].astype(float).rank()
            rhos.append(f"{group}: ρ={ranks['acr'].corr(ranks['delta']):+.2f}")
    ax.axhline(0, color="0.5", lw=0.8)
    if log_x:
        ax.set_xscale("log")
    ax.margins(x=0.08, y=0.1)
    ax.autoscale_view()
    if log_x and len(points):
        readable_log_ticks(ax.xaxis)
    ax.set_xlabel("Average Confusion Ratio (authors' code convention)" + (", log scale" if log_x else ""))
    ax.set_ylabel("ΔA = A_FC − A_CC, test (points)")
    heading = title or "ΔA against ACR"
    spearman = "\n" + textwrap.fill("Spearman " + "; ".join(rhos), 95) if rhos else ""
    ax.set_title(heading + spearman, fontsize=10)
    return _finish_labelled(fig, ax, own, points, points["acr"], points["delta"], colors, obstacles, shorten)


def delta_with_intervals(points: Any, x: str, xlabel: str, title: str | None = None,
                         ax: plt.Axes | None = None, y: str = "delta",
                         ylabel: str = "ΔA = A_FC − A_CC, test (points), 95 % interval",
                         shorten: bool = True) -> plt.Figure:
    """``y`` (ΔA by default) against ``x``, one colour per ``group``, points labelled (chapter 7).

    ``points`` has columns ``x``, ``y``, ``group`` and ``label`` (shortened by `short_label`
    unless ``shorten`` is False); for ΔA also ``delta_low`` and ``delta_high``, drawn as bars
    (NaN: no bar, e.g. the paper's single runs). Labels are placed apart by `place_labels`; the
    legend sits right of the axes.
    """
    needed = {x, y, "group", "label"} | ({"delta_low", "delta_high"} if y == "delta" else set())
    missing = needed - set(points.columns)
    if missing:
        raise ValueError(f"points: missing columns {sorted(missing)}")
    points = points.dropna(subset=[x, y])
    if y != "delta":
        points = points.assign(delta=points[y], delta_low=float("nan"), delta_high=float("nan"))
    own = ax is None
    fig, ax = plt.subplots(figsize=(6.5, 4.5)) if own else (ax.figure, ax)
    groups, colors, markers = _group_styles(points)
    obstacles = []
    for group in groups:
        part = points[points["group"] == group].astype({x: float, "delta": float})
        low = (part["delta"] - part["delta_low"].astype(float)).fillna(0).clip(lower=0)
        high = (part["delta_high"].astype(float) - part["delta"]).fillna(0).clip(lower=0)
        ax.errorbar(part[x], part["delta"], yerr=[low, high], fmt=markers[group], color=colors[group], capsize=3,
                    markeredgecolor="black", markeredgewidth=0.4, label=group)
        obstacles += _error_boxes(part[x], part["delta_low"], part["delta_high"])
    if y == "delta":
        ax.axhline(0, color="0.5", lw=0.8)
    ax.margins(x=0.08, y=0.1)
    ax.autoscale_view()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or ylabel, fontsize=10)
    return _finish_labelled(fig, ax, own, points, points[x].astype(float), points["delta"].astype(float),
                            colors, obstacles, shorten)


def ledger_figure(ledger: Any, title: str = "Each claim: the paper's ΔA and ours (95 % interval)") -> plt.Figure:
    """The landing page's figure: one line per claim with a ΔA, the paper's value beside ours with its interval."""
    missing = {"claim", "paper_value", "ours_mean", "ours_low", "ours_high"} - set(ledger.columns)
    if missing:
        raise ValueError(f"ledger: missing columns {sorted(missing)}")
    rows = ledger.dropna(subset=["paper_value"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8.5, 0.6 * len(rows) + 1.4))
    y = np.arange(len(rows))[::-1]
    ax.scatter(rows["paper_value"], y + 0.15, marker="D", color="0.35", s=28, label="paper (one run)", zorder=3)
    ran = rows["ours_mean"].notna()
    low = (rows["ours_mean"] - rows["ours_low"]).clip(lower=0).fillna(0)
    high = (rows["ours_high"] - rows["ours_mean"]).clip(lower=0).fillna(0)
    ax.errorbar(rows.loc[ran, "ours_mean"], y[ran.to_numpy()] - 0.15, xerr=[low[ran], high[ran]], fmt="o",
                color=sns.color_palette("colorblind")[0], capsize=3, label="ours (mean of seed pairs, 95 % CI)")
    notes = (rows["verdict"] if "verdict" in rows.columns else rows["claim"].map(lambda _: "not run")
             ).astype(str).str.split(" (", regex=False).str[0]
    for yi, text in zip(y[~ran.to_numpy()], notes[~ran]):
        ax.annotate(text, (0, yi - 0.15), fontsize=7, color="0.4", ha="left", va="center", xytext=(4, 0),
                    textcoords="offset points")
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_yticks(y, [textwrap.fill(str(c), 46) for c in rows["claim"]], fontsize=7.5)
    ax.set_xlabel("ΔA = A_FC − A_CC (points; Fig 2: fine on 40 % minus coarse on 100 %)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7.5, loc="upper left")
    fig.tight_layout()
    return fig


# --- the stored evidence (lgtools.chapters.evidence gathers the data) --------------------------

def data_share_intervals(points: Any, title: str | None = None) -> plt.Figure:
    """Fig 2 with intervals: A_FC and A_CC per share of the data (left), ΔA and Fig 2's margin, 95 % intervals (right).

    ``points`` is ``lgtools.chapters.evidence.data_share_evidence``: one row per ``source`` and
    ``data_ratio`` with ``a_fc``, ``a_cc``, ``delta`` (± ``delta_low``/``delta_high``) and
    ``margin`` (fine at the share − coarse on all the data, ± ``margin_low``/``margin_high``).
    Ours are filled markers with bars, the paper's (one run each) hollow; the right panel has one
    errorbar container per source and quantity.
    """
    needed = {"source", "data_ratio", "a_fc", "a_cc", "delta", "delta_low", "delta_high",
              "margin", "margin_low", "margin_high"}
    missing = needed - set(points.columns)
    if missing:
        raise ValueError(f"points: missing columns {sorted(missing)}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.4))
    sources = list(dict.fromkeys(points["source"]))
    quantities = (("delta", "ΔA at this share", "o", "0.15"),
                  ("margin", "fine at this share − coarse on 100 %", "s", "#9467bd"))
    for k, source in enumerate(sources):
        part = points[points["source"].eq(source)].sort_values("data_ratio")
        share = 100 * part["data_ratio"].astype(float)
        paper = source == "paper"
        for column, level in (("a_fc", "fine"), ("a_cc", "coarse")):
            left.plot(share, part[column], marker="o", color=label_color(level), ls="--" if paper else "-",
                      mfc="white" if paper else label_color(level),
                      label=f"{'A_FC' if level == 'fine' else 'A_CC'}, {source}")
        for j, (column, name, marker, color) in enumerate(quantities):
            rows = part.dropna(subset=[column])
            low = (rows[column] - rows[f"{column}_low"]).clip(lower=0).fillna(0)
            high = (rows[f"{column}_high"] - rows[column]).clip(lower=0).fillna(0)
            shift = 1.2 * (2 * j - 1) + 0.6 * k  # a little apart in x so the bars do not hide one another
            right.errorbar(100 * rows["data_ratio"].astype(float) + shift, rows[column], yerr=[low, high],
                           fmt=marker, color=color, mfc="white" if paper else color, capsize=3,
                           label=f"{name}, {source}" + ("" if paper else " (95 % interval)"))
    left.set_xlabel("training data used (%)")
    left.set_ylabel("test accuracy at the coarse level (%)")
    left.set_title("A_FC (red) and A_CC (blue), mean over seeds", fontsize=10)
    left.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    right.axhline(0, color="0.5", lw=0.8)
    right.set_xlabel("training data used (%)")
    right.set_ylabel("difference in test accuracy (points)")
    right.set_title("ΔA and Fig 2's claim, paired over seeds", fontsize=10)
    right.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    for ax in (left, right):
        ax.set_xticks(sorted(set(100 * points["data_ratio"].astype(float))))
    fig.suptitle(title or "Fig 2: fine against coarse labels on a share of the training data", fontsize=11,
                 fontweight="bold")
    fig.tight_layout()
    return fig


def partition_grid(table: Any, classes: Sequence[str], title: str | None = None) -> plt.Figure:
    """Table VI drawn: a row per partition, a cell per fine class coloured by its coarse group; ΔA at the row's end.

    ``table`` is ``lgtools.chapters.evidence.table6_partitions``: ``label``, one column per name in
    ``classes`` holding the class's group (0, 1, …), ``paper_delta`` and ``ours_delta`` with
    ``ours_low``/``ours_high`` (NaN where nothing is stored). The grid is one ``QuadMesh`` whose
    cell values are the groups; the right panel sets the paper's ΔA (grey diamond) beside ours
    (dot, 95 % interval) and writes both at the row's end.
    """
    classes = list(classes)
    missing = {"label", "paper_delta", "ours_delta", "ours_low", "ours_high", *classes} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    rows = table.reset_index(drop=True)
    groups = rows[classes].to_numpy(dtype=int)
    count = int(groups.max()) + 1 if groups.size else 1
    colors = sns.color_palette("Set2", max(2, count))[:max(2, count)]  # groups are classes: no red/blue
    fig, (grid, deltas) = plt.subplots(1, 2, figsize=(12, 0.42 * len(rows) + 2.2),
                                       gridspec_kw={"width_ratios": [len(classes), 5]})
    grid.pcolormesh(groups, cmap=matplotlib.colors.ListedColormap(colors), vmin=-0.5,
                    vmax=len(colors) - 0.5, edgecolors="white", linewidth=1.5)
    for (r, c), group in np.ndenumerate(groups):
        grid.text(c + 0.5, r + 0.5, str(group), ha="center", va="center", fontsize=8, color="0.2")
    grid.set_xticks(np.arange(len(classes)) + 0.5, classes, rotation=45, ha="right", rotation_mode="anchor",
                    fontsize=8)
    grid.set_yticks(np.arange(len(rows)) + 0.5, rows["label"], fontsize=8)
    grid.set_ylim(len(rows), 0)
    grid.set_xlim(0, len(classes))
    grid.tick_params(length=0)
    grid.grid(False)
    grid.set_title("coarse group of each CIFAR-10 class (* bits not in the stated ratio)", fontsize=9)
    grid.legend(handles=[Patch(color=colors[g], label=f"group {g}") for g in range(count)], fontsize=8,
                loc="lower left", bbox_to_anchor=(0, 1.06), ncol=count, frameon=False, borderaxespad=0)
    y = np.arange(len(rows)) + 0.5
    ran = rows["ours_delta"].notna().to_numpy()
    deltas.scatter(rows["paper_delta"], y - 0.15, marker="D", color="0.35", s=26, label="paper (one run)", zorder=3)
    low = (rows["ours_delta"] - rows["ours_low"]).clip(lower=0).fillna(0)
    high = (rows["ours_high"] - rows["ours_delta"]).clip(lower=0).fillna(0)
    deltas.errorbar(rows.loc[ran, "ours_delta"], y[ran] + 0.15, xerr=[low[ran], high[ran]], fmt="o",
                    color=sns.color_palette("colorblind")[0], capsize=3, label="ours (mean of seed pairs, 95 % CI)")
    deltas.axvline(0, color="0.5", lw=0.8)
    deltas.set_ylim(len(rows), 0)
    deltas.set_yticks(y, [_delta_text(p, m, lo, hi) for p, m, lo, hi in
                          zip(rows["paper_delta"], rows["ours_delta"], rows["ours_low"], rows["ours_high"])],
                      fontsize=7.5)
    deltas.yaxis.tick_right()
    deltas.tick_params(axis="y", length=0)
    deltas.set_xlabel("ΔA = A_FC − A_CC (points)")
    deltas.set_title("ΔA: paper | ours [95 % interval]", fontsize=9)
    deltas.legend(fontsize=7.5, loc="lower left", bbox_to_anchor=(0, 1.06), ncol=2, frameon=False, borderaxespad=0)
    fig.suptitle(title or "Table VI: the ten two-way partitions of CIFAR-10", fontsize=11, fontweight="bold")
    fig.tight_layout()
    return fig


def _delta_text(paper: float, mean: float, low: float, high: float) -> str:
    """``"+0.78 | +1.83 [-1.60, +5.26]"``: the paper's ΔA and ours with its interval (``not run`` when missing)."""
    ours = "not run" if pd.isna(mean) else f"{mean:+.2f}" + ("" if pd.isna(low) else f" [{low:+.2f}, {high:+.2f}]")
    return f"{paper:+.2f} | {ours}"


def glue_figure(name: str, fig: plt.Figure, dpi: int = 150) -> None:
    """Glue ``fig`` into the page as a PNG under ``name`` for a ``{glue:figure}`` directive, then close it.

    The PNG is rendered here (``bbox_inches="tight"``), so the page gets an image whatever the
    kernel's matplotlib backend. In a markdown cell of the same notebook::

        ```{glue:figure} name
        :name: fig-name
        :alt: what the figure shows, for readers who cannot see it

        Caption, numbered as "Fig. N" and referenced with {numref}`fig-name`.
        ```
    """
    from IPython.display import Image
    from myst_nb import glue

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    glue(name, Image(data=buffer.getvalue(), format="png"), display=False)


def confusion_dendrogram(confusion: np.ndarray, hierarchy: "Hierarchy", title: str | None = None) -> plt.Figure:
    """The classes clustered by confusion: a dendrogram above the confusion matrix in the tree's leaf order.

    Leaf names are coloured by their coarse class, so a block of one colour under one branch is a
    coarse class the confusions recover.
    """
    from scipy.cluster.hierarchy import dendrogram

    from lgtools.metrics import confusion_linkage

    c = np.asarray(confusion, dtype=float)
    rates = 100 * c / np.maximum(c.sum(axis=1, keepdims=True), 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 9.5), gridspec_kw={"height_ratios": [1, 3.4]})
    tree = dendrogram(confusion_linkage(c), ax=top, no_labels=True, color_threshold=0, above_threshold_color="0.3")
    order = tree["leaves"]
    top.set_yticks([])
    top.set_ylabel("distance\n(1 − confusion)")
    for side in ("top", "right", "left"):
        top.spines[side].set_visible(False)
    sns.heatmap(rates[np.ix_(order, order)], ax=bottom, cmap="Blues", vmax=np.percentile(rates[~np.eye(len(c), dtype=bool)], 99),
                cbar_kws={"label": "share of the true class (%)", "orientation": "horizontal", "pad": 0.22,
                          "shrink": 0.6})  # below, so the matrix keeps the dendrogram's width
    names = [hierarchy.fine_names[i] for i in order]
    colors = coarse_colors(hierarchy.num_coarse)
    bottom.set_xticks(np.arange(len(order)) + 0.5, names, rotation=60, ha="right")
    bottom.set_yticks(np.arange(len(order)) + 0.5, names, rotation=0)
    for labels in (bottom.get_xticklabels(), bottom.get_yticklabels()):
        for label, i in zip(labels, order):
            label.set_color(colors[int(hierarchy.fine_to_coarse[i])])
    bottom.set_xlabel("predicted fine class")
    bottom.set_ylabel("true fine class")
    fig.suptitle(title or "Classes clustered by how often they are confused", fontsize=11)
    fig.tight_layout()
    return fig


def paired_differences(table: Any, title: str = "Each loss minus cross-entropy, paired over seeds") -> plt.Figure:
    """One panel per ``measure``: each ``loss``'s paired ``delta`` with its 95 % interval (``low``, ``high``); n beside.

    A point without an interval (n < 2) is drawn hollow. Chapter 10's table from
    ``hierarchy_loss.against_cross_entropy``, or any table with those columns.
    """
    missing = {"loss", "measure", "delta", "low", "high", "n"} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    measures = list(dict.fromkeys(table["measure"]))
    losses = list(dict.fromkeys(table["loss"]))
    fig, axes = plt.subplots(1, max(1, len(measures)), figsize=(3.2 * max(1, len(measures)) + 2.2,
                                                                0.55 * len(losses) + 1.5), sharey=True)
    axes = np.atleast_1d(axes)
    y = {loss: i for i, loss in enumerate(losses[::-1])}
    color = sns.color_palette("colorblind")[0]
    for ax, measure in zip(axes, measures):
        part = table[table["measure"].eq(measure)]
        for _, row in part.iterrows():
            known = np.isfinite(float(row["low"])) and np.isfinite(float(row["high"]))
            err = [[max(0.0, row["delta"] - row["low"])], [max(0.0, row["high"] - row["delta"])]] if known else None
            ax.errorbar([row["delta"]], [y[row["loss"]]], xerr=err, fmt="o", color=color, capsize=3,
                        markerfacecolor=color if known else "white")
            ax.annotate(f"n={row['n']}", (row["delta"], y[row["loss"]]), xytext=(0, 6), textcoords="offset points",
                        fontsize=7, ha="center", color="0.35")
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_xlabel(f"Δ {measure.replace(' (%)', '')} (points)", fontsize=8.5)
        ax.margins(y=0.25)
    axes[0].set_yticks(list(y.values()), [textwrap.fill(loss, 28) for loss in y], fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def probe_curves(table: Any, title: str = "Linear probes of each stage over training") -> plt.Figure:
    """A panel per trained labels (rows) and probe (columns): test accuracy per epoch, a line per stage labelled at its end.

    ``table``: ``hierarchy_inside.probe_intervals`` (columns ``labels``, ``probe``, ``stage``,
    ``epoch``, ``test_acc``, ``low``, ``high``); the band is each accuracy's 95 % interval over the
    probe's test images.
    """
    missing = {"labels", "probe", "stage", "epoch", "test_acc", "low", "high"} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    trained = [t for t in ("fine", "coarse") if t in set(table["labels"])]
    probes = [p for p in ("coarse", "fine") if p in set(table["probe"])]
    stages = sorted(set(table["stage"]))
    colors = dict(zip(stages, sns.color_palette("viridis", len(stages))))
    fig, axes = plt.subplots(max(1, len(trained)), max(1, len(probes)), squeeze=False, sharex=True, sharey="col",
                             figsize=(4.8 * max(1, len(probes)), 3.1 * max(1, len(trained))))
    last = int(table["epoch"].max()) if len(table) else 1
    ends: dict[tuple[int, int], list] = {}
    for row, labels in enumerate(trained):
        for col, probe in enumerate(probes):
            ax = axes[row, col]
            for stage, part in table[table["labels"].eq(labels) & table["probe"].eq(probe)].groupby("stage"):
                part = part.sort_values("epoch")
                ax.plot(part["epoch"], part["test_acc"], color=colors[stage], marker="o", ms=3)
                ax.fill_between(part["epoch"], part["low"], part["high"], color=colors[stage], alpha=0.15, lw=0)
                end = part.iloc[-1]
                ends.setdefault((row, col), []).append((end["epoch"], end["test_acc"], f"stage {stage}", colors[stage]))
            ax.set_title(f"{labels}-trained network, {probe} probe", fontsize=9)
            ax.set_xlim(-0.2, last + 0.9)
            ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
            ax.set_ylabel(f"{probe} probe accuracy (%)", fontsize=8.5)
            if row == len(trained) - 1:
                ax.set_xlabel("epochs trained (0: initial weights)", fontsize=8.5)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for (row, col), points in ends.items():  # last, once the layout is final: labels kept apart
        x, y, texts, hues = zip(*points)
        place_labels(axes[row, col], x, y, texts, fontsize=7.5, colors=hues)
    return fig


def epoch_differences(table: Any, ylabel: str = "Δ A_FC against the plain fine network (points)",
                      title: str = "A coarse head against the plain fine network, epoch by epoch") -> plt.Figure:
    """Per ``name``: the paired ``delta`` at each ``epoch`` with its 95 % interval (``low``, ``high``), labelled at the end.

    ``table``: ``hierarchy_inside.head_versus``; one panel per ``measure`` where it has that column.
    A point without an interval (n < 2) is drawn hollow.
    """
    missing = {"name", "epoch", "delta", "low", "high", "n"} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    measures = list(dict.fromkeys(table["measure"])) if "measure" in table.columns and len(table) else [None]
    fig, axes = plt.subplots(1, len(measures), figsize=(5.6 * len(measures), 4), squeeze=False)
    for ax, measure in zip(axes[0], measures):
        part = table if measure is None else table[table["measure"].eq(measure)]
        _epoch_panel(ax, part, ylabel if measure is None else f"Δ {measure} (points)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _epoch_panel(ax: plt.Axes, table: Any, ylabel: str) -> None:
    names = list(dict.fromkeys(table["name"]))
    palette = sns.color_palette("colorblind", max(1, len(names)))
    for i, (name, color) in enumerate(zip(names, palette)):
        part = table[table["name"].eq(name)].sort_values("epoch")
        x = part["epoch"].to_numpy(dtype=float) + 0.06 * (i - (len(names) - 1) / 2)  # side by side, not on top
        known = np.isfinite(part["low"].to_numpy(dtype=float))
        err = np.vstack([np.where(known, part["delta"] - part["low"], 0), np.where(known, part["high"] - part["delta"], 0)])
        ax.errorbar(x, part["delta"], yerr=np.maximum(err, 0), color=color, capsize=3, marker="o",
                    markerfacecolor="white" if not known.all() else color)
        ax.annotate(textwrap.fill(f"{name} (n={int(part['n'].iloc[-1])})", 18), (x[-1], part["delta"].iloc[-1]), xytext=(6, 0),
                    textcoords="offset points", fontsize=7.5, va="center", color=color)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    if len(table):
        ax.set_xlim(table["epoch"].min() - 0.3, table["epoch"].max() + 1.4)


def planted_features(table: Any, title: str = "What coarse and fine labels teach a two-layer ReLU network") -> plt.Figure:
    """Two panels from ``pretraining.multiview_table``: filter alignment with each kind of planted feature, and accuracy.

    One point per seed; the coarse-trained network in the coarse colour, the fine-trained in the
    fine colour, each labelled once at its mean.
    """
    missing = {"seed", "labels", "accuracy", "hard_accuracy", "common_alignment", "fine_alignment"} - set(table.columns)
    if missing:
        raise ValueError(f"table: missing columns {sorted(missing)}")
    panels = ((("common_alignment", "common\nfeatures"), ("fine_alignment", "fine\nfeatures")),
              (("accuracy", "all test\nimages"), ("hard_accuracy", "hard test\nimages")))
    ylabels = ("best filter's cosine with the planted feature", "coarse test accuracy (%)")
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4))
    for ax, measures, ylabel in zip(axes, panels, ylabels):
        for offset, labels in ((-0.12, "coarse"), (0.12, "fine")):
            part = table[table["labels"].eq(labels)]
            for i, (measure, _) in enumerate(measures):
                ax.scatter(np.full(len(part), i + offset), part[measure], color=label_color(labels), s=22,
                           edgecolor="black", linewidth=0.4, zorder=3)
                mean = part[measure].mean()
                ax.hlines(mean, i + offset - 0.08, i + offset + 0.08, color=label_color(labels), lw=2)
                if i == len(measures) - 1:
                    ax.annotate(f"{labels}-trained", (i + offset, mean), xytext=(8, 0), textcoords="offset points",
                                fontsize=8, va="center", color=label_color(labels))
        ax.set_xticks(range(len(measures)), [words for _, words in measures])
        ax.set_xlim(-0.5, len(measures) - 0.2)
        ax.set_ylabel(ylabel, fontsize=8.5)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def granularity_transfer(versus: Any, misaligned_prefix: str, coarse_classes: int | None = 2,
                         title: str = "Transfer to the coarse task after pretraining at each granularity") -> plt.Figure:
    """Two panels from ``pretraining.versus_coarse_pretraining``: all test images, hard test images.

    Per transfer measure (linear probe, fine-tuning) the paired difference from coarse pretraining
    against the number of pretraining classes (log axis), joined along the labels aligned with the
    coarse classes from coarse pretraining itself (0 at ``coarse_classes``; None: not drawn); the
    misaligned control (names starting ``misaligned_prefix``, ``finetune_study.MISALIGNED``) is a
    hollow marker beside them, labelled directly. A measure not in
    ``versus`` is left out, and a panel with neither of its measures too.
    """
    missing = {"pretraining", "classes", "measure", "delta", "low", "high", "n"} - set(versus.columns)
    if missing:
        raise ValueError(f"versus: missing columns {sorted(missing)}")
    panels = (("all test images", {"probe_acc": "linear probe", "finetune_acc": "fine-tuned"}),
              ("hard test images", {"probe_hard": "linear probe", "finetune_hard": "fine-tuned"}))
    colors = {"linear probe": COARSE_COLOR, "fine-tuned": FINE_COLOR}
    shown = [p for p in panels if versus["measure"].isin(list(p[1])).any()]
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(4.6 * max(len(shown), 1), 4), squeeze=False)
    anchor = (pd.DataFrame({"classes": [coarse_classes], "delta": [0.0], "low": [0.0], "high": [0.0]})
              if coarse_classes is not None else pd.DataFrame(columns=["classes", "delta", "low", "high"]))
    for ax, (name, measures) in zip(axes[0], shown):
        for shift, (measure, words) in zip((0.96, 1.04), measures.items()):
            part = versus[versus["measure"].eq(measure) & versus["n"].gt(0)]
            if part.empty:
                continue
            crossing = part["pretraining"].str.startswith(misaligned_prefix)
            # One point per pretraining (never averaged with another of the same class count), in class order.
            aligned = pd.concat([anchor, part[~crossing][["classes", "delta", "low", "high"]]]).sort_values(
                "classes", kind="stable")
            for frame, face, apart in ((aligned, colors[words], 1.0), (part[crossing], "white", 1.12)):
                x = frame["classes"].astype(float) * shift * apart  # the control sits beside the fine labels
                low = (frame["delta"] - frame["low"]).astype(float).fillna(0).clip(lower=0)
                high = (frame["high"] - frame["delta"]).astype(float).fillna(0).clip(lower=0)
                ax.errorbar(x, frame["delta"].astype(float), yerr=[low, high], fmt="o", color=colors[words], mfc=face,
                            markeredgecolor=colors[words] if face == "white" else "black", markeredgewidth=0.8,
                            capsize=3, ls="-" if face != "white" else "none", lw=1)
            if len(aligned):
                last = aligned.iloc[-1]
                ax.annotate(words, (float(last["classes"]) * shift, float(last["delta"])), xytext=(6, 0),
                            textcoords="offset points", fontsize=8, color=colors[words], va="center")
            for _, row in part[crossing].iterrows():
                ax.annotate("misaligned", (float(row["classes"]) * shift * 1.12, float(row["delta"])), xytext=(6, -2),
                            textcoords="offset points", fontsize=7.5, color=colors[words], va="top")
        ticks = sorted(set(versus["classes"].astype(int)) | ({int(coarse_classes)} if coarse_classes else set()))
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.set_xlim(min(ticks) / 1.3, max(ticks) * 2.2)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("pretraining classes (log scale)")
        ax.set_ylabel("minus coarse pretraining (points), 95 % interval", fontsize=8.5)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
