"""One run's data: the images a ``TrainConfig`` trains and tests on, and (with the labels stage) their labels.

The order is one rule: take the run's ``train_part`` (all images, or one of two fixed disjoint
halves, the same for every seed), then cap to ``max_train`` (stratified) within it, then keep
``data_ratio`` of each fine class (``load_run_images``); then the labels stage
(``training.labelling.prepare_labels``) adds label noise or clusters pseudo-fine classes. So
``data_ratio`` is always a share of the set the 100 % run of that part trains on, whatever the
cap, and ``scale_epochs`` (epochs / data_ratio) keeps the number of weight updates equal to that
run's. Everything fitted to the training images (pseudo-fine clusters in the labels stage, the
fast recipe's whitening in ``training.state``)
sees only the images kept, so a run on part b never looks at part a.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from lgtools.data.datasets import dataset_stats, load_dataset, stratified_cap, subsample, training_part
from lgtools.labels.hierarchy import Hierarchy
from lgtools.training.config import TrainConfig
from lgtools.training.labelling import RunLabels, prepare_labels


class RunImages(NamedTuple):
    """What ``load_run_images`` returns: CPU tensors with the true fine labels, before the labels stage."""

    hierarchy: Hierarchy  # the dataset's (as selected by config.hierarchy)
    train: tuple[torch.Tensor, torch.Tensor]  # (uint8 images, true fine labels)
    test: tuple[torch.Tensor, torch.Tensor]
    stats: tuple  # (mean, std) per channel


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


def training_subset(fine_labels: np.ndarray, config: TrainConfig) -> np.ndarray:
    """Indices of the training images ``config`` keeps, in order: its ``train_part``, the cap, then the ``data_ratio`` share."""
    keep = training_part(fine_labels, config.train_part)
    if config.max_train is not None and config.max_train < len(keep):
        keep = keep[stratified_cap(fine_labels[keep], config.max_train, config.seed)]
    if config.data_ratio < 1:
        keep = keep[subsample(fine_labels[keep], config.data_ratio, config.seed)]
    return keep


def load_run_images(config: TrainConfig) -> RunImages:
    """The run's hierarchy, training and test images with their true fine labels, on the CPU (see the module docstring)."""
    # load_dataset selects and relabels the hierarchy's fine classes (names, bits or object).
    common = dict(root=config.data_root, hierarchy=config.hierarchy, image_size=image_size_for(config))
    train_ds = load_dataset(config.dataset, split="train", **common)
    test_ds = load_dataset(config.dataset, split="test", **common)
    x_tr, y_tr, x_te, y_te = train_ds.images, train_ds.labels, test_ds.images, test_ds.labels
    if config.max_train is not None or config.data_ratio < 1 or config.train_part != "all":
        keep = _indices(training_subset(y_tr.numpy(), config))
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    if config.max_test is not None and config.max_test < len(y_te):
        keep = _indices(stratified_cap(y_te.numpy(), config.max_test, config.seed))
        x_te, y_te = x_te[keep], y_te[keep]
    return RunImages(train_ds.hierarchy, (x_tr, y_tr), (x_te, y_te), dataset_stats(config.dataset))


def labelled(images: RunImages, labels: RunLabels) -> RunData:
    """The run's data: ``images`` with the labels the labels stage prepared for them."""
    return RunData(labels.hierarchy, (images.train[0], labels.train), (images.test[0], labels.test), images.stats,
                   labels.noise_share, labels.noise_share_test, labels.pseudo_quality)


def load_run_data(config: TrainConfig) -> RunData:
    """The run's images and its labels as trained on: ``load_run_images``, then ``prepare_labels``."""
    images = load_run_images(config)
    return labelled(images, prepare_labels(config, images.hierarchy, images.train, images.test))
