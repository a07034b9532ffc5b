"""Label noise of Section VI-B: fine labels changed inside their coarse class, two procedures.

- ``"swap"`` (the authors' code at HEAD, ``dataset/data_cifar10.py``): walk the samples in order;
  with probability ``randomness`` swap the current fine label of sample i with that of a
  uniformly drawn sample of the same coarse class. One event changes up to two labels, and a
  label may be swapped again later, so the share of changed labels is well above
  ``randomness * (1 - 1/k)`` (k fine classes per coarse class): about 39 % at 0.3 on CIFAR-10's
  vehicle/animal split.
- ``"redraw"`` (this project's first procedure): a chosen sample takes the *original* fine label of
  a uniformly drawn same-coarse sample, so a changed label is a fresh draw from that coarse class's
  fine-label distribution and about ``randomness * (1 - 1/k)`` of the labels change.

Neither ever changes a coarse label. ``changed_share`` measures what a procedure realised.
"""

from __future__ import annotations

import numpy as np
import torch

from lgtools.labels.hierarchy import Hierarchy, LabelArray
from lgtools.labels.validate import as_label_array

NOISE_MODES = ("swap", "redraw")  # the first is the authors' procedure and TrainConfig's default


def _swap(labels: np.ndarray, coarse: np.ndarray, num_coarse: int, randomness: float,
          rng: np.random.Generator) -> np.ndarray:
    noisy = labels.copy()
    members = [np.flatnonzero(coarse == c) for c in range(num_coarse)]
    chosen = np.flatnonzero(rng.random(labels.shape[0]) < randomness)
    # One uniform draw per chosen sample picks its partner inside the coarse class's members;
    # drawn up front, then the swaps run in sample order (a later swap sees the earlier ones).
    u = rng.random(chosen.size)
    for i, draw in zip(chosen.tolist(), u.tolist()):
        pool = members[coarse[i]]
        j = pool[int(draw * pool.size)]
        noisy[i], noisy[j] = noisy[j], noisy[i]
    return noisy


def _redraw(labels: np.ndarray, coarse: np.ndarray, num_coarse: int, randomness: float,
            rng: np.random.Generator) -> np.ndarray:
    noisy = labels.copy()
    chosen = rng.random(labels.shape[0]) < randomness
    for c in range(num_coarse):
        pool = labels[coarse == c]  # original fine labels of this coarse class
        targets = np.flatnonzero(chosen & (coarse == c))
        if targets.size:
            noisy[targets] = pool[rng.integers(0, pool.size, size=targets.size)]
    return noisy


def add_label_noise(
    fine_labels: LabelArray, hierarchy: Hierarchy, randomness: float, seed: int = 0,
    mode: str = NOISE_MODES[0],
) -> LabelArray:
    """Section VI-B noise by ``mode`` (``"swap"``: the authors' label swaps; ``"redraw"``): coarse labels never change.

    Returns a new array or tensor (same dtype and device); the input is never modified.
    """
    if mode not in NOISE_MODES:
        raise ValueError(f"mode must be one of {NOISE_MODES}, got {mode!r}")
    if not 0.0 <= float(randomness) <= 1.0:
        raise ValueError(f"randomness must be in [0, 1], got {randomness}")
    is_tensor = isinstance(fine_labels, torch.Tensor)
    labels = as_label_array(fine_labels, "fine_labels", hierarchy.num_fine)
    coarse = hierarchy.fine_to_coarse[labels]
    procedure = _swap if mode == "swap" else _redraw
    noisy = procedure(labels, coarse, hierarchy.num_coarse, float(randomness), np.random.default_rng(seed))
    if is_tensor:
        return torch.as_tensor(noisy, dtype=fine_labels.dtype, device=fine_labels.device)
    return noisy.astype(np.asarray(fine_labels).dtype, copy=False)


def changed_share(original: LabelArray, noisy: LabelArray) -> float:
    """Share (0–1) of labels that differ between ``original`` and ``noisy`` (same length)."""
    a, b = np.asarray(original), np.asarray(noisy)
    if a.shape != b.shape:
        raise ValueError(f"original and noisy must have one shape, got {a.shape} and {b.shape}")
    return float(np.mean(a != b)) if a.size else 0.0
