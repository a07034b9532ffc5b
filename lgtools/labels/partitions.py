"""Partitions of a set of fine classes into coarse classes that no annotator drew (controls, Fig 6)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lgtools.labels.hierarchy import Hierarchy


def random_partition(
    fine_names: Sequence[str], sizes: Sequence[int], seed: int = 0, name: str | None = None
) -> Hierarchy:
    """A random hierarchy whose coarse classes "0", "1", … have the given numbers of fine classes."""
    fine = tuple(str(f) for f in fine_names)
    sizes = [int(s) for s in sizes]
    if not sizes or any(s < 1 for s in sizes) or sum(sizes) != len(fine):
        raise ValueError(f"sizes {sizes} must be positive and sum to the number of fine classes ({len(fine)})")
    order = np.random.default_rng(seed).permutation(len(fine))
    codes = np.empty(len(fine), dtype=np.int64)
    codes[order] = np.repeat(np.arange(len(sizes)), sizes)
    return Hierarchy(fine, tuple(str(k) for k in range(len(sizes))), codes, name or f"random_{seed}")
