"""Chapter 2 (02_related_work): the cited SVM claim on toy blobs and embedded images.

Chapter 2's experiment: do fine labels help a linear classifier, and a kernel one?

The related work the paper cites (Section II) found that training on fine classes and mapping
the predictions to coarse ones helps a linear SVM approximate a non-linear coarse boundary,
but does not help an RBF-kernel SVM, which can draw that boundary by itself. This module makes
a 2-D toy set whose coarse classes are unions of Gaussian blobs (the fine classes) and fits the
four classifiers of that comparison; `decision_boundaries` below draws them.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from dataclasses import dataclass
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC, SVC
from typing import Any

from lgtools.labels.hierarchy import Hierarchy
from lgtools.metrics import accuracy, coarse_accuracy
from lgtools.data.datasets import load_dataset, subsample  # offered to the notebook, which imports its own chapter only
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the toy chapter needs no torch
    import torch

NOTEBOOK = "02_related_work"  # the notebook this module serves
WHERE = "[Chapter 2](02_related_work.ipynb)"  # the ledger's link to it


LAYOUTS = ("xor", "circle")


KERNELS = ("linear", "rbf")


@dataclass(frozen=True)
class ToySet:
    """Points ``x`` (N×2), their fine labels (one per blob) and the blob-to-coarse hierarchy."""
    x: np.ndarray
    fine_labels: np.ndarray
    hierarchy: Hierarchy

    @property
    def coarse_labels(self) -> np.ndarray:
        """Coarse label of every point."""
        return self.hierarchy.to_coarse(self.fine_labels)


def make_toy(n_per_blob: int = 100, layout: str = "xor", blobs: int = 6, spread: float = 0.35,
             seed: int = 0) -> ToySet:
    """Gaussian blobs (fine classes) whose alternating members form two coarse classes.

    ``"xor"``: four blobs on the corners of a square, diagonal corners share a coarse class.
    ``"circle"``: ``blobs`` (even) blobs on a circle, neighbours alternate between the classes.
    Neither coarse class is linearly separable; every fine class is.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout: {layout!r} is not one of {LAYOUTS}")
    if n_per_blob < 2:
        raise ValueError(f"n_per_blob: need at least 2 points per blob, got {n_per_blob}")
    if layout == "circle" and (blobs < 4 or blobs % 2):
        raise ValueError(f"blobs: the circle layout needs an even number >= 4, got {blobs}")
    if spread <= 0:
        raise ValueError(f"spread: must be positive, got {spread}")
    if layout == "xor":
        centres = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
        coarse_of_blob = np.array([0, 0, 1, 1])
    else:
        angle = 2 * np.pi * np.arange(blobs) / blobs
        centres = 1.5 * np.column_stack([np.cos(angle), np.sin(angle)])
        coarse_of_blob = np.arange(blobs) % 2
    rng = np.random.default_rng(seed)
    fine = np.repeat(np.arange(len(centres)), n_per_blob)
    x = centres[fine] + spread * rng.standard_normal((fine.size, 2))
    order = rng.permutation(fine.size)
    names = tuple(f"blob{i}" for i in range(len(centres)))
    hierarchy = Hierarchy(names, ("A", "B"), coarse_of_blob, name=f"toy_{layout}")
    return ToySet(x[order], fine[order], hierarchy)


