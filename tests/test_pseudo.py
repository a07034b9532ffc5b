"""lgtools.labels.pseudo: pseudo-fine labels from coarse labels alone, their hierarchy and their quality."""

from __future__ import annotations

import numpy as np
import pytest

from lgtools.labels.pseudo import cluster_quality, pseudo_fine_labels, whitened_pixels


def _planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two coarse classes of two well-separated fine blobs each, 30 points per blob."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    fine = np.repeat(np.arange(4), 30)
    x = centres[fine] + rng.normal(scale=0.5, size=(len(fine), 2))
    return x, fine, np.array([0, 0, 1, 1])[fine]


@pytest.mark.parametrize("method", ["kmeans", "spectral"])
def test_clustering_each_coarse_class_recovers_planted_fine_classes(method):
    x, fine, coarse = _planted()
    labels, hierarchy = pseudo_fine_labels(x, coarse, 2, ("a", "b"), method=method)
    assert hierarchy.fine_names == ("a/0", "a/1", "b/0", "b/1") and hierarchy.fine_to_coarse.tolist() == [0, 0, 1, 1]
    assert np.array_equal(hierarchy.fine_to_coarse[labels], coarse)  # a cluster never leaves its coarse class
    quality = cluster_quality(labels, fine)
    assert quality["ari"] == pytest.approx(1.0) and quality["nmi"] == pytest.approx(1.0)


def test_k_one_is_the_coarse_labels_and_more_clusters_than_blobs_split_them():
    x, fine, coarse = _planted()
    one, _ = pseudo_fine_labels(x, coarse, 1, ("a", "b"))
    assert np.array_equal(one, coarse)
    many, hierarchy = pseudo_fine_labels(x, coarse, 5, ("a", "b"))
    assert hierarchy.num_fine == 10 and cluster_quality(many, fine)["ari"] < 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "k must be a positive integer"),
    ({"k": 61}, "at least k=61 images"),
    ({"k": 2, "method": "dbscan"}, "method must be one of"),
])
def test_bad_arguments_are_refused(kwargs, message):
    x, _, coarse = _planted()
    with pytest.raises(ValueError, match=message):
        pseudo_fine_labels(x, coarse, coarse_names=("a", "b"), **kwargs)
    with pytest.raises(ValueError, match="one row per image"):
        pseudo_fine_labels(x[:5], coarse, 2, ("a", "b"))


def test_whitened_pixels_have_unit_variance_components():
    images = np.random.default_rng(0).integers(0, 256, size=(50, 8, 8, 3), dtype=np.uint8)
    features = whitened_pixels(images, dims=10)
    assert features.shape == (50, 10) and np.allclose(features.std(axis=0, ddof=1), 1.0, atol=1e-6)
