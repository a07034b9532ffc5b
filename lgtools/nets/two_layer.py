"""The two-layer convolutional ReLU network of Hong et al.'s analysis, for the planted-feature data.

Each output class ``j`` owns ``filters`` filters ``w_{j,r}``; a filter slides over the patches (a
convolution with the patch as its stride) and the class score sums ReLU responses over filters and
patches: ``F_j(x) = Σ_r Σ_p ReLU(<w_{j,r}, x_p>)``. There is no second trained layer, as in the
analysis, so what a class responds to is read straight off its filters.
"""

from __future__ import annotations

import torch
from torch import nn


class TwoLayerConv(nn.Module):
    """``num_classes`` × ``filters`` patch filters of size ``dim``, ReLU, summed per class."""

    def __init__(self, dim: int, num_classes: int, filters: int = 4, init_scale: float = 0.01):
        super().__init__()
        if num_classes < 2 or filters < 1 or dim < 1:
            raise ValueError(f"need dim >= 1, num_classes >= 2, filters >= 1; got {dim}, {num_classes}, {filters}")
        self.weight = nn.Parameter(init_scale * torch.randn(num_classes, filters, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (batch, num_classes) of patches ``x`` (batch, patches, dim)."""
        responses = torch.einsum("bpd,crd->bcrp", x, self.weight)
        return torch.relu(responses).sum(dim=(2, 3))
