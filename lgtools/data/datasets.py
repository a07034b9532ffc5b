"""Datasets as one uint8 tensor: load, select classes through a hierarchy, subsample.

Every loader returns a `Dataset` whose images are a single CPU uint8 tensor N×C×H×W, so that
the training loop can move it to the device once and draw batches by index (issue 4). Sources
that need decoding (the JPEG ``.npz`` copy of CIFAR-10, image folders) are decoded once by
`lgtools.data.sources` and cached as ``.npy`` files in ``$LGTOOLS_CACHE`` (default
``~/.cache/lgtools``); later loads read the cache in a fraction of a second. Chapters 1–3 and
every training run start here.

Names (`load_dataset`):

- ``"synthetic"``: the embedded shapes-and-textures data (`lgtools.data.synthetic`), offline.
- ``"digits"``: scikit-learn's bundled 8×8 digits, upsampled to 32×32 RGB; fixed 70/30 split.
- ``"cifar10"``, ``"cifar100"``: ``root`` is a torchvision CIFAR root (the folder holding
  ``cifar-10-batches-py``/``cifar-100-python``, or that folder itself); for CIFAR-10 it may
  also be the offline ``cifar10-jpeg.npz`` file. ``download=True`` fetches through torchvision.
- ``"imagefolder"``: ``root/<split>/<class>/<image>``; split ``"test"`` reads ``root/test``
  or, if absent, ``root/val`` (and ``"val"`` the other way round). Images are stored at
  ``image_size`` (default 32): shorter side resized, then centre-cropped; the training path
  does its own random crops. With an ImageNet hierarchy (e.g. ``"imagenet_dog_cat"``) only
  the folders of its fine classes are read, named by WordNet id (or by class name).

The split ``"val"`` is an alias of ``"test"`` for every dataset.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lgtools.data import sources, synthetic
from lgtools.labels.builtin import as_hierarchy, get_hierarchy
from lgtools.labels.hierarchy import Hierarchy
from lgtools.labels.validate import as_label_array

DATASETS = ("synthetic", "digits", "cifar10", "cifar100", "imagefolder")
SPLITS = ("train", "test", "val")
# A run's part of the training images (``training_part``): all of them, or one of two disjoint halves.
TRAIN_PARTS = ("all", "a", "b")
PART_SEED = 2303_16887  # the halves' fixed random_state (Hong et al.'s arXiv number): no run's seed moves them
SYNTHETIC_SIZES = {"train": (500, 0), "test": (200, 1)}  # images per class, generator seed

# Per-channel mean/std in 0…1 units, used to normalise on the device. CIFAR and ImageNet: the
# usual published values; synthetic and digits: measured once on their default train split.
_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "imagefolder": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "synthetic": ((0.4948, 0.4995, 0.4906), (0.2737, 0.2737, 0.2739)),
    "digits": ((0.3057, 0.3057, 0.3057), (0.3240, 0.3240, 0.3240)),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of a dataset: uint8 images N×C×H×W (CPU), int64 fine labels, names, hierarchy."""

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    hierarchy: Hierarchy

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be a uint8 tensor N×C×H×W, got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels must be int64 with one entry per image ({self.images.shape[0]})")
        if tuple(self.classes) != self.hierarchy.fine_names:
            raise ValueError("classes must equal hierarchy.fine_names (the label order)")

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def dataset_stats(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) in 0…1 units for normalising ``name``'s images."""
    if name not in _STATS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return _STATS[name]


