"""Helpers for the book's chapters: tiny mode, stored results, paper-vs-ours tables.

Every chapter imports this module. Tiny mode (environment variable ``LGTOOLS_TINY=1``, set by the
test suite) shrinks a chapter's parameters so that nbval, papermill tests and the book-build test
finish quickly; papermill still sets full-scale values through the parameters cell.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

TINY_ENV = "LGTOOLS_TINY"

# The columns `lgtools.results.load_results` promises; used to shape an empty table when no
# results (or no results module) exist yet, so that filters and groupbys still work.
RESULT_COLUMNS = (
    "experiment", "dataset", "hierarchy", "labels", "model", "width", "epochs", "data_ratio",
    "noise", "dropout", "extra_layer", "seed", "train_acc", "test_acc", "test_acc_fine", "acr",
    "device", "seconds", "scale",
)


def tiny() -> bool:
    """True when tiny mode is on (environment variable ``LGTOOLS_TINY`` is 1/true/yes)."""
    return os.environ.get(TINY_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def scale_params(params: dict[str, Any], **tiny_values: Any) -> dict[str, Any]:
    """Return a copy of ``params`` with ``tiny_values`` applied, but only in tiny mode.

    Numbers are capped at their tiny value (tiny mode never makes a run bigger); other values
    are replaced. Outside tiny mode the parameters come back unchanged, so papermill-injected
    values are never shrunk. A list given as text (``papermill -p seeds "[0, 1]"`` injects the
    string) is read as YAML first.
    """
    unknown = sorted(set(tiny_values) - set(params))
    if unknown:
        raise ValueError(
            f"tiny_values: {unknown} are not parameters; allowed names are {sorted(params)}"
        )
    scaled = {name: _list_from_text(name, value) for name, value in params.items()}
    if not tiny():
        return scaled
    for name, small in tiny_values.items():
        value = scaled[name]
        if _is_number(value) and _is_number(small):
            scaled[name] = min(value, small)
        else:
            scaled[name] = small
    return scaled


def _list_from_text(name: str, value: Any) -> Any:
    """``"[0, 1]"`` → ``[0, 1]``; any other value unchanged."""
    if not (isinstance(value, str) and value.strip().startswith("[")):
        return value
    import yaml

    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise ValueError(f"{name} must be a list such as [0, 1], got {value!r}") from error
    if not isinstance(parsed, list):
        raise ValueError(f"{name} must be a list such as [0, 1], got {value!r}")
    return parsed


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def repo_root(start: str | Path | None = None) -> Path:
    """The book's root folder (the first parent holding ``_toc.yml``), else the start folder."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return here


def resolve_path(path: str | Path) -> Path:
    """A relative path as given if it exists, else relative to the book's root.

    Chapters execute with the working directory ``book/`` under Jupyter Book and with the
    caller's directory under papermill; ``results`` means the repository's folder in both.
    """
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return repo_root() / path


def stored_results(
    results_dir: str | Path = "results", experiment: str | Sequence[str] | None = None, **filters: Any
) -> pd.DataFrame:
    """Stored full-run results as a DataFrame (one row per run), empty when none exist yet.

    ``experiment`` and each keyword filter keep rows whose column equals the value (or is in
    the list, if a list or tuple is given).
    """
    try:
        from lgtools.results import load_results
    except ModuleNotFoundError as error:  # the results module is optional for early chapters
        if error.name not in {"lgtools.results"}:
            raise
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    folder = resolve_path(results_dir)
    table = load_results(folder) if folder.is_dir() else pd.DataFrame()
    if table.empty:
        table = pd.DataFrame(columns=sorted(set(RESULT_COLUMNS) | set(table.columns)))
    if experiment is not None:
        filters = {"experiment": experiment, **filters}
    for column, wanted in filters.items():
        if column not in table.columns:
            raise ValueError(
                f"filter {column!r}: not a results column; allowed: {sorted(table.columns)}"
            )
        values = list(wanted) if isinstance(wanted, (list, tuple, set)) else [wanted]
        table = table[table[column].isin(values)]
    # A sweep copies a run another sweep already trained (same parameters, same id hash after the
    # last "-"); count each trained run once, or seeds would be double-counted in mean ± std.
    if len(table) and "run_id" in table.columns:
        trained = table["run_id"].astype(str).str.rsplit("-", n=1).str[-1]
        table = table[~trained.duplicated()]
    return table.reset_index(drop=True)


def note_if_empty(df: pd.DataFrame, what: str, detail: str | None = None) -> None:
    """Display a Markdown note when ``df`` has no rows (no stored results for ``what`` yet);
    ``detail`` replaces the default explanation."""
    if len(df):
        return
    from IPython.display import Markdown, display

    detail = detail or ("The live run above is all this page can show. Full runs appear here once "
                        "their sweep has written results under `results/` (see `sweeps/` and "
                        "`python -m lgtools sweep`).")
    display(Markdown(f"> **No stored results for {what} yet.** {detail}"))


