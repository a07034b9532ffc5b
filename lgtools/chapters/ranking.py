"""Does ACR predict ΔA: the paper's (ACR, ΔA) points, ours from stored pairs, and their rank correlation (chapters 6–8)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lgtools.chapters.paper import paper_results
from lgtools.chapters.selection import ours_for
from lgtools.runs.compare import PAIR_KEYS, delta_table


def paper_points(sources: Sequence[str] = ("fig6",)) -> pd.DataFrame:
    """The paper's (ACR, ΔA) points of Fig 6/7 from ``lgtools.chapters.paper`` (chapters 6–8)."""
    table = paper_results()
    rows = table[table["source"].isin(list(sources))]
    if rows.empty:
        raise ValueError(f"sources {list(sources)} hold no rows; known: {sorted(set(table['source']))}")
    return pd.DataFrame({"source": rows["source"], "dataset": rows["dataset"],
                         "hierarchy": rows["hierarchy"], "setting": rows["setting_value"],
                         "acr": rows["acr"], "a_fc": rows["a_fc_test"], "a_cc": rows["a_cc_test"],
                         "delta": rows["a_fc_test"] - rows["a_cc_test"]}).reset_index(drop=True)


def rank_correlation(acr: Sequence[float], delta: Sequence[float]) -> float:
    """Spearman rank correlation between ACR and ΔA; NaN with fewer than 3 finite pairs (chapters 6–8)."""
    acr_values, delta_values = np.asarray(acr, float), np.asarray(delta, float)
    if acr_values.shape != delta_values.shape or acr_values.ndim != 1:
        raise ValueError(f"acr and delta must be 1-D of equal length, got shapes "
                         f"{acr_values.shape} and {delta_values.shape}")
    keep = np.isfinite(acr_values) & np.isfinite(delta_values)
    if keep.sum() < 3:
        return float("nan")  # fewer than three points have no meaningful rank order
    ranks = pd.DataFrame({"acr": acr_values[keep], "delta": delta_values[keep]}).rank()
    return float(ranks["acr"].corr(ranks["delta"]))  # Spearman = Pearson on (average) ranks


def rank_table(points: pd.DataFrame, by: str = "group") -> pd.DataFrame:
    """Per group of ``points`` (columns ``acr``, ``delta``): how many points and Spearman's ρ (chapters 6–8)."""
    missing = sorted({by, "acr", "delta"} - set(points.columns))
    if missing:
        raise ValueError(f"points must have the columns {by!r}, 'acr' and 'delta'; missing {missing}")
    rows = [{by: name, "points": len(part), "spearman_rho": rank_correlation(part["acr"], part["delta"])}
            for name, part in points.groupby(by, sort=False)]
    return pd.DataFrame(rows, columns=[by, "points", "spearman_rho"])


def acr_points(stored: pd.DataFrame) -> pd.DataFrame:
    """(ACR, ΔA) per setting and scale from stored fine/coarse pairs, Tables I, VI, VII, VIII and Fig 2 (chapters 6 and 8)."""
    frames = []
    for source in ("table1", "fig2", "table6", "table7", "table8"):
        runs = ours_for(source, stored)
        if runs.empty:
            continue
        by = ["dataset", "hierarchy", "data_ratio", "noise", "scale"]
        frames.append(delta_table(runs, by=by, keys=PAIR_KEYS).assign(source=source))
    columns = ["dataset", "hierarchy", "data_ratio", "noise", "scale", "a_fc", "a_cc", "delta", "delta_low",
               "delta_high", "acr", "n", "source"]
    if not frames:
        return pd.DataFrame(columns=columns)
    points = pd.concat(frames, ignore_index=True)
    return points.drop_duplicates(subset=["dataset", "hierarchy", "data_ratio", "noise", "scale"])[columns]
