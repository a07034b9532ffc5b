"""The paper's original input pipeline, rebuilt as the baseline ``lgtools.bench`` measures against.

``torchvision.datasets.ImageFolder`` with per-image PIL transforms (RandomCrop(32, padding=4),
RandomHorizontalFlip, ToTensor, Normalize), a ``DataLoader`` with worker processes, fp32, and an
SGD step that reads the loss and the accuracy back every step, as the authors' training loop
did. ``reference_train`` trains and tests it with a ``TrainConfig``'s model, schedule and seed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from lgtools.data.datasets import dataset_stats, stratified_cap
from lgtools.nets.models import build_model
from lgtools.training.config import TrainConfig, lr_factor, num_epochs
from lgtools.training.state import resolve_device


def reference_loader(root: str, split: str, batch_size: int, workers: int, mean: Sequence[float],
                     std: Sequence[float], seed: int, indices: Sequence[int] | None = None) -> torch.utils.data.DataLoader:
    """The original input pipeline: ImageFolder + per-image PIL transforms + a DataLoader."""
    from torchvision import datasets
    from torchvision import transforms as T

    train = split == "train"
    steps = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] if train else []
    tf = T.Compose(steps + [T.ToTensor(), T.Normalize(mean, std)])
    data = datasets.ImageFolder(os.path.join(root, split), transform=tf)
    if indices is not None:
        data = torch.utils.data.Subset(data, [int(i) for i in indices])
    return torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=train, num_workers=workers,
                                       generator=torch.Generator().manual_seed(seed))


def reference_step(model: nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
                   targets: torch.Tensor, device: torch.device) -> int:
    """One fp32 SGD step as in the original loop (loss and accuracy read back); returns images."""
    inputs, targets = inputs.to(device), targets.to(device)
    optimizer.zero_grad()
    outputs = model(inputs)
    loss = nn.functional.cross_entropy(outputs, targets)
    loss.backward()
    optimizer.step()
    # The original loop logged these every step; .item() is a host sync on CUDA.
    loss.item()
    outputs.argmax(1).eq(targets).sum().item()
    return len(targets)


class Batches:
    """Batches from one DataLoader iterator, restarted when an epoch ends."""

    def __init__(self, loader: torch.utils.data.DataLoader):
        self.loader, self.it = loader, iter(loader)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            return next(self.it)

    def close(self) -> None:
        self.it = None  # dropping the iterator shuts its workers down


def reference_optimizer(model: nn.Module, lr: float = 0.1) -> torch.optim.SGD:
    """The original optimizer: SGD, momentum 0.9, weight decay 5e-4."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)


def reference_train(config: TrainConfig, workers: int) -> dict:
    """Train and test the reference pipeline with ``config``'s model, schedule, seed and subset."""
    if config.train_part != "all":  # the authors' loader reads the whole training set
        raise ValueError(f"train_part must be 'all' for the reference pipeline (it loads every training image), "
                         f"got {config.train_part!r}")
    device = resolve_device(config.device)
    mean, std = dataset_stats(config.dataset)
    loader = reference_loader(config.data_root, "train", config.batch_size, workers, mean, std, config.seed)
    targets = np.asarray(loader.dataset.targets)
    if config.max_train is not None and config.max_train < len(targets):
        # Same helper and seed as lgtools' cap: the same images wherever both list them in one order.
        keep = stratified_cap(targets, config.max_train, config.seed)
        loader = reference_loader(config.data_root, "train", config.batch_size, workers, mean, std,
                                  config.seed, keep)
    torch.manual_seed(config.seed)  # as prepare_run: identical initial weights
    model = build_model(config.model, len(np.unique(targets)), config.width).to(device)
    optimizer = reference_optimizer(model, config.lr)
    steps = len(loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(config, s, steps))
    start = time.perf_counter()
    for _ in range(num_epochs(config)):
        model.train()
        for inputs, labels in loader:
            reference_step(model, optimizer, inputs, labels, device)
            scheduler.step()
    train_seconds = time.perf_counter() - start
    model.eval()
    correct = total = 0
    test = reference_loader(config.data_root, "test", config.eval_batch_size, workers, mean, std, config.seed)
    with torch.no_grad():
        for inputs, labels in test:
            correct += model(inputs.to(device)).argmax(1).cpu().eq(labels).sum().item()
            total += len(labels)
    return {"test_acc_fine": 100 * correct / total, "train_seconds": train_seconds,
            "seconds": time.perf_counter() - start}
