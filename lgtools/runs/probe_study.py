"""Linear probes of a network's layers over its training: which stage separates which labels, and when.

A run trained with ``keep_weights`` leaves its weights before training and after every epoch in
its ``checkpoint_dir`` (``training.checkpoint.weights_path``). ``probe_study`` reads them back and,
for every epoch and every residual stage (``training.features.stage_features``: the globally pooled
stage output), fits a linear probe for the coarse and one for the fine labels on a stratified
subset of the training images and scores it on a stratified subset of the test images. The
probes see the annotators' labels (no noise, no pseudo-labels) whatever the run trained on. A
probe is scikit-learn's logistic regression on standardised features. The table is stored as a
study (``runs.studies``) and drawn by the hierarchy-inside chapter (Alsallakh et al. 2018: early
layers separate the coarse groups early; Chen et al.: does fine training leave more coarse
information in the late layers than coarse training does?). ``probe_intervals`` and ``early_share``
read a stored table: each accuracy's interval over the test images, and how much of its gain a
probe made in the first epochs.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from lgtools.nets.models import build_model
from lgtools.runs.studies import PROBE_STUDY, load_study, save_study
from lgtools.training.config import TrainConfig
from lgtools.training.features import stage_features
from lgtools.training.pretrained import load_body, read_weights
from lgtools.training.run_data import load_run_data

if TYPE_CHECKING:  # for the hint only: scikit-learn is imported when a probe is fitted
    from sklearn.pipeline import Pipeline

FORMAT = PROBE_STUDY
# labels: what the run trained on (``trained_on``); seconds: the probe's fit.
COLUMNS = ["labels", "seed", "epoch", "stage", "probe", "train_acc", "test_acc", "seconds"]
PROBES = ("coarse", "fine")


def trained_on(config: TrainConfig) -> str:
    """What a run's labels were, in a word or two: ``"fine"``, ``"coarse"``, or its pseudo-labels (``"fine/k=2"``)."""
    if not config.pseudo_k:
        return config.labels
    return f"{config.pseudo_within}/k={config.pseudo_k}"


