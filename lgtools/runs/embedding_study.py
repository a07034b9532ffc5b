"""Fig 4 from kept weights: a t-SNE map of the penultimate features of a fine- and a coarse-trained network.

A run trained with ``keep_weights`` leaves its weights after every epoch in its ``checkpoint_dir``
(``training.checkpoint.weights_path``). ``embedding_study`` reads the last kept epoch of a fine-label
and of a coarse-label network, runs both over one fixed, class-balanced subset of the test images
(``balanced_subset``: the same images for both), takes their penultimate features
(``training.features.network_features``, the input of the last linear layer) and embeds each set
with scikit-learn's t-SNE (``tsne_embedding``, fixed seed). The study stores the rounded 2-D
coordinates with each image's fine and coarse label, the networks' identities and epochs, and, for
every stored result of the same identity found under ``results``, the share of the subset on which
the loaded network predicts what that result stored (1 when the weights are that very network).
Chapter 5 draws the stored map; ``python -m lgtools tsne`` writes it.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lgtools.data import augment
from lgtools.nets.models import build_model
from lgtools.runs.probe_study import kept_weights
from lgtools.runs.results import decode_labels, read_record
from lgtools.runs.studies import EMBEDDING_STUDY, load_study, save_study
from lgtools.training.config import TrainConfig
from lgtools.training.features import network_features
from lgtools.training.pretrained import held_run, read_weights
from lgtools.training.run_data import load_run_data
from lgtools.training.steps import tta_logits

FORMAT = EMBEDDING_STUDY
# network: "fine" or "coarse" (what it trained on); image: index into the run's test set; x, y: t-SNE coordinates.
COLUMNS = ["network", "image", "x", "y", "fine_label", "coarse_label"]
DIGITS = 2  # decimals kept of a t-SNE coordinate (a map's scale is tens of units)


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0,
                   max_iter: int = 1000, threads: int = 1) -> np.ndarray:
    """A 2-D t-SNE embedding of feature vectors (scikit-learn), one thread by default (chapter 5, Fig 4).

    On a busy 2-core machine OpenMP threads contend so badly that t-SNE runs several times slower.
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < 5:
        raise ValueError(f"features must be an n×d array with n >= 5, got shape {features.shape}")
    if max_iter < 250:
        raise ValueError(f"max_iter must be at least 250 (scikit-learn's minimum), got {max_iter}")
    perplexity = min(perplexity, (len(features) - 1) / 3)  # TSNE requires perplexity < n
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=max_iter)
    with threadpool_limits(threads):
        return tsne.fit_transform(features)


