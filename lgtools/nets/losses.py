"""Training losses that know the class hierarchy, for fine-label training on a two-level tree.

Every loss maps (fine logits, fine targets) to a scalar and is chosen by name (``LOSSES``) with one
parameter ``loss_param``:

- ``"cross_entropy"``: softmax cross-entropy (``loss_param`` unused; label smoothing applies here only).
- ``"coarse_constraint"``: cross-entropy plus ``b`` times a sigmoid binary cross-entropy of the logits
  against the multi-hot vector of the fine classes that share the target's coarse class (the
  coarse-label-constraint loss, ``../shared/papers/coarse-label-constraints-loss.txt``); ``b = loss_param``.
- ``"hierarchical"``: Bertinetto et al.'s hierarchical cross-entropy on the tree root → coarse → fine:
  −[λ₀ log p(fine | coarse) + λ₁ log p(coarse)] with λ_h = exp(−α·h), h the height of the node
  (fine 0, coarse 1); ``α = loss_param``. At α = 0 it is the cross-entropy.
- ``"soft_labels"``: cross-entropy against Bertinetto et al.'s soft target q_j ∝ exp(−β·d(y, j)),
  d the height of the lowest common ancestor (0 same class, 1 same coarse class, 2 otherwise);
  ``β = loss_param`` (large β tends to the one-hot target).
- ``"multitask"``: a second, coarse head beside the fine one (``lgtools.nets.models``, ``coarse_head``):
  cross-entropy of the fine head plus λ times the cross-entropy of the coarse head against the target's
  coarse class; ``λ = loss_param``. Its forward takes the coarse head's logits as a third argument.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

LOSSES = ("cross_entropy", "coarse_constraint", "hierarchical", "soft_labels", "multitask")
# The parameter each loss reads from ``loss_param``, and the range it may take.
LOSS_PARAMS = {"cross_entropy": None, "coarse_constraint": ("b", 0.0, None),
               "hierarchical": ("alpha", 0.0, None), "soft_labels": ("beta", 0.0, None),
               "multitask": ("lambda", 0.0, None)}


def tree_distance(fine_to_coarse: Sequence[int]) -> torch.Tensor:
    """Height of the lowest common ancestor of every pair of fine classes: 0 same, 1 same coarse class, 2 else."""
    f2c = torch.as_tensor(list(fine_to_coarse))
    same_coarse = f2c[:, None] == f2c[None, :]
    distance = torch.where(same_coarse, 1, 2)
    distance.fill_diagonal_(0)
    return distance


def check_loss(loss: str, loss_param: float, labels: str) -> None:
    """Raise ValueError naming the field when ``loss``/``loss_param`` are not allowed (before any work)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if loss != "cross_entropy" and labels != "fine":
        raise ValueError(f"loss {loss!r} needs labels='fine' (it uses the fine classes' hierarchy), got {labels!r}")
    spec = LOSS_PARAMS[loss]
    if spec is None:
        if loss_param != 0:
            raise ValueError(f"loss_param must be 0 with loss 'cross_entropy' (it has no parameter), got {loss_param!r}")
        return
    name, low, _ = spec
    if loss_param < low:
        raise ValueError(f"loss_param ({name} of loss {loss!r}) must be >= {low}, got {loss_param!r}")


class HierarchyLoss(nn.Module):
    """One of ``LOSSES`` over fine logits, with the hierarchy it needs held as buffers."""

    def __init__(self, loss: str, fine_to_coarse: Sequence[int], loss_param: float = 0.0,
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        check_loss(loss, loss_param, "fine")
        self.loss, self.param, self.label_smoothing = loss, float(loss_param), float(label_smoothing)
        f2c = torch.as_tensor(list(fine_to_coarse), dtype=torch.long)
        num_coarse = int(f2c.max()) + 1
        self.register_buffer("fine_to_coarse", f2c)
        self.register_buffer("membership", F.one_hot(f2c, num_coarse).float())  # fine × coarse
        self.register_buffer("distance", tree_distance(f2c.tolist()).float())

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                coarse_logits: torch.Tensor | None = None) -> torch.Tensor:
        """The mean loss over the batch (``coarse_logits``: the coarse head's output, for ``"multitask"`` only)."""
        if (coarse_logits is not None) != (self.loss == "multitask"):
            raise ValueError(f"loss {self.loss!r} {'needs' if self.loss == 'multitask' else 'takes no'} "
                             "coarse_logits (a network with a coarse head goes with loss 'multitask' only)")
        if self.loss == "multitask":
            return (F.cross_entropy(logits, target, label_smoothing=self.label_smoothing)
                    + self.param * F.cross_entropy(coarse_logits, self.fine_to_coarse[target]))
        if self.loss == "cross_entropy":
            return F.cross_entropy(logits, target, label_smoothing=self.label_smoothing)
        if self.loss == "coarse_constraint":
            same = self.membership[:, self.fine_to_coarse[target]].T  # batch × fine: shares the target's coarse
            return (F.cross_entropy(logits, target)
                    + self.param * F.binary_cross_entropy_with_logits(logits, same))
        log_p = F.log_softmax(logits, dim=1)
        if self.loss == "hierarchical":
            log_coarse = torch.logsumexp(log_p[:, :, None] + torch.log(self.membership)[None], dim=1)
            coarse = self.fine_to_coarse[target]
            log_fine = log_p.gather(1, target[:, None])[:, 0]
            log_c = log_coarse.gather(1, coarse[:, None])[:, 0]
            return -(log_fine - log_c + math.exp(-self.param) * log_c).mean()
        soft = torch.softmax(-self.param * self.distance[target], dim=1)  # soft_labels
        return -(soft * log_p).sum(dim=1).mean()
