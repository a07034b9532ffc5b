"""Per-epoch weights (keep_weights), stage features and the layer-probe study on tiny data."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from lgtools.nets.models import build_model
from lgtools.runs.probe_study import (COLUMNS, kept_weights, linear_probe, load_probe_study, probe_study,
                                      save_probe_study)
from lgtools.training.config import TrainConfig
from lgtools.training.features import network_features, stage_features
from lgtools.training.loop import train

TINY = dict(dataset="synthetic", model="preact_resnet18", width=4, epochs=2, max_train=120, max_test=60,
            batch_size=32, device="cpu", progress=False, num_threads=1)


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """Two tiny runs (fine and coarse) that kept their weights: (folders, the fine run's result)."""
    root = tmp_path_factory.mktemp("weights")
    fine = train(TrainConfig(**TINY, checkpoint_dir=str(root / "fine"), keep_weights=True))
    train(TrainConfig(**{**TINY, "labels": "coarse"}, checkpoint_dir=str(root / "coarse"), keep_weights=True))
    return [root / "fine", root / "coarse"], fine


def test_a_run_killed_between_its_weights_and_its_checkpoint_keeps_every_epoch(tmp_path):
    folder = tmp_path / "run"
    config = TrainConfig(**TINY, checkpoint_dir=str(folder), keep_weights=True)
    train(config, stop_after=1)
    (folder / "weights-epoch001.pt").unlink()  # as if killed after the checkpoint, before this epoch's weights
    train(config)
    assert [epoch for epoch, _ in kept_weights(folder)] == [0, 1, 2]


def test_probes_read_the_body_of_a_pseudo_label_run(tmp_path):
    config = TrainConfig(**{**TINY, "epochs": 1}, pseudo_k=2, pseudo_within="fine", checkpoint_dir=str(tmp_path / "p"),
                         keep_weights=True)
    train(config)
    frame, _ = probe_study([tmp_path / "p"], probe_train=120, probe_test=60)
    assert set(frame["labels"]) == {"fine/k=2"} and len(frame) == 2 * 4 * 2


def test_keep_weights_needs_a_checkpoint_dir():
    with pytest.raises(ValueError, match="keep_weights=True needs checkpoint_dir"):
        TrainConfig(**TINY, keep_weights=True)


def test_a_run_keeps_its_initial_and_every_epochs_weights(kept):
    folders, fine = kept
    found = kept_weights(folders[0])
    assert [epoch for epoch, _ in found] == [0, 1, 2]
    last = torch.load(found[-1][1], weights_only=True)["model"]
    assert all(torch.equal(last[k], v) for k, v in fine.model.state_dict().items())
    first = torch.load(found[0][1], weights_only=True)["model"]
    assert not torch.equal(first["classifier.weight"], last["classifier.weight"])  # training moved them


def test_stage_features_end_with_the_penultimate_features():
    torch.manual_seed(0)
    model = build_model("preact_resnet18", 10, width=4)
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    stages = stage_features(model, images, [0.5] * 3, [0.25] * 3, batch_size=4)
    assert {s: a.shape for s, a in stages.items()} == {1: (6, 4), 2: (6, 8), 3: (6, 16), 4: (6, 32)}
    assert np.allclose(stages[4], network_features(model, images, [0.5] * 3, [0.25] * 3), atol=1e-6)
    with pytest.raises(ValueError, match="model must be lgtools.nets' 'preact_resnet18'"):
        stage_features(build_model("small_cnn", 10, width=4), images, [0.5] * 3, [0.25] * 3)


def test_a_linear_probe_separates_what_is_linearly_separable_and_not_noise():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 100)
    x = rng.normal(size=(200, 5)) + 4.0 * y[:, None]
    train_acc, test_acc = linear_probe(x[::2], y[::2], x[1::2], y[1::2])
    assert train_acc == 100 and test_acc >= 98
    _, chance = linear_probe(rng.normal(size=(200, 5)), y, rng.normal(size=(200, 5)), y)
    assert 30 <= chance <= 70


def test_the_probe_study_covers_every_epoch_stage_and_probe(kept, tmp_path):
    folders, _ = kept
    frame, parameters = probe_study(folders, probe_train=120, probe_test=60)
    assert list(frame.columns) == COLUMNS and len(frame) == 2 * 3 * 4 * 2  # runs × epochs × stages × probes
    assert set(frame["labels"]) == {"fine", "coarse"} and set(frame["probe"]) == {"coarse", "fine"}
    assert frame["test_acc"].between(0, 100).all() and len(parameters["runs"]) == 2
    path = save_probe_study(frame, tmp_path / "probes.json", parameters)
    again, record = load_probe_study(path)
    assert record["format"] == "lgtools-probe-study" and record["provenance"]["git_rev"]
    assert np.allclose(again["test_acc"], frame["test_acc"])


def test_the_probe_study_refuses_bad_inputs_before_reading_images(kept, tmp_path):
    folders, _ = kept
    with pytest.raises(ValueError, match="probe_train must be an integer >= 20"):
        probe_study(folders, probe_train=5)
    with pytest.raises(ValueError, match="holds no weights-epochNNN.pt"):
        probe_study([tmp_path])
    mixed = tmp_path / "mixed"
    shutil.copytree(folders[0], mixed)
    shutil.copy(kept_weights(folders[1])[1][1], mixed / "weights-epoch001.pt")
    with pytest.raises(ValueError, match="mixes the weights of different runs"):
        probe_study([mixed])