def balanced_subset(fine_labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``n`` // classes images of each fine class, drawn with ``seed``; ValueError if one has fewer."""
    labels = np.asarray(fine_labels)
    classes = np.unique(labels)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < len(classes):
        raise ValueError(f"n must be an integer >= the number of fine classes ({len(classes)}), got {n!r}")
    per_class = n // len(classes)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise ValueError(f"n={n} asks {per_class} images of class {c}, which has {len(members)}")
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def final_weights(weights: str | os.PathLike) -> str:
    """The last kept epoch's file of a ``keep_weights`` folder, or ``weights`` itself if it is a file."""
    return os.fspath(weights) if os.path.isfile(weights) else kept_weights(weights)[-1][1]


def load_network(path: str, data_root: str | None = None) -> tuple[torch.nn.Module, TrainConfig, dict]:
    """(model in evaluation mode, its run's config, the weights file) of a file ``keep_weights`` wrote."""
    payload = read_weights(path, "weights")
    config = TrainConfig.from_dict({**payload["config"], "checkpoint_dir": None, "keep_weights": False})
    hierarchy = load_run_data(dataclasses.replace(config, data_root=data_root or config.data_root)).hierarchy
    num_classes = hierarchy.num_fine if config.labels == "fine" else hierarchy.num_coarse
    model = build_model(config.model, num_classes, config.width, config.dropout, config.extra_layer,
                        num_fine=hierarchy.num_fine, coarse_head=config.coarse_head, num_coarse=hierarchy.num_coarse)
    model.load_state_dict(payload["model"])
    return model.eval(), config, payload


def stored_twins(identity: str, results: str | Path) -> list[tuple[str, dict]]:
    """(path relative to ``results``, record) of every stored result of ``identity`` under ``results``."""
    found = []
    for path in sorted(glob.glob(os.path.join(results, "*", "*.json"))):
        record, _ = read_record(path, results)
        if record is not None and record.get("identity") == identity:
            found.append((Path(path).relative_to(results).as_posix(), record))
    return found


@torch.no_grad()
def _predictions(model: torch.nn.Module, images: torch.Tensor, stats: tuple, tta: int) -> np.ndarray:
    """The network's predicted class per image, read out as its run was tested (``tta`` views)."""
    x = augment.normalize(images, *stats)
    return tta_logits(model, x, tta).argmax(1).numpy()


def embedding_study(fine: str | os.PathLike, coarse: str | os.PathLike, n: int = 1000, seed: int = 0,
                    perplexity: float = 30.0, max_iter: int = 1000, results: str | Path | None = "results",
                    data_root: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Both networks' t-SNE maps of one balanced test subset, one row per (network, image), and the parameters."""
    networks = {"fine": final_weights(fine), "coarse": final_weights(coarse)}
    loaded = {name: load_network(path, data_root) for name, path in networks.items()}
    for name, (_, config, _) in loaded.items():
        if config.labels != name:
            raise ValueError(f"{name} must hold a network trained on {name} labels; {networks[name]!r} "
                             f"was trained on {config.labels!r}")
    test_keys = [(c.dataset, str(c.hierarchy), c.max_test) for _, c, _ in loaded.values()]
    if test_keys[0] != test_keys[1]:
        raise ValueError(f"fine and coarse networks were tested on different data: {test_keys}")
    config = loaded["fine"][1]
    data = load_run_data(dataclasses.replace(config, data_root=data_root or config.data_root))
    test_images, test_fine = data.test
    keep = balanced_subset(test_fine.numpy(), n, seed)
    side = test_images.shape[-1]
    images = augment.eval_transform(test_images[keep], side if side <= 64 else 224)
    f2c = np.asarray(data.hierarchy.fine_to_coarse)
    rows, described = [], {}
    for name, (model, run_config, payload) in loaded.items():
        embedding = tsne_embedding(network_features(model, images, *data.stats), seed, perplexity, max_iter)
        for image, (x, y) in zip(keep, np.round(embedding.astype(np.float64), DIGITS)):
            rows.append({"network": name, "image": int(image), "x": float(x), "y": float(y),
                         "fine_label": int(test_fine[image]), "coarse_label": int(f2c[test_fine[image]])})
        predicted = _predictions(model, images, data.stats, run_config.tta)
        agree = {}
        for where, record in ([] if results is None else stored_twins(payload["identity"], results)):
            stored = decode_labels(record.get("test_predictions"))
            if stored is not None and len(stored) == len(test_fine):
                agree[where] = float(np.mean(stored[keep] == predicted))
        described[name] = {"weights": os.fspath(networks[name]), "identity": payload["identity"],
                           "epoch": int(payload["epoch"]), "held_run": held_run(payload),
                           "config": run_config.to_dict(), "stored_predictions_agree": agree}
    parameters = {"n": int(len(keep)), "subset_seed": seed, "tsne_seed": seed, "perplexity": perplexity,
                  "max_iter": max_iter, "dataset": config.dataset, "fine_names": list(data.hierarchy.fine_names),
                  "coarse_names": list(data.hierarchy.coarse_names), "networks": described}
    return pd.DataFrame(rows, columns=COLUMNS), parameters


def save_embedding_study(frame: pd.DataFrame, path: str | Path, parameters: dict) -> Path:
    """Store the maps with their parameters (the networks' identities, the subset, t-SNE's settings) and provenance."""
    return save_study(frame, path, FORMAT, parameters)


def load_embedding_study(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """The stored maps and their record; an empty table if the file is absent."""
    return load_study(path, FORMAT, COLUMNS)

