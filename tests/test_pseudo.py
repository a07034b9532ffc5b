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


def test_test_images_take_the_nearest_cluster_of_their_own_coarse_class():
    from lgtools.labels.pseudo import nearest_pseudo_class

    x, fine, coarse = _planted()
    labels, _ = pseudo_fine_labels(x, coarse, 2, ("a", "b"))
    new = np.array([[0.2, 0.1], [9.8, 10.3], [5.0, 0.0]])
    got = nearest_pseudo_class(new, np.array([0, 1, 1]), labels, x, 2)
    assert got[0] == labels[0] and got[1] == labels[-1]
    assert got[2] in (2, 3)  # closer to a coarse-0 blob, but coarse class 1 is what it is


def test_a_pseudo_fine_run_trains_on_clusters_and_is_scored_at_the_coarse_level():
    from lgtools.training.config import TrainConfig
    from lgtools.training.identity import run_identity
    from lgtools.training.loop import train

    cfg = TrainConfig(dataset="synthetic", epochs=1, max_train=240, max_test=120, batch_size=32, device="cpu",
                      pseudo_k=2, progress=False, num_threads=1)
    result = train(cfg)
    assert len(result.fine_names) == 2 * len(result.coarse_names) and result.fine_names[0].endswith("/0")
    assert 0 <= result.summary["pseudo_train_nmi"] <= 1 and "pseudo_test_ari" in result.summary
    assert 0 <= result.summary["test_acc"] <= 100 and result.confusion_fine.shape == (8, 8)
    plain = TrainConfig(dataset="synthetic", epochs=1)
    assert run_identity(plain) == run_identity(TrainConfig(dataset="synthetic", epochs=1, pseudo_k=0))
    assert run_identity(plain) != run_identity(TrainConfig(dataset="synthetic", epochs=1, pseudo_k=2))


@pytest.mark.parametrize("values, message", [
    ({"pseudo_k": -1}, "pseudo_k must be an integer"),
    ({"pseudo_k": 2, "labels": "coarse"}, "needs labels='fine'"),
    ({"pseudo_k": 2, "noise": 0.1}, "no label noise"),
    ({"pseudo_features": "autoencoder"}, "pseudo_features"),
])
def test_bad_pseudo_settings_are_refused(values, message):
    from lgtools.training.config import TrainConfig

    with pytest.raises(ValueError, match=message):
        TrainConfig(dataset="synthetic", **values)


def test_network_features_are_the_penultimate_layer_and_leave_the_model_as_it_was():
    import torch

    from lgtools.nets.models import build_model
    from lgtools.training.features import network_features

    torch.manual_seed(0)
    model = build_model("small_cnn", num_classes=3, width=4).train()
    images = torch.randint(0, 256, (10, 3, 16, 16), dtype=torch.uint8)
    found = network_features(model, images, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), batch_size=3)
    assert model.training, "the model's mode must be restored"
    model.eval()
    with torch.no_grad():
        x = (images.float() / 255 - 0.5) / 0.25
        expected = model.features(x).numpy()
    assert found.shape == (10, model.classifier.in_features)
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="images must be uint8"):
        network_features(model, images.float(), (0.5,) * 3, (0.25,) * 3)


def test_random_network_features_are_whitened_seeded_and_leave_the_global_generator_alone():
    import torch

    from lgtools.training.features import random_network_features

    images = torch.randint(0, 256, (80, 3, 16, 16), dtype=torch.uint8)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a_train, a_test = random_network_features(images[:60], images[60:], "small_cnn", 8, (0.5,) * 3, (0.25,) * 3,
                                              seed=1, dims=5)
    assert torch.rand(1) == before, "building the random network must not move the run's generator"
    b_train, _ = random_network_features(images[:60], images[60:], "small_cnn", 8, (0.5,) * 3, (0.25,) * 3,
                                         seed=1, dims=5)
    c_train, _ = random_network_features(images[:60], images[60:], "small_cnn", 8, (0.5,) * 3, (0.25,) * 3,
                                         seed=2, dims=5)
    assert a_train.shape == (60, 5) and a_test.shape == (20, 5)
    np.testing.assert_allclose(a_train.std(axis=0, ddof=1), 1.0, rtol=1e-3)  # whitened on the training images
    np.testing.assert_allclose(a_train, b_train, rtol=1e-6, atol=1e-6)
    assert not np.allclose(np.abs(a_train), np.abs(c_train), atol=1e-3)


def test_a_pseudo_fine_run_can_cluster_an_untrained_networks_features():
    from lgtools.training.config import TrainConfig
    from lgtools.training.identity import run_identity
    from lgtools.training.loop import train

    cfg = TrainConfig(dataset="synthetic", epochs=1, max_train=240, max_test=120, batch_size=32, device="cpu",
                      pseudo_k=2, pseudo_features="random_net", progress=False, num_threads=1)
    result = train(cfg)
    assert len(result.fine_names) == 8 and 0 <= result.summary["pseudo_train_nmi"] <= 1
    pixels = TrainConfig(dataset="synthetic", epochs=1, pseudo_k=2)
    assert run_identity(pixels) != run_identity(TrainConfig(dataset="synthetic", epochs=1, pseudo_k=2,
                                                            pseudo_features="random_net"))


