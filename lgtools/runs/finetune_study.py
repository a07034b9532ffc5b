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

**Transfer** (``target_part``): the fine-tunings train on the other half of the training images
than their pretraining (``TrainConfig.train_part``: pretrained on ``"a"``, fine-tuned on ``"b"``),
optionally on a share of it (``target_ratio``, the fine-tuning's ``data_ratio``: 0.2 of part b is
10 % of the training images, with 5× the epochs), and the linear probe fits on those same target
images (at most ``probe_train``). ``scratch=True`` adds, per seed, the **from-scratch baseline**: the
fine-tuning's own configuration without ``init_from`` (same target images, labels, epochs and
recipe), as a row ``"scratch"``, so each seed pairs fine-pretrained, coarse-pretrained and scratch.
A fine-tuning or baseline whose identity is already stored (in ``results/<experiment>/`` or by any
sweep, e.g. ``sweeps/cpu/pretraining_transfer.yaml``'s baselines) is read, not trained again.

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

from lgtools.data.datasets import TRAIN_PARTS, stratified_cap
from lgtools.nets.models import build_model
from lgtools.runs.probe_study import fit_probe, kept_weights
from lgtools.runs.compare import paired_interval
from lgtools.runs.results import load_result, read_record, save_result
from lgtools.runs.studies import FINETUNE_STUDY, load_study, save_study
from lgtools.runs.sweep_store import stored_by_content
from lgtools.training.config import TrainConfig, num_epochs
from lgtools.training.features import network_features
from lgtools.training.identity import run_id, run_identity
from lgtools.training.loop import train
from lgtools.training.pretrained import read_weights
from lgtools.training.provenance import computation, computation_differences, stored_computation
from lgtools.training.run_data import RunData, load_run_data

FORMAT = FINETUNE_STUDY
MISALIGNED = "clusters across the coarse classes"  # how ``granularity`` names labels that cut across them
SCRATCH = "scratch"  # the ``pretraining`` of the from-scratch baseline's row
OTHER_PART = {"a": "b", "b": "a"}  # the half a pretraining on one half transfers to
# Where sweeps/cpu/pretraining_transfer.yaml stores its pretrainings and baselines, and its fine-tunings go.
TRANSFER_FOLDERS = ("pretraining-transfer-cpu-scale", "transfer-finetune-cpu-scale")
TRANSFER_COMPARISONS = (("fine", "coarse"), ("fine", SCRATCH), ("coarse", SCRATCH))  # paired per seed: first - second
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


def _target(target_part: str | None, target_ratio: float | None) -> dict:
    """The fields a transfer target sets on a fine-tuning (none: the pretraining's own images)."""
    return {**({"train_part": target_part} if target_part is not None else {}),
            **({"data_ratio": target_ratio} if target_ratio is not None else {})}


def finetune_config(pretrained: dict, weights: str, epochs: int, experiment: str, target_part: str | None = None,
                    target_ratio: float | None = None) -> TrainConfig:
    """The fine-tuning run of one pretrained network: its recipe and seed, the coarse labels, ``epochs`` epochs.

    ``target_part`` / ``target_ratio``: the fine-tuning's ``train_part`` and ``data_ratio`` (None: the pretraining's).
    """
    values = {**pretrained, "labels": "coarse", "pseudo_k": 0, "pseudo_within": "coarse", "loss": "cross_entropy",
              "loss_param": 0.0, "coarse_head": None, "noise": 0.0, "noise_test": False, "epochs": epochs,
              "init_from": os.path.abspath(weights), "init_identity": None,  # read from the file
              "keep_weights": False, "checkpoint_dir": None,
              "experiment": experiment, "progress": False, **_target(target_part, target_ratio)}
    return TrainConfig.from_dict(values)


def scratch_config(pretrained: dict, epochs: int, experiment: str, target_part: str | None = None,
                   target_ratio: float | None = None) -> TrainConfig:
    """The from-scratch baseline of a fine-tuning: ``finetune_config``'s run without pretrained weights or pseudo labels."""
    values = {**pretrained, "labels": "coarse", "pseudo_k": 0, "pseudo_within": "coarse", "pseudo_features": "pixels",
              "pseudo_from": None, "pseudo_identity": None, "loss": "cross_entropy", "loss_param": 0.0,
              "coarse_head": None, "noise": 0.0, "noise_test": False, "epochs": epochs, "init_from": None,
              "init_identity": None, "keep_weights": False, "checkpoint_dir": None,
              "experiment": experiment, "progress": False, **_target(target_part, target_ratio)}
    return TrainConfig.from_dict(values)


def _check_target(target_part: str | None, target_ratio: float | None, scratch: bool) -> None:
    """Refuse a target part or share that is not one, before anything is read."""
    if target_part is not None and target_part not in TRAIN_PARTS:
        raise ValueError(f"target_part must be None (the pretraining's own images) or one of {TRAIN_PARTS}, "
                         f"got {target_part!r}")
    if target_ratio is not None and (isinstance(target_ratio, bool) or not isinstance(target_ratio, (int, float))
                                     or not 0 < target_ratio <= 1):
        raise ValueError(f"target_ratio must be None (the pretraining's data_ratio) or a number in (0, 1], "
                         f"got {target_ratio!r}")
    if not isinstance(scratch, bool):
        raise ValueError(f"scratch must be True or False, got {scratch!r}")


def finetune_study(weights_dirs: Sequence[str | os.PathLike], epochs: int = 1, probe_train: int = 10000,
                   results: str | os.PathLike = "results", experiment: str = "finetune-cpu-scale",
                   data_root: str | None = None, scale: str = "cpu-scale",
                   previous: tuple[pd.DataFrame, dict] | None = None, target_part: str | None = None,
                   target_ratio: float | None = None, scratch: bool = False) -> tuple[pd.DataFrame, dict]:
    """One row per pretrained run: its own A_FC, the linear probe's and the fine-tuned network's coarse accuracy.

    ``target_part``: fine-tune (and probe) on this half of the training images, the other half than every
    pretraining's ``train_part`` (None: on the pretraining's own images, as before). ``target_ratio``: the
    share of it (the fine-tuning's ``data_ratio``). ``scratch``: add each seed's from-scratch baseline (module docstring).
    """
    _check_target(target_part, target_ratio, scratch)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer (fine-tuning epochs), got {epochs!r}")
    if isinstance(probe_train, bool) or not isinstance(probe_train, int) or probe_train < 20:
        raise ValueError(f"probe_train must be an integer >= 20 (training images of the probe), got {probe_train!r}")
    if not weights_dirs:
        raise ValueError("weights_dirs must name at least one folder of kept weights, got none")
    # A study stored before transfer has no target_part / target_ratio: None, its pretrainings' own images.
    settings = {"epochs": epochs, "probe_train": probe_train, "scale": scale, "experiment": experiment,
                "target_part": target_part, "target_ratio": target_ratio}
    kept = _kept_rows(previous, settings)
    plans = []
    for folder in weights_dirs:  # every input read and checked before any training
        epoch, path = kept_weights(folder)[-1]
        payload = read_weights(path)
        pretrained = {**payload["config"], **({"data_root": data_root} if data_root else {})}
        planned = num_epochs(TrainConfig.from_dict({**pretrained, "checkpoint_dir": None, "keep_weights": False}))
        if epoch != planned:
            raise ValueError(f"weights_dirs entry {str(folder)!r} holds a pretraining stopped at epoch {epoch} of "
                             f"{planned}: finish it first (its sweep resumes it)")
        part = pretrained.get("train_part", "all")
        if target_part is not None and OTHER_PART.get(part) != target_part:
            unseen = (f"target_part must be {OTHER_PART[part]!r}" if part in OTHER_PART else
                      "no image is new to it: pass target_part=None")
            raise ValueError(f"target_part {target_part!r} must be the half the pretraining did not see: weights_dirs "
                             f"entry {str(folder)!r} was pretrained on train_part {part!r}, so {unseen}")
        plans.append((path, payload, pretrained,
                      finetune_config(pretrained, path, epochs, experiment, target_part, target_ratio)))
    baselines = _baselines(plans, epochs, experiment, target_part, target_ratio) if scratch else []
    stored: dict[str, list[Path]] = {}  # every stored run by identity, read once when first needed
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
        if target_part is None and target_ratio is None:
            truth = load_run_data(dataclasses.replace(base, max_train=probe_train, pseudo_k=0, pseudo_within="coarse"))
        else:  # transfer: the probe sees the fine-tuning's own training images, at most probe_train of them
            truth = _capped(load_run_data(dataclasses.replace(base, pseudo_k=0, pseudo_within="coarse",
                                                              train_part=tune.train_part, data_ratio=tune.data_ratio)),
                            probe_train, base.seed)
        f2c = np.asarray(truth.hierarchy.fine_to_coarse)
        coarse_train, coarse_test = f2c[truth.train[1].numpy()], f2c[truth.test[1].numpy()]
        train_x = network_features(model, truth.train[0], *truth.stats)
        test_x = network_features(model, truth.test[0], *truth.stats)
        probe_pred = fit_probe(train_x, coarse_train, base.seed).predict(test_x)
        tuned = _finetuned(tune, Path(results), scale, stored)
        pretrained_afc = _pretrained_afc(model, truth, data.hierarchy, base)
        rows.append({"pretraining": granularity(pretrained, classes), "classes": classes, "seed": base.seed,
                     "pretrained_afc": pretrained_afc, "probe_acc": 100 * float(np.mean(probe_pred == coarse_test)),
                     "finetune_acc": float(tuned["summary"]["test_acc"]), "finetune_run": tuned["run_id"],
                     "probe_pred": probe_pred.tolist(), "finetune_pred": np.asarray(tuned["test_predictions"]).tolist()})
    for config in baselines:
        tuned = _finetuned(config, Path(results), scale, stored)
        rows.append({"pretraining": SCRATCH, "classes": None, "seed": config.seed, "pretrained_afc": None,
                     "probe_acc": None, "finetune_acc": float(tuned["summary"]["test_acc"]),
                     "finetune_run": tuned["run_id"], "probe_pred": None,
                     "finetune_pred": np.asarray(tuned["test_predictions"]).tolist()})
    fresh = {(row["pretraining"], row["seed"]) for row in rows}
    # A pretraining measured here replaces its stored row, whether named again or retrained with the same labels and
    # seed (two rows of one granularity and seed would pair twice with coarse pretraining).
    kept = [entry for entry in kept if (entry[0]["pretraining"], entry[0]["seed"]) not in fresh]
    parameters = {"weights": [w for _, w, _ in kept] + [str(p) for p, *_ in plans] + [None] * len(baselines),
                  **settings,
                  "pretrained": [i for *_, i in kept] + [payload["identity"] for _, payload, *_ in plans]
                  + [None] * len(baselines)}
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


def _finetuned(config: TrainConfig, results: Path, scale: str, stored: dict[str, list[Path]] | None = None) -> dict:
    """The fine-tuning run's stored result, trained and stored first if it is not there yet.

    ``stored``: a dict to fill once with ``stored_by_content(results)``, where a run of the same identity
    stored by a sweep is found (and read, not trained again); None looks only in ``results/<experiment>/``.
    """
    identity = run_identity(config)
    path = results / config.experiment / f"{run_id(identity)}.json"
    if not path.exists() and stored is not None:
        if not stored and results.is_dir():
            stored.update(stored_by_content(results))
        path = next(iter(stored.get(identity, [])), path)
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


def _capped(data: RunData, probe_train: int, seed: int) -> RunData:
    """``data`` with at most ``probe_train`` of its training images (stratified, seeded), the rest as it is."""
    images, labels = data.train
    if probe_train >= len(labels):
        return data
    keep = torch.as_tensor(stratified_cap(labels.numpy(), probe_train, seed))
    return data._replace(train=(images[keep], labels[keep]))


def _baselines(plans: list, epochs: int, experiment: str, target_part: str | None,
               target_ratio: float | None) -> list[TrainConfig]:
    """One from-scratch baseline per seed of the pretrainings; ValueError if one seed's pretrainings imply two."""
    by_seed: dict[int, dict[str, TrainConfig]] = {}
    for _, _, pretrained, _ in plans:
        config = scratch_config(pretrained, epochs, experiment, target_part, target_ratio)
        by_seed.setdefault(config.seed, {})[run_identity(config)] = config
    twice = {seed: len(configs) for seed, configs in by_seed.items() if len(configs) > 1}
    if twice:
        raise ValueError(f"weights_dirs: the pretrainings of seed(s) {sorted(twice)} differ in more than their labels "
                         "(recipe, data or network), so no one from-scratch baseline pairs with them; "
                         "pass scratch=False or one recipe per seed")
    return [next(iter(configs.values())) for _, configs in sorted(by_seed.items())]


def save_finetune_study(frame: pd.DataFrame, path: str | Path, parameters: dict) -> Path:
    """Store the fine-tuning table with its parameters and provenance."""
    return save_study(frame, path, FORMAT, parameters)


def load_finetune_study(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """The stored fine-tuning table and its record; an empty table if the file is absent."""
    return load_study(path, FORMAT, COLUMNS)


def _transfer_records(results: Path, folders: Sequence[str]) -> dict[str, dict]:
    """Every stored run result in ``results/<folder>/`` for each folder, by identity (a copy counted once)."""
    records: dict[str, dict] = {}
    for folder in folders:
        for path in sorted((results / folder).glob("*.json")):
            if path.name.startswith("."):
                continue
            record, problem = read_record(path, results)
            if problem:
                raise ValueError(f"folders: {path} is a damaged result ({problem}); move it aside or retrain it")
            if record is not None:
                records.setdefault(record["identity"], record)
    return records


def _transfer_row(record: dict, records: dict[str, dict], target_part: str) -> dict:
    """One fine-tuning or baseline on the target part: its pretraining in words, target share, seed and A_CC."""
    config = record["config"]
    held = config.get("init_identity")
    if held is None:
        name = SCRATCH
    else:
        pre = records.get(held.split("@")[0])
        if pre is None:
            raise ValueError(f"folders: fine-tuning {record['run_id']} starts from run {held}, which none of the "
                             "folders holds; add the folder of the pretraining sweep")
        part = pre["config"].get("train_part", "all")
        if OTHER_PART.get(part) != target_part:
            raise ValueError(f"folders: fine-tuning {record['run_id']} on part {target_part!r} starts from run "
                             f"{pre['run_id']}, pretrained on train_part {part!r}: its images overlap the target's")
        labels = pre["config"].get("labels")
        name = granularity(pre["config"], len(pre["fine_names"] if labels == "fine" else pre["coarse_names"]))
    ratio = float(config.get("data_ratio", 1.0))
    return {"data_ratio": ratio, "images_share": ratio / 2, "seed": int(config["seed"]), "pretraining": name,
            "test_acc": float(record["summary"]["test_acc"]), "epochs": int(config["epochs"]), "run_id": record["run_id"]}


def transfer_table(results: str | os.PathLike = "results", folders: Sequence[str] = TRANSFER_FOLDERS,
                   target_part: str = "b") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per target size and seed, the coarse test accuracy fine-tuned from each pretraining and from scratch; and the paired differences.

    Reads the run results in ``results/<folder>/`` (the transfer sweep's pretrainings and baselines, the
    study's fine-tunings): every coarse-label run on ``target_part`` is a column of its seed's row, named by
    its pretraining's granularity (``"coarse"``, ``"fine"``, …) or ``"scratch"``. The second table pairs
    the seeds of each target size for ``TRANSFER_COMPARISONS`` (``lgtools.runs.compare.paired_interval``:
    mean difference in points, its 95 % interval and n). ``images_share`` is the share of all training
    images the target kept (``data_ratio`` of a half).
    """
    if target_part not in OTHER_PART:
        raise ValueError(f"target_part must be one of {tuple(OTHER_PART)} (a half of the training images), "
                         f"got {target_part!r}")
    if isinstance(folders, str) or not folders:
        raise ValueError(f"folders must be a non-empty list of folder names under results, got {folders!r}")
    records = _transfer_records(Path(results), folders)
    rows = [_transfer_row(record, records, target_part) for record in records.values()
            if record["config"].get("train_part", "all") == target_part and record["config"].get("labels") == "coarse"]
    keys = ["data_ratio", "images_share", "seed"]
    if not rows:
        return (pd.DataFrame(columns=keys), pd.DataFrame(columns=["data_ratio", "images_share", "comparison", "mean",
                                                                  "low", "high", "n"]))
    long = pd.DataFrame(rows)
    twice = long[long.duplicated(keys + ["pretraining"], keep=False)]
    if not twice.empty:
        raise ValueError(f"folders hold two runs of one pretraining, target size and seed: {sorted(twice['run_id'])}; "
                         "keep one budget per study")
    budgets = long.groupby(keys)["epochs"].nunique()
    if (budgets > 1).any():
        raise ValueError(f"folders: the runs of {budgets[budgets > 1].index.tolist()} (data_ratio, share, seed) differ "
                         "in epochs; a pretrained network and its scratch baseline need one budget")
    per_seed = long.pivot(index=keys, columns="pretraining", values="test_acc").reset_index()
    per_seed.columns.name = None
    paired = []
    for (ratio, share), group in per_seed.groupby(["data_ratio", "images_share"]):
        for first, second in TRANSFER_COMPARISONS:
            if first in group and second in group:
                paired.append({"data_ratio": ratio, "images_share": share, "comparison": f"{first} - {second}",
                               **paired_interval(group[first] - group[second])})
    return per_seed, pd.DataFrame(paired, columns=["data_ratio", "images_share", "comparison", "mean", "low", "high", "n"])
