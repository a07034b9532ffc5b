"""Training the two-layer network on planted-feature data, and reading off which features it learned.

``train_two_layer`` fits ``nets.two_layer.TwoLayerConv`` by full-batch gradient descent on the coarse
or the fine labels of ``data.multiview`` (seconds on a CPU). ``feature_alignment`` says, for every
planted feature, how strongly the best-aligned filter responds to it (the largest cosine between a
filter and the feature), the quantity Hong et al.'s theory is about. ``coarse_accuracy`` scores a
network at the coarse level (a fine network's arg-max mapped to its coarse class), on all test
images or on the hard ones.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lgtools.data.multiview import MultiView
from lgtools.nets.two_layer import TwoLayerConv


def train_two_layer(data: MultiView, labels: str, filters: int = 4, steps: int = 300, lr: float = 0.5,
                    seed: int = 0) -> TwoLayerConv:
    """Full-batch gradient descent on cross-entropy of the ``labels`` ("coarse" or "fine") of ``data``."""
    if labels not in ("coarse", "fine"):
        raise ValueError(f"labels must be 'coarse' or 'fine', got {labels!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    target = torch.as_tensor(data.coarse if labels == "coarse" else data.fine)
    classes = len(data.common) if labels == "coarse" else len(data.fine_features)
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = TwoLayerConv(data.x.shape[2], classes, filters)
    finally:
        torch.random.set_rng_state(generator_state)  # the caller's random stream stays as it was
    x = torch.as_tensor(data.x)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), target).backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def coarse_accuracy(model: TwoLayerConv, data: MultiView, hard_only: bool = False) -> float:
    """Coarse-level accuracy (%) of ``model`` on ``data`` (all images, or only the hard ones)."""
    pred = model(torch.as_tensor(data.x)).argmax(1).numpy()
    if model.weight.shape[0] == len(data.fine_features):  # a fine network: map to the coarse class
        pred = data.fine_to_coarse[pred]
    keep = data.hard if hard_only else np.ones(len(pred), dtype=bool)
    if not keep.any():
        raise ValueError("data holds no hard sample (hard_share 0): nothing to score")
    return 100 * float(np.mean(pred[keep] == data.coarse[keep]))


@torch.no_grad()
def feature_alignment(model: TwoLayerConv, data: MultiView) -> dict[str, np.ndarray]:
    """Per planted feature, the largest cosine between it and any filter: ``common`` (per coarse class) and ``fine``."""
    w = model.weight.reshape(-1, model.weight.shape[2]).numpy()
    w = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    return {"common": (data.common @ w.T).max(axis=1), "fine": (data.fine_features @ w.T).max(axis=1)}
