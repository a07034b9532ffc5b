"""Fig 2: accuracy against the share of training data, and fine labels on part of it against coarse on all (chapter 3)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lgtools.chapters.paper import paper_table
from lgtools.runs.compare import paired_interval


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
