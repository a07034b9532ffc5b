"""One run's data: the tensors a ``TrainConfig`` trains and tests on (capped, subsampled, noised).

The order is one rule: take the run's ``train_part`` (all images, or one of two fixed disjoint
halves, the same for every seed), then cap to ``max_train`` (stratified) within it, then keep
``data_ratio`` of each fine class, then add label noise. So ``data_ratio`` is always a share of the
set the 100 % run of that part trains on, whatever the cap, and ``scale_epochs`` (epochs /
data_ratio) keeps the number of weight updates equal to that run's. Everything fitted to the
training images (pseudo-fine clusters here, the fast recipe's whitening in ``training.state``)
sees only the images kept, so a run on part b never looks at part a.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from lgtools.data.datasets import dataset_stats, load_dataset, stratified_cap, subsample, training_part
from lgtools.labels.hierarchy import Hierarchy
from lgtools.labels.noise import add_label_noise, changed_share
from lgtools.labels.pseudo import cluster_quality, nearest_pseudo_class, pixel_features, pseudo_fine_labels, regroup
from lgtools.training.config import TrainConfig
from lgtools.training.features import random_network_features, trained_network_features


class RunData(NamedTuple):
    """What ``load_run_data`` returns: CPU tensors, and the share of labels the noise changed."""

    hierarchy: Hierarchy
    train: tuple[torch.Tensor, torch.Tensor]  # (uint8 images, fine labels as trained on)
    test: tuple[torch.Tensor, torch.Tensor]  # (uint8 images, fine labels as scored)
    stats: tuple  # (mean, std) per channel
    noise_share: float  # share (0–1) of training fine labels the noise changed
    noise_share_test: float | None  # the same for the test labels (None unless noise_test)
    pseudo_quality: dict | None = None  # pseudo-fine runs: NMI and ARI of the clusters against the true fine labels


def image_size_for(config: TrainConfig) -> int | None:
    """Stored image side to load for ``config``: 256 for ImageNet hierarchies, else its default."""
    h = config.hierarchy
    name = h.name if isinstance(h, Hierarchy) else (h or "")
    # Stored at 256 so that training crops 224 px (RandomResizedCrop) and evaluation takes the
    # centre 224 of the 256 px image, the usual resize-256/crop-224 test transform.
    return 256 if config.dataset == "imagefolder" and name.startswith("imagenet") else None


def _indices(idx) -> torch.Tensor:
    return torch.as_tensor(np.asarray(idx), dtype=torch.int64)


def _noised(labels: torch.Tensor, hierarchy: Hierarchy, config: TrainConfig, seed: int
            ) -> tuple[torch.Tensor, float]:
    noisy = add_label_noise(labels.numpy(), hierarchy, config.noise, seed, mode=config.noise_mode)
    return torch.as_tensor(noisy), changed_share(labels.numpy(), noisy)


def training_subset(fine_labels: np.ndarray, config: TrainConfig) -> np.ndarray:
    """Indices of the training images ``config`` keeps, in order: its ``train_part``, the cap, then the ``data_ratio`` share."""
    keep = training_part(fine_labels, config.train_part)
    if config.max_train is not None and config.max_train < len(keep):
        keep = keep[stratified_cap(fine_labels[keep], config.max_train, config.seed)]
    if config.data_ratio < 1:
        keep = keep[subsample(fine_labels[keep], config.data_ratio, config.seed)]
    return keep


def noise_share(fine_labels: np.ndarray, hierarchy: Hierarchy, config: TrainConfig) -> float:
    """The share of the kept training labels ``config``'s noise changes (what ``load_run_data`` records)."""
    kept = np.asarray(fine_labels)[training_subset(np.asarray(fine_labels), config)]
    if not config.noise:
        return 0.0
    noisy = add_label_noise(kept, hierarchy, config.noise, config.seed, mode=config.noise_mode)
    return changed_share(kept, noisy)


