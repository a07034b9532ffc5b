"""Tables of hierarchies for chapter 1: coarse classes and their members, class counts beside the paper's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lgtools.chapters.paper import paper_table
from lgtools.labels.builtin import get_hierarchy


def hierarchy_table(hierarchy: Any, max_names: int = 12) -> pd.DataFrame:
    """One row per coarse class: how many fine classes it has and their names (chapter 1)."""
    mapping = np.asarray(hierarchy.fine_to_coarse)
    rows = []
    for c, coarse in enumerate(hierarchy.coarse_names):
        names = [hierarchy.fine_names[f] for f in np.flatnonzero(mapping == c)]
        listed = ", ".join(names[:max_names]) + (f", … (+{len(names) - max_names})" if len(names) > max_names else "")
        rows.append({"coarse class": coarse, "fine classes": len(names), "members": listed})
    return pd.DataFrame(rows)


def hierarchy_summary(names: Sequence[str]) -> pd.DataFrame:
    """Fine and coarse class counts of built-in hierarchies beside the paper's Table I counts."""
    printed = paper_table("table1").set_index(["dataset", "labels"])["num_train_classes"]
    rows = []
    for name in names:
        h = get_hierarchy(name)
        rows.append({
            "hierarchy": name, "coarse classes": h.num_coarse, "fine classes": h.num_fine,
            "paper coarse": printed.get((name, "coarse"), pd.NA),
            "paper fine": printed.get((name, "fine"), pd.NA),
        })
    return pd.DataFrame(rows)
