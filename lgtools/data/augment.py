"""Batched image augmentation as tensor operations on the training device.

The paper's pipelines were per-image PIL transforms; these functions do the same work on a
whole batch at once (no Python loop over images), which is what makes ``lgtools.training.loop`` fast:

- ``random_crop_flip``: torchvision's ``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip``
  (zero padding, an independent offset and flip per image) — the CIFAR recipe.
- ``random_resized_crop_flip``: ``RandomResizedCrop(size)`` + flip through one affine
  ``grid_sample`` per batch — the ImageNet-subset recipe. Bilinear without antialiasing, so strong
  down-scaling is slightly sharper than torchvision's antialiased resize.
- ``eval_transform`` (resize + ``center_crop``) for the test set, ``normalize`` for both.

Random draws come from an explicit ``torch.Generator`` (on the images' device) so that runs are
reproducible and resumable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def crop_flip_params(n: int, padding: int, generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
    """Draw per-image crop offsets (top, left in [0, 2·padding]) and flip flags."""
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    gen_device = generator.device if generator is not None else device
    top = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=gen_device)
    left = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=gen_device)
    flip = torch.rand(n, generator=generator, device=gen_device) < 0.5
    return top.to(device), left.to(device), flip.to(device)


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Indices outside [0, size) mirrored back in, without repeating the edge (numpy's "reflect")."""
    index = index.abs()
    return torch.where(index > size - 1, 2 * (size - 1) - index, index)


