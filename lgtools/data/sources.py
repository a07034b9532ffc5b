"""Readers of the datasets' on-disk formats, each decoded once into a ``.npy`` cache.

`lgtools.data` is the interface (``load_dataset``); this module does the file work behind it:
the embedded synthetic images, scikit-learn's digits, torchvision's CIFAR pickles, the offline
``cifar10-jpeg.npz`` archive and ``root/<split>/<class>/<image>`` folder trees. Each reader
returns uint8 images N×3×H×W and int64 labels as numpy arrays. Decoded arrays are cached in
``$LGTOOLS_CACHE`` (default ``~/.cache/lgtools``) under a key that changes whenever the source
does (file size and modification time, or the generator's source code). Beside each cached pair
lies ``<key>-digest.json``: SHA-256 digests of both arrays and, for an archive, of the archive
itself, checked before the cache is used; a cache that disagrees (overwritten pixels or labels,
an archive replaced under the same size and time) is decoded again, with a warning.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from lgtools.data import synthetic
from lgtools.labels.builtin import as_hierarchy, get_hierarchy
from lgtools.labels.hierarchy import Hierarchy

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
NPZ_HELP = ("pass the offline archive itself as the root (cifar10-jpeg.npz), or write it as a folder tree "
            "with: python shared/data/cifar10_jpeg.py imagefolder DIR")


def cache_dir() -> Path:
    """Where decoded datasets are cached: ``$LGTOOLS_CACHE`` or ``~/.cache/lgtools``."""
    return Path(os.environ.get("LGTOOLS_CACHE") or Path.home() / ".cache" / "lgtools")


def _atomic_save(path: Path, array: np.ndarray) -> None:
    """Write ``array`` so that readers see either no file or the whole file, never a part."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.save(fh, array)
        os.replace(tmp, path)
    except OSError as error:  # a full disk: no temporary file left to fill what space remains
        tmp.unlink(missing_ok=True)
        if error.errno == errno.ENOSPC:
            raise OSError(errno.ENOSPC, f"disk full: cache file {str(path)!r} not written") from None
        raise


def array_digest(array: np.ndarray) -> str:
    """SHA-256 (hex) of an array's dtype, shape and bytes."""
    digest = hashlib.sha256(f"{array.dtype.str}|{array.shape}|".encode())
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 * 2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_disagrees(digest_path: Path, images: np.ndarray, labels: np.ndarray, source: Path | None) -> str | None:
    """Why a cached pair cannot be trusted (its digests differ from the arrays or the source), or None."""
    try:
        stored = json.loads(digest_path.read_text())
    except (OSError, ValueError):
        return "no readable digest file"
    if not isinstance(stored, dict):
        return "no readable digest file"
    if stored.get("images") != array_digest(images) or stored.get("labels") != array_digest(labels):
        return "its arrays differ from the digests written with them"
    if source is not None and stored.get("source") != file_digest(source):
        return f"it was decoded from another {source.name}"
    return None