def make_classifier(kernel: str, seed: int = 0, c: float = 1.0, gamma: str | float = "scale") -> Pipeline:
    """A standardising SVM pipeline: ``"linear"`` (LinearSVC) or ``"rbf"`` (kernel SVC)."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel: {kernel!r} is not one of {KERNELS}")
    if kernel == "linear":
        svm = LinearSVC(C=c, random_state=seed, max_iter=20_000)
    else:
        svm = SVC(C=c, kernel="rbf", gamma=gamma, random_state=seed)
    return make_pipeline(StandardScaler(), svm)


def fit_granularity_svms(x: np.ndarray, fine_labels: np.ndarray, hierarchy: Hierarchy,
                         seed: int = 0, c: float = 1.0) -> dict[str, object]:
    """Fit linear and RBF SVMs on coarse labels and on fine labels (four models, by title)."""
    coarse_labels = hierarchy.to_coarse(np.asarray(fine_labels))
    models = {}
    for kernel in KERNELS:
        for level, target in (("coarse", coarse_labels), ("fine", fine_labels)):
            title = f"{kernel} SVM, {level} labels"
            models[title] = make_classifier(kernel, seed=seed, c=c).fit(x, target)
    return models


def score_granularity_svms(models: dict[str, object], x: np.ndarray, fine_labels: np.ndarray,
                           hierarchy: Hierarchy) -> pd.DataFrame:
    """Coarse-level accuracy (%) of each model; fine-label models are mapped (A_FC)."""
    coarse_true = hierarchy.to_coarse(np.asarray(fine_labels))
    rows = []
    for title, model in models.items():
        kernel, level = title.split(" SVM, ")[0], title.split(", ")[1].split()[0]
        pred = np.asarray(model.predict(x))
        score = coarse_accuracy(pred, coarse_true, hierarchy) if level == "fine" else accuracy(pred, coarse_true)
        rows.append({"classifier": kernel, "trained on": level, "coarse accuracy (%)": score})
    table = pd.DataFrame(rows)
    return table.pivot(index="classifier", columns="trained on", values="coarse accuracy (%)") \
        .reindex(columns=["coarse", "fine"]).rename_axis(columns=None).reset_index() \
        .assign(**{"fine − coarse": lambda t: t["fine"] - t["coarse"]})


def flatten_images(images: np.ndarray | torch.Tensor, max_dim: int | None = None, seed: int = 0) -> np.ndarray:
    """Images (N×C×H×W uint8, tensor or array) as float rows in [0, 1] for scikit-learn."""
    array = np.asarray(images.numpy() if hasattr(images, "numpy") else images, dtype=np.float32)
    rows = array.reshape(array.shape[0], -1) / 255.0
    if max_dim is not None and rows.shape[1] > max_dim:
        # A fixed random projection keeps the kernel SVM fast on 3072-pixel images.
        rng = np.random.default_rng(seed)
        rows = rows @ (rng.standard_normal((rows.shape[1], max_dim)).astype(np.float32) / np.sqrt(max_dim))
    return rows


def check_claim(scores: pd.DataFrame, tolerance: float = 1.0) -> pd.DataFrame:
    """Compare a `score_granularity_svms` table with the cited claim (Fradkin 2008).

    The claim: fine labels raise a linear SVM's coarse accuracy, and leave an RBF SVM's
    unchanged. "Unchanged" means within ``tolerance`` percentage points.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance: must be non-negative, got {tolerance}")
    rows = []
    for _, row in scores.iterrows():
        delta = float(row["fine − coarse"])
        if row["classifier"] == "linear":
            claim, agrees = "fine labels help", delta > tolerance
        else:
            claim, agrees = "no difference", abs(delta) <= tolerance
        rows.append({"classifier": row["classifier"], "cited claim": claim,
                     "ours: fine − coarse (points)": delta, "agrees": bool(agrees)})
    return pd.DataFrame(rows)


def claim_finding(checks: dict[str, pd.DataFrame]) -> str:
    """``check_claim`` tables per data set (name → table) as Markdown bullets for a chapter's finding box."""
    lines = []
    for name, table in checks.items():
        parts = [f"{row['classifier']} SVM {row['ours: fine − coarse (points)']:+.1f} points "
                 f"({'agrees' if row['agrees'] else 'does not agree'} with *{row['cited claim']}*)"
                 for _, row in table.iterrows()]
        lines.append(f"- **{name}**: fine minus coarse labels, " + "; ".join(parts) + ".")
    return "\n".join(lines)


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
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(6.8, 6.3 / ncols * nrows) if ncols <= 2
                             else (2.3 * ncols, 2.3 * nrows))  # one column wide
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
