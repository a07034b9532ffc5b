"""Pretraining granularity: each pretrained network fine-tuned on the coarse labels, two ways.

Hong et al. (2023) pretrain on labels of one granularity and fine-tune on a coarser target. Here a
pretraining run (any granularity: coarse, fine, pseudo-classes finer than fine, or classes that cut
across the coarse ones; ``sweeps/cpu/pretraining.yaml``) kept its weights (``keep_weights``), and
``finetune_study`` reads the last epoch's weights of each and

- fits a **linear probe** for the coarse labels on the frozen penultimate features (scikit-learn
  logistic regression, ``probe_study.fit_probe``) and scores every test image;
- **fine-tunes** the whole network on the coarse labels for a short schedule through the training
  path itself (``TrainConfig.init_from``: the pretrained body, a new coarse classifier), stored as
  an ordinary run result under ``results/<experiment>/``, so a study interrupted and restarted
  trains only the fine-tunings it does not have yet.

Each row keeps the per-image coarse predictions of both, so the chapter can score any subset of
the test images (hard samples) without recomputing. The table is stored as a study (``runs.studies``).
Given the stored study (``previous``, as ``load_finetune_study`` returns it), its rows of pretrainings not named again are kept, so a study
grows run by run without the earlier pretrainings' weights (``runs/`` is not kept in git).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from lgtools.nets.models import build_model
from lgtools.runs.probe_study import fit_probe, kept_weights
from lgtools.runs.results import load_result, save_result
from lgtools.runs.studies import FINETUNE_STUDY, load_study, save_study
from lgtools.training.config import TrainConfig, num_epochs
from lgtools.training.features import network_features
from lgtools.training.identity import run_id, run_identity
from lgtools.training.loop import train
from lgtools.training.pretrained import read_weights
from lgtools.training.provenance import computation, computation_differences, stored_computation
from lgtools.training.run_data import load_run_data

FORMAT = FINETUNE_STUDY
MISALIGNED = "clusters across the coarse classes"  # how ``granularity`` names labels that cut across them
COLUMNS = ["pretraining", "classes", "seed", "pretrained_afc", "probe_acc", "finetune_acc", "finetune_run",
           "probe_pred", "finetune_pred"]


def granularity(config: dict, classes: int) -> str:
    """A pretraining's labels in words, e.g. ``"fine"``, ``"finer than fine (k = 4 per fine class)"``."""
    if config.get("labels") == "coarse":
        return "coarse"
    k, within = int(config.get("pseudo_k") or 0), config.get("pseudo_within") or "coarse"
    if not k:
        return "fine"
    return {"coarse": f"clusters of each coarse class (k = {k})", "fine": f"finer than fine (k = {k} per fine class)",
            "all": f"{MISALIGNED} ({classes})"}[within]


def finetune_config(pretrained: dict, weights: str, epochs: int, experiment: str) -> TrainConfig:
    """The fine-tuning run of one pretrained network: its recipe and seed, the coarse labels, ``epochs`` epochs."""
    values = {**pretrained, "labels": "coarse", "pseudo_k": 0, "pseudo_within": "coarse", "loss": "cross_entropy",
              "loss_param": 0.0, "coarse_head": None, "noise": 0.0, "noise_test": False, "epochs": epochs,
              "init_from": os.path.abspath(weights), "init_identity": None,  # read from the file
              "keep_weights": False, "checkpoint_dir": None,
              "experiment": experiment, "progress": False}
    return TrainConfig.from_dict(values)


