"""Pseudo-fine labels: fine classes made from coarse labels alone, by clustering each coarse class.

The paper's future work (and the authors' unfinished ``main_c2f*.py``): when only coarse labels
exist, split every coarse class into ``k`` clusters of some image features and train on the
clusters as if they were fine classes. ``pseudo_fine_labels`` does the split (scikit-learn k-means,
or spectral clustering as the authors tried) and returns the labels with the ``Hierarchy`` that
maps each cluster back to its coarse class, so A_FC of a pseudo-fine network is scored exactly as
with true fine labels. ``cluster_quality`` compares the clusters with the true fine labels.
"""

from __future__ import annotations

import numpy as np

from lgtools.labels.hierarchy import Hierarchy
from lgtools.labels.validate import as_label_array

METHODS = ("kmeans", "spectral")
FEATURES = ("pixels", "random_net", "coarse_net")  # what a run can cluster: two label-free sources,
# ``pixel_features`` and an untrained network of the run's architecture, and the penultimate features
# of a network trained on the coarse labels (``TrainConfig.pseudo_from``; lgtools.training.features)
# What a run's k clusters split: each coarse class (fine labels from coarse ones), each fine class
# (labels finer than fine, for pretraining), or all images at once (classes that cut across the coarse ones).
WITHIN = ("coarse", "fine", "all")


def regroup(pseudo: np.ndarray, within: str, hierarchy: Hierarchy, parents: Hierarchy,
            parent_of_image: np.ndarray) -> Hierarchy:
    """The hierarchy of pseudo-classes made ``within`` the classes of ``parents``, read out at ``hierarchy``'s coarse classes.

    ``"coarse"``: the clusters' parents are the coarse classes. ``"fine"``: a cluster's coarse class is
    its fine class's. ``"all"``: a cluster goes to the coarse class most of its training images
    (``parent_of_image``: their true coarse class) belong to; every coarse class must win one.
    """
    if within not in WITHIN:
        raise ValueError(f"within must be one of {WITHIN}, got {within!r}")
    if within == "coarse":
        return parents
    if within == "fine":
        to_coarse = np.asarray(hierarchy.fine_to_coarse)[np.asarray(parents.fine_to_coarse)]
    else:
        counts = np.zeros((parents.num_fine, hierarchy.num_coarse), dtype=np.int64)
        np.add.at(counts, (pseudo, parent_of_image), 1)
        to_coarse = counts.argmax(axis=1)
        missing = sorted(set(range(hierarchy.num_coarse)) - set(to_coarse.tolist()))
        if missing:
            raise ValueError(f"pseudo_within 'all': no cluster holds mostly coarse class(es) "
                             f"{[hierarchy.coarse_names[c] for c in missing]}; use more clusters (pseudo_k)")
    return Hierarchy(parents.fine_names, tuple(hierarchy.coarse_names), to_coarse, f"{parents.name}_{within}")


def pseudo_fine_labels(features: np.ndarray, coarse_labels: np.ndarray, k: int, coarse_names: tuple[str, ...],
                       method: str = "kmeans", seed: int = 0) -> tuple[np.ndarray, Hierarchy]:
    """Cluster each coarse class's images into ``k`` pseudo-fine classes; (labels, the hierarchy they form).

    Pseudo-fine class ``c * k + j`` is cluster ``j`` of coarse class ``c``, named ``"<coarse>/<j>"``.
    Every coarse class must hold at least ``k`` images; ``features`` is one row per image.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    coarse = as_label_array(coarse_labels, "coarse_labels")
    if len(features) != len(coarse):
        raise ValueError(f"features must have one row per image: {len(features)} rows for {len(coarse)} labels")
    x = np.asarray(features, dtype=np.float64).reshape(len(coarse), -1)
    num_coarse = len(coarse_names)
    counts = np.bincount(coarse, minlength=num_coarse)
    if len(counts) > num_coarse or (counts < k).any():
        raise ValueError(f"every coarse class needs at least k={k} images and an index below {num_coarse}; "
                         f"counts per coarse class: {counts.tolist()}")
    from sklearn.cluster import KMeans, SpectralClustering  # here, not at import: a sweep's listing never clusters

    labels = np.empty(len(coarse), dtype=np.int64)
    for c in range(num_coarse):
        members = np.flatnonzero(coarse == c)
        if k == 1:
            found = np.zeros(len(members), dtype=np.int64)
        elif method == "kmeans":
            found = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x[members])
        else:
            found = SpectralClustering(n_clusters=k, random_state=seed, affinity="nearest_neighbors",
                                       n_neighbors=min(10, len(members) - 1)).fit_predict(x[members])
        labels[members] = c * k + found
    names = tuple(f"{coarse_names[c]}/{j}" for c in range(num_coarse) for j in range(k))
    hierarchy = Hierarchy(names, tuple(coarse_names), np.repeat(np.arange(num_coarse), k), f"pseudo_k{k}")
    return labels, hierarchy


def cluster_quality(pseudo: np.ndarray, fine: np.ndarray) -> dict:
    """How far the pseudo-fine classes recover the annotators' fine classes: NMI and adjusted Rand (1 = the same)."""
    p, f = as_label_array(pseudo, "pseudo"), as_label_array(fine, "fine")
    if p.shape != f.shape:
        raise ValueError(f"pseudo and fine must label the same images, got {p.shape} and {f.shape}")
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"nmi": float(normalized_mutual_info_score(f, p)), "ari": float(adjusted_rand_score(f, p))}


def whitened_pixels(images: np.ndarray, dims: int = 64, seed: int = 0) -> np.ndarray:
    """Features that never saw a label: PCA-whitened raw pixels (``dims`` components), one row per image."""
    from sklearn.decomposition import PCA

    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1) / 255.0
    dims = min(dims, x.shape[0], x.shape[1])
    return PCA(n_components=dims, whiten=True, random_state=seed).fit_transform(x)


def pixel_features(train_images: np.ndarray, test_images: np.ndarray, dims: int = 64,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``whitened_pixels`` fitted on the training images and applied to both sets (one PCA, no labels)."""
    from sklearn.decomposition import PCA

    def flat(images: np.ndarray) -> np.ndarray:
        return np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255.0

    x_train = flat(train_images)
    pca = PCA(n_components=min(dims, *x_train.shape), whiten=True, random_state=seed).fit(x_train)
    return pca.transform(x_train), pca.transform(flat(test_images))


def nearest_pseudo_class(features: np.ndarray, coarse_labels: np.ndarray, pseudo_train: np.ndarray,
                         train_features: np.ndarray, k: int) -> np.ndarray:
    """Pseudo-fine labels for new images: the nearest cluster centre among their own coarse class's ``k``."""
    x, train_x = np.asarray(features, dtype=np.float64), np.asarray(train_features, dtype=np.float64)
    pseudo = as_label_array(pseudo_train, "pseudo_train")
    coarse = as_label_array(coarse_labels, "coarse_labels")
    num = int(pseudo.max()) + 1
    centres = np.stack([train_x[pseudo == j].mean(axis=0) for j in range(num)])
    distance = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    own = (np.arange(num)[None, :] // k) == coarse[:, None]  # only the clusters of the image's coarse class
    return np.argmin(np.where(own, distance, np.inf), axis=1)
