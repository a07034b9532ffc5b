"""Chapter 1 (01_label_granularity): the hierarchies as tables, their trees, and sample images.

Tables of hierarchies for chapter 1: coarse classes and their members, class counts beside the paper's.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from typing import Any, Sequence

from lgtools.labels.builtin import get_hierarchy
from lgtools.report.paper import paper_table
from lgtools.data.datasets import load_dataset  # offered to the notebook, which imports its own chapter only
from lgtools.metrics import accuracy, coarse_accuracy  # offered to the notebook, which imports its own chapter only
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported only for type hints; plotting never needs torch itself
    from lgtools.labels.hierarchy import Hierarchy

NOTEBOOK = "01_label_granularity"  # the notebook this module serves
WHERE = "[Chapter 1](01_label_granularity.ipynb)"  # the ledger's link to it


def hierarchy_table(hierarchy: Any, max_names: int = 12) -> pd.DataFrame:
    """One row per coarse class: how many fine classes it has and their names (chapter 1)."""
    mapping = np.asarray(hierarchy.fine_to_coarse)
    rows = []
    for c, coarse in enumerate(hierarchy.coarse_names):
        names = [hierarchy.fine_names[f] for f in np.flatnonzero(mapping == c)]
        listed = ", ".join(names[:max_names]) + (f", … (+{len(names) - max_names})" if len(names) > max_names else "")
        rows.append({"coarse class": coarse, "fine classes": len(names), "members": listed})
    return pd.DataFrame(rows)


def hierarchy_summary(names: Sequence[str]) -> pd.DataFrame:
    """Fine and coarse class counts of built-in hierarchies beside the paper's Table I counts."""
    printed = paper_table("table1").set_index(["dataset", "labels"])["num_train_classes"]
    rows = []
    for name in names:
        h = get_hierarchy(name)
        rows.append({
            "hierarchy": name, "coarse classes": h.num_coarse, "fine classes": h.num_fine,
            "paper coarse": printed.get((name, "coarse"), pd.NA),
            "paper fine": printed.get((name, "fine"), pd.NA),
        })
    return pd.DataFrame(rows)


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
            ax.text(2.05, y_fine[f], hierarchy.fine_names[f], va="center", fontsize=10)
        # An opaque, lightened box so the edges never run through the coarse name.
        light = tuple(0.6 + 0.4 * channel for channel in colors[c])
        ax.text(1, y_c, f" {coarse} ({int(np.sum(mapping == c))}) ", va="center", ha="center",
                fontsize=10, zorder=3, bbox={"boxstyle": "round", "fc": light, "ec": colors[c]})
    ax.text(0, -(len(shown) - 1) / 2, f"{hierarchy.name} ", ha="right", va="center", fontweight="bold")
    if len(order) > len(shown):
        ax.text(2.05, -len(shown), f"… {len(order) - len(shown)} more fine classes", fontsize=10,
                style="italic", va="center")
    ax.set_xlim(-0.9, 3.3)
    ax.set_axis_off()
    ax.set_title(title or f"{hierarchy.name}: {hierarchy.num_coarse} coarse, {hierarchy.num_fine} fine classes")
    return fig


def hierarchy_trees(names: Sequence[str], max_fine: int = 60) -> plt.Figure:
    """Fig 1.1: the built-in hierarchies ``names`` as trees stacked in one column-wide figure, each as tall as its leaves."""
    hierarchies = [get_hierarchy(name) for name in names]
    leaves = [min(h.num_fine, max_fine) + (h.num_fine > max_fine) for h in hierarchies]
    fig, axes = plt.subplots(len(names), 1, figsize=(6.5, sum(0.24 * n + 0.7 for n in leaves)), squeeze=False,
                             height_ratios=[0.24 * n + 0.7 for n in leaves], layout="constrained")
    for ax, hierarchy in zip(axes[:, 0], hierarchies):
        hierarchy_tree(hierarchy, max_fine=max_fine, ax=ax)
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
                              va="center", fontsize=10, color=colors[mapping[fine]])
    fig.suptitle("Samples per fine class (rows), grouped by coarse class (colour)", fontsize=10)
    fig.tight_layout()
    return fig


def prediction_table(hierarchy: "Hierarchy", true_fine: Sequence[int], pred_fine: Sequence[int]) -> pd.DataFrame:
    """Per image: its true and predicted fine class and the coarse class of each, by name (the chapter's worked example)."""
    true_fine, pred_fine = np.asarray(true_fine), np.asarray(pred_fine)
    if true_fine.shape != pred_fine.shape:
        raise ValueError(f"pred_fine must have true_fine's shape {true_fine.shape}, got {pred_fine.shape}")
    return pd.DataFrame({
        "true fine": [hierarchy.fine_names[i] for i in true_fine],
        "predicted fine": [hierarchy.fine_names[i] for i in pred_fine],
        "true coarse": [hierarchy.coarse_names[c] for c in hierarchy.to_coarse(true_fine)],
        "predicted coarse": [hierarchy.coarse_names[c] for c in hierarchy.to_coarse(pred_fine)],
    })


def found_text(counts: pd.DataFrame) -> str:
    """The chapter's finding (Markdown): how many of Table II's hierarchies have the class counts Table I prints.

    ``counts``: ``hierarchy_summary`` of Table II's hierarchies.
    """
    same = counts["coarse classes"].eq(counts["paper coarse"]) & counts["fine classes"].eq(counts["paper fine"])
    return (f"- **The hierarchies.** {int(same.sum())} of the {len(counts)} hierarchies of Table II have the class "
            "counts Table I prints" + ("" if same.all() else f"; these do not: {', '.join(counts.loc[~same, 'hierarchy'])}")
            + ". The ImageNet classes are checked, by WordNet id, against the official ILSVRC-2012 class list (a test).")
