"""The labels stage: the labels a run trains and is scored on, resolved before training starts.

``prepare_labels(config, hierarchy, train, test)`` takes the run's images and their true fine
labels (``training.run_data.load_run_images``: part, caps and share already applied) and returns
``RunLabels``: the labels after ``config``'s noise and, for ``pseudo_k`` runs, the pseudo-fine
classes clustered from pixels, an untrained network's features or a kept coarse network's
(``training.features``), with the hierarchy they belong to. ``train`` calls it as one step
between loading the images and building the run, so the loop and the run's state never reach
into noise, clustering or pretrained networks. Noise comes first (seed ``config.seed``, test
labels ``config.seed + 1``), then the clustering, which sees only the images the run keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lgtools.data.datasets import dataset_stats
from lgtools.labels.hierarchy import Hierarchy
from lgtools.labels.noise import add_label_noise, changed_share
from lgtools.labels.pseudo import cluster_quality, nearest_pseudo_class, pixel_features, pseudo_fine_labels, regroup
from lgtools.training.config import TrainConfig
from lgtools.training.features import random_network_features, trained_network_features


@dataclass(frozen=True)
class RunLabels:
    """What ``prepare_labels`` returns: the run's labels (CPU int64) and the hierarchy they index."""

    hierarchy: Hierarchy  # the dataset's, or the pseudo-fine classes under the coarse ones
    train: torch.Tensor  # fine labels as trained on (noised or pseudo-fine)
    test: torch.Tensor  # fine labels as scored (noised only with noise_test; pseudo-fine: nearest cluster)
    noise_share: float = 0.0  # share (0–1) of training fine labels the noise changed
    noise_share_test: float | None = None  # the same for the test labels (None unless noise_test)
    pseudo_quality: dict | None = None  # pseudo-fine runs: NMI and ARI of the clusters against the true fine labels


def prepare_labels(config: TrainConfig, hierarchy: Hierarchy, train: tuple[torch.Tensor, torch.Tensor],
                   test: tuple[torch.Tensor, torch.Tensor]) -> RunLabels:
    """The run's labels from its (images, true fine labels) pairs: ``config``'s noise, then its pseudo-fine classes."""
    (x_tr, y_tr), (x_te, y_te) = train, test
    share, share_test = 0.0, None
    if config.noise > 0:
        y_tr, share = _noised(y_tr, hierarchy, config, config.seed)
        if config.noise_test:
            y_te, share_test = _noised(y_te, hierarchy, config, config.seed + 1)
    quality = None
    if config.pseudo_k:
        y_tr, y_te, hierarchy, quality = pseudo_relabel(x_tr, y_tr, x_te, y_te, hierarchy, config)
    return RunLabels(hierarchy, y_tr.long(), y_te.long(), share, share_test, quality)


def _noised(labels: torch.Tensor, hierarchy: Hierarchy, config: TrainConfig, seed: int
            ) -> tuple[torch.Tensor, float]:
    noisy = add_label_noise(labels.numpy(), hierarchy, config.noise, seed, mode=config.noise_mode)
    return torch.as_tensor(noisy), changed_share(labels.numpy(), noisy)


def noise_share(kept_labels: np.ndarray, hierarchy: Hierarchy, config: TrainConfig) -> float:
    """The share of the kept training labels ``config``'s noise changes (what ``prepare_labels`` records)."""
    if not config.noise:
        return 0.0
    kept = np.asarray(kept_labels)
    noisy = add_label_noise(kept, hierarchy, config.noise, config.seed, mode=config.noise_mode)
    return changed_share(kept, noisy)


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