def finetune_study(weights_dirs: Sequence[str | os.PathLike], epochs: int = 1, probe_train: int = 10000,
                   results: str | os.PathLike = "results", experiment: str = "finetune-cpu-scale",
                   data_root: str | None = None, scale: str = "cpu-scale",
                   previous: tuple[pd.DataFrame, dict] | None = None) -> tuple[pd.DataFrame, dict]:
    """One row per pretrained run: its own A_FC, the linear probe's and the fine-tuned network's coarse accuracy."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer (fine-tuning epochs), got {epochs!r}")
    if isinstance(probe_train, bool) or not isinstance(probe_train, int) or probe_train < 20:
        raise ValueError(f"probe_train must be an integer >= 20 (training images of the probe), got {probe_train!r}")
    if not weights_dirs:
        raise ValueError("weights_dirs must name at least one folder of kept weights, got none")
    kept = _kept_rows(previous, {"epochs": epochs, "probe_train": probe_train, "scale": scale, "experiment": experiment})
    plans = []
    for folder in weights_dirs:  # every input read and checked before any training
        epoch, path = kept_weights(folder)[-1]
        payload = read_weights(path)
        pretrained = {**payload["config"], **({"data_root": data_root} if data_root else {})}
        planned = num_epochs(TrainConfig.from_dict({**pretrained, "checkpoint_dir": None, "keep_weights": False}))
        if epoch != planned:
            raise ValueError(f"weights_dirs entry {str(folder)!r} holds a pretraining stopped at epoch {epoch} of "
                             f"{planned}: finish it first (its sweep resumes it)")
        plans.append((path, payload, pretrained, finetune_config(pretrained, path, epochs, experiment)))
    rows = []
    for path, payload, pretrained, tune in plans:
        base = TrainConfig.from_dict({**pretrained, "checkpoint_dir": None, "keep_weights": False})
        data = load_run_data(base)  # the pretraining's own labels: its classes as it numbered them
        classes = data.hierarchy.num_fine if base.labels == "fine" else data.hierarchy.num_coarse
        model = build_model(base.model, classes, base.width, base.dropout, base.extra_layer,
                            num_fine=data.hierarchy.num_fine, coarse_head=base.coarse_head,
                            num_coarse=data.hierarchy.num_coarse)
        model.load_state_dict(payload["model"])
        # The probe's targets: the true coarse labels, whatever the network was pretrained on.
        # Scored on the test images the fine-tuning is scored on (the pretraining's max_test).
        truth = load_run_data(dataclasses.replace(base, max_train=probe_train, pseudo_k=0, pseudo_within="coarse"))
        f2c = np.asarray(truth.hierarchy.fine_to_coarse)
        coarse_train, coarse_test = f2c[truth.train[1].numpy()], f2c[truth.test[1].numpy()]
        train_x = network_features(model, truth.train[0], *truth.stats)
        test_x = network_features(model, truth.test[0], *truth.stats)
        probe_pred = fit_probe(train_x, coarse_train, base.seed).predict(test_x)
        tuned = _finetuned(tune, Path(results), scale)
        pretrained_afc = _pretrained_afc(model, truth, data.hierarchy, base)
        rows.append({"pretraining": granularity(pretrained, classes), "classes": classes, "seed": base.seed,
                     "pretrained_afc": pretrained_afc, "probe_acc": 100 * float(np.mean(probe_pred == coarse_test)),
                     "finetune_acc": float(tuned["summary"]["test_acc"]), "finetune_run": tuned["run_id"],
                     "probe_pred": probe_pred.tolist(), "finetune_pred": np.asarray(tuned["test_predictions"]).tolist()})
    fresh = {(row["pretraining"], row["seed"]) for row in rows}
    # A pretraining measured here replaces its stored row, whether named again or retrained with the same labels and
    # seed (two rows of one granularity and seed would pair twice with coarse pretraining).
    kept = [entry for entry in kept if (entry[0]["pretraining"], entry[0]["seed"]) not in fresh]
    parameters = {"weights": [w for _, w, _ in kept] + [str(p) for p, *_ in plans], "epochs": epochs,
                  "probe_train": probe_train, "scale": scale, "experiment": experiment,
                  "pretrained": [i for *_, i in kept] + [payload["identity"] for _, payload, *_ in plans]}
    return pd.DataFrame([row for row, *_ in kept] + rows, columns=COLUMNS), parameters


def _kept_rows(previous: tuple[pd.DataFrame, dict] | None, settings: dict) -> list[tuple[dict, str, str]]:
    """The stored study's rows with their weights path and pretraining identity; refused if measured otherwise."""
    if previous is None:
        return []
    if not (isinstance(previous, tuple) and len(previous) == 2 and isinstance(previous[0], pd.DataFrame)
            and isinstance(previous[1], dict)):
        raise ValueError("previous must be a stored study as load_finetune_study returns it (a table and its record), "
                         f"got {type(previous).__name__}")
    frame, record = previous
    if frame.empty:
        return []
    stored = record.get("parameters", {})
    differ = {key: (stored.get(key), value) for key, value in settings.items() if stored.get(key) != value}
    if differ:
        said = ", ".join(f"{key} {old!r} (stored) vs {new!r}" for key, (old, new) in differ.items())
        raise ValueError(f"previous: the stored study was measured with other settings ({said}); "
                         "use the same settings or write a new study")
    weights, identities = stored.get("weights", []), stored.get("pretrained", [])
    if not len(weights) == len(identities) == len(frame):
        raise ValueError(f"previous: the stored study has {len(frame)} rows, {len(weights)} weights paths and "
                         f"{len(identities)} pretrained identities; it cannot be extended")
    return list(zip(frame.to_dict("records"), weights, identities))


@torch.no_grad()
def _pretrained_afc(model: torch.nn.Module, truth, trained_hierarchy, base: TrainConfig) -> float | None:
    """The pretrained network's own coarse accuracy (%): its arg-max class mapped to its coarse class."""
    from lgtools.data import augment

    model.eval()
    x = augment.normalize(truth.test[0], *truth.stats)
    pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)]).numpy()
    to_coarse = (np.asarray(trained_hierarchy.fine_to_coarse) if base.labels == "fine"
                 else np.arange(trained_hierarchy.num_coarse))
    coarse_test = np.asarray(truth.hierarchy.fine_to_coarse)[truth.test[1].numpy()]
    return 100 * float(np.mean(to_coarse[pred] == coarse_test))


def _finetuned(config: TrainConfig, results: Path, scale: str) -> dict:
    """The fine-tuning run's stored result, trained and stored first if it is not there yet."""
    path = results / config.experiment / f"{run_id(run_identity(config))}.json"
    if not path.exists():
        path = save_result(train(config), results, experiment=config.experiment,
                           metadata={"scale": scale, "study": "finetune"})
    stored = load_result(path)
    # One identity computed otherwise (threads, torch, CPU ISA) is another network: never taken for this one.
    differ = computation_differences(stored_computation(stored), computation(config))
    if differ:
        said = ", ".join(f"{key} {old!r} (stored) vs {new!r} (here)" for key, (old, new) in differ.items())
        raise ValueError(f"fine-tuning result {str(path)!r} has this run's identity but was computed otherwise ({said}); "
                         "it is another network: move it aside to train this one, or fine-tune as it was computed")
    return stored


def save_finetune_study(frame: pd.DataFrame, path: str | Path, parameters: dict) -> Path:
    """Store the fine-tuning table with its parameters and provenance."""
    return save_study(frame, path, FORMAT, parameters)


def load_finetune_study(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """The stored fine-tuning table and its record; an empty table if the file is absent."""
    return load_study(path, FORMAT, COLUMNS)