def mean_std(values: Iterable[float], digits: int = 2) -> str:
    """Format values as ``mean ± std`` (sample std; just the mean for a single value)."""
    data = np.asarray([v for v in values if pd.notna(v)], dtype=float)
    if data.size == 0:
        return "—"
    if data.size == 1:
        return f"{data[0]:.{digits}f}"
    return f"{data.mean():.{digits}f} ± {data.std(ddof=1):.{digits}f}"


def paper_vs_ours(
    paper: pd.DataFrame | str,
    ours: pd.DataFrame,
    on: Sequence[str] = ("dataset", "labels"),
    metric: str = "test_acc",
    by: Sequence[str] = (),
    effect: tuple[str, str, str] | None = None,
) -> pd.DataFrame:
    """Set the paper's numbers beside ours (mean ± std over seeds, n) for one metric.

    ``paper`` is a tidy table from ``lgtools.paper.paper_results()`` or a ``source`` name
    (e.g. ``"table1"``); rows are matched on the columns ``on``; ``by`` splits our runs further
    (e.g. ``("experiment",)`` for one row per scale). With ``effect=(column, treatment,
    baseline)`` — e.g. ``("labels", "fine", "coarse")`` — the table has one row per pair with
    both deltas and whether their signs agree.
    """
    if isinstance(paper, str):
        from lgtools.paper import paper_results

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
        _format(m, s, n) for m, s, n in zip(table["ours_mean"], table["ours_std"], table["n"])
    ]
    table["diff"] = table["ours_mean"] - table["paper"]
    if effect is not None:
        table = _effect_table(table, on, by, effect)
    return table


def _seed_stats(ours: pd.DataFrame, keys: list[str], metric: str) -> pd.DataFrame:
    """Mean, std and count of ``metric`` per key combination (our runs over seeds)."""
    if ours.empty:
        return pd.DataFrame(columns=keys + ["ours_mean", "ours_std", "n"])
    values = ours.assign(**{metric: pd.to_numeric(ours[metric], errors="coerce")})
    grouped = values.groupby(keys, dropna=False)[metric]
    return grouped.agg(ours_mean="mean", ours_std="std", n="count").reset_index()


def _format(mean: float, std: float, n: int) -> str:
    if n == 0 or pd.isna(mean):
        return "—"
    if n == 1 or pd.isna(std):
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {std:.2f}"


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


def show(df: pd.DataFrame, caption: str | None = None, digits: int = 2) -> None:
    """Display a table the same way in every chapter: no index, fixed decimals, '—' for gaps."""
    from IPython.display import display

    styler = df.style.format(precision=digits, na_rep="—").hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    display(styler)


# --- chapter 1 and the intro: hierarchies and the headline comparison -----------------------

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
    from lgtools.hierarchy import get_hierarchy
    from lgtools.paper import paper_table

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


def headline_scorecard(results_dir: str | Path = "results") -> pd.DataFrame:
    """Table I's fine-minus-coarse effect per dataset, paper beside ours (per scale)."""
    from lgtools.scorecard import scorecard

    table = scorecard(stored_results(results_dir), "table1")
    return table.rename(columns={"paper_fine": "paper A_FC", "paper_coarse": "paper A_CC",
                                 "ours_fine": "ours A_FC", "ours_coarse": "ours A_CC",
                                 "paper_delta": "paper ΔA", "ours_delta": "ours ΔA",
                                 "ours_delta_std": "ours ΔA std"})


def sweep_coverage(sweeps_dir: str | Path = "sweeps", results_dir: str | Path = "results") -> pd.DataFrame:
    """Every spec under ``sweeps_dir`` (CPU scale first): runs, stored, copyable, to train (chapter 8)."""
    from lgtools.sweep_store import coverage

    folder = resolve_path(sweeps_dir)
    specs = sorted(folder.glob("cpu/*.yaml")) + sorted(folder.glob("*.yaml"))
    table = coverage(specs, resolve_path(results_dir))
    return table.assign(spec=[Path(s).relative_to(folder.parent).as_posix() for s in specs])


# --- about pages: performance figures ---------------------------------------------------------

def benchmark_table(folder: str | Path = "benchmarks/results") -> pd.DataFrame:
    """Every benchmark JSON below ``folder`` flattened to one row per file; empty when none exist."""
    import json

    root = resolve_path(folder)
    rows = []
    for path in sorted(root.rglob("*.json")) if root.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a stray or half-written file must not break the book
        if isinstance(record, dict):
            flat = pd.json_normalize(record, sep=".").iloc[0].to_dict()
            rows.append({"file": path.name, **flat})
    return pd.DataFrame(rows)


def benchmark_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The readable columns of `benchmark_table`: hardware, model, speed and speedup."""
    if table.empty:
        return table
    wanted = ("file", "device", "gpu", "cpu", "torch", "model", "width", "batch", "images_per_s",
              "img_per_s", "speedup", "peak", "accuracy", "date")
    keep = [c for c in table.columns if any(w in c.lower() for w in wanted)
            and not isinstance(table[c].iloc[0], (list, dict))]
    return table[keep]
