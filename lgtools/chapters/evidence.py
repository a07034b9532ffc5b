"""The stored runs behind the book's figures, gathered as tables and arrays (``plots`` draws them).

Each function takes ``stored_results``' frame and keeps the runs that answer one figure of the
paper, through ``selection``, ``data_share``, ``ranking`` and ``scorecard``: Fig 5's fine confusion
matrix (``fine_confusion``), Fig 3's curves (``training_histories``), Fig 2 with paired intervals
(``data_share_evidence``), Fig 6/7's (ACR, ΔA) points (``acr_evidence``) and Table VI's partitions
(``table6_partitions``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lgtools.chapters.data_share import fine_share_vs_full_coarse, paper_curve
from lgtools.chapters.paper import paper_table, table6_inconsistent_rows
from lgtools.chapters.ranking import acr_points, paper_points
from lgtools.chapters.scorecard import scorecard
from lgtools.chapters.selection import ANY, select_runs, stored_histories
from lgtools.labels.builtin import get_hierarchy
from lgtools.labels.hierarchy import Hierarchy
from lgtools.runs.compare import delta_table
from lgtools.runs.results import load_result

DATA_SHARE_COLUMNS = ("source", "data_ratio", "a_fc", "a_cc", "delta", "delta_low", "delta_high",
                      "margin", "margin_low", "margin_high", "n")


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


def training_histories(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale") -> pd.DataFrame:
    """Fig 3: per-epoch coarse-level train and test accuracy of Table I's stored fine and coarse runs (long form)."""
    return stored_histories(headline_runs(stored, dataset, scale))


def data_share_evidence(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale") -> pd.DataFrame:
    """Fig 2 with intervals: per share of the data, ours (paired over seeds) and the paper's A_FC, A_CC, ΔA and margin.

    ``delta`` is ΔA at that share (fine and coarse runs both on it) with its paired 95 %
    interval; ``margin`` is Fig 2's claim, fine runs at that share minus coarse runs on all of
    the data (``data_share.fine_share_vs_full_coarse``), NaN at 100 %. ``source`` is
    ``"ours, <scale>"`` or ``"paper"`` (one run per setting: no interval).
    """
    runs = select_runs(stored, data_ratio=ANY)
    runs = runs[runs["dataset"].eq(dataset) & runs["scale"].eq(scale)] if len(runs) else runs
    frames = []
    if len(runs):
        ours = delta_table(runs, by=["data_ratio"])
        claim = fine_share_vs_full_coarse(runs, by=())
        frames.append(_with_margin(ours, claim).assign(source=f"ours, {scale}"))
    if dataset in set(paper_table("fig2")["dataset"]):
        curve = paper_curve(dataset)
        wide = curve.pivot_table(index="data_ratio", columns="labels", values="test_acc").reset_index()
        paper = pd.DataFrame({"data_ratio": wide["data_ratio"], "a_fc": wide["fine"], "a_cc": wide["coarse"],
                              "delta": wide["fine"] - wide["coarse"], "delta_low": np.nan, "delta_high": np.nan,
                              "n": 1})
        frames.append(_with_margin(paper, fine_share_vs_full_coarse(curve, by=())).assign(source="paper"))
    if not frames:
        return pd.DataFrame(columns=list(DATA_SHARE_COLUMNS))
    table = pd.concat(frames, ignore_index=True)
    table["data_ratio"] = pd.to_numeric(table["data_ratio"])
    return table[list(DATA_SHARE_COLUMNS)].sort_values(["source", "data_ratio"], ignore_index=True)


def _with_margin(deltas: pd.DataFrame, claim: pd.DataFrame) -> pd.DataFrame:
    """``deltas`` (one row per ``data_ratio``) with Fig 2's margin and its interval joined on the share."""
    margin = claim[["data_ratio", "margin", "margin_low", "margin_high"]].astype(float)
    out = deltas.assign(data_ratio=pd.to_numeric(deltas["data_ratio"]))
    return out.merge(margin, on="data_ratio", how="left")


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


def table6_partitions(stored: pd.DataFrame, scale: str = "cpu-scale") -> tuple[pd.DataFrame, list[str]]:
    """Table VI: per partition the coarse group of each CIFAR-10 class, the paper's ΔA and ours; and the class names.

    Columns: ``row``, ``hierarchy``, ``ratio`` (as printed), ``label`` (e.g. ``"VI-3 (6:4)*"``, a
    star where the printed bits do not split the classes in the stated ratio), one column per
    fine class holding its group (0 or 1), ``paper_delta``, ``ours_delta``, ``ours_low``,
    ``ours_high`` and ``n`` (seed pairs; NaN where nothing is stored at ``scale``).
    """
    printed = paper_table("table6")
    classes = list(get_hierarchy("cifar10").fine_names)
    odd = set(table6_inconsistent_rows())
    rows = []
    for _, entry in printed.iterrows():
        hierarchy = get_hierarchy(entry["hierarchy"])
        if list(hierarchy.fine_names) != classes:
            raise ValueError(f"partition {entry['hierarchy']} is not over CIFAR-10's classes in label order")
        star = "*" if int(entry["row"]) in odd else ""
        rows.append({"row": int(entry["row"]), "hierarchy": entry["hierarchy"], "ratio": entry["setting_value"],
                     "label": f"VI-{int(entry['row'])} ({entry['setting_value']}){star}",
                     **dict(zip(classes, (int(c) for c in hierarchy.fine_to_coarse))),
                     "paper_delta": float(entry["delta"])})
    table = pd.DataFrame(rows)
    card = scorecard(stored, "table6").reindex(columns=["hierarchy", "scale", "ours_delta", "ours_delta_low",
                                                        "ours_delta_high", "n"])
    card = card[card["scale"].eq(scale)]
    ours = pd.DataFrame({"hierarchy": card["hierarchy"], "ours_delta": pd.to_numeric(card["ours_delta"]),
                         "ours_low": pd.to_numeric(card["ours_delta_low"]),
                         "ours_high": pd.to_numeric(card["ours_delta_high"]), "n": pd.to_numeric(card["n"])})
    return table.merge(ours, on="hierarchy", how="left"), classes
