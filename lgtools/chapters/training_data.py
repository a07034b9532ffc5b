"""Chapter 3 (03_training_data): Table I and Fig 2 — its claims, evidence and live demo.

Fig 2: accuracy against the share of training data, and fine labels on part of it against coarse on all (chapter 3).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from collections.abc import Mapping
from typing import Any, Sequence

from lgtools.report.paper import paper_table
from lgtools.report.selection import ANY, CONVERGED_SCALE, ours_for, select_runs
from lgtools.runs.compare import delta_table, paired_interval, verdict
from lgtools.training.loop import RunResult
from lgtools.report.figures import _split_lines, label_color
from lgtools.report.ledger import claim_row
from lgtools.report.live import run_settings
from lgtools.report.page import math_notation, scale_name

from lgtools.report.ledger import claim_frame, finding_box
from lgtools.report.ledger import first_row
from lgtools.report.scorecard import scorecard
from lgtools.report.points import interval_errorbar
NOTEBOOK = "03_training_data"  # the notebook this module serves
WHERE = "[Chapter 3](03_training_data.ipynb)"  # the ledger's link to it
FIG2_SCALES = ("cpu-scale", CONVERGED_SCALE)  # the regimes chapter 3's Fig 2 draws, where stored


def paper_curve(dataset: str) -> pd.DataFrame:
    """The paper's Fig 2 points of one dataset in the long form of a live ``data_efficiency`` table (chapter 3)."""
    fig2 = paper_table("fig2")
    rows = fig2[fig2["dataset"] == dataset]
    if rows.empty:
        raise ValueError(f"dataset {dataset!r} has no Fig 2 data; known: {sorted(set(fig2['dataset']))}")
    parts = [pd.DataFrame({"data_ratio": rows["data_ratio"], "labels": labels,
                           "train_acc": rows[f"a_{key}_train"], "test_acc": rows[f"a_{key}_test"]})
             for labels, key in (("fine", "fc"), ("coarse", "cc"))]
    return pd.concat(parts, ignore_index=True)


def fine_share_vs_full_coarse(runs: pd.DataFrame, by: Sequence[str] = ("dataset", "scale")) -> pd.DataFrame:
    """Fig 2's claim per group of ``by``: fine runs on each share of the data against coarse runs on all of it.

    One row per group and share below 100 %: ``a_fc`` (mean over seeds), ``a_cc_full`` (the
    coarse runs at 100 %), ``margin`` = the mean over seeds of (fine run at that share − coarse
    run at 100 % of the same seed) with its 95 % Student-t interval (``margin_low``,
    ``margin_high``), ``n`` pairs, and ``beats`` (the interval lies above 0; with one pair, the
    margin is above 0). The paper's claim: on CIFAR-10 and both ImageNet subsets, fine labels on
    40 % of the data already beat coarse labels on all of it (chapter 3). Groups with no coarse
    run at 100 % are left out; ``by`` columns missing from ``runs`` are ignored.
    """
    by = [k for k in by if k in runs.columns]
    columns = [*by, "data_ratio", "a_fc", "a_cc_full", "margin", "margin_low", "margin_high", "n", "beats"]
    keys = by or ["_all"]  # one group when no ``by`` column is present (e.g. ``paper_curve``)
    runs = runs.assign(_all=0, data_ratio=pd.to_numeric(runs["data_ratio"], errors="coerce").fillna(1.0))
    if "seed" not in runs.columns:
        runs = runs.assign(seed=0)  # one run per setting (the paper's): pair them as one seed
    fine = runs[runs["labels"].eq("fine") & runs["data_ratio"].lt(1.0)]
    full = runs[runs["labels"].eq("coarse") & runs["data_ratio"].eq(1.0)]
    if fine.empty or full.empty:
        return pd.DataFrame(columns=columns)
    full = full.drop_duplicates(subset=[*keys, "seed"])[[*keys, "seed", "test_acc"]].rename(columns={"test_acc": "_cc"})
    pairs = fine.merge(full, on=[*keys, "seed"], how="inner")
    rows = []
    for key, part in pairs.groupby([*keys, "data_ratio"], dropna=False, sort=True):
        interval = paired_interval(pd.to_numeric(part["test_acc"]) - pd.to_numeric(part["_cc"]))
        beats = interval["low"] > 0 if interval["n"] > 1 else interval["mean"] > 0
        rows.append({**dict(zip([*keys, "data_ratio"], key)), "a_fc": pd.to_numeric(part["test_acc"]).mean(),
                     "a_cc_full": pd.to_numeric(part["_cc"]).mean(), "margin": interval["mean"],
                     "margin_low": interval["low"], "margin_high": interval["high"], "n": interval["n"],
                     "beats": bool(beats)})
    return pd.DataFrame(rows, columns=[*keys, *columns[len(by):]])[columns]


