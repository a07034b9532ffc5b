"""The one check of label arrays: a 1-D array of integer class indices, optionally in range.

Metrics, hierarchies, label noise, subsampling and the result store all take class indices from
callers; they all pass them through ``as_label_array`` so that every bad input gets the same
clear error naming the parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def as_label_array(labels: np.ndarray | torch.Tensor | Sequence[int], what: str,
                   num_classes: int | None = None) -> np.ndarray:
    """``labels`` as int64 numpy; raises ValueError naming ``what`` unless 1-D integer indices in 0..num_classes-1."""
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        integral = array.dtype.kind == "f" and bool(np.all(np.mod(array, 1) == 0))
        if not (integral or array.size == 0 and array.dtype.kind == "f"):
            raise ValueError(f"{what} must hold integer class indices, got dtype {array.dtype}")
    if num_classes is not None and array.size:
        bad = np.unique(array[(array < 0) | (array >= num_classes)])
        if bad.size:
            raise ValueError(f"{what}: values {bad[:10].tolist()} outside 0..{num_classes - 1}")
    return array.astype(np.int64)