def kept_weights(weights_dir: str | os.PathLike) -> list[tuple[int, str]]:
    """(epoch, path) of every ``weights-epochNNN.pt`` in ``weights_dir``, by epoch; ValueError if none."""
    found = []
    for path in glob.glob(os.path.join(weights_dir, "weights-epoch*.pt")):
        match = re.fullmatch(r"weights-epoch(\d+)\.pt", os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    if not found:
        raise ValueError(f"weights_dir {str(weights_dir)!r} holds no weights-epochNNN.pt "
                         "(train with keep_weights=True and this checkpoint_dir)")
    return sorted(found)


def fit_probe(train_x: np.ndarray, train_y: np.ndarray, seed: int = 0) -> "Pipeline":
    """A logistic-regression probe on standardised features, fitted (a scikit-learn pipeline)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed)).fit(train_x, train_y)


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                 seed: int = 0) -> tuple[float, float]:
    """(train, test) accuracy in % of a ``fit_probe`` probe."""
    probe = fit_probe(train_x, train_y, seed)
    return 100 * probe.score(train_x, train_y), 100 * probe.score(test_x, test_y)


def probe_study(weights_dirs: Sequence[str | os.PathLike], probe_train: int = 5000, probe_test: int = 2000,
                data_root: str | None = None) -> tuple[pd.DataFrame, dict]:
    """One row per (run, epoch, stage, probe) and the parameters it ran with; every input checked first."""
    for name, value in (("probe_train", probe_train), ("probe_test", probe_test)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 20:
            raise ValueError(f"{name} must be an integer >= 20 (images per probe), got {value!r}")
    if not weights_dirs:
        raise ValueError("weights_dirs must name at least one checkpoint_dir, got none")
    runs = []
    for folder in weights_dirs:  # every folder read and checked before any image is
        kept = kept_weights(folder)
        first = read_weights(kept[0][1])
        for _, path in kept[1:]:
            if read_weights(path)["identity"] != first["identity"]:
                raise ValueError(f"weights_dirs entry {str(folder)!r} mixes the weights of different runs ({path})")
        config = TrainConfig.from_dict({**first["config"], "checkpoint_dir": None, "keep_weights": False})
        if config.model != "preact_resnet18":
            raise ValueError(f"probes read the stages of model 'preact_resnet18'; {str(folder)!r} holds {config.model!r}")
        # The probes' images and labels: the annotators' fine labels of stratified subsets, noise and pseudo-labels off.
        probed = dataclasses.replace(config, max_train=probe_train, max_test=probe_test, noise=0.0, noise_test=False,
                                     pseudo_k=0, pseudo_within="coarse", data_ratio=1.0, init_from=None,
                                     init_identity=None, data_root=data_root or config.data_root)
        runs.append((config, probed, kept))
    rows = []
    for config, probed, kept in runs:
        data = load_run_data(probed)
        (x_tr, y_tr), (x_te, y_te) = data.train, data.test
        f2c = np.asarray(data.hierarchy.fine_to_coarse)
        targets = {"fine": (y_tr.numpy(), y_te.numpy()), "coarse": (f2c[y_tr.numpy()], f2c[y_te.numpy()])}
        # Only the body is read (the stages): a run on pseudo-labels has a classifier of another size.
        model = build_model(config.model, 2, config.width, config.dropout)
        for epoch, path in kept:
            load_body(model, path)
            train_f = stage_features(model, x_tr, *data.stats)
            test_f = stage_features(model, x_te, *data.stats)
            for stage in train_f:
                for probe in PROBES:
                    start = time.perf_counter()
                    train_acc, test_acc = linear_probe(train_f[stage], targets[probe][0], test_f[stage],
                                                       targets[probe][1], config.seed)
                    rows.append({"labels": trained_on(config), "seed": config.seed, "epoch": epoch, "stage": stage,
                                 "probe": probe, "train_acc": train_acc, "test_acc": test_acc,
                                 "seconds": time.perf_counter() - start})
    parameters = {"weights_dirs": [str(d) for d in weights_dirs], "probe_train": probe_train,
                  "probe_test": probe_test, "runs": [c.to_dict() for c, *_ in runs]}
    return pd.DataFrame(rows, columns=COLUMNS), parameters


def save_probe_study(frame: pd.DataFrame, path: str | Path, parameters: dict) -> Path:
    """Store the probe table with its parameters (the probed runs' configs) and provenance."""
    return save_study(frame, path, FORMAT, parameters)


def load_probe_study(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """The stored probe table and its record; an empty table if the file is absent."""
    return load_study(path, FORMAT, COLUMNS)


def probe_intervals(frame: pd.DataFrame, n_test: int) -> pd.DataFrame:
    """The probe table with a 95 % Clopper-Pearson interval (``low``, ``high``) of each test accuracy over ``n_test`` images."""
    out = frame.copy()
    bounds = [stats.binomtest(round(acc * n_test / 100), n_test).proportion_ci(0.95) for acc in out["test_acc"]]
    out["low"] = [100 * b.low for b in bounds]
    out["high"] = [100 * b.high for b in bounds]
    return out


def early_share(frame: pd.DataFrame, after: int = 1) -> pd.DataFrame:
    """Per trained labels, probe and stage: the share (%) of the probe's whole gain over training reached after ``after`` epochs.

    The gain runs from the untrained network (epoch 0) to the last kept epoch; a share near 100 says
    the stage had learned what it separates by then (Alsallakh et al.: early for coarse groups).
    One row per run (``seed``); ``probe_finding`` averages over seeds where there are several.
    """
    rows = []
    for (labels, probe, stage, seed), part in frame.groupby(["labels", "probe", "stage", "seed"]):
        acc = part.set_index("epoch")["test_acc"]
        if 0 not in acc.index or after not in acc.index or acc.index.max() <= after:
            continue
        first, then, last = acc[0], acc[after], acc[acc.index.max()]
        rows.append({"labels": labels, "probe": probe, "stage": int(stage), "seed": int(seed), "untrained": first,
                     "after": then, "last": last,
                     "share": 100 * (then - first) / (last - first) if last != first else np.nan})
    return pd.DataFrame(rows, columns=["labels", "probe", "stage", "seed", "untrained", "after", "last", "share"])
