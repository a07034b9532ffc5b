"""A planted-feature dataset in the spirit of Hong et al.'s (2023) hierarchical multi-view model.

Hong et al. analyse a two-layer convolutional ReLU network on data made of patches: each image
carries features its coarse class shares (common, easy to learn) and features only its fine class
has (rarer, harder); some samples are *hard*, their common feature weak. Their claim: training on
coarse labels learns the common features only, training on fine labels also the fine ones, which
rescues the hard samples. This module builds such data (our own construction of that idea, not
their exact distribution), so the claim can be watched in CPU-seconds:

- ``num_coarse`` coarse classes of ``fine_per_coarse`` fine classes each; one unit vector per coarse
  class (its common feature) and one per fine class, all orthonormal in ``dim`` dimensions.
- An image is ``patches`` patch vectors of Gaussian noise (``noise`` per coordinate); one patch
  holds the common feature times ``strength`` (times ``hard_strength`` for a hard sample, a share
  ``hard_share`` of the images), another the fine feature times ``fine_strength``.

``MultiView`` keeps the planted features, so a trained network's filters can be compared with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MultiView:
    """Images (n, patches, dim), fine and coarse labels, the hard-sample mask and the planted features."""

    x: np.ndarray
    fine: np.ndarray
    coarse: np.ndarray
    hard: np.ndarray  # True where the common feature is weak
    common: np.ndarray  # (num_coarse, dim): the coarse classes' shared features
    fine_features: np.ndarray  # (num_fine, dim): each fine class's own feature
    fine_to_coarse: np.ndarray


def make_multiview(n: int, num_coarse: int = 2, fine_per_coarse: int = 3, dim: int = 64, patches: int = 8,
                   strength: float = 1.0, hard_strength: float = 0.1, fine_strength: float = 0.7,
                   hard_share: float = 0.2, noise: float = 0.1, seed: int = 0,
                   features_seed: int = 0) -> MultiView:
    """``n`` images of the planted model; ``features_seed`` fixes the features, so train and test sets share them."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    num_fine = num_coarse * fine_per_coarse
    if num_coarse < 2 or fine_per_coarse < 1 or patches < 2 or dim < num_coarse + num_fine:
        raise ValueError(f"need num_coarse >= 2, fine_per_coarse >= 1, patches >= 2 and dim >= num_coarse + "
                         f"num_fine ({num_coarse + num_fine}); got {num_coarse}, {fine_per_coarse}, {patches}, {dim}")
    if not 0 <= hard_share <= 1:
        raise ValueError(f"hard_share must be in [0, 1], got {hard_share!r}")
    basis, _ = np.linalg.qr(np.random.default_rng(features_seed).normal(size=(dim, num_coarse + num_fine)))
    common, fine_features = basis[:, :num_coarse].T, basis[:, num_coarse:].T
    rng = np.random.default_rng(seed)
    fine = rng.integers(0, num_fine, size=n)
    f2c = np.repeat(np.arange(num_coarse), fine_per_coarse)
    coarse = f2c[fine]
    hard = rng.random(n) < hard_share
    x = rng.normal(scale=noise, size=(n, patches, dim))
    where = np.stack([rng.permutation(patches)[:2] for _ in range(n)])  # two distinct patches per image
    rows = np.arange(n)
    x[rows, where[:, 0]] += np.where(hard, hard_strength, strength)[:, None] * common[coarse]
    x[rows, where[:, 1]] += fine_strength * fine_features[fine]
    return MultiView(x.astype(np.float32), fine, coarse, hard, common, fine_features, f2c)
