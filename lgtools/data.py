"""Datasets as one uint8 tensor: load, select classes through a hierarchy, subsample.

Every loader returns a `Dataset` whose images are a single CPU uint8 tensor N×C×H×W, so that
`lgtools.train` can move it to the device once and draw batches by index (issue 4). Sources
that need decoding (the JPEG ``.npz`` copy of CIFAR-10, image folders) are decoded once and
cached as ``.npy`` files in ``$LGTOOLS_CACHE`` (default ``~/.cache/lgtools``); later loads
read the cache in a fraction of a second. Chapters 1–3 and every training run start here.

Names (`load_dataset`):

- ``"synthetic"``: the embedded shapes-and-textures data (`lgtools.synthetic`), offline.
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

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lgtools import synthetic
from lgtools.hierarchy import Hierarchy, get_hierarchy

log = logging.getLogger(__name__)

DATASETS = ("synthetic", "digits", "cifar10", "cifar100", "imagefolder")
SPLITS = ("train", "test", "val")
SYNTHETIC_SIZES = {"train": (500, 0), "test": (200, 1)}  # images per class, generator seed
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
_NPZ_HELP = "python /path/to/shared/data/cifar10_jpeg.py imagefolder DIR (or pass the .npz file itself)"

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


def cache_dir() -> Path:
    """Where decoded datasets are cached: ``$LGTOOLS_CACHE`` or ``~/.cache/lgtools``."""
    return Path(os.environ.get("LGTOOLS_CACHE") or Path.home() / ".cache" / "lgtools")


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
        return _image_folder(root, split, hierarchy, image_size or 32)
    if name == "synthetic":
        n_per_class, seed = SYNTHETIC_SIZES["train" if train else "test"]
        images, labels = _cached_synthetic(n_per_class, seed, image_size or 32)
        classes = synthetic.CLASSES
    elif name == "digits":
        images, labels, classes = _digits(train, image_size or 32)
    else:
        if image_size not in (None, 32):
            raise ValueError(f"image_size must be None or 32 for {name} (stored at 32×32), got {image_size}")
        images, labels, classes = _cifar(name, root, train, download)
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
    h = _as_hierarchy(spec, classes)
    missing = [f for f in h.fine_names if f not in classes]
    if missing:
        raise ValueError(f"hierarchy {h.name!r} has fine classes not in the dataset: {missing[:10]}; "
                         f"the dataset's classes are {list(classes)[:20]}")
    return h


def _as_hierarchy(spec: Hierarchy | str, classes: tuple[str, ...]) -> Hierarchy:
    if isinstance(spec, Hierarchy):
        return spec
    if isinstance(spec, str):
        return Hierarchy.from_bits(classes, spec) if spec.isdigit() else get_hierarchy(spec)
    raise ValueError(f"hierarchy must be None, a built-in name, a bits string or a Hierarchy, got {spec!r}")


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


# ----------------------------------------------------------------------------- cache

def _atomic_save(path: Path, array: np.ndarray) -> None:
    """Write ``array`` so that readers see either no file or the whole file, never a part."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, array)
    os.replace(tmp, path)