def load_run_data(config: TrainConfig) -> RunData:
    """The run's hierarchy, training and test tensors on the CPU, as configured (see the module docstring)."""
    # load_dataset selects and relabels the hierarchy's fine classes (names, bits or object).
    common = dict(root=config.data_root, hierarchy=config.hierarchy, image_size=image_size_for(config))
    train_ds = load_dataset(config.dataset, split="train", **common)
    test_ds = load_dataset(config.dataset, split="test", **common)
    hierarchy = train_ds.hierarchy
    x_tr, y_tr, x_te, y_te = train_ds.images, train_ds.labels, test_ds.images, test_ds.labels
    if config.max_train is not None or config.data_ratio < 1 or config.train_part != "all":
        keep = _indices(training_subset(y_tr.numpy(), config))
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    if config.max_test is not None and config.max_test < len(y_te):
        keep = _indices(stratified_cap(y_te.numpy(), config.max_test, config.seed))
        x_te, y_te = x_te[keep], y_te[keep]
    share, share_test = 0.0, None
    if config.noise > 0:
        y_tr, share = _noised(y_tr, hierarchy, config, config.seed)
        if config.noise_test:
            y_te, share_test = _noised(y_te, hierarchy, config, config.seed + 1)
    quality = None
    if config.pseudo_k:
        y_tr, y_te, hierarchy, quality = pseudo_relabel(x_tr, y_tr, x_te, y_te, hierarchy, config)
    return RunData(hierarchy, (x_tr, y_tr.long()), (x_te, y_te.long()), dataset_stats(config.dataset),
                   share, share_test, quality)


def clustering_features(x_tr: torch.Tensor, x_te: torch.Tensor, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """What ``config.pseudo_features`` names, for the training and the test images (depends on the seed, not on k)."""
    if config.pseudo_features == "random_net":
        return random_network_features(x_tr, x_te, config.model, config.width, *dataset_stats(config.dataset),
                                       seed=config.seed)
    if config.pseudo_features == "coarse_net":
        return trained_network_features(x_tr, x_te, config.pseudo_from, config.pseudo_identity,
                                        *dataset_stats(config.dataset), seed=config.seed)
    return pixel_features(x_tr.numpy(), x_te.numpy(), seed=config.seed)


def pseudo_relabel(x_tr: torch.Tensor, y_tr: torch.Tensor, x_te: torch.Tensor, y_te: torch.Tensor,
                   hierarchy: Hierarchy, config: TrainConfig,
                   features: tuple[np.ndarray, np.ndarray] | None = None, method: str = "kmeans"
                   ) -> tuple[torch.Tensor, torch.Tensor, Hierarchy, dict]:
    """Replace the fine labels by ``pseudo_k`` clusters per class of ``config.pseudo_within``; test images take their nearest cluster.

    ``features`` are ``clustering_features`` computed before (a study reusing them over k), else computed here.
    ``method`` (``lgtools.labels.pseudo.METHODS``): training runs use k-means; the cluster study also
    tries spectral clustering, the authors' choice.
    """
    f2c = np.asarray(hierarchy.fine_to_coarse)
    fine_tr, fine_te = y_tr.numpy(), y_te.numpy()
    train_x, test_x = features if features is not None else clustering_features(x_tr, x_te, config)
    within = config.pseudo_within
    parent = {"coarse": lambda y: f2c[y], "fine": lambda y: y, "all": lambda y: np.zeros_like(y)}[within]
    names = {"coarse": hierarchy.coarse_names, "fine": hierarchy.fine_names, "all": ("all",)}[within]
    pseudo_tr, parents = pseudo_fine_labels(train_x, parent(fine_tr), config.pseudo_k, tuple(names),
                                           method=method, seed=config.seed)
    pseudo_te = nearest_pseudo_class(test_x, parent(fine_te), pseudo_tr, train_x, config.pseudo_k)
    pseudo_h = regroup(pseudo_tr, within, hierarchy, parents, f2c[fine_tr])
    quality = {f"{split}_{name}": value for split, (p, f) in (("train", (pseudo_tr, fine_tr)), ("test", (pseudo_te, fine_te)))
               for name, value in cluster_quality(p, f).items()}
    return torch.as_tensor(pseudo_tr), torch.as_tensor(pseudo_te), pseudo_h, quality
