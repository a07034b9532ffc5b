"""Stored studies: tables computed from data or stored weights without a training run of their own.

A study (how well clusters recover the fine classes, linear probes of a network's layers, ...) is
one JSON file under ``results/<study>/``: its format name, the parameters it ran with, provenance
(git revision, hardware, date) and its rows. Each study module names its format here (``FORMATS``)
so that whoever walks ``results/`` can tell a study from a run result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from lgtools.runs.record import read_json_file
from lgtools.runs.results import write_json_atomic
from lgtools.training.provenance import provenance

CLUSTER_STUDY = "lgtools-cluster-study"  # lgtools.runs.cluster_study
PROBE_STUDY = "lgtools-probe-study"  # lgtools.runs.probe_study
FINETUNE_STUDY = "lgtools-finetune-study"  # lgtools.runs.finetune_study
EMBEDDING_STUDY = "lgtools-embedding-study"  # lgtools.runs.embedding_study
FORMATS = (CLUSTER_STUDY, PROBE_STUDY, FINETUNE_STUDY, EMBEDDING_STUDY)


def save_study(frame: pd.DataFrame, path: str | Path, kind: str, parameters: dict, device: str = "cpu") -> Path:
    """Store a study's table (``kind``: one of ``FORMATS``) with its parameters and provenance."""
    if kind not in FORMATS:
        raise ValueError(f"kind must be one of {FORMATS}, got {kind!r}")
    record = {"format": kind, "parameters": dict(parameters),
              "provenance": provenance(dict(parameters), {"device": device}),
              "rows": frame.to_dict(orient="records")}
    return write_json_atomic(Path(path), record, overwrite=True)


def load_study(path: str | Path, kind: str, columns: Sequence[str]) -> tuple[pd.DataFrame, dict]:
    """The stored table and its record (parameters, provenance); an empty table if the file is absent.

    Read as a result is (``runs.record.read_json_file``): a regular file only, bounded in size and nesting,
    never blocking on a FIFO; anything else at ``path`` is refused with what it is.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return pd.DataFrame(columns=list(columns)), {}
    record, problem = read_json_file(path)
    if problem:
        raise ValueError(f"path {path} is not a readable {kind} file (JSON): {problem}")
    found = record.get("format") if isinstance(record, dict) else type(record).__name__
    if found != kind or not isinstance(record.get("rows"), list):
        raise ValueError(f"path {path} is not a {kind} file (format {found!r}, with a list of rows)")
    return pd.DataFrame(record["rows"], columns=list(columns)), record