def _cached(key: str, make) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) from the cache under ``key``, or ``make()`` stored there first."""
    x_path, y_path = cache_dir() / f"{key}-x.npy", cache_dir() / f"{key}-y.npy"
    if x_path.exists() and y_path.exists():
        try:
            return np.load(x_path), np.load(y_path)
        except (OSError, ValueError) as err:  # a damaged cache is rebuilt, not fatal
            log.warning("rebuilding unreadable cache %s: %s", x_path, err)
    images, labels = make()
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        _atomic_save(y_path, labels)
        _atomic_save(x_path, images)  # written last: its presence means the pair is complete
    except OSError as err:
        log.warning("could not write the cache in %s (%s); decoding again next time", cache_dir(), err)
    return images, labels


def _file_key(path: Path) -> str:
    """Changes whenever the file is replaced or edited (size, modification time)."""
    st = path.stat()
    return f"{st.st_size}-{st.st_mtime_ns}"


def _cached_synthetic(n_per_class: int, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    # Keyed by the generator's source, so editing the generator never serves stale images.
    source = hashlib.sha1(Path(synthetic.__file__).read_bytes()).hexdigest()[:12]
    key = f"synthetic-{source}-{n_per_class}-{seed}-{size}"
    return _cached(key, lambda: synthetic.make_synthetic(n_per_class, seed, size))


# ----------------------------------------------------------------------------- digits

def _digits(train: bool, size: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    labels = bunch.target.astype(np.int64)
    # A fixed stratified 70/30 split, independent of scikit-learn's splitting helpers.
    rng = np.random.default_rng(0)
    test = np.zeros(len(labels), bool)
    for c in range(10):
        members = rng.permutation(np.flatnonzero(labels == c))
        test[members[: round(0.3 * len(members))]] = True
    keep = np.flatnonzero(~test if train else test)
    pixels = torch.from_numpy(bunch.images[keep].astype(np.float32) * (255.0 / 16.0))[:, None]
    big = torch.nn.functional.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)
    images = big.round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1).contiguous().numpy()
    return images, labels[keep], tuple(str(d) for d in range(10))


# ----------------------------------------------------------------------------- CIFAR

_CIFAR = {  # folder inside a torchvision root, train files, test files, meta file, keys
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"],
                "batches.meta", "labels", "label_names"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "meta", "fine_labels", "fine_label_names"),
}


def _default_root() -> Path:
    return Path(os.environ.get("LGTOOLS_DATA") or cache_dir() / "data")


def _cifar(name: str, root, train: bool, download: bool) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    base = Path(root).expanduser() if root is not None else _default_root()
    if base.is_file():
        if name != "cifar10" or base.suffix != ".npz":
            raise ValueError(f"{name}: root {str(base)!r} is a file; expected a torchvision CIFAR root "
                             "folder" + (" or the cifar10-jpeg.npz file" if name == "cifar10" else ""))
        return _cifar10_npz(base, "train" if train else "test")
    folder, train_files, test_files, meta, label_key, names_key = _CIFAR[name]
    if not (base / folder).is_dir() and (base / meta).is_file():
        base, folder = base.parent, base.name  # root points at the extracted folder itself
    if download and not (base / folder).is_dir():
        _download(name, base, train)
    data = base / folder
    if not data.is_dir():
        hint = f"; or root='cifar10-jpeg.npz' ({_NPZ_HELP})" if name == "cifar10" else ""
        where = (f"root {str(base)!r} does not exist (relative paths start at {os.getcwd()!r})"
                 if not base.exists() else
                 f"no {folder!r} folder in {str(base)!r} (expected a torchvision CIFAR root)")
        raise FileNotFoundError(f"{name}: {where}. Get it with load_dataset({name!r}, root=DIR, "
                                f"download=True){hint}")
    classes = tuple(str(c) for c in _unpickle(data / meta, [names_key])[names_key])
    images, labels = [], []
    for part in train_files if train else test_files:
        batch = _unpickle(data / part, ["data", label_key])
        pixels = np.asarray(batch["data"], dtype=np.uint8)
        if pixels.ndim != 2 or pixels.shape[1] != 3 * 32 * 32 or len(batch[label_key]) != len(pixels):
            raise ValueError(f"{name}: {data / part} holds data of shape {pixels.shape}; expected "
                             f"N×3072 uint8 with one label per row (torchvision's CIFAR format)")
        images.append(pixels.reshape(-1, 3, 32, 32))  # the rows are already channel-major
        labels.append(np.asarray(batch[label_key], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels), classes


def _unpickle(path: Path, keys: list[str]) -> dict:
    # CIFAR's official files are pickles: read only data you trust, as with torchvision.
    if not path.is_file():
        raise FileNotFoundError(f"missing CIFAR file {str(path)!r}; re-extract the archive or pass download=True")
    try:
        with open(path, "rb") as fh:
            content = pickle.load(fh, encoding="latin1")
    except Exception as err:  # any unpickling failure means the same thing to the user
        raise ValueError(f"cannot read CIFAR file {str(path)!r} ({type(err).__name__}: {err}); "
                         "re-extract the archive or pass download=True") from None
    absent = [k for k in keys if not isinstance(content, dict) or k not in content]
    if absent:
        raise ValueError(f"CIFAR file {str(path)!r} lacks {absent}; expected torchvision's CIFAR format")
    return content


def _download(name: str, base: Path, train: bool) -> None:
    from torchvision import datasets

    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    try:
        cls(str(base), train=train, download=True)
    except Exception as err:  # network or disk trouble: say what failed, not where in torchvision
        raise ConnectionError(f"{name}: download to {str(base)!r} failed ({type(err).__name__}: {err})") from None


def _cifar10_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    needed = ["classes", f"{split}_jpeg", f"{split}_offsets", f"{split}_labels"]
    try:
        archive = np.load(path)
        absent = [k for k in needed if k not in archive.files]
    except Exception as err:
        raise ValueError(f"cifar10: cannot read {str(path)!r} as an .npz file ({err})") from None
    if absent:
        raise ValueError(f"cifar10: {str(path)!r} lacks arrays {absent}; expected the cifar10-jpeg.npz "
                         f"format (classes, {{train,test}}_jpeg/_offsets/_labels)")
    classes = tuple(str(c) for c in archive["classes"])
    where = hashlib.sha1(f"{path.resolve()}|{_file_key(path)}".encode()).hexdigest()[:16]
    key = f"cifar10-jpeg-{where}-{split}"
    images, labels = _cached(key, lambda: _decode_npz(archive, split, path))
    return images, labels, classes


def _decode_npz(archive, split: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    from torchvision.io import ImageReadMode, decode_jpeg

    blob = torch.from_numpy(archive[f"{split}_jpeg"])
    offsets = archive[f"{split}_offsets"].tolist()
    labels = archive[f"{split}_labels"].astype(np.int64)
    if len(offsets) != len(labels) + 1:
        raise ValueError(f"cifar10: {str(path)!r} has {len(offsets)} {split} offsets for {len(labels)} labels")
    try:
        decoded = decode_jpeg([blob[a:b] for a, b in zip(offsets[:-1], offsets[1:])], mode=ImageReadMode.RGB)
        images = torch.stack(decoded).numpy()
    except RuntimeError as err:
        raise ValueError(f"cifar10: {str(path)!r} holds {split} images that are not 32×32 JPEGs ({err})") from None
    return images, labels


# ----------------------------------------------------------------------------- image folders

# Built-ins a plain folder tree is recognised as when no hierarchy is given (folder names
# equal to their fine names or WordNet ids), e.g. the tree cifar10_jpeg.py writes.
_RECOGNISED = ("cifar10", "cifar100", "imagenet_dog_cat", "imagenet_fruit_veg")


def _split_dir(root, split: str) -> Path:
    if root is None:
        raise ValueError("imagefolder needs root: a folder holding <split>/<class>/<image> files")
    base = Path(root).expanduser()
    names = {"train": ["train"], "test": ["test", "val"], "val": ["val", "test"]}[split]
    for candidate in names:
        if (base / candidate).is_dir():
            return base / candidate
    raise FileNotFoundError(f"imagefolder: no {' or '.join(names)} folder in {str(base)!r}; expected "
                            f"root/<split>/<class>/<image files>. To write CIFAR-10 as such a tree: {_NPZ_HELP}")


def _folder_hierarchy(folders: list[str], spec) -> tuple[Hierarchy, list[str]]:
    """The hierarchy of a folder tree and the folder of each of its fine classes, in label order."""
    if spec is None:
        for name in _RECOGNISED:
            h = get_hierarchy(name)
            for ids in (h.fine_names, h.fine_ids):
                if ids is not None and sorted(ids) == sorted(folders):
                    return h, list(ids)
        flat = Hierarchy(tuple(folders), tuple(folders), np.arange(len(folders)), "flat")
        return flat, folders
    h = _as_hierarchy(spec, tuple(folders))
    chosen, missing = [], []
    for i, fine in enumerate(h.fine_names):
        options = [h.fine_ids[i]] if h.fine_ids else []
        found = [f for f in options + [fine] if f in folders]
        (chosen if found else missing).append(found[0] if found else "/".join(options + [fine]))
    if missing:
        raise ValueError(f"hierarchy {h.name!r} names classes with no folder: {missing[:10]}; "
                         f"folders present: {folders[:20]}")
    return h, chosen


def _image_folder(root, split: str, spec, size: int) -> Dataset:
    split_dir = _split_dir(root, split)
    folders = sorted(e.name for e in os.scandir(split_dir) if e.is_dir())
    if not folders:
        raise FileNotFoundError(f"imagefolder: {str(split_dir)!r} has no class folders; expected "
                                f"{split_dir}/<class>/<image files>")
    h, chosen = _folder_hierarchy(folders, spec)
    files, labels = [], []
    for label, folder in enumerate(chosen):
        # Sorted walk, as torchvision's ImageFolder: the same sample order as the reference pipeline.
        found = [Path(d) / f for d, _, names in sorted(os.walk(split_dir / folder, followlinks=True))
                 for f in sorted(names) if f.lower().endswith(IMAGE_EXTENSIONS)]
        if not found:
            raise FileNotFoundError(f"imagefolder: class folder {str(split_dir / folder)!r} holds no images "
                                    f"({', '.join(IMAGE_EXTENSIONS)})")
        files += found
        labels += [label] * len(found)
    digest = hashlib.sha1(f"{split_dir.resolve()}|{size}".encode())
    for f in files:
        digest.update(f"{f.relative_to(split_dir)}|{_file_key(f)}\n".encode())
    key = f"imagefolder-{digest.hexdigest()[:16]}"
    images, labels_np = _cached(key, lambda: (_decode_files(files, size), np.asarray(labels, np.int64)))
    return Dataset("imagefolder", split, torch.from_numpy(images), torch.from_numpy(labels_np),
                   h.fine_names, h)


def _decode_files(files: list[Path], size: int) -> np.ndarray:
    """Decode image files to uint8 N×3×size×size: shorter side resized to ``size``, centre crop."""
    from PIL import Image

    out = np.empty((len(files), 3, size, size), np.uint8)
    for i, path in enumerate(files):
        try:
            with Image.open(path) as img:
                img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when it can
                img = img.convert("RGB")
                w, h = img.size
                if (w, h) != (size, size):
                    scale = size / min(w, h)
                    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))),
                                     Image.BILINEAR, reducing_gap=3.0)
                    left, top = (img.width - size) // 2, (img.height - size) // 2
                    img = img.crop((left, top, left + size, top + size))
                out[i] = np.asarray(img).transpose(2, 0, 1)
        except OSError as err:
            raise ValueError(f"imagefolder: cannot decode {str(path)!r} ({err})") from None
    return out


# ----------------------------------------------------------------------------- subsets

def _label_array(labels) -> np.ndarray:
    array = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D array of integer class indices, got {array.dtype} {array.shape}")
    return array


def subsample(labels, ratio: float, seed: int = 0) -> np.ndarray:
    """Sorted indices keeping ``ratio`` of every fine class (at least one each); Fig 2's protocol."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise ValueError(f"ratio must be a number in (0, 1], got {ratio!r}")
    array = _label_array(labels)
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(array):
        members = np.flatnonzero(array == c)
        keep.append(rng.permutation(members)[: max(1, round(ratio * len(members)))])
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)


def stratified_cap(labels, max_n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_n`` samples with the class proportions kept (tiny runs)."""
    if isinstance(max_n, bool) or not isinstance(max_n, (int, np.integer)) or max_n < 1:
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}")
    array = _label_array(labels)
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