def apply_crop_flip(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, flip: torch.Tensor,
                    padding: int, mode: str = "zeros") -> torch.Tensor:
    """Pad ``x`` (N×C×H×W) by ``padding`` ("zeros" or "reflect"), gather each image's window, mirrored where ``flip``."""
    n, c, h, w = x.shape
    if mode == "reflect":  # read the window straight from the image, indices mirrored at the borders
        if padding >= min(h, w):
            raise ValueError(f"padding must be < the image side {min(h, w)} for reflect padding, got {padding}")
        rows = _reflect(top[:, None] + torch.arange(h, device=x.device) - padding, h)  # N×H
        cols = torch.arange(w, device=x.device).expand(n, w)
        cols = _reflect(torch.where(flip[:, None], cols.flip(1), cols) + left[:, None] - padding, w)  # N×W
        out = x.gather(2, rows[:, None, :, None].expand(n, c, h, w))
        return out.gather(3, cols[:, None, None, :].expand(n, c, h, w))
    if mode != "zeros":
        raise ValueError(f"mode must be 'zeros' or 'reflect', got {mode!r}")
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = top[:, None] + torch.arange(h, device=x.device)  # N×H
    cols = torch.arange(w, device=x.device).expand(n, w)
    # A horizontal flip is just the column index read backwards.
    cols = torch.where(flip[:, None], cols.flip(1), cols) + left[:, None]  # N×W
    out = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * padding))
    return out.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def random_crop_flip(x: torch.Tensor, padding: int = 4,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """RandomCrop(H, padding) + RandomHorizontalFlip on a batch; dtype and shape are kept."""
    top, left, flip = crop_flip_params(x.shape[0], padding, generator, x.device)
    return apply_crop_flip(x, top, left, flip, padding)


def resized_crop_boxes(n: int, height: int, width: int, scale: tuple[float, float],
                       ratio: tuple[float, float], generator: torch.Generator | None = None,
                       device: torch.device | str = "cpu", attempts: int = 10) -> torch.Tensor:
    """Crop boxes (top, left, h, w) as float N×4, drawn like torchvision's RandomResizedCrop."""
    if not (0 < scale[0] <= scale[1] <= 1):
        raise ValueError(f"scale must satisfy 0 < min <= max <= 1, got {scale}")
    if not (0 < ratio[0] <= ratio[1]):
        raise ValueError(f"ratio must satisfy 0 < min <= max, got {ratio}")
    gen_device = generator.device if generator is not None else device
    area = height * width

    def uniform(lo: float, hi: float, shape: tuple[int, ...]) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(shape, generator=generator, device=gen_device)

    # All attempts of all images at once; each image keeps its first box that fits.
    target = area * uniform(scale[0], scale[1], (n, attempts))
    aspect = torch.exp(uniform(math.log(ratio[0]), math.log(ratio[1]), (n, attempts)))
    w = torch.round(torch.sqrt(target * aspect))
    h = torch.round(torch.sqrt(target / aspect))
    fits = (w > 0) & (h > 0) & (w <= width) & (h <= height)
    first = torch.argmax(fits.int(), dim=1)
    pick = torch.arange(n, device=gen_device)
    w, h, ok = w[pick, first], h[pick, first], fits.any(dim=1)
    top = torch.floor(uniform(0, 1, (n,)) * (height - h + 1))
    left = torch.floor(uniform(0, 1, (n,)) * (width - w + 1))
    # Fallback as torchvision: the largest centred crop with the ratio clamped into range.
    in_ratio = width / height
    fw, fh = float(width), float(height)
    if in_ratio < ratio[0]:
        fh = float(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        fw = float(round(height * ratio[1]))
    boxes = torch.stack([top, left, h, w], dim=1)
    # Filled on the device: a tensor built from Python numbers would be a blocking host copy.
    fallback = torch.stack([torch.full_like(top, v) for v in ((height - fh) // 2, (width - fw) // 2,
                                                                fh, fw)], dim=1)
    return torch.where(ok[:, None], boxes, fallback).to(device)


def random_resized_crop_flip(x: torch.Tensor, size: int, scale: tuple[float, float] = (0.08, 1.0),
                             ratio: tuple[float, float] = (3 / 4, 4 / 3),
                             generator: torch.Generator | None = None) -> torch.Tensor:
    """RandomResizedCrop(size) + RandomHorizontalFlip on a batch; returns float32 in 0…255."""
    n, _, height, width = x.shape
    boxes = resized_crop_boxes(n, height, width, scale, ratio, generator, x.device)
    gen_device = generator.device if generator is not None else x.device
    flip = (torch.rand(n, generator=generator, device=gen_device) < 0.5).to(x.device)
    top, left, h, w = boxes.unbind(1)
    # Affine map from output coords in [-1, 1] to the box in input coords (align_corners=False).
    theta = torch.zeros(n, 2, 3, device=x.device)
    theta[:, 0, 0] = torch.where(flip, -w / width, w / width)
    theta[:, 0, 2] = (2 * left + w) / width - 1
    theta[:, 1, 1] = h / height
    theta[:, 1, 2] = (2 * top + h) / height - 1
    grid = F.affine_grid(theta, [n, x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border",
                         align_corners=False)


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size``×``size`` window of every image."""
    h, w = x.shape[-2:]
    if size > min(h, w):
        raise ValueError(f"size must be <= the image side {min(h, w)}, got {size}")
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top:top + size, left:left + size]


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize so the shorter side is ``size`` (bilinear, antialiased); returns float32."""
    h, w = x.shape[-2:]
    if min(h, w) == size:
        return x.float()
    scale = size / min(h, w)
    out_hw = (max(size, round(h * scale)), max(size, round(w * scale)))
    return F.interpolate(x.float(), size=out_hw, mode="bilinear", antialias=True,
                         align_corners=False)


def eval_transform(x: torch.Tensor, size: int) -> torch.Tensor:
    """Test transform: identity at the training size, else resize to size/0.875 + centre crop."""
    if tuple(x.shape[-2:]) == (size, size):
        return x
    # ImageNet's 256 → 224 convention.
    return center_crop(resize(x, round(size / 0.875)), size)


def normalize(x: torch.Tensor, mean: Sequence[float] | torch.Tensor,
              std: Sequence[float] | torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Map 0…255 pixels (uint8 or float) to (x/255 − mean)/std per channel, cast to ``dtype``.

    Pass ``mean``/``std`` as tensors already on ``x``'s device inside a training loop: building
    them from Python floats would copy host → device (and wait for the GPU) on every call.
    """
    mean_t = torch.as_tensor(mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return ((x.float() - 255 * mean_t) / (255 * std_t)).to(dtype)
