"""The embedded ``"synthetic"`` dataset: 12 fine classes of shapes and textures, made offline.

Every chapter's default run trains on it, so it must be quick to make (6,000 images in well
under two seconds) and hard enough that a small CNN stays below 100 % after a few CPU epochs.
Each of the 4 coarse classes (``lgtools.labels``, built-in ``"synthetic"``) unites fine
classes of different geometry (a disc, a ring and a crescent), so a coarse class is
multi-modal the way CIFAR's "animal" is; its members share a look (dome shading for round
objects, a crisp outline for polygons), as animals share fur. Fine classes of one coarse class
overlap on purpose (a thick crescent is nearly a disc, stripe orientations are jittered past
the halfway angle), while clutter, colour noise and distractors keep every class from being
trivially separable. Measured with a 3-stage CNN (32-64-128 filters), 6,000 training images,
one-cycle SGD: about 66 % fine / 90 % coarse-mapped test accuracy after 3 epochs and 86 % / 96 %
after 8, with two to three of every four fine errors inside their coarse class.

All geometry is written as signed distances (negative inside) in image coordinates
normalised to [-1, 1], turned into anti-aliased coverage with a one-pixel ramp; a whole
class is drawn at once with broadcasting, never image by image.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

# Label order of the fine classes; lgtools.labels groups them into coarse classes.
CLASSES: tuple[str, ...] = (
    "disc", "ring", "crescent",
    "square", "triangle", "cross",
    "hstripes", "vstripes", "dstripes",
    "checker", "dots", "blotches",
)

_STRIPE_JITTER = np.deg2rad(25.0)  # orientation noise; past 22.5° some stripes are ambiguous
_POLYGON_TILT = np.deg2rad(25.0)  # rotation range of squares, triangles and crosses


def _upsample(rng: np.random.Generator, n: int, cells: int, size: int) -> np.ndarray:
    """Smooth random fields (n×size×size, unit variance-ish) by bilinear upsampling."""
    coarse = rng.standard_normal((n, cells, cells), np.float32)
    # Bilinear interpolation as a matrix, so upsampling is two batched matmuls.
    pos = (np.arange(size) + 0.5) / size * (cells - 1)
    low = np.clip(np.floor(pos).astype(int), 0, cells - 2)
    frac = (pos - low).astype(np.float32)
    interp = np.zeros((size, cells), np.float32)
    interp[np.arange(size), low] = 1 - frac
    interp[np.arange(size), low + 1] = frac
    return interp @ coarse @ interp.T


def _uniform(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    """n uniform draws shaped n×1×1 so they broadcast over an image."""
    return rng.uniform(low, high, n).astype(np.float32)[:, None, None]


def _frame(rng: np.random.Generator, n: int, grid: tuple[np.ndarray, np.ndarray],
           radius: np.ndarray, angle: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates (u, v) of each pixel in a randomly placed and rotated frame."""
    x, y = grid
    reach = np.clip(1.0 - radius, 0.05, None) * 0.8  # keep most of the shape inside the image
    cx = rng.uniform(-1, 1, n).astype(np.float32)[:, None, None] * reach
    cy = rng.uniform(-1, 1, n).astype(np.float32)[:, None, None] * reach
    if angle is None:
        angle = _uniform(rng, n, 0.0, 2 * np.pi)
    cos, sin = np.cos(angle), np.sin(angle)
    dx, dy = x - cx, y - cy
    return cos * dx + sin * dy, -sin * dx + cos * dy