def test_a_run_fine_tunes_from_kept_weights_with_its_own_classifier(kept, tmp_path):
    from lgtools.training.identity import run_identity

    folders, fine = kept
    start = str(kept_weights(folders[0])[-1][1])  # the fine run's last epoch: 12 fine classes
    base = {**TINY, "labels": "coarse", "epochs": 1}
    tuned = TrainConfig(**base, init_from=start)
    scratch = TrainConfig(**base)
    assert run_identity(tuned) != run_identity(scratch)
    # The identity names the pretrained run, not the file's place: a copy elsewhere is the same run.
    copy = tmp_path / "elsewhere.pt"
    shutil.copy(start, copy)
    assert run_identity(TrainConfig(**base, init_from=str(copy))) == run_identity(tuned)
    # Stored and read back where the file is gone, the run keeps its identity (init_identity, not the path).
    values = {**tuned.to_dict(), "init_from": str(tmp_path / "gone.pt")}
    assert run_identity(TrainConfig.from_dict(values)) == run_identity(tuned)
    assert tuned.init_identity.endswith("@2")
    result = train(TrainConfig(**{**base, "epochs": 1}, init_from=start), stop_after=0)
    pretrained = fine.model.state_dict()
    own = result.model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in pretrained.items() if k.startswith("body."))
    assert own["classifier.weight"].shape[0] != pretrained["classifier.weight"].shape[0]  # coarse classes, drawn anew


@pytest.mark.parametrize("values, message", [
    ({"init_from": "nowhere.pt"}, "init_from must be a weights file written by keep_weights"),
    ({"init_from": 3}, "init_from must be None or the path of a weights file"),
    ({"init_from": "WIDTH8", "width": 8}, "holds model 'preact_resnet18' of width 4; this run builds 'preact_resnet18' of width 8"),
])
def test_bad_init_from_is_refused_before_any_work(kept, values, message):
    folders, _ = kept
    if values.get("init_from") == "WIDTH8":
        values = {**values, "init_from": str(kept_weights(folders[0])[-1][1])}
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**TINY, **values})


def test_pseudo_fine_labels_can_cluster_a_coarse_trained_networks_features(kept, tmp_path):
    from lgtools.training.identity import run_identity
    from lgtools.training.labelling import clustering_features
    from lgtools.training.run_data import load_run_data

    folders, _ = kept
    coarse_net = str(kept_weights(folders[1])[-1][1])
    base = {**TINY, "epochs": 1, "pseudo_k": 2}
    cfg = TrainConfig(**base, pseudo_features="coarse_net", pseudo_from=coarse_net)
    assert cfg.pseudo_identity.endswith("@2")
    # The identity names the coarse network by its run, not its path, and differs from clustering pixels.
    copy = tmp_path / "copy.pt"
    shutil.copy(coarse_net, copy)
    assert run_identity(TrainConfig(**base, pseudo_features="coarse_net", pseudo_from=str(copy))) == run_identity(cfg)
    assert run_identity(cfg) != run_identity(TrainConfig(**base))
    data = load_run_data(cfg)
    train_x, test_x = clustering_features(data.train[0], data.test[0], cfg)
    assert train_x.shape[0] == len(data.train[0]) and test_x.shape[0] == len(data.test[0])
    np.testing.assert_allclose(train_x.std(axis=0, ddof=1), 1.0, rtol=1e-3)  # whitened like the other sources
    pixels_x, _ = clustering_features(data.train[0], data.test[0], TrainConfig(**base))
    assert train_x.shape != pixels_x.shape or not np.allclose(train_x, pixels_x)
    result = train(cfg)
    assert len(result.fine_names) == 8 and 0 <= result.summary["pseudo_train_nmi"] <= 1  # 4 coarse x k=2


@pytest.mark.parametrize("values, message", [
    ({"pseudo_features": "coarse_net"}, "pseudo_from .* is needed with pseudo_features 'coarse_net' and only with it"),
    ({"pseudo_from": "COARSE"}, "is needed with pseudo_features 'coarse_net' and only with it"),
    ({"pseudo_features": "coarse_net", "pseudo_from": "nowhere.pt"}, "pseudo_from must be a weights file"),
    ({"pseudo_features": "coarse_net", "pseudo_from": "FINE"}, "must hold a network trained on this run's coarse "
                                                               "labels .* differs in \\{'labels': 'fine'\\}"),
    ({"pseudo_features": "coarse_net", "pseudo_from": "COARSE", "hierarchy": "synthetic"}, "differs in \\{'hierarchy'"),
    ({"pseudo_identity": "x@1"}, "pseudo_identity needs pseudo_from"),
])
def test_bad_pseudo_from_is_refused_before_any_work(kept, values, message):
    folders, _ = kept
    files = {"FINE": str(kept_weights(folders[0])[-1][1]), "COARSE": str(kept_weights(folders[1])[-1][1])}
    values = {key: files.get(value, value) if isinstance(value, str) else value for key, value in values.items()}
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**TINY, "pseudo_k": 2, **values})
