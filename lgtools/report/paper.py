"""The numbers Chen et al. (2018) report, read from one tidy file (`paper_results.csv`).

Every chapter's "paper vs ours" table reads its reference numbers here, cited by table and
row, instead of retyping them. Sources: ``table1``, ``table3`` … ``table8`` (as printed),
``text`` (a number in the prose), ``fig2``, ``fig6``, ``fig7a``, ``fig7b`` (the authors' data
behind the figures) and ``code_extra`` (runs in the authors' data that no table prints).
The ``note`` column says where sources disagree.
"""

from __future__ import annotations

import io
import numpy as np
import pandas as pd
from importlib import resources

from lgtools.labels.builtin import get_hierarchy


_CSV = "paper_results.csv"


_ANCHORS_CSV = "anchor_results.csv"  # related work's numbers (the "Beyond the paper" chapters' anchors)


# Columns kept as text: setting values mix numbers ("0.3") and words ("baseline", "6:4").
_TEXT_COLUMNS = ("source", "dataset", "hierarchy", "labels", "setting", "setting_value", "note")


_COUNT_COLUMNS = ("row", "num_train_classes", "num_test_classes", "layers", "widest_filters")


def _csv_body(name: str) -> str:
    """A data file of this package without its ``#`` comment lines (where its sources are given)."""
    text = resources.files("lgtools.report").joinpath(name).read_text(encoding="utf-8")
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def paper_results() -> pd.DataFrame:
    """All reported numbers, one row per printed row or figure point (a fresh DataFrame each call)."""
    body = _csv_body(_CSV)
    frame = pd.read_csv(io.StringIO(body), dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=False,
                        na_values={c: [""] for c in _numeric_columns(body)})
    for column in _TEXT_COLUMNS:
        frame[column] = frame[column].fillna("")
    for column in _COUNT_COLUMNS:  # counts stay integers even where some rows are blank
        frame[column] = frame[column].astype("Int64")
    return frame


def anchor_results(source: str | None = None) -> pd.DataFrame:
    """Related work's reported numbers (``anchor_results.csv``), all or one ``source`` (e.g. ``"hong2023"``)."""
    frame = pd.read_csv(io.StringIO(_csv_body(_ANCHORS_CSV)), dtype={"source": str, "setting": str, "level": str, "note": str},
                        keep_default_na=False, na_values={"classes": [""], "accuracy": [""], "delta": [""], "seconds": [""], "pflops": [""]})
    known = tuple(dict.fromkeys(frame["source"]))
    if source is not None and source not in known:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(known)}")
    return frame if source is None else frame[frame["source"].eq(source)].reset_index(drop=True)


def _numeric_columns(body: str) -> list[str]:
    header = body.splitlines()[0].split(",")
    return [c for c in header if c not in _TEXT_COLUMNS]


def paper_table(source: str) -> pd.DataFrame:
    """Rows of one source (e.g. ``"table6"``), without the columns that are empty for it."""
    frame = paper_results()
    known = tuple(dict.fromkeys(frame["source"]))
    if source not in known:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(known)}")
    rows = frame[frame["source"] == source].reset_index(drop=True)
    keep = [c for c in rows.columns if not (rows[c].isna().all() or (rows[c] == "").all())]
    return rows[keep]


def _matches(column: pd.Series, wanted: object) -> pd.Series:
    if not pd.api.types.is_numeric_dtype(column):  # text column: compare as numbers when both sides are numbers
        try:
            target = float(wanted)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return column == str(wanted)
        as_number = pd.to_numeric(column, errors="coerce")
        return np.isclose(as_number, target) & as_number.notna()
    return pd.Series(np.isclose(column.astype(float), float(wanted)), index=column.index)


def paper_value(source: str, column: str, **filters: object) -> float:
    """The one number in `column` of the `source` row matching `filters` (e.g. dataset="cifar10", labels="fine")."""
    rows = paper_table(source)
    if column not in rows.columns or column in _TEXT_COLUMNS:
        numeric = [c for c in rows.columns if c not in _TEXT_COLUMNS]
        raise ValueError(f"column {column!r} has no values in {source}; numeric columns there: {numeric}")
    for key, wanted in filters.items():
        if key not in rows.columns:
            raise ValueError(f"filter {key!r} is not a column of {source}; columns: {list(rows.columns)}")
        rows = rows[_matches(rows[key], wanted)]
    if len(rows) != 1:
        raise ValueError(f"filters {filters} match {len(rows)} rows of {source}; they must match exactly one")
    value = rows[column].iloc[0]
    if pd.isna(value):
        raise ValueError(f"{source} prints no {column} for {filters}")
    return float(value)


def table6_inconsistent_rows() -> tuple[int, ...]:
    """Table VI IDs whose printed bits do not split the ten classes in the ratio their group states."""
    bad = []
    for _, row in paper_table("table6").iterrows():
        bits = get_hierarchy(row["hierarchy"]).bits()
        stated = sorted((int(k) for k in row["setting_value"].split(":")), reverse=True)
        counted = sorted((bits.count(str(k)) for k in range(2)), reverse=True)
        if counted != stated:
            bad.append(int(row["row"]))
    return tuple(bad)