DATA_SHARE_COLUMNS = ("source", "data_ratio", "a_fc", "a_cc", "delta", "delta_low", "delta_high",
                      "margin", "margin_low", "margin_high", "n")


def data_share_evidence(stored: pd.DataFrame, dataset: str = "cifar10",
                        scale: str | Sequence[str] = "cpu-scale") -> pd.DataFrame:
    """Fig 2 with intervals: per share of the data, ours (paired over seeds) and the paper's A_FC, A_CC, ΔA and margin.

    ``delta`` is ΔA at that share (fine and coarse runs both on it) with its paired 95 %
    interval; ``margin`` is Fig 2's claim, fine runs at that share minus coarse runs on all of
    the data (``data_share.fine_share_vs_full_coarse``), NaN at 100 %. ``source`` is
    ``"ours, <scale>"`` per scale in ``scale`` (one or several) or ``"paper"`` (one run per
    setting: no interval). A share where only fine runs are stored (the converged sweep trains
    fine labels alone at 40 %) has its margin and A_FC, and no ΔA.
    """
    runs = select_runs(stored, data_ratio=ANY)
    frames = []
    for one in [scale] if isinstance(scale, str) else list(scale):
        part = runs[runs["dataset"].eq(dataset) & runs["scale"].eq(one)] if len(runs) else runs
        if len(part):
            ours = delta_table(part, by=["data_ratio"])
            claim = fine_share_vs_full_coarse(part, by=())
            frames.append(_with_margin(ours, claim).assign(source=f"ours, {scale_name(one)}"))
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
    margin = claim[["data_ratio", "a_fc", "n", "margin", "margin_low", "margin_high"]].astype(float)
    out = deltas.assign(data_ratio=pd.to_numeric(deltas["data_ratio"]))
    out = out.merge(margin, on="data_ratio", how="outer", suffixes=("", "_margin"))
    # a share with fine runs alone has no ΔA row: its A_FC and n come from the margin's pairs
    out["a_fc"] = out["a_fc"].fillna(out["a_fc_margin"])
    out["n"] = out["n"].fillna(out["n_margin"])
    return out.drop(columns=["a_fc_margin", "n_margin"])


def data_efficiency(base: Mapping[str, Any], ratios: Sequence[float], seeds: Sequence[int],
                    results_dir: str | None = None,
                    cache: dict[str, RunResult] | None = None) -> tuple[pd.DataFrame, list[RunResult]]:
    """Fig 2: fine and coarse runs on a share of the training data, updates held equal (chapter 3).

    With ``max_train`` set, the share is of the capped training set the 100 % runs use (the
    training path caps before it subsamples).
    """
    ratios = [float(r) for r in ratios]
    if not ratios or not all(0.0 < r <= 1.0 for r in ratios):
        raise ValueError(f"ratios must be a non-empty list of values in (0, 1], got {ratios!r}")
    # scale_epochs (TrainConfig's default) runs epochs/ratio epochs: the paper's equal-updates rule.
    settings = {f"{labels} {ratio:g}": {"labels": labels, "data_ratio": ratio}
                for ratio in ratios for labels in ("fine", "coarse")}
    return run_settings(base, settings, seeds, results_dir, cache)


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


