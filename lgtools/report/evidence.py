"""The stored CIFAR-10 runs behind several chapters' figures: headline runs, the fine confusion matrix, (ACR, ΔA) points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from collections.abc import Sequence

from lgtools.labels.hierarchy import Hierarchy
from lgtools.report.ranking import acr_points, paper_points
from lgtools.report.selection import select_runs
from lgtools.runs.results import load_result


LOSS_SWEEP = "losses-cpu-scale"


PARAMETER = {"coarse_constraint": "b", "hierarchical": "α", "soft_labels": "β", "multitask": "λ"}  # each loss's one knob


def loss_name(loss: str, param: float, coarse_head: int | None = None) -> str:
    """A loss in words with its parameter, e.g. ``coarse-label constraint (b = 0.5)``; multitask names its head's stage."""
    words = {"cross_entropy": "cross-entropy", "coarse_constraint": "coarse-label constraint",
             "hierarchical": "hierarchical cross-entropy", "soft_labels": "soft labels",
             "multitask": "coarse head"}.get(loss, loss)
    if loss == "multitask":
        return f"{words} on stage {coarse_head or 4} ({PARAMETER[loss]} = {param:g})"
    return f"{words} ({PARAMETER[loss]} = {param:g})" if loss in PARAMETER else words


def headline_runs(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale",
                  labels: str | None = None, seeds: Sequence[int] | None = None) -> pd.DataFrame:
    """Table I's stored runs of one dataset and scale (all data, no noise, own hierarchy), by labels and seeds."""
    runs = select_runs(stored)
    if runs.empty:
        return runs
    keep = runs["dataset"].eq(dataset) & runs["scale"].eq(scale)
    if labels is not None:
        if labels not in ("fine", "coarse"):
            raise ValueError(f"labels must be 'fine', 'coarse' or None, got {labels!r}")
        keep &= runs["labels"].eq(labels)
    if seeds is not None:
        keep &= runs["seed"].isin(list(seeds))
    return runs[keep].sort_values(["labels", "seed"]).reset_index(drop=True)


def fine_confusion(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale",
                   seeds: Sequence[int] | None = None) -> tuple[np.ndarray, Hierarchy, list[int]]:
    """Fig 5: the fine test confusion matrix summed over the stored fine runs of Table I, their hierarchy and seeds.

    Summing the counts pools the seeds' test images, so a row normalised afterwards is the
    share of all their predictions for that class. ``seeds`` None takes every stored seed.
    """
    runs = headline_runs(stored, dataset, scale, labels="fine", seeds=seeds)
    if runs.empty:
        raise ValueError(f"no stored fine run of dataset {dataset!r} at scale {scale!r} with seeds {seeds}")
    total, hierarchy = None, None
    for path in runs["path"]:
        record = load_result(path)
        if record.get("confusion_fine") is None:
            raise ValueError(f"run {path} was stored without a fine confusion matrix")
        here = Hierarchy(record["fine_names"], record["coarse_names"], record["fine_to_coarse"],
                         name=str(runs["hierarchy"].iloc[0]))
        if hierarchy is not None and here != hierarchy:
            raise ValueError(f"run {path} has another hierarchy than the first run; seeds {seeds} mix settings")
        hierarchy = here
        total = record["confusion_fine"] if total is None else total + record["confusion_fine"]
    return np.asarray(total), hierarchy, [int(s) for s in runs["seed"]]


def point_label(hierarchy: str, noise: float = 0.0, data_ratio: float = 1.0) -> str:
    """The raw text by one (ACR, ΔA) point: the partition, the noise, the share of the data or the hierarchy."""
    if str(hierarchy).startswith("cifar10_table6_"):
        return str(hierarchy)
    if noise and float(noise) > 0:
        return f"{float(noise):g}"
    if data_ratio is not None and float(data_ratio) < 1:
        return f"{100 * float(data_ratio):.0f} % data"
    return str(hierarchy)


def acr_evidence(stored: pd.DataFrame, scale: str | None = "cpu-scale") -> pd.DataFrame:
    """Fig 6/7: the paper's (ACR, ΔA) points and ours with paired intervals, with ``group`` and ``label``.

    The paper's Fig 7b point at randomness 0 is Fig 7a's partition 1 (the same run) and is left
    out; ``scale`` None keeps every scale of ours.
    """
    paper = paper_points(("fig6", "fig7a", "fig7b"))
    paper = paper[~(paper["source"].eq("fig7b") & pd.to_numeric(paper["setting"], errors="coerce").eq(0))]
    noise = pd.to_numeric(paper["setting"], errors="coerce").where(paper["source"].eq("fig7b"), 0.0)
    figure = {"fig6": "Fig 6", "fig7a": "Fig 7a", "fig7b": "Fig 7b"}
    paper = paper.assign(group="paper, " + paper["source"].map(figure),
                         label=[point_label(h, n) for h, n in zip(paper["hierarchy"], noise)])
    ours = acr_points(stored)
    if scale is not None and len(ours):
        ours = ours[ours["scale"].eq(scale)]
    kind = {"table1": "Table I, Fig 2", "fig2": "Table I, Fig 2", "table6": "Table VI", "table7": "Table VII",
            "table8": "Table VIII"}
    ours = ours.assign(group="ours, " + ours["source"].map(kind) + " (" + ours["scale"].astype(str) + ")",
                       label=[point_label(h, n, r) for h, n, r in zip(ours["hierarchy"], ours["noise"],
                                                                       ours["data_ratio"])])
    columns = ["group", "label", "dataset", "hierarchy", "acr", "delta", "delta_low", "delta_high", "n"]
    both = pd.concat([paper.assign(delta_low=np.nan, delta_high=np.nan, n=1), ours], ignore_index=True)
    return both[columns]
