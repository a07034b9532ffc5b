"""Figure helpers for the book's chapters (seaborn + matplotlib).

One colour convention runs through the book, as in the paper's figures: fine-label training is
red, coarse-label training is blue. Chapters call `set_theme()` once, draw with the helpers below
and finish each figure with `save_or_show`. Helpers return the matplotlib ``Figure`` so that a
caller can adjust or save it.

Layout of this file: base helpers, then chapters 1–2 (hierarchies, image grids, decision
boundaries), then the helpers of chapters 3–8 appended after them.
"""

from __future__ import annotations

import textwrap

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

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


def training_curves(history: Any, title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Fig 3: coarse-level accuracy per epoch, train dotted and test solid, fine red and coarse blue.

    ``history`` is a long table (``lgtools.chapters.experiments.history_frame``) with columns ``epoch``,
    ``accuracy``, ``split`` and ``labels``; several seeds draw as a mean with a ±1 std band.
    """
    missing = {"epoch", "accuracy", "split", "labels"} - set(history.columns)
    if missing:
        raise ValueError(f"history: missing columns {sorted(missing)}")
    return _split_lines(history, "epoch", "epoch", title or "Training (dotted) and test (solid) accuracy", ax)


def _split_lines(data: Any, x: str, xlabel: str, title: str, ax: plt.Axes | None,
                 markers: bool = False) -> plt.Figure:
    """Coarse-level accuracy against ``x``: fine red / coarse blue, train dotted / test solid, ±1 std band."""
    fig, ax = plt.subplots(figsize=(6.5, 4)) if ax is None else (ax.figure, ax)
    sns.lineplot(data=data, x=x, y="accuracy", hue="labels", style="split", markers=markers,
                 palette=label_palette(sorted(set(data["labels"]))), dashes=_split_styles(),
                 errorbar="sd", ax=ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy at the coarse level (%)")
    ax.set_title(title)
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


def confusion_heatmap(confusion: np.ndarray, hierarchy: "Hierarchy", normalize: bool = True,
                      title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Fig 5: the fine confusion matrix ordered by coarse class, with the coarse blocks outlined.

    Rows are true fine classes, columns predicted ones; with ``normalize`` each row is shown as
    a percentage of that class's test images.
    """
    confusion = np.asarray(confusion, dtype=float)
    if confusion.shape != (hierarchy.num_fine, hierarchy.num_fine):
        raise ValueError(f"confusion must be {hierarchy.num_fine}×{hierarchy.num_fine}, got {confusion.shape}")
    mapping = np.asarray(hierarchy.fine_to_coarse)
    order = np.argsort(mapping, kind="stable")
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
    edges = np.cumsum(np.bincount(mapping, minlength=hierarchy.num_coarse))[:-1]
    for edge in edges:  # coarse-class blocks: inside = same coarse class
        ax.axhline(edge, color="red", lw=1.5)
        ax.axvline(edge, color="red", lw=1.5)
    ax.set_xlabel("predicted fine class")
    ax.set_ylabel("true fine class")
    ax.set_title(title or "Fine confusion matrix, ordered by coarse class")
    return fig


def delta_vs_acr(points: Any, title: str | None = None, log_x: bool = False,
                 ax: plt.Axes | None = None) -> plt.Figure:
    """Fig 6/7: ΔA against ACR, one colour per ``group``, each point labelled; Spearman ρ per group in the title.

    ``points`` has columns ``acr``, ``delta``, ``group`` and ``label`` (the text by a point); with
    ``delta_low`` and ``delta_high`` the 95 % intervals are drawn as bars.
    """
    missing = {"acr", "delta", "group", "label"} - set(points.columns)
    if missing:
        raise ValueError(f"points: missing columns {sorted(missing)}")
    points = points.dropna(subset=["acr", "delta"])
    fig, ax = plt.subplots(figsize=(6.5, 4.5)) if ax is None else (ax.figure, ax)
    groups = list(dict.fromkeys(points["group"]))
    colors = dict(zip(groups, sns.color_palette("colorblind", max(1, len(groups)))))
    markers = dict(zip(groups, "osD^vP*X"))
    rhos = []
    for group in groups:
        part = points[points["group"] == group]
        ax.scatter(part["acr"], part["delta"], s=40, color=colors[group], marker=markers[group],
                   label=f"{group} (n={len(part)})", edgecolors="black", linewidths=0.4)
        if {"delta_low", "delta_high"} <= set(part.columns):  # 95 % intervals where we have them
            bars = part.dropna(subset=["delta_low", "delta_high"])
            ax.errorbar(bars["acr"], bars["delta"], yerr=[(bars["delta"] - bars["delta_low"]).clip(lower=0),
                        (bars["delta_high"] - bars["delta"]).clip(lower=0)], fmt="none",
                        ecolor=colors[group], elinewidth=0.8, capsize=2)
        for x, y, text in zip(part["acr"], part["delta"], part["label"]):
            ax.annotate(str(text), (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
        if len(part) >= 3:  # Spearman ρ = Pearson correlation of the ranks
            ranks = part[["acr", "delta"]].astype(float).rank()
            rhos.append(f"{group}: ρ={ranks['acr'].corr(ranks['delta']):+.2f}")
    ax.axhline(0, color="0.5", lw=0.8)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("Average Confusion Ratio (authors' code convention)")
    ax.set_ylabel("ΔA = A_FC − A_CC, test (%)")
    heading = title or "ΔA against ACR"
    ax.set_title(heading + ("\nSpearman " + "; ".join(rhos) if rhos else ""), fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return fig


def delta_with_intervals(points: Any, x: str, xlabel: str, title: str | None = None,
                         ax: plt.Axes | None = None, y: str = "delta",
                         ylabel: str = "ΔA = A_FC − A_CC, test (%), 95 % interval") -> plt.Figure:
    """``y`` (ΔA by default) against ``x``, one colour per ``group``, points labelled (chapter 7).

    ``points`` has columns ``x``, ``y``, ``group`` and ``label``; for ΔA also ``delta_low`` and
    ``delta_high``, drawn as bars (NaN: no bar, e.g. the paper's single runs).
    """
    needed = {x, y, "group", "label"} | ({"delta_low", "delta_high"} if y == "delta" else set())
    missing = needed - set(points.columns)
    if missing:
        raise ValueError(f"points: missing columns {sorted(missing)}")
    points = points.dropna(subset=[x, y])
    if y != "delta":
        points = points.assign(delta=points[y], delta_low=float("nan"), delta_high=float("nan"))
    fig, ax = plt.subplots(figsize=(6.5, 4.5)) if ax is None else (ax.figure, ax)
    groups = list(dict.fromkeys(points["group"]))
    colors = dict(zip(groups, sns.color_palette("colorblind", max(1, len(groups)))))
    for group, marker in zip(groups, "osD^vP*X"):
        part = points[points["group"] == group].astype({x: float, "delta": float})
        low = (part["delta"] - part["delta_low"].astype(float)).fillna(0).clip(lower=0)
        high = (part["delta_high"].astype(float) - part["delta"]).fillna(0).clip(lower=0)
        ax.errorbar(part[x], part["delta"], yerr=[low, high], fmt=marker, color=colors[group], capsize=3,
                    markeredgecolor="black", markeredgewidth=0.4, label=group)
        for px, py, text in zip(part[x], part["delta"], part["label"]):
            ax.annotate(str(text), (px, py), textcoords="offset points", xytext=(4, 3), fontsize=7)
    if y == "delta":
        ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or ylabel, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return fig


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
