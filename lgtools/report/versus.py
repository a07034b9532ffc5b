"""The paper's numbers beside ours: one metric, matched on columns, our mean over seeds with its 95 % interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from collections.abc import Sequence

from lgtools.report.paper import paper_results
from lgtools.runs.compare import paired_interval, unique_runs


def paper_vs_ours(
    paper: pd.DataFrame | str,
    ours: pd.DataFrame,
    on: Sequence[str] = ("dataset", "labels"),
    metric: str = "test_acc",
    by: Sequence[str] = (),
    effect: tuple[str, str, str] | None = None,
) -> pd.DataFrame:
    """Set the paper's numbers beside ours (mean with a 95 % interval over seeds, n) for one metric.

    ``paper`` is a tidy table from ``lgtools.report.paper.paper_results()`` or a ``source`` name
    (e.g. ``"table1"``); rows are matched on the columns ``on``; ``by`` splits our runs further
    (e.g. ``("experiment",)`` for one row per scale). With ``effect=(column, treatment,
    baseline)`` — e.g. ``("labels", "fine", "coarse")`` — the table has one row per pair with
    both deltas and whether their signs agree.
    """
    if isinstance(paper, str):
        table = paper_results()
        if paper not in set(table["source"]):
            raise ValueError(f"paper: unknown source {paper!r}; allowed: {sorted(set(table['source']))}")
        paper = table[table["source"] == paper]
    on, by = list(on), list(by)
    for name, frame, needed in (("paper", paper, on + [metric]), ("ours", ours, on + by + [metric])):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}: missing columns {missing}; it has {list(frame.columns)}")
    reported = (
        paper.dropna(subset=[metric]).groupby(on, dropna=False, sort=False)[metric].first()
        .rename("paper").reset_index()
    )
    stats = _seed_stats(ours, on + by, metric)
    table = reported.merge(stats, on=on, how="left")
    table["n"] = table["n"].fillna(0).astype(int)
    table["ours"] = [
        _format(m, lo, hi, n) for m, lo, hi, n in zip(table["ours_mean"], table["ours_low"], table["ours_high"], table["n"])
    ]
    if effect is not None:
        table = _effect_table(table, on, by, effect)
    return table


def _seed_stats(ours: pd.DataFrame, keys: list[str], metric: str) -> pd.DataFrame:
    """Mean, std and count of ``metric`` per key combination (our runs over seeds)."""
    if ours.empty:
        return pd.DataFrame(columns=keys + ["ours_mean", "ours_low", "ours_high", "n"])
    ours = unique_runs(ours, apart=keys)  # a copied run counts once per setting
    values = ours.assign(**{metric: pd.to_numeric(ours[metric], errors="coerce")})
    rows = []
    for key, group in values.groupby(keys, dropna=False):
        interval = paired_interval(group[metric])
        rows.append({**dict(zip(keys, key if isinstance(key, tuple) else (key,))),
                     "ours_mean": interval["mean"],
                     "ours_low": interval["low"], "ours_high": interval["high"], "n": interval["n"]})
    return pd.DataFrame(rows, columns=keys + ["ours_mean", "ours_low", "ours_high", "n"])


def _format(mean: float, low: float, high: float, n: int) -> str:
    """Our mean with its 95 % Student-t interval over seeds (the mean alone when n = 1)."""
    if n == 0 or pd.isna(mean):
        return "—"
    if n == 1 or pd.isna(low):
        return f"{mean:.2f} (n=1)"
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def _effect_table(
    table: pd.DataFrame, on: list[str], by: list[str], effect: tuple[str, str, str]
) -> pd.DataFrame:
    """Pivot a long paper-vs-ours table into one row per (treatment, baseline) pair."""
    column, treatment, baseline = effect
    if column not in on:
        raise ValueError(f"effect: column {column!r} must be one of on={on}")
    keys = [c for c in on if c != column] + [c for c in by if c in table.columns]
    rows = []
    for key, group in table.groupby(keys, dropna=False, sort=False) if keys else [((), table)]:
        pick = {level: group[group[column] == level] for level in (treatment, baseline)}
        if any(part.empty for part in pick.values()):
            continue
        t, b = pick[treatment].iloc[0], pick[baseline].iloc[0]
        paper_delta = t["paper"] - b["paper"]
        ours_delta = t["ours_mean"] - b["ours_mean"]
        agrees = np.nan if pd.isna(ours_delta) else bool(np.sign(ours_delta) == np.sign(paper_delta))
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        row.update({
            f"paper_{treatment}": t["paper"], f"paper_{baseline}": b["paper"],
            "paper_delta": paper_delta,
            f"ours_{treatment}": t["ours"], f"ours_{baseline}": b["ours"],
            "ours_delta": ours_delta, "n": int(min(t["n"], b["n"])), "sign_agrees": agrees,
        })
        rows.append(row)
    return pd.DataFrame(rows)