def test_cluster_study_scores_every_setting_and_round_trips_with_provenance(tmp_path):
    from lgtools.runs.cluster_study import cluster_study, load_cluster_study, save_cluster_study

    base = {"dataset": "synthetic", "max_train": 240, "max_test": 120, "model": "small_cnn", "width": 4,
            "device": "cpu"}
    frame = cluster_study(base, [1, 3], ["pixels", "random_net"], [0])
    assert len(frame) == 4 and set(frame["features"]) == {"pixels", "random_net"}
    one = frame[frame["k"].eq(1)]
    # One cluster per coarse class is the coarse labels whatever the features: one score for both sources.
    assert one["train_nmi"].nunique() == 1 and one["test_ari"].nunique() == 1
    assert frame[["train_nmi", "test_nmi"]].stack().between(0, 1).all() and frame["seconds"].gt(0).all()
    path = save_cluster_study(frame, tmp_path / "study" / "quality.json", base)
    again, record = load_cluster_study(path)
    assert again.drop(columns="seconds").equals(frame.drop(columns="seconds"))
    assert record["parameters"] == base and record["provenance"]["git_rev"] is not None
    assert load_cluster_study(tmp_path / "absent.json")[0].empty


def test_cluster_study_tries_spectral_clustering_beside_kmeans(tmp_path):
    import json

    from lgtools.chapters.automatic_fine_labels import cluster_table
    from lgtools.runs.cluster_study import cluster_study, load_cluster_study, save_cluster_study

    base = {"dataset": "synthetic", "max_train": 240, "max_test": 120, "model": "small_cnn", "width": 4,
            "device": "cpu"}
    frame = cluster_study(base, [1, 3], ["pixels"], [0], methods=["kmeans", "spectral"])
    assert frame[["k", "method"]].values.tolist() == [[1, "kmeans"], [3, "kmeans"], [3, "spectral"]]
    spectral = frame[frame["method"].eq("spectral")].iloc[0]
    assert 0 <= spectral["test_nmi"] <= 1
    assert set(cluster_table(frame)["features"]) == {"whitened pixels", "whitened pixels, spectral"}
    # A study stored before the method column clustered with k-means.
    path = save_cluster_study(frame.drop(columns="method"), tmp_path / "old.json", base)
    record = json.loads(path.read_text())
    assert "method" not in record["rows"][0]
    assert set(load_cluster_study(path)[0]["method"]) == {"kmeans"}
    with pytest.raises(ValueError, match="methods must be some of"):
        cluster_study(base, [2], ["pixels"], [0], methods=["dbscan"])


@pytest.mark.parametrize("ks, features, seeds, message", [
    ([0], ["pixels"], [0], "ks must be"), ([2], ["autoencoder"], [0], "features must be some of"),
    ([2], ["pixels"], [], "seeds must be"),
])
def test_cluster_study_refuses_bad_settings_before_reading_data(ks, features, seeds, message):
    from lgtools.runs.cluster_study import cluster_study

    with pytest.raises(ValueError, match=message):
        cluster_study({"dataset": "cifar10", "data_root": "/nonexistent"}, ks, features, seeds)


def test_pseudo_classes_within_fine_classes_keep_the_coarse_read_out():
    from lgtools.labels.builtin import get_hierarchy
    from lgtools.training.config import TrainConfig
    from lgtools.training.run_data import load_run_data

    common = dict(dataset="synthetic", max_train=240, max_test=120, device="cpu")
    data = load_run_data(TrainConfig(**common, pseudo_k=2, pseudo_within="fine"))
    h, truth = data.hierarchy, get_hierarchy("synthetic")
    # Two sub-classes of each of the 12 fine classes, under its coarse class.
    assert h.num_fine == 24 and h.fine_names[:2] == (f"{truth.fine_names[0]}/0", f"{truth.fine_names[0]}/1")
    assert list(h.fine_to_coarse) == list(np.repeat(truth.fine_to_coarse, 2)) and h.coarse_names == truth.coarse_names
    true_fine = load_run_data(TrainConfig(**common)).train[1].numpy()
    assert np.array_equal(data.train[1].numpy() // 2, true_fine)  # every image stays inside its true fine class
    assert np.array_equal(data.test[1].numpy() // 2, load_run_data(TrainConfig(**common)).test[1].numpy())


def test_clusters_of_all_images_go_to_their_majority_coarse_class():
    from lgtools.labels.hierarchy import Hierarchy
    from lgtools.labels.pseudo import regroup

    truth = Hierarchy(("a", "b", "c", "d"), ("x", "y"), np.array([0, 0, 1, 1]), "toy")
    parents = Hierarchy(("all/0", "all/1", "all/2"), ("all",), np.zeros(3, dtype=int), "pseudo_k3")
    pseudo = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    coarse = np.array([0, 0, 1, 1, 1, 0, 1, 0])  # cluster 0 mostly x, 1 mostly y, 2 a tie (first wins)
    h = regroup(pseudo, "all", truth, parents, coarse)
    assert list(h.fine_to_coarse) == [0, 1, 0] and h.coarse_names == ("x", "y")
    with pytest.raises(ValueError, match=r"no cluster holds mostly coarse class\(es\) \['y'\]"):
        regroup(pseudo, "all", truth, parents, np.zeros(8, dtype=int))


def test_pseudo_within_is_checked_before_any_work():
    from lgtools.training.config import TrainConfig

    with pytest.raises(ValueError, match="pseudo_within must be one of"):
        TrainConfig(pseudo_k=2, pseudo_within="leaves")
    with pytest.raises(ValueError, match="pseudo_within 'fine' needs pseudo_k > 0"):
        TrainConfig(pseudo_within="fine")
