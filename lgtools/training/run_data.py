"""One run's data: the tensors a ``TrainConfig`` trains and tests on (subsampled, capped, noised)."""

from __future__ import annotations

import numpy as np
import torch

from lgtools.data.datasets import dataset_stats, load_dataset, stratified_cap, subsample
from lgtools.labels.hierarchy import Hierarchy
from lgtools.labels.noise import add_label_noise
from lgtools.training.config import TrainConfig


def image_size_for(config: TrainConfig) -> int | None:
    """Stored image side to load for ``config``: 256 for ImageNet hierarchies, else its default."""
    h = config.hierarchy
    name = h.name if isinstance(h, Hierarchy) else (h or "")
    # Stored at 256 so that training crops 224 px (RandomResizedCrop) and evaluation takes the
    # centre 224 of the 256 px image, the usual resize-256/crop-224 test transform.
    return 256 if config.dataset == "imagefolder" and name.startswith("imagenet") else None


def _indices(idx) -> torch.Tensor:
    return torch.as_tensor(np.asarray(idx), dtype=torch.int64)


def load_run_data(config: TrainConfig) -> tuple[Hierarchy, tuple, tuple, tuple]:
    """(hierarchy, (x_train, fine_train), (x_test, fine_test), (mean, std)) on the CPU, as configured."""
    # load_dataset selects and relabels the hierarchy's fine classes (names, bits or object).
    common = dict(root=config.data_root, hierarchy=config.hierarchy, image_size=image_size_for(config))
    train_ds = load_dataset(config.dataset, split="train", **common)
    test_ds = load_dataset(config.dataset, split="test", **common)
    hierarchy = train_ds.hierarchy
    x_tr, y_tr, x_te, y_te = train_ds.images, train_ds.labels, test_ds.images, test_ds.labels
    if config.data_ratio < 1:
        keep = _indices(subsample(y_tr.numpy(), config.data_ratio, config.seed))
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    if config.max_train is not None and config.max_train < len(y_tr):
        keep = _indices(stratified_cap(y_tr.numpy(), config.max_train, config.seed))
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    if config.max_test is not None and config.max_test < len(y_te):
        keep = _indices(stratified_cap(y_te.numpy(), config.max_test, config.seed))
        x_te, y_te = x_te[keep], y_te[keep]
    if config.noise > 0:
        y_tr = torch.as_tensor(add_label_noise(y_tr.numpy(), hierarchy, config.noise, config.seed))
        if config.noise_test:
            y_te = torch.as_tensor(add_label_noise(y_te.numpy(), hierarchy, config.noise, config.seed + 1))
    stats = dataset_stats(config.dataset)
    return hierarchy, (x_tr, y_tr.long()), (x_te, y_te.long()), stats
