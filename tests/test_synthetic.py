"""The embedded synthetic dataset: deterministic, balanced, and shaped the way the book needs."""

import numpy as np
import pytest

from lgtools.labels.builtin import get_hierarchy
from lgtools.data.synthetic import CLASSES, make_synthetic


def test_shapes_dtypes_and_balance():
    images, labels = make_synthetic(5, seed=0)
    assert images.shape == (60, 3, 32, 32) and images.dtype == np.uint8
    assert labels.shape == (60,) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=12).tolist() == [5] * 12


def test_same_seed_same_data_other_seed_other_data():
    a, la = make_synthetic(4, seed=3)
    b, lb = make_synthetic(4, seed=3)
    c, lc = make_synthetic(4, seed=4)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert not np.array_equal(a, c)


def test_labels_are_shuffled_not_grouped():
    _, labels = make_synthetic(20, seed=0)
    assert not np.array_equal(labels, np.sort(labels))


def test_size_parameter():
    images, _ = make_synthetic(2, seed=0, size=16)
    assert images.shape == (24, 3, 16, 16)


def test_class_names_follow_the_builtin_hierarchy():
    h = get_hierarchy("synthetic")
    assert CLASSES == h.fine_names
    assert h.members("round") == ("disc", "ring", "crescent")


def test_images_use_the_full_range_and_vary():
    images, _ = make_synthetic(10, seed=1)
    assert images.min() < 30 and images.max() > 225
    # Every image differs from every other one (no degenerate duplicates).
    flat = images.reshape(len(images), -1)
    assert len(np.unique(flat, axis=0)) == len(images)


def test_stripe_orientation_is_visible_in_the_gradients():
    images, labels = make_synthetic(40, seed=2)
    gray = images.astype(np.float32).mean(axis=1)
    along_rows = np.abs(np.diff(gray, axis=1)).mean(axis=(1, 2))  # changes from row to row
    along_cols = np.abs(np.diff(gray, axis=2)).mean(axis=(1, 2))
    h, v = CLASSES.index("hstripes"), CLASSES.index("vstripes")
    assert (along_rows[labels == h] > along_cols[labels == h]).mean() > 0.8
    assert (along_cols[labels == v] > along_rows[labels == v]).mean() > 0.8


@pytest.mark.parametrize("kwargs", [{"n_per_class": 0}, {"n_per_class": 2.5}, {"n_per_class": 2, "size": 4}])
def test_bad_arguments_are_rejected(kwargs):
    name = "size" if "size" in kwargs else "n_per_class"
    with pytest.raises(ValueError, match=name):
        make_synthetic(**kwargs)
