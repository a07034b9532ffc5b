"""How well label-free clusters recover the annotators' fine classes, without training a network.

A pseudo-fine run (``TrainConfig.pseudo_k``) first clusters each coarse class; that step alone
answers half of the question "can clusters stand in for fine labels?". ``cluster_study`` runs it
for every feature source, k and seed on one loaded dataset, with exactly the training path's
code (``training.labelling.pseudo_relabel``), and records NMI and adjusted Rand against the true
fine labels on the training and the test images. The table is stored as JSON with provenance
(``save_cluster_study``) and drawn by the automatic-fine-labels chapter.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Sequence

import pandas as pd

from lgtools.labels.pseudo import FEATURES, METHODS
from lgtools.runs.studies import CLUSTER_STUDY, load_study, save_study
from lgtools.training.config import TrainConfig
from lgtools.training.labelling import clustering_features, pseudo_relabel
from lgtools.training.run_data import load_run_data

FORMAT = CLUSTER_STUDY
COLUMNS = ["features", "k", "seed", "train_nmi", "train_ari", "test_nmi", "test_ari", "seconds", "method"]


def _check(ks: Sequence[int], features: Sequence[str], seeds: Sequence[int], methods: Sequence[str]) -> None:
    if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ks):
        raise ValueError(f"ks must be integers >= 1, got {list(ks)!r}")
    unknown = [f for f in features if f not in FEATURES]
    if not features or unknown:
        raise ValueError(f"features must be some of {FEATURES}, got {list(features)!r}")
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be integers >= 0, got {list(seeds)!r}")
    if not methods or any(m not in METHODS for m in methods):
        raise ValueError(f"methods must be some of {METHODS}, got {list(methods)!r}")


def cluster_study(base: dict, ks: Sequence[int], features: Sequence[str], seeds: Sequence[int],
                  methods: Sequence[str] = ("kmeans",)) -> pd.DataFrame:
    """One row per (features, k, seed, method): the clusters' NMI and adjusted Rand against the true fine labels."""
    _check(ks, features, seeds, methods)
    config = TrainConfig(**{**base, "labels": "fine", "pseudo_k": 0})  # checked before any data is read
    data = load_run_data(config)
    (x_tr, y_tr), (x_te, y_te) = data.train, data.test
    rows = []
    for feature in features:
        for seed in seeds:
            start = time.perf_counter()
            found = clustering_features(x_tr, x_te, dataclasses.replace(config, pseudo_features=feature, seed=seed))
            extracted = time.perf_counter() - start  # once per source and seed, counted in each k's seconds
            for k in ks:
                setting = dataclasses.replace(config, pseudo_k=k, pseudo_features=feature, seed=seed)
                for method in methods if k > 1 else methods[:1]:  # one cluster per class needs no method
                    start = time.perf_counter()
                    *_, quality = pseudo_relabel(x_tr, y_tr, x_te, y_te, data.hierarchy, setting, features=found,
                                                 method=method)
                    rows.append({"features": feature, "k": k, "seed": seed, **quality,
                                 "seconds": extracted + time.perf_counter() - start, "method": method})
    return pd.DataFrame(rows, columns=COLUMNS)


def save_cluster_study(frame: pd.DataFrame, path: str | Path, base: dict) -> Path:
    """Store the study's table with its parameters and provenance (git revision, hardware, date)."""
    return save_study(frame, path, FORMAT, base)


def load_cluster_study(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """The stored table and its record (parameters, provenance); an empty table if the file is absent.

    A study stored before ``method`` was a column clustered with k-means, as the training runs do.
    """
    frame, record = load_study(path, FORMAT, COLUMNS)
    return frame.assign(method=frame["method"].fillna(METHODS[0])), record
