"""The fast CIFAR recipe's network: a frozen patch-whitening layer, then three conv groups.

The design follows Jordan (2024, "94 % on CIFAR-10 in 3.29 seconds on a single GPU", code
KellerJordan/cifar10-airbench), written anew here:

- a 2×2 convolution (3 → 24 channels, with bias) whose weights are the eigenvectors of the
  training images' 2×2-patch covariance, scaled by 1/sqrt(eigenvalue + eps), and their negatives;
  the weights never train (``init_whitening`` sets them from the run's own training images), the
  bias trains for the first ``whiten_bias_epochs`` (the schedule does that), then GELU;
- three groups of conv3×3 → max-pool 2 → BN → GELU → conv3×3 → BN → GELU, widths
  ``width``, 4·``width``, 4·``width`` (64/256/256 is the published network);
- batch norm without a trained scale (weight fixed at 1, bias trained, momentum 0.4, tiny eps),
  convolutions initialised as identities on their first input channels (Dirac), then a
  3×3 max-pool to one pixel, a linear classifier without bias, and logits scaled by 1/9.

``features(x)`` is the classifier's input, as for the other networks.
"""

from __future__ import annotations

import torch
from torch import nn

WHITEN_KERNEL = 2
WHITEN_EPS = 5e-4  # added to each eigenvalue: directions of almost no variance are not blown up
WHITEN_IMAGES = 5000  # training images whose patches estimate the covariance (as the published recipe)
BN_MOMENTUM = 0.4  # torch's convention (weight of the new batch): 1 - 0.6
LOGIT_SCALE = 1 / 9


def _norm(channels: int) -> nn.BatchNorm2d:
    norm = nn.BatchNorm2d(channels, eps=1e-12, momentum=BN_MOMENTUM)
    norm.weight.requires_grad_(False)  # scale fixed at 1: only the shift trains
    return norm


def _conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[:min(cin, cout)])  # start near the identity on the first channels
    return conv


class ConvGroup(nn.Module):
    """conv → max-pool 2 → BN → GELU → conv → BN → GELU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1, self.pool, self.norm1 = _conv(cin, cout), nn.MaxPool2d(2), _norm(cout)
        self.conv2, self.norm2, self.activ = _conv(cout, cout), _norm(cout), nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


class WhitenedCNN(nn.Module):
    """Whitening layer, three ``ConvGroup``s, global max-pool, scaled linear classifier."""

    def __init__(self, num_classes: int, width: int = 64, channels: int = 3):
        super().__init__()
        whiten_width = 2 * channels * WHITEN_KERNEL**2
        self.whiten = nn.Conv2d(channels, whiten_width, WHITEN_KERNEL, padding=0, bias=True)
        self.whiten.weight.requires_grad_(False)
        nn.init.zeros_(self.whiten.bias)
        widths = (width, 4 * width, 4 * width)
        self.groups = nn.Sequential(ConvGroup(whiten_width, widths[0]), ConvGroup(widths[0], widths[1]),
                                    ConvGroup(widths[1], widths[2]))
        self.activ = nn.GELU()
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.classifier = nn.Linear(widths[2], num_classes, bias=False)
        self.num_features = widths[2]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The classifier's input: the pooled output of the last group."""
        return torch.flatten(self.pool(self.groups(self.activ(self.whiten(x)))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)) * LOGIT_SCALE

    def forward_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """(logits, None): this network has no coarse head."""
        return self.forward(x), None


def patch_whitening(x: torch.Tensor, kernel: int = WHITEN_KERNEL, eps: float = WHITEN_EPS) -> torch.Tensor:
    """Weights (2·c·k², c, k, k) that whiten the k×k patches of ``x`` (N×C×H×W, normalised), and their negatives."""
    c = x.shape[1]
    patches = x.float().unfold(2, kernel, 1).unfold(3, kernel, 1)  # N×C×H'×W'×k×k
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * kernel * kernel)
    covariance = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
    scaled = (eigenvectors.T / torch.sqrt(eigenvalues.clamp_min(0) + eps)[:, None]).flip(0)
    weight = scaled.reshape(-1, c, kernel, kernel)
    return torch.cat([weight, -weight])


def init_whitening(model: WhitenedCNN, x: torch.Tensor) -> None:
    """Set ``model``'s whitening weights from normalised training images ``x``."""
    with torch.no_grad():
        model.whiten.weight.copy_(patch_whitening(x, model.whiten.kernel_size[0]).to(model.whiten.weight))
