"""Label noise of Section VI-B: fine labels redrawn inside their coarse class."""

from __future__ import annotations

import numpy as np
import torch

from lgtools.labels.hierarchy import Hierarchy, LabelArray
from lgtools.labels.validate import as_label_array


def add_label_noise(
    fine_labels: LabelArray, hierarchy: Hierarchy, randomness: float, seed: int = 0
) -> LabelArray:
    """Section VI-B noise: with probability `randomness` a sample takes the fine label of a random same-coarse sample.

    The partner is drawn from the *original* labels of the samples sharing the coarse class, so
    the result does not depend on sample order and coarse labels never change. A changed label
    is therefore a fresh draw from that coarse class's fine-label distribution: with k balanced
    fine classes per coarse class about `randomness * (1 - 1/k)` of the labels change. (The
    authors' code swapped label pairs in a loop instead; see the book's erratum list.)
    Returns a new array or tensor (same dtype and device); the input is never modified.
    """
    if not 0.0 <= float(randomness) <= 1.0:
        raise ValueError(f"randomness must be in [0, 1], got {randomness}")
    is_tensor = isinstance(fine_labels, torch.Tensor)
    labels = as_label_array(fine_labels, "fine_labels", hierarchy.num_fine)
    noisy = labels.copy()
    rng = np.random.default_rng(seed)
    chosen = rng.random(labels.shape[0]) < float(randomness)
    coarse = hierarchy.fine_to_coarse[labels]
    for c in range(hierarchy.num_coarse):
        pool = labels[coarse == c]  # original fine labels of this coarse class
        targets = np.flatnonzero(chosen & (coarse == c))
        if targets.size:
            noisy[targets] = pool[rng.integers(0, pool.size, size=targets.size)]
    if is_tensor:
        return torch.as_tensor(noisy, dtype=fine_labels.dtype, device=fine_labels.device)
    return noisy.astype(np.asarray(fine_labels).dtype, copy=False)
