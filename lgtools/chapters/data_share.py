"""Fig 2: accuracy against the share of training data, and fine labels on part of it against coarse on all (chapter 3)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lgtools.chapters.paper import paper_table


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

    One row per group and share below 100 %: ``a_fc`` (mean over seeds), ``a_fc_std``, ``n``,
    ``a_cc_full`` and ``a_cc_full_std`` (the coarse runs at 100 %), ``margin`` = ``a_fc`` −
    ``a_cc_full`` and ``beats`` (margin > 0). The paper's claim: on CIFAR-10 and both ImageNet
    subsets, fine labels on 40 % of the data already beat coarse labels on all of it (chapter 3).
    Groups with no coarse run at 100 % are left out; ``by`` columns missing from ``runs`` are ignored.
    """
    by = [k for k in by if k in runs.columns]
    columns = [*by, "data_ratio", "a_fc", "a_fc_std", "n", "a_cc_full", "a_cc_full_std", "margin", "beats"]
    keys = by or ["_all"]  # one group when no ``by`` column is present (e.g. ``paper_curve``)
    runs = runs.assign(_all=0, data_ratio=pd.to_numeric(runs["data_ratio"], errors="coerce").fillna(1.0))
    fine = runs[runs["labels"].eq("fine") & runs["data_ratio"].lt(1.0)]
    full = runs[runs["labels"].eq("coarse") & runs["data_ratio"].eq(1.0)]
    if fine.empty or full.empty:
        return pd.DataFrame(columns=columns)
    shares = fine.groupby([*keys, "data_ratio"], dropna=False)["test_acc"].agg(
        a_fc="mean", a_fc_std="std", n="count").reset_index()
    coarse = full.groupby(keys, dropna=False)["test_acc"].agg(a_cc_full="mean", a_cc_full_std="std")
    table = shares.merge(coarse.reset_index(), on=keys, how="inner")
    table["margin"] = table["a_fc"] - table["a_cc_full"]
    table["beats"] = table["margin"] > 0
    return table.sort_values([*keys, "data_ratio"], ignore_index=True)[columns]
