"""lgtools.data and lgtools.data.sources: every loader on tiny files written here, caches, subsets, errors."""

import dataclasses
import io
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from lgtools.data import datasets as data, sources
from lgtools.labels.builtin import CIFAR100_CLASSES, get_hierarchy
from lgtools.labels.hierarchy import Hierarchy

CIFAR10_NAMES = get_hierarchy("cifar10").fine_names


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def cache(module_cache, monkeypatch):
    """One cache directory for this module (the synthetic data is generated once), none of the user's."""
    monkeypatch.setenv("LGTOOLS_CACHE", str(module_cache))
    return module_cache


def _pixels(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)


def _dump(path, obj):
    with open(path, "wb") as fh:
        pickle.dump(obj, fh)


# ----------------------------------------------------------------------------- embedded data

def test_synthetic_splits_hierarchy_and_cache(cache):
    train = data.load_dataset("synthetic")
    test = data.load_dataset("synthetic", split="test")
    assert (len(train), len(test)) == (6000, 2400)
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (3, 32, 32)
    assert train.labels.dtype == torch.int64 and train.labels.bincount().tolist() == [500] * 12
    assert train.hierarchy.name == "synthetic" and train.classes == train.hierarchy.fine_names
    assert not torch.equal(train.images[:2400], test.images)  # different generator seeds
    assert len(list(cache.glob("synthetic-*-x.npy"))) == 2  # one file per split
    again = data.load_dataset("synthetic")
    assert torch.equal(again.images, train.images) and torch.equal(again.labels, train.labels)


def test_hierarchy_argument_bits_and_subset():
    bits = data.load_dataset("synthetic", split="test", hierarchy="001112223333")
    assert bits.hierarchy.num_coarse == 4 and bits.hierarchy.fine_to_coarse[2] == 1
    pair = Hierarchy.from_groups({"a": ["square"], "b": ["disc"]})
    sub = data.load_dataset("synthetic", split="test", hierarchy=pair)
    assert sub.classes == ("square", "disc") and len(sub) == 400
    assert sub.labels.bincount().tolist() == [200, 200]
    with pytest.raises(ValueError, match="hexagon"):
        data.load_dataset("synthetic", hierarchy=Hierarchy.from_groups({"a": ["hexagon"]}))
    with pytest.raises(ValueError, match="unknown hierarchy"):
        data.load_dataset("synthetic", hierarchy="no_such_hierarchy")


def test_digits_loads_ten_classes_with_a_fixed_split():
    train = data.load_dataset("digits")
    test = data.load_dataset("digits", split="test")
    assert train.classes == tuple(str(d) for d in range(10)) and train.hierarchy.name == "digits"
    assert len(train) + len(test) == 1797 and 0.25 < len(test) / 1797 < 0.35
    assert train.images.shape[1:] == (3, 32, 32) and train.images.max() > 200
    assert torch.equal(train.images[:, 0], train.images[:, 2])  # gray replicated to RGB
    assert data.load_dataset("digits", image_size=16).images.shape[2:] == (16, 16)


# ----------------------------------------------------------------------------- CIFAR

def _write_cifar10(root):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in range(1, 6):
        _dump(folder / f"data_batch_{i}", {"data": _pixels(2, i), "labels": [i, i + 1]})
    _dump(folder / "test_batch", {"data": _pixels(3, 9), "labels": [0, 1, 2]})
    _dump(folder / "batches.meta", {"label_names": list(CIFAR10_NAMES)})
    return folder


def test_cifar10_torchvision_layout(tmp_path):
    folder = _write_cifar10(tmp_path / "root")
    train = data.load_dataset("cifar10", root=tmp_path / "root")
    assert len(train) == 10 and train.images.shape == (10, 3, 32, 32)
    assert train.labels.tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]
    assert np.array_equal(train.images[0].numpy().reshape(-1), _pixels(2, 1)[0])
    assert train.hierarchy.name == "cifar10" and train.classes == CIFAR10_NAMES
    test = data.load_dataset("cifar10", split="test", root=folder)  # the folder itself works too
    assert test.labels.tolist() == [0, 1, 2]