def _cached(key: str, make, source: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) from the cache under ``key`` if its digests agree, or ``make()`` stored there first.

    ``source``: the archive the arrays are decoded from, whose digest the cache keeps too.
    """
    x_path, y_path = cache_dir() / f"{key}-x.npy", cache_dir() / f"{key}-y.npy"
    digest_path = cache_dir() / f"{key}-digest.json"
    if x_path.exists() and y_path.exists():
        try:
            images, labels = np.load(x_path), np.load(y_path)
            problem = _cache_disagrees(digest_path, images, labels, source)
            if problem is None:
                return images, labels
            log.warning("rebuilding cache %s: %s", x_path, problem)
        except (OSError, ValueError) as err:  # a damaged cache is rebuilt, not fatal
            log.warning("rebuilding unreadable cache %s: %s", x_path, err)
    images, labels = make()
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        digest_path.unlink(missing_ok=True)  # while the pair changes, no digest vouches for it
        _atomic_save(y_path, labels)
        _atomic_save(x_path, images)
        record = {"images": array_digest(images), "labels": array_digest(labels),
                  "source": None if source is None else file_digest(source)}
        tmp = digest_path.with_name(f"{digest_path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(record))
            os.replace(tmp, digest_path)  # written last: its presence means the pair is complete
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as err:
        log.warning("could not write the cache in %s (%s); decoding again next time", cache_dir(), err)
    return images, labels


def _file_key(path: Path) -> str:
    """Changes whenever the file is replaced or edited (size, modification time)."""
    st = path.stat()
    return f"{st.st_size}-{st.st_mtime_ns}"


def synthetic_arrays(n_per_class: int, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of the embedded synthetic data, generated once and cached."""
    # Keyed by the generator's source, so editing the generator never serves stale images.
    source = hashlib.sha1(Path(synthetic.__file__).read_bytes()).hexdigest()[:12]
    key = f"synthetic-{source}-{n_per_class}-{seed}-{size}"
    return _cached(key, lambda: synthetic.make_synthetic(n_per_class, seed, size))


# ----------------------------------------------------------------------------- digits

def digits_arrays(train: bool, size: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(images, labels, class names) of scikit-learn's digits, upsampled to ``size`` RGB."""
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


def cifar_arrays(name: str, root: str | os.PathLike | None, train: bool,
                 download: bool) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(images, labels, class names) from a torchvision CIFAR root or the CIFAR-10 ``.npz`` file."""
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
        hint = f"; or {NPZ_HELP}" if name == "cifar10" else ""
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
    images, labels = _cached(key, lambda: _decode_npz(archive, split, path), source=path)
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
                            f"root/<split>/<class>/<image files>. To write CIFAR-10 as such a tree: {NPZ_HELP}")


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
    h = as_hierarchy(spec, tuple(folders))
    chosen, missing = [], []
    for i, fine in enumerate(h.fine_names):
        options = [h.fine_ids[i]] if h.fine_ids else []
        found = [f for f in options + [fine] if f in folders]
        (chosen if found else missing).append(found[0] if found else "/".join(options + [fine]))
    if missing:
        raise ValueError(f"hierarchy {h.name!r} names classes with no folder: {missing[:10]}; "
                         f"folders present: {folders[:20]}")
    return h, chosen


def image_folder_arrays(root: str | os.PathLike | None, split: str, spec: Hierarchy | str | None,
                        size: int) -> tuple[np.ndarray, np.ndarray, Hierarchy]:
    """(images, labels, hierarchy) of ``root/<split>/<class>/<image>``, images at ``size``."""
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
    return images, labels_np, h


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


def export_image_folder(npz: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write ``cifar10-jpeg.npz`` as ``out/{train,test}/<class>/<index>.jpg`` (the JPEG bytes as stored); returns ``out``.

    The tree the benchmark's reference pipeline (``torchvision.datasets.ImageFolder``) reads. A
    tree already complete is left as it is; files are written through a temporary name.
    """
    source, out = Path(npz), Path(out)
    if not source.is_file():
        raise ValueError(f"npz: {str(source)!r} is not a file (expected cifar10-jpeg.npz)")
    archive = np.load(source)
    classes = [str(c) for c in archive["classes"]]
    for split in ("train", "test"):
        blob, offsets = archive[f"{split}_jpeg"], archive[f"{split}_offsets"]
        labels = archive[f"{split}_labels"]
        for name in classes:
            (out / split / name).mkdir(parents=True, exist_ok=True)
        for index, (a, b, label) in enumerate(zip(offsets[:-1], offsets[1:], labels)):
            target = out / split / classes[int(label)] / f"{index:05d}.jpg"
            if not target.exists():
                tmp = target.with_suffix(".jpg.tmp")
                tmp.write_bytes(blob[a:b].tobytes())
                os.replace(tmp, target)
    return out
