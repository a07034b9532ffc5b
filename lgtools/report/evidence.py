"""The stored CIFAR-10 runs behind several chapters' figures: headline runs, the fine confusion matrix, (ACR, ΔA) points.

Also which test images Table I's coarse networks get wrong, per seed (``coarse_mistakes``,
``hard_images``: the pretraining chapter's hard images), and the per-epoch curves of the fine
networks with and without a coarse head from their stored histories (``head_curves``,
``head_versus``: the hierarchy-inside chapter's).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from collections.abc import Sequence
from pathlib import Path

from lgtools.labels.hierarchy import Hierarchy
from lgtools.report.ranking import acr_points, paper_points
from lgtools.report.selection import select_runs
from lgtools.runs.compare import paired_interval
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


def head_curves(stored: pd.DataFrame, dataset: str = "cifar10", scale: str = "cpu-scale") -> pd.DataFrame:
    """Per epoch of every fine run with cross-entropy (Table I) or a coarse head (the losses sweep): A_FC, fine top-1, the head's accuracy."""
    columns = ["name", "coarse_head", "seed", "epoch", "afc", "fine", "head_acc"]
    if stored.empty:
        return pd.DataFrame(columns=columns)
    base = headline_runs(stored, dataset, scale, labels="fine")
    heads = stored[stored["experiment"].eq(LOSS_SWEEP) & stored["loss"].eq("multitask") & stored["dataset"].eq(dataset)]
    rows = []
    for _, run in pd.concat([base, heads]).iterrows():
        head = None if run["loss"] != "multitask" else int(run["coarse_head"])
        name = loss_name(run["loss"], float(run["loss_param"] or 0.0), head)
        for step in json.loads(open(run["path"]).read())["history"]:
            rows.append({"name": name, "coarse_head": head, "seed": int(run["seed"]), "epoch": int(step["epoch"]),
                         "afc": step["test_acc"], "fine": step.get("test_acc_fine"),
                         "head_acc": step.get("test_acc_coarse_head")})
    frame = pd.DataFrame(rows, columns=columns).drop_duplicates(["name", "seed", "epoch"])
    for column in ("afc", "fine", "head_acc"):  # None (not recorded) becomes NaN, which pairs drop
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


HEAD_MEASURES = {"afc": "A_FC", "fine": "fine top-1"}  # what head_versus compares, in words


def head_versus(curves: pd.DataFrame) -> pd.DataFrame:
    """Per coarse-head setting, measure (A_FC, fine top-1) and epoch: minus the plain fine network's at that epoch, paired over seeds."""
    rows = []
    for measure, words in HEAD_MEASURES.items():
        base = curves[curves["coarse_head"].isna()].set_index(["seed", "epoch"])[measure]
        for (name, epoch), part in curves.dropna(subset=["coarse_head"]).groupby(["name", "epoch"], sort=False):
            keys = [(s, epoch) for s in part["seed"] if (s, epoch) in base.index and pd.notna(base[(s, epoch)])]
            mine = part.set_index(["seed", "epoch"])[measure]
            keys = [k for k in keys if pd.notna(mine[k])]
            found = paired_interval(pd.Series([mine[k] - base[k] for k in keys], dtype=float))
            rows.append({"name": name, "measure": words, "epoch": int(epoch), "delta": found["mean"],
                         "low": found["low"], "high": found["high"], "n": found["n"]})
    frame = pd.DataFrame(rows, columns=["name", "measure", "epoch", "delta", "low", "high", "n"])
    return frame.sort_values(["measure", "name", "epoch"], ignore_index=True)


def coarse_mistakes(stored: pd.DataFrame, dataset: str = "cifar10") -> tuple[np.ndarray | None, dict[int, np.ndarray]]:
    """The test images' true coarse classes and, per seed, which of them Table I's coarse network gets wrong (one read each)."""
    truth, wrong = None, {}
    for _, run in headline_runs(stored, dataset, labels="coarse").iterrows():
        record = with_predictions(run)
        if record is None:
            continue  # stored before per-image predictions were kept, and never retrained since
        truth = np.asarray(record["fine_to_coarse"])[record["test_fine_labels"]]
        wrong[int(run["seed"])] = np.asarray(record["test_predictions"]) != truth
    return truth, wrong


def with_predictions(run: pd.Series) -> dict | None:
    """The stored record of ``run`` that kept per-image predictions: its own, else a stand-in of the same identity.

    The pretraining sweep retrains Table I's coarse runs keeping their weights and predictions; such a twin lies in
    another experiment folder under the same identity digits. It is the same configuration and seed but, trained on
    other threads or by another commit, another network (``network_difference``): it stands in for Table I's run in
    the definition of hard images only, and the chapter says so.
    """
    record = load_result(run["path"])
    if record.get("test_predictions") is not None and record.get("test_fine_labels") is not None:
        return record
    identity = str(run["identity"])
    for path in sorted(Path(run["path"]).parents[1].glob(f"*/*{identity[:10]}.json")):
        twin = load_result(path)
        if twin.get("identity") == identity and twin.get("test_predictions") is not None \
                and twin.get("test_fine_labels") is not None:
            return twin
    return None


def hard_for(wrong: dict[int, np.ndarray], seed: int) -> np.ndarray | None:
    """Test-image mask: what every network in ``wrong`` but ``seed``'s gets wrong (None with fewer than two others)."""
    others = [mask for other, mask in wrong.items() if other != seed]
    return np.logical_and.reduce(others) if len(others) >= 2 else None


def hard_images(stored: pd.DataFrame, seed: int, dataset: str = "cifar10") -> np.ndarray | None:
    """Test-image mask: what every stored Table I coarse network of the *other* seeds gets wrong (None without two)."""
    return hard_for(coarse_mistakes(stored, dataset)[1], seed)