def test_cifar100_and_a_superclass_subset(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    labels = [CIFAR100_CLASSES.index(n) for n in ("whale", "bear", "apple", "otter")]
    _dump(folder / "train", {"data": _pixels(4, 1), "fine_labels": labels, "coarse_labels": [0] * 4})
    _dump(folder / "test", {"data": _pixels(1, 2), "fine_labels": [5], "coarse_labels": [0]})
    _dump(folder / "meta", {"fine_label_names": list(CIFAR100_CLASSES), "coarse_label_names": []})
    full = data.load_dataset("cifar100", root=tmp_path)
    assert len(full) == 4 and full.hierarchy.num_coarse == 20 and full.labels.tolist() == labels
    five = data.load_dataset("cifar100", root=tmp_path, hierarchy="cifar100_5")
    assert five.hierarchy.num_fine == 25 and len(five) == 3  # apple is not an animal
    assert [five.classes[i] for i in five.labels] == ["whale", "bear", "otter"]
    assert len(data.load_dataset("cifar100", split="test", root=tmp_path)) == 1


def _write_npz(path, sizes=(6, 4)):
    arrays = {"classes": np.array(CIFAR10_NAMES)}
    truth = {}
    for split, n in zip(("train", "test"), sizes):
        blobs, colours = [], np.random.default_rng(n).integers(20, 235, (n, 3))
        for colour in colours:
            buf = io.BytesIO()
            Image.new("RGB", (32, 32), tuple(int(c) for c in colour)).save(buf, "JPEG", quality=95)
            blobs.append(np.frombuffer(buf.getvalue(), np.uint8))
        arrays[f"{split}_jpeg"] = np.concatenate(blobs)
        arrays[f"{split}_offsets"] = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
        arrays[f"{split}_labels"] = (np.arange(n) % 10).astype(np.uint8)
        truth[split] = colours
    np.savez_compressed(path, **arrays)
    return truth


def test_cifar10_npz_is_decoded_once_then_cached(tmp_path, cache, monkeypatch):
    truth = _write_npz(tmp_path / "cifar10-jpeg.npz")
    train = data.load_dataset("cifar10", root=tmp_path / "cifar10-jpeg.npz")
    assert train.images.shape == (6, 3, 32, 32) and train.labels.tolist() == [0, 1, 2, 3, 4, 5]
    mean_colour = train.images.float().mean(dim=(2, 3)).numpy()
    assert np.abs(mean_colour - truth["train"]).max() < 4  # JPEG is lossy, but not by much
    assert len(list(cache.glob("cifar10-jpeg-*-train-x.npy"))) == 1

    def no_decoding(*args):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(sources, "_decode_npz", no_decoding)
    again = data.load_dataset("cifar10", root=tmp_path / "cifar10-jpeg.npz")
    assert torch.equal(again.images, train.images)
    with pytest.raises(AssertionError):  # the test split is not cached yet
        data.load_dataset("cifar10", split="test", root=tmp_path / "cifar10-jpeg.npz")


# ----------------------------------------------------------------------------- image folders

def _write_tree(root, classes, per_class, split="train", size=(12, 16)):
    for k, name in enumerate(classes):
        folder = root / split / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", size, (40 * k + 10, 5 * i, 200)).save(folder / f"{i:02d}.png")


def test_imagefolder_generic_tree(tmp_path, cache, monkeypatch):
    _write_tree(tmp_path, ["zebra", "apple", "moon"], 4)
    _write_tree(tmp_path, ["zebra", "apple", "moon"], 1, split="val")
    train = data.load_dataset("imagefolder", root=tmp_path, image_size=8)
    assert train.classes == ("apple", "moon", "zebra")  # sorted folder names
    assert train.images.shape == (12, 3, 8, 8) and train.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    # Written zebra, apple, moon: red 10 + 40 k marks the folder, green 5 i the file.
    assert train.images[0, 0, 0, 0] == 50 and train.images[4, 0, 0, 0] == 90 and train.images[5, 1, 3, 3] == 5
    assert train.hierarchy.num_coarse == 3  # flat: one coarse class per folder
    assert len(data.load_dataset("imagefolder", split="test", root=tmp_path, image_size=8)) == 3
    monkeypatch.setattr(sources, "_decode_files", lambda *a: (_ for _ in ()).throw(AssertionError("decoded")))
    assert torch.equal(data.load_dataset("imagefolder", root=tmp_path, image_size=8).images, train.images)
    Image.new("RGB", (12, 16), (0, 0, 0)).save(tmp_path / "train" / "moon" / "00.png")
    with pytest.raises(AssertionError):  # a changed file invalidates the cache
        data.load_dataset("imagefolder", root=tmp_path, image_size=8)


def test_imagefolder_selects_imagenet_classes_by_wordnet_id(tmp_path):
    h = get_hierarchy("imagenet_dog_cat")
    _write_tree(tmp_path, list(h.fine_ids) + ["n99999999"], 2, size=(40, 30))
    subset = data.load_dataset("imagefolder", root=tmp_path, hierarchy="imagenet_dog_cat")
    assert subset.classes == h.fine_names and subset.hierarchy.name == "imagenet_dog_cat"
    assert len(subset) == 20 and subset.labels.bincount().tolist() == [2] * 10
    assert subset.images.shape[2:] == (32, 32)
    pair = Hierarchy.from_groups({"dog": ["n02085620"], "cat": ["n02123045"]})
    assert data.load_dataset("imagefolder", root=tmp_path, hierarchy=pair).classes == ("n02085620", "n02123045")
    (tmp_path / "train" / "n99999999" / "00.png").unlink()
    (tmp_path / "train" / "n99999999" / "01.png").unlink()
    (tmp_path / "train" / "n99999999").rmdir()
    recognised = data.load_dataset("imagefolder", root=tmp_path)  # exactly the 10 ids: recognised
    assert recognised.hierarchy.name == "imagenet_dog_cat"
    with pytest.raises(ValueError, match="n07714571"):
        data.load_dataset("imagefolder", root=tmp_path, hierarchy="imagenet_fruit_veg")


# ----------------------------------------------------------------------------- subsets and stats

def test_subsample_keeps_class_proportions():
    labels = np.repeat([0, 1, 2, 3], [100, 50, 10, 3])
    keep = data.subsample(labels, 0.2, seed=0)
    assert np.bincount(labels[keep]).tolist() == [20, 10, 2, 1]  # at least one per class
    assert np.all(np.diff(keep) > 0)
    assert np.array_equal(keep, data.subsample(torch.as_tensor(labels), 0.2, seed=0))
    assert not np.array_equal(keep, data.subsample(labels, 0.2, seed=1))
    assert np.array_equal(data.subsample(labels, 1.0, seed=5), np.arange(len(labels)))


@pytest.mark.parametrize("ratio", [0, -0.5, 1.5, "0.5", True])
def test_subsample_rejects_bad_ratios(ratio):
    with pytest.raises(ValueError, match="ratio"):
        data.subsample(np.zeros(10, int), ratio, seed=0)


def test_stratified_cap():
    labels = np.repeat([0, 1, 2], [60, 30, 10])
    keep = data.stratified_cap(labels, 10, seed=0)
    assert np.bincount(labels[keep]).tolist() == [6, 3, 1] and np.all(np.diff(keep) > 0)
    assert len(data.stratified_cap(labels, 11, seed=0)) == 11
    assert np.array_equal(data.stratified_cap(labels, 500, seed=0), np.arange(100))
    with pytest.raises(ValueError, match="max_n"):
        data.stratified_cap(labels, 0, seed=0)


@pytest.mark.parametrize("name", ["synthetic", "digits"])
def test_stats_of_embedded_data_match_their_images(name):
    mean, std = data.dataset_stats(name)
    x = data.load_dataset(name).images.float() / 255
    assert np.allclose(mean, x.mean(dim=(0, 2, 3)).numpy(), atol=0.01)
    assert np.allclose(std, x.std(dim=(0, 2, 3)).numpy(), atol=0.01)
    assert data.dataset_stats("cifar10")[0] == pytest.approx((0.4914, 0.4822, 0.4465))


def test_dataset_is_frozen_and_checked():
    ds = data.load_dataset("digits", split="test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"
    with pytest.raises(ValueError, match="uint8"):
        data.Dataset("x", "train", ds.images.float(), ds.labels, ds.classes, ds.hierarchy)


# ----------------------------------------------------------------------------- errors

def test_unknown_names_and_bad_parameters():
    with pytest.raises(ValueError, match="cifar10"):
        data.load_dataset("mnist")
    with pytest.raises(ValueError, match="split"):
        data.load_dataset("synthetic", split="validation")
    with pytest.raises(ValueError, match="image_size"):
        data.load_dataset("cifar10", root="x", image_size=64)
    with pytest.raises(ValueError, match="root"):
        data.load_dataset("imagefolder")
    with pytest.raises(ValueError, match="unknown dataset"):
        data.dataset_stats("mnist")


def test_missing_and_malformed_cifar(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True") as err:
        data.load_dataset("cifar10", root=tmp_path / "nowhere")
    assert "nowhere" in str(err.value) and "cifar10_jpeg.py" in str(err.value)
    assert "does not exist" in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no 'cifar-10-batches-py' folder"):
        data.load_dataset("cifar10", root=tmp_path / "empty")
    folder = _write_cifar10(tmp_path / "bad")
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="data_batch_3") as err:
        data.load_dataset("cifar10", root=tmp_path / "bad")
    assert err.value.__suppress_context__  # re-raised "from None": no torchvision/pickle trace
    (folder / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="test_batch"):
        data.load_dataset("cifar10", split="test", root=tmp_path / "bad")
    _dump(folder / "test_batch", {"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]})
    with pytest.raises(ValueError, match="3072"):
        data.load_dataset("cifar10", split="test", root=tmp_path / "bad")


def test_malformed_npz_and_wrong_file(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz.*train_jpeg"):
        data.load_dataset("cifar10", root=tmp_path / "other.npz")
    _write_npz(tmp_path / "cifar10-jpeg.npz")
    with pytest.raises(ValueError, match="torchvision CIFAR root"):
        data.load_dataset("cifar100", root=tmp_path / "cifar10-jpeg.npz")


def test_missing_image_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="train") as err:
        data.load_dataset("imagefolder", root=tmp_path)
    assert str(tmp_path) in str(err.value)
    (tmp_path / "train" / "empty").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="empty"):
        data.load_dataset("imagefolder", root=tmp_path)


def test_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(ConnectionError, match="download") as err:
        data.load_dataset("cifar10", root=tmp_path, download=True)
    assert err.value.__suppress_context__


def test_imagenet_classes_match_the_official_ilsvrc2012_list() -> None:
    """Table II's 27 ImageNet classes: index, WordNet id and first name as in the committed class list."""
    import csv
    from importlib import resources

    from lgtools.labels.builtin import IMAGENET_DOG_CAT, IMAGENET_FRUIT_VEG

    with resources.files("lgtools.labels").joinpath("ilsvrc2012_classes.csv").open() as f:
        official = {int(row["index"]): (row["wnid"], row["name"]) for row in csv.DictReader(f)}
    assert len(official) == 1000 and sorted(w for w, _ in official.values()) == [official[i][0] for i in range(1000)]
    ours = IMAGENET_DOG_CAT + IMAGENET_FRUIT_VEG
    assert len(ours) == 27
    for index, wnid, name, _ in ours:
        assert official[index][0] == wnid, f"class {index} ({name}) is {official[index][0]}, not {wnid}"
        assert official[index][1].replace(" ", "_") == name