def data_share_intervals(points: Any, title: str | None = None) -> plt.Figure:
    """Fig 2 with intervals: A_FC and A_CC per share of the data (left), ΔA and Fig 2's margin, 95 % intervals (right).

    ``points`` is ``data_share_evidence``: one row per ``source`` and
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
    fig, (left, right) = plt.subplots(2, 1, figsize=(6.6, 10), layout="constrained")  # stacked: one column wide
    sources = list(dict.fromkeys(points["source"]))
    quantities = (("delta", "ΔA at this share", "o", "0.15"),
                  ("margin", "fine at this share − coarse on 100 %", "s", "#9467bd"))
    for k, source in enumerate(sources):
        part = points[points["source"].eq(source)].sort_values("data_ratio")
        share = 100 * part["data_ratio"].astype(float)
        paper = source == "paper"
        converged = "converged" in source  # a second regime of ours: its own line and marker shapes
        for column, level in (("a_fc", "fine"), ("a_cc", "coarse")):
            left.plot(share, part[column], marker="D" if converged else "o", color=label_color(level),
                      ls="--" if paper else "-." if converged else "-", mfc="white" if paper else label_color(level),
                      label=math_notation(f"{'A_FC' if level == 'fine' else 'A_CC'}, {source}"))
        for j, (column, name, marker, color) in enumerate(quantities):
            rows = part.dropna(subset=[column])
            marker = {"o": "D", "s": "P"}[marker] if converged else marker
            shift = 1.2 * (2 * j - 1) + 0.6 * k  # a little apart in x so the bars do not hide one another
            interval_errorbar(right, 100 * rows["data_ratio"].astype(float) + shift, rows[column],
                              rows[f"{column}_low"], rows[f"{column}_high"], rows["n"], fmt=marker, color=color,
                              mfc="white" if paper else color, capsize=3,  # a bar over 3 seeds or more
                              label=f"{name}, {source}" + ("" if paper else " (95 % interval)"))
    left.set_xlabel("training data used (%)")
    left.set_ylabel("test accuracy at the coarse level (%)")
    left.set_title(math_notation("A_FC (red) and A_CC (blue), mean over seeds"), fontsize=10)
    left.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    right.axhline(0, color="0.5", lw=0.8)
    right.set_xlabel("training data used (%)")
    right.set_ylabel("difference in test accuracy (points)")
    right.set_title("ΔA and Fig 2's claim, paired over seeds", fontsize=10)
    right.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    for ax in (left, right):
        ax.set_xticks(sorted(set(100 * points["data_ratio"].astype(float))))
    fig.suptitle(title or "Fig 2: fine against coarse labels on a share of the training data", fontsize=11,
                 fontweight="bold")
    return fig


def _fig2_row(stored: pd.DataFrame) -> dict:
    paper = fine_share_vs_full_coarse(paper_curve("cifar10")).set_index("data_ratio")
    claim = "Fine labels on 40 % of CIFAR-10 beat coarse labels on all of it (Fig 2; margin A_FC at 40 % − A_CC at 100 %)"
    ours = fine_share_vs_full_coarse(ours_for("fig2", stored))
    ours = ours[ours["dataset"].eq("cifar10") & np.isclose(ours["data_ratio"], 0.4)] if len(ours) else ours
    printed = float(paper.loc[0.4, "margin"])
    if ours.empty:
        return claim_row(claim, WHERE, printed, None)
    r = ours.iloc[0]
    card = pd.Series({"n": r["n"], "ours_delta": r["margin"], "ours_delta_low": r["margin_low"],
                      "ours_delta_high": r["margin_high"], "scale": r.get("scale", "—"),
                      "verdict": verdict(r["margin_low"], r["margin_high"], printed)})
    return claim_row(claim, WHERE, printed, card)


TABLE1_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "cifar100_animals": "CIFAR-100 animals",
                "imagenet_dog_cat": "ImageNet dog vs cat", "imagenet_fruit_veg": "ImageNet fruit vs vegetable"}


def claims(stored: pd.DataFrame) -> pd.DataFrame:
    """Chapter 3's ledger rows from the stored runs: Table I per dataset, then Fig 2's claim."""
    rows = []
    table1 = scorecard(stored, "table1")
    for dataset, name in TABLE1_NAMES.items():
        printed = table1[table1["dataset"].eq(dataset)]
        if printed.empty:
            continue
        rows.append(claim_row(f"Fine labels beat coarse labels on {name} (Table I)", WHERE,
                              float(printed["paper_delta"].iloc[0]), first_row(table1, dataset=dataset), dataset))
    rows.append(_fig2_row(stored))
    return claim_frame(rows, NOTEBOOK)


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)


def rows_run(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The rows of a paper-vs-ours table that have runs of ours (``n`` > 0), and one clause naming the datasets without."""
    ran = table[table["n"].fillna(0).astype(int) > 0]
    missing = sorted(set(table["dataset"]) - set(ran["dataset"]))
    return ran, (f"not run here: {', '.join(missing)} (no offline copy; the paper's numbers are in its Table I)"
                 if missing else "every dataset has runs")
