"""Chapter 6 (06_acr): the authors' ACR, both conventions, and Fig 5's confusion heatmap.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle

from lgtools.metrics import acr
from lgtools.report.figures import coarse_colors, coarse_order
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported only for type hints; plotting never needs torch itself
    from lgtools.labels.hierarchy import Hierarchy

from lgtools.report.ledger import claim_frame, finding_box
from lgtools.runs.compare import delta_table  # offered to the notebook, which imports its own chapter only
NOTEBOOK = "06_acr"  # the notebook this module serves
WHERE = "[Chapter 6](06_acr.ipynb)"  # the ledger's link to it


def acr_breakdown(confusion: np.ndarray, hierarchy: Hierarchy) -> pd.DataFrame:
    """The pieces of both ACR conventions from one fine confusion matrix (chapter 6, eq. 1).

    Rows: eq. (1) as printed (raw counts, same-coarse pairs incl. the diagonal on top), the
    same with the diagonal left out, its reciprocal (different over same), and the authors'
    code (column-normalised, symmetrised, pairs i < j, different over same).
    """
    counts = np.asarray(confusion, dtype=float)
    if counts.shape != (hierarchy.num_fine, hierarchy.num_fine):
        raise ValueError(f"confusion must be {hierarchy.num_fine}×{hierarchy.num_fine}, got {counts.shape}")
    same = hierarchy.same_coarse()
    off = ~np.eye(hierarchy.num_fine, dtype=bool)
    same_mean, same_off_mean = counts[same].mean(), counts[same & off].mean()
    other_mean = counts[~same].mean()
    rows = [
        ("eq. (1) as printed", "same coarse, incl. diagonal", same_mean, "different coarse",
         other_mean, acr(confusion, hierarchy, convention="equation")),
        ("eq. (1) without the diagonal", "same coarse, i ≠ j", same_off_mean, "different coarse",
         other_mean, same_off_mean / other_mean if other_mean else np.inf),
        ("reciprocal of the line above", "different coarse", other_mean, "same coarse, i ≠ j",
         same_off_mean, other_mean / same_off_mean if same_off_mean else np.inf),
        ("authors' code", "different coarse, normalised", np.nan, "same coarse, normalised",
         np.nan, acr(confusion, hierarchy, convention="code")),
    ]
    return pd.DataFrame(rows, columns=["convention", "numerator pairs", "numerator mean",
                                       "denominator pairs", "denominator mean", "ACR"])


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
    size = min(6.0, max(4.5, 0.42 * len(names) + 1.5))  # the colour bar beside: one column wide
    fig, ax = plt.subplots(figsize=(size + 1, size)) if ax is None else (ax.figure, ax)
    small = len(names) <= 16
    sns.heatmap(shown, ax=ax, cmap="Blues", square=True, annot=small, fmt=".0f",
                annot_kws={"fontsize": 10}, xticklabels=names if small else False,
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
                    fontsize=10, fontweight="bold", color=colors[c])
    if small:
        ax.set_xticklabels(names, rotation=90)
        ax.set_yticklabels(names, rotation=0)
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            for text, fine in zip(labels, order):
                text.set_color(colors[mapping[fine]])
    ax.set_xlabel("predicted fine class")
    ax.set_ylabel("true fine class")
    ax.set_title(title or "Fine confusion matrix, ordered by coarse class", fontsize=10, pad=18 if small else 6)
    return fig


def claims(stored: pd.DataFrame) -> pd.DataFrame:
    """Chapter 6 judges no claim of its own (ACR's claim is chapter 7's, over Table VI's partitions): no rows."""
    return claim_frame([], NOTEBOOK)


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)