def _region(rng: np.random.Generator, n: int, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Signed distance of a large rotated window that textures are drawn inside."""
    half = _uniform(rng, n, 0.7, 1.2)
    u, v = _frame(rng, n, grid, half * 0.6)
    return np.maximum(np.abs(u), np.abs(v)) - half


def _tilt(rng: np.random.Generator, n: int) -> np.ndarray:
    """Small rotations: polygons stay roughly upright, which a small CNN learns quickly."""
    return _uniform(rng, n, -_POLYGON_TILT, _POLYGON_TILT)


# Each drawer returns signed distances (n×H×W) of one class's pattern; px is one pixel.
def _disc(rng, n, grid, px):
    radius = _uniform(rng, n, 0.4, 0.8)
    u, v = _frame(rng, n, grid, radius)
    return np.hypot(u, v) - radius


def _ring(rng, n, grid, px):
    radius = _uniform(rng, n, 0.45, 0.85)
    width = np.maximum(radius * _uniform(rng, n, 0.15, 0.5), 1.5 * px)
    u, v = _frame(rng, n, grid, radius)
    return np.abs(np.hypot(u, v) - (radius - width / 2)) - width / 2


def _crescent(rng, n, grid, px):
    radius = _uniform(rng, n, 0.45, 0.85)
    u, v = _frame(rng, n, grid, radius)
    bite = radius * _uniform(rng, n, 0.85, 1.0)
    shift = radius * _uniform(rng, n, 0.25, 0.6)  # thickness R - bite + shift: thin to disc-like
    return np.maximum(np.hypot(u, v) - radius, bite - np.hypot(u - shift, v))


def _square(rng, n, grid, px):
    half = _uniform(rng, n, 0.35, 0.7)
    aspect = _uniform(rng, n, 0.75, 1.33)  # rectangles too, so "polygon" is not one template
    u, v = _frame(rng, n, grid, half, _tilt(rng, n))
    return np.maximum(np.abs(u) * aspect, np.abs(v) / aspect) - half


def _triangle(rng, n, grid, px):
    radius = _uniform(rng, n, 0.5, 0.9)
    u, v = _frame(rng, n, grid, radius * 0.7, _tilt(rng, n) + np.pi * rng.integers(0, 2, (n, 1, 1)))
    sides = [u * np.cos(a) + v * np.sin(a) for a in (np.pi / 2, np.pi * 7 / 6, np.pi * 11 / 6)]
    return np.maximum(np.maximum(sides[0], sides[1]), sides[2]) - radius / 2


def _cross(rng, n, grid, px):
    arm = _uniform(rng, n, 0.45, 0.8)
    width = np.maximum(arm * _uniform(rng, n, 0.22, 0.5), px)
    u, v = _frame(rng, n, grid, arm, _tilt(rng, n))
    au, av = np.abs(u), np.abs(v)
    return np.minimum(np.maximum(au - arm, av - width), np.maximum(au - width, av - arm))


def _stripes(base_angle: Callable[[np.random.Generator, int], np.ndarray]):
    def draw(rng, n, grid, px):
        period = _uniform(rng, n, 4.0, 9.0) * px
        duty = _uniform(rng, n, 0.35, 0.65)
        angle = base_angle(rng, n) + _uniform(rng, n, -_STRIPE_JITTER, _STRIPE_JITTER)
        u, v = _frame(rng, n, grid, np.full_like(period, 0.5), angle)
        phase = _uniform(rng, n, 0.0, 1.0)
        stripe = (np.abs(np.mod(v / period + phase, 1.0) - 0.5) - duty / 2) * period
        return np.maximum(stripe, _region(rng, n, grid))
    return draw


def _checker(rng, n, grid, px):
    cell = _uniform(rng, n, 3.0, 7.0) * px
    u, v = _frame(rng, n, grid, np.full_like(cell, 0.5))
    # A product of sines changes sign on the cell borders; scaled to roughly pixel units.
    pattern = -np.sin(np.pi * u / cell) * np.sin(np.pi * v / cell) * cell / np.pi
    return np.maximum(pattern, _region(rng, n, grid))


def _dots(rng, n, grid, px):
    spacing = _uniform(rng, n, 5.0, 9.0) * px
    radius = spacing * _uniform(rng, n, 0.2, 0.38)
    u, v = _frame(rng, n, grid, np.full_like(spacing, 0.5))
    du = (np.mod(u / spacing, 1.0) - 0.5) * spacing
    dv = (np.mod(v / spacing, 1.0) - 0.5) * spacing
    return np.maximum(np.hypot(du, dv) - radius, _region(rng, n, grid))


def _blotches(rng, n, grid, px):
    size = grid[0].shape[-1]
    field = _upsample(rng, n, 8, size)
    level = _uniform(rng, n, -0.3, 0.3)
    return np.maximum((level - field) * 0.25, _region(rng, n, grid))


_DRAWERS = (
    _disc, _ring, _crescent,
    _square, _triangle, _cross,
    _stripes(lambda rng, n: np.zeros((n, 1, 1), np.float32)),
    _stripes(lambda rng, n: np.full((n, 1, 1), np.pi / 2, np.float32)),
    _stripes(lambda rng, n: rng.choice([np.pi / 4, -np.pi / 4], n).astype(np.float32)[:, None, None]),
    _checker, _dots, _blotches,
)


# How each class's pattern is painted. Fine classes of one coarse class (lgtools.labels,
# "synthetic") share a look, as animals share fur and vehicles metal: round objects are
# shaded like domes, polygons are flat with a crisp outline in the complementary colour.
_STYLES = ("dome",) * 3 + ("outline",) * 3 + ("flat",) * 6


def _coverage(distance: np.ndarray, px: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from signed distances, with a one-pixel ramp."""
    return np.clip(0.5 - distance / px, 0.0, 1.0)


def _segments(rng: np.random.Generator, n: int, grid: tuple[np.ndarray, np.ndarray],
              px: float) -> np.ndarray:
    """Coverage of one random thin line segment per image (a distractor)."""
    half = _uniform(rng, n, 0.2, 0.7)
    u, v = _frame(rng, n, grid, half * 0.5)
    width = _uniform(rng, n, 0.5, 1.2) * px
    distance = np.hypot(np.maximum(np.abs(u) - half, 0.0), v) - width
    return _coverage(distance, px)


def make_synthetic(n_per_class: int, seed: int = 0, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n_per_class`` images of each of the 12 classes: (uint8 N×3×H×W, int64 N), shuffled."""
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer >= 8 (pixels), got {size!r}")
    rng = np.random.default_rng(seed)
    n = len(CLASSES) * int(n_per_class)
    labels = rng.permutation(np.repeat(np.arange(len(CLASSES)), n_per_class))
    axis = ((np.arange(size) + 0.5) / size * 2 - 1).astype(np.float32)
    grid = (axis[None, None, :], axis[None, :, None])  # x varies along columns, y along rows
    px = 2.0 / size

    shape = np.empty((n, size, size), np.float32)
    shade = np.ones((n, size, size), np.float32)  # multiplies the pattern's colour
    outline = np.zeros((n, size, size), np.float32)  # mixes it towards its complement
    for label, (draw, style) in enumerate(zip(_DRAWERS, _STYLES)):
        index = np.flatnonzero(labels == label)
        distance = draw(rng, len(index), grid, px)
        shape[index] = _coverage(distance, px)
        if style == "dome":
            shade[index] = 0.45 + 0.65 * np.sqrt(np.clip(-distance / 0.35, 0.0, 1.0))
        elif style == "outline":
            outline[index] = _coverage(np.abs(distance + 0.8 * px) - 0.8 * px, px)

    # Background: a random colour, slow colour drifts and a faint clutter texture.
    base = rng.uniform(0, 1, (n, 3, 1, 1)).astype(np.float32)
    drift = _upsample(rng, 3 * n, 4, size).reshape(n, 3, size, size)
    image = base + drift * _uniform(rng, n, 0.03, 0.15)[:, None]
    clutter = _coverage((_uniform(rng, n, 0.3, 1.2) - _upsample(rng, n, 8, size)) * 0.2, px)
    clutter_colour = rng.uniform(0, 1, (n, 3, 1, 1)).astype(np.float32)
    clutter_alpha = _uniform(rng, n, 0.0, 0.25)[:, None]
    image += (clutter_colour - image) * clutter[:, None] * clutter_alpha

    # Foreground colour at least a minimum distance from the background colour, so the
    # pattern is visible in most images (but not always strongly).
    colour = rng.uniform(0, 1, (n, 3, 1, 1)).astype(np.float32)
    offset = colour - base
    norm = np.linalg.norm(offset, axis=1, keepdims=True) + 1e-6
    wanted = np.maximum(norm, rng.uniform(0.5, 0.8, (n, 1, 1, 1)).astype(np.float32))
    colour = np.clip(base + offset * (wanted / norm), 0, 1)
    alpha = _uniform(rng, n, 0.85, 1.0)[:, None]
    colour = colour * shade[:, None] + (1 - 2 * colour) * outline[:, None]
    image += (colour - image) * (shape * alpha[:, 0])[:, None]

    # Distractor: a thin line of another colour in 40 % of the images.
    line = _segments(rng, n, grid, px) * (rng.uniform(0, 1, n) < 0.4)[:, None, None]
    line_colour = rng.uniform(0, 1, (n, 3, 1, 1)).astype(np.float32)
    image += (line_colour - image) * line[:, None]

    # Photometric jitter and sensor noise (uniform noise: as good here, and cheaper to draw).
    mean = image.mean(axis=(1, 2, 3), keepdims=True)
    image = (image - mean) * _uniform(rng, n, 0.7, 1.2)[:, None] + mean * _uniform(rng, n, 0.8, 1.2)[:, None]
    noise = rng.random((n, 3, size, size), np.float32) - 0.5
    noise *= _uniform(rng, n, 0.03, 0.25)[:, None]  # std 0.01 to 0.07
    image += noise
    # Distractor: scattered pixels of random colours (up to 3 % of an image).
    speckle = np.nonzero(rng.random((n, size, size), np.float32) < _uniform(rng, n, 0.0, 0.03))
    image[speckle[0], :, speckle[1], speckle[2]] = rng.random((len(speckle[0]), 3), np.float32)
    images = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return images, labels.astype(np.int64)