def load_dataset(name: str, split: str = "train", root: str | os.PathLike | None = None,
                 download: bool = False, hierarchy: Hierarchy | str | None = None,
                 image_size: int | None = None) -> Dataset:
    """Load one split as a `Dataset`; ``hierarchy`` (name, bits string or object) may select classes."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)} (val = test), got {split!r}")
    if image_size is not None and (not isinstance(image_size, int) or image_size < 8):
        raise ValueError(f"image_size must be None or an integer >= 8 (pixels), got {image_size!r}")
    train = split == "train"
    if name == "imagefolder":
        images, labels, h = sources.image_folder_arrays(root, split, hierarchy, image_size or 32)
        return Dataset(name, split, torch.from_numpy(images), torch.from_numpy(labels), h.fine_names, h)
    if name == "synthetic":
        n_per_class, seed = SYNTHETIC_SIZES["train" if train else "test"]
        images, labels = sources.synthetic_arrays(n_per_class, seed, image_size or 32)
        classes = synthetic.CLASSES
    elif name == "digits":
        images, labels, classes = sources.digits_arrays(train, image_size or 32)
    else:
        if image_size not in (None, 32):
            raise ValueError(f"image_size must be None or 32 for {name} (stored at 32×32), got {image_size}")
        images, labels, classes = sources.cifar_arrays(name, root, train, download)
    default = get_hierarchy(name)
    if default.fine_names != tuple(classes):
        raise ValueError(f"{name}: the data's class names {list(classes)[:5]}… differ from the built-in "
                         f"hierarchy's {list(default.fine_names)[:5]}… (a malformed meta file?)")
    return _select(name, split, torch.from_numpy(images), torch.from_numpy(labels), default,
                   _resolve(hierarchy, tuple(classes), default))


# ----------------------------------------------------------------------------- hierarchies

def _resolve(spec: Hierarchy | str | None, classes: tuple[str, ...], default: Hierarchy) -> Hierarchy:
    """The hierarchy a ``hierarchy=`` argument names, checked against the dataset's classes."""
    if spec is None:
        return default
    h = as_hierarchy(spec, classes)
    missing = [f for f in h.fine_names if f not in classes]
    if missing:
        raise ValueError(f"hierarchy {h.name!r} has fine classes not in the dataset: {missing[:10]}; "
                         f"the dataset's classes are {list(classes)[:20]}")
    return h


def _select(name: str, split: str, images: torch.Tensor, labels: torch.Tensor,
            default: Hierarchy, h: Hierarchy) -> Dataset:
    """Keep the samples of ``h``'s fine classes, relabelled in ``h``'s order."""
    if h.fine_names != default.fine_names:
        lookup = torch.full((default.num_fine,), -1, dtype=torch.int64)
        for new, fine in enumerate(h.fine_names):
            lookup[default.fine_names.index(fine)] = new
        mapped = lookup[labels]
        keep = torch.nonzero(mapped >= 0).squeeze(1)
        images, labels = images[keep], mapped[keep]
    return Dataset(name, split, images.contiguous(), labels.contiguous(), h.fine_names, h)


# ----------------------------------------------------------------------------- subsets

def subsample(labels: np.ndarray | torch.Tensor | Sequence[int], ratio: float, seed: int = 0) -> np.ndarray:
    """Sorted indices keeping ``ratio`` of every fine class (at least one each); Fig 2's protocol."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise ValueError(f"ratio must be a number in (0, 1], got {ratio!r}")
    array = as_label_array(labels, "labels")
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(array):
        members = np.flatnonzero(array == c)
        keep.append(rng.permutation(members)[: max(1, round(ratio * len(members)))])
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)


def training_part(labels: np.ndarray | torch.Tensor | Sequence[int], part: str) -> np.ndarray:
    """Sorted indices of ``part`` of a training set: ``"all"``, or half ``"a"`` / ``"b"``, stratified by class, one split for every seed.

    The halves are scikit-learn's ``train_test_split`` (``test_size=0.5``, ``stratify=labels``,
    ``random_state=PART_SEED``): disjoint, together the whole set, each class split as evenly as its
    count allows (the halves' counts of a class differ by at most one image), whatever a run's seed. Every class needs
    at least 2 images. The split is of the set as given (for a run: the dataset as its hierarchy selects it).
    """
    if part not in TRAIN_PARTS:
        raise ValueError(f"part must be one of {TRAIN_PARTS}, got {part!r}")
    array = as_label_array(labels, "labels")
    everything = np.arange(len(array))
    if part == "all":
        return everything
    from sklearn.model_selection import train_test_split

    half_a, half_b = train_test_split(everything, test_size=0.5, stratify=array, random_state=PART_SEED)
    return np.sort(half_a if part == "a" else half_b)


def stratified_cap(labels: np.ndarray | torch.Tensor | Sequence[int], max_n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_n`` samples with the class proportions kept (tiny runs)."""
    if isinstance(max_n, bool) or not isinstance(max_n, (int, np.integer)) or max_n < 1:
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}")
    array = as_label_array(labels, "labels")
    if max_n >= len(array):
        return np.arange(len(array))
    classes, counts = np.unique(array, return_counts=True)
    share = counts * max_n / len(array)
    quota = np.floor(share).astype(int)
    # Largest remainders get the leftover places, ties to the lower class index.
    for k in np.argsort(-(share - quota), kind="stable")[: max_n - quota.sum()]:
        quota[k] += 1
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(np.flatnonzero(array == c))[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(keep))
