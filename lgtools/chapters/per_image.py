"""Fine against coarse image by image: per seed, who got which test image right, with McNemar's test (chapter 8)."""

from __future__ import annotations

import pandas as pd

from lgtools.chapters.selection import ours_for
from lgtools.runs.compare import PAIR_KEYS, delta_pairs, paired_outcomes
from lgtools.runs.results import load_result

PAIRED_COLUMNS = ["dataset", "hierarchy", "data_ratio", "noise", "scale", "seed", "both_right",
                  "fine_only", "coarse_only", "both_wrong", "n", "delta", "p_value", "source"]


def paired_table(stored: pd.DataFrame) -> pd.DataFrame:
    """Per seed, ΔA image by image with McNemar's p-value, for every stored fine/coarse pair whose
    runs both kept their per-image predictions (``lgtools.runs.compare.paired_outcomes``; chapter 8)."""
    records: dict[str, dict] = {}

    def record(path: str) -> dict:
        if path not in records:
            records[path] = load_result(path)
        return records[path]

    rows = []
    for source in ("table1", "fig2", "table6", "table7", "table8"):
        runs = ours_for(source, stored)
        if runs.empty or "path" not in runs.columns:
            continue
        for _, pair in delta_pairs(runs, keys=PAIR_KEYS).iterrows():
            if not isinstance(pair.get("coarse_path"), str) or not isinstance(pair.get("path"), str):
                continue
            # A fine run re-scored for a Table VI partition maps through the coarse run's grouping.
            outcome = paired_outcomes(record(pair["path"]), record(pair["coarse_path"]))
            if outcome is not None:
                rows.append({**{k: pair[k] for k in PAIRED_COLUMNS[:6]}, **outcome, "source": source})
    table = pd.DataFrame(rows, columns=PAIRED_COLUMNS)
    return table.drop_duplicates(subset=PAIRED_COLUMNS[:6]).reset_index(drop=True)
