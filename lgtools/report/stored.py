"""What is stored for the book to show: result files, sweep coverage, benchmark files (nothing trains here).
"""

from __future__ import annotations

import json
import pandas as pd
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lgtools.report.paths import existing_folder, resolve_path
from lgtools.runs.cluster_study import load_cluster_study
from lgtools.runs.compare import unique_runs
from lgtools.runs.finetune_study import load_finetune_study
from lgtools.runs.probe_study import load_probe_study
from lgtools.runs.results import COLUMNS, load_results
from lgtools.runs.sweep_spec import expand, load_spec
from lgtools.runs.sweep_store import coverage


def stored_results(
    results_dir: str | Path = "results", experiment: str | Sequence[str] | None = None, **filters: Any
) -> pd.DataFrame:
    """Stored sweep results (real-data runs) as a DataFrame (one row per run), empty when none exist yet.

    ``experiment`` and each keyword filter keep rows whose column equals the value (or is in
    the list, if a list or tuple is given).
    """
    folder = existing_folder(results_dir)  # a folder that is not there is a typo, not "nothing stored yet"
    table = load_results(folder)
    if table.empty:
        table = pd.DataFrame(columns=sorted(set(COLUMNS) | set(table.columns)))
    if experiment is not None:
        filters = {"experiment": experiment, **filters}
    for column, wanted in filters.items():
        if column not in table.columns:
            raise ValueError(
                f"filter {column!r}: not a results column; allowed: {sorted(table.columns)}"
            )
        values = list(wanted) if isinstance(wanted, (list, tuple, set)) else [wanted]
        table = table[table[column].isin(values)]
    table = unique_runs(table)  # each trained run once, the original over its copies
    return table.reset_index(drop=True)


def sweep_coverage(sweeps_dir: str | Path = "sweeps", results_dir: str | Path = "results") -> pd.DataFrame:
    """Every spec under ``sweeps_dir`` (CPU scale first): runs, stored, copyable, to train (chapter 8)."""
    folder = resolve_path(sweeps_dir)
    specs = sorted(folder.glob("cpu/*.yaml")) + sorted(folder.glob("*.yaml"))
    table = coverage(specs, resolve_path(results_dir))
    return table.assign(spec=[Path(s).relative_to(folder.parent).as_posix() for s in specs])


def benchmark_table(folder: str | Path = "benchmarks/results") -> pd.DataFrame:
    """Every benchmark JSON below ``folder`` flattened to one row per file; empty when none exist."""
    rows = [{"file": path.name, **pd.json_normalize(record, sep=".").iloc[0].to_dict()}
            for path, record in _benchmark_records(folder)]
    return pd.DataFrame(rows)


def _benchmark_records(folder: str | Path) -> list[tuple[Path, dict]]:
    """(path, record) of every benchmark JSON below ``folder``, in path order; strays skipped."""
    root = existing_folder(folder, "benchmarks_dir")
    records = []
    for path in sorted(root.rglob("*.json")) if root.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a stray or half-written file must not break the book
        if isinstance(record, dict):
            records.append((path, record))
    return records


def benchmark_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The readable columns of `benchmark_table`: hardware, model, speed and speedup."""
    if table.empty:
        return table
    wanted = ("file", "device", "gpu", "cpu", "torch", "model", "width", "batch", "images_per_s",
              "img_per_s", "speedup", "peak", "accuracy", "date", "gflops", "share")
    keep = [c for c in table.columns if any(w in c.lower() for w in wanted)
            and not isinstance(table[c].iloc[0], (list, dict))]
    return table[keep]


def provenance_table(stored: pd.DataFrame) -> pd.DataFrame:
    """Per scale and experiment: runs, seeds, hardware, median minutes per run and dates (chapter 8)."""
    columns = ["scale", "experiment", "runs", "seeds", "hardware", "median_minutes", "first", "last"]
    if stored.empty:
        return pd.DataFrame(columns=columns)
    grouped = stored.groupby(["scale", "experiment"], dropna=False)
    table = grouped.agg(runs=("run_id", "size"), seeds=("seed", "nunique"),
                        hardware=("device_name", lambda v: ", ".join(sorted(set(map(str, v))))),
                        median_minutes=("epoch_seconds", lambda v: float(pd.to_numeric(v).median()) / 60),
                        first=("date", "min"), last=("date", "max"))
    return table.reset_index()[columns]


def benchmark_figures(folder: str | Path = "benchmarks/results") -> pd.DataFrame:
    """The newest speed benchmark per device that has GFLOP/s figures: one row per pipeline (performance page)."""
    newest: dict[str, tuple[str, Path, dict]] = {}
    for path, record in _benchmark_records(folder):
        if record.get("mode") == "speed" and "machine" in record:
            key = str(record.get("device"))
            stamp = str((record.get("hardware") or {}).get("date", ""))
            if key not in newest or stamp >= newest[key][0]:
                newest[key] = (stamp, path, record)
    rows = []
    for device, (stamp, path, record) in sorted(newest.items()):
        machine = record["machine"]
        for name in ("reference", "lgtools"):
            part = record[name]
            rows.append({"file": path.name, "device": device, "pipeline": name,
                         "images_per_s": part["median_images_per_s"], "gflops": part["gflops"],
                         "share_of_measured_peak": part["share_of_measured_peak"],
                         "share_of_theoretical_peak": part["share_of_theoretical_peak"],
                         "speedup": record["speedup"] if name == "lgtools" else 1.0,
                         "measured_peak_gflops": machine["measured_peak_gflops"],
                         "theoretical_peak_gflops": machine["theoretical_peak_gflops"]})
    columns = ["file", "device", "pipeline", "images_per_s", "gflops", "share_of_measured_peak",
               "share_of_theoretical_peak", "speedup", "measured_peak_gflops", "theoretical_peak_gflops"]
    return pd.DataFrame(rows, columns=columns)


def to_train_sentence(specs: Sequence[str | Path], results_dir: str | Path = "results") -> str:
    """Per sweep spec, how many of its runs are stored, copyable from another sweep and still to train (Markdown)."""
    table = coverage([resolve_path(s) for s in specs], resolve_path(results_dir))
    parts = [f"`{Path(spec).as_posix()}`: {int(r['stored'])} of {int(r['runs'])} runs stored, "
             f"{int(r['to_train'])} to train" + (f", {int(r['copyable'])} to copy from another sweep" if r["copyable"] else "")
             for spec, (_, r) in zip(specs, table.iterrows())]
    return "; ".join(parts)


def stored_study(path: str | Path, kind: str) -> tuple[pd.DataFrame, dict]:
    """A stored study's table and record, ``kind`` "cluster", "probe" or "finetune" (empty table if not stored yet).

    ``path`` as a chapter's parameter gives it: as given if it exists, else from the repository root.
    """
    loaders = {"cluster": load_cluster_study, "probe": load_probe_study, "finetune": load_finetune_study}
    if kind not in loaders:
        raise ValueError(f"kind must be one of {sorted(loaders)}, got {kind!r}")
    return loaders[kind](resolve_path(path))


def spec_size(path: str | Path) -> int:
    """How many runs a sweep spec lists (``path`` from the repository root, e.g. ``sweeps/cpu/pretraining.yaml``)."""
    return len(expand(load_spec(resolve_path(path))))
