"""The pretraining-granularity study on tiny data: pretrain at three granularities, probe and fine-tune on coarse."""

from __future__ import annotations

import numpy as np
import pytest

import lgtools.runs.finetune_study as fs
from lgtools.runs.finetune_study import finetune_study, granularity, load_finetune_study, save_finetune_study
from lgtools.training.config import TrainConfig
from lgtools.training.loop import train

TINY = dict(dataset="synthetic", model="preact_resnet18", width=4, epochs=1, max_train=144, max_test=72,
            batch_size=48, device="cpu", progress=False, num_threads=1, keep_weights=True)
SETTINGS = {"coarse": {"labels": "coarse"}, "fine": {}, "finer": {"pseudo_k": 2, "pseudo_within": "fine"}}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrained")
    for name, extra in SETTINGS.items():
        train(TrainConfig(**TINY, **extra, checkpoint_dir=str(root / name)))
    return root


def test_each_granularity_is_probed_and_fine_tuned_once(pretrained, tmp_path, monkeypatch):
    folders = [pretrained / name for name in SETTINGS]
    frame, parameters = finetune_study(folders, epochs=1, probe_train=144, results=tmp_path / "res")
    assert frame["pretraining"].tolist() == ["coarse", "fine", "finer than fine (k = 2 per fine class)"]
    assert frame["classes"].tolist() == [4, 12, 24]
    for column in ("pretrained_afc", "probe_acc", "finetune_acc"):
        assert frame[column].between(0, 100).all()
    assert all(len(p) == 72 for p in frame["probe_pred"]) and all(len(p) == 72 for p in frame["finetune_pred"])
    stored = sorted((tmp_path / "res" / "finetune-cpu-scale").glob("*.json"))
    assert len(stored) == 3 and len(parameters["pretrained"]) == 3
    # Again: every fine-tuning is found in the results folder, none trains.
    monkeypatch.setattr(fs, "train", lambda config: (_ for _ in ()).throw(AssertionError("trained again")))
    again, _ = finetune_study(folders, epochs=1, probe_train=144, results=tmp_path / "res")
    assert np.allclose(again["finetune_acc"], frame["finetune_acc"])
    path = save_finetune_study(frame, tmp_path / "finetune.json", parameters)
    back, record = load_finetune_study(path)
    assert record["format"] == "lgtools-finetune-study" and back["probe_pred"].iloc[0] == frame["probe_pred"].iloc[0]


def test_a_stored_study_grows_without_the_earlier_weights(pretrained, tmp_path):
    folders = [pretrained / name for name in SETTINGS]
    frame, parameters = finetune_study(folders[:2], epochs=1, probe_train=144, results=tmp_path / "res")
    first = load_finetune_study(save_finetune_study(frame, tmp_path / "finetune.json", parameters))
    # The first two folders' weights are not needed again: their rows come from the stored study.
    grown, parameters = finetune_study(folders[2:], epochs=1, probe_train=144, results=tmp_path / "res", previous=first)
    assert grown["pretraining"].tolist() == ["coarse", "fine", "finer than fine (k = 2 per fine class)"]
    assert grown["probe_pred"].iloc[0] == first[0]["probe_pred"].iloc[0]
    assert parameters["pretrained"][:2] == first[1]["parameters"]["pretrained"] and len(parameters["weights"]) == 3
    # A pretraining named again replaces its stored row instead of doubling it.
    again, parameters = finetune_study(folders[1:2], epochs=1, probe_train=144, results=tmp_path / "res",
                                       previous=(grown, {"parameters": parameters}))
    assert sorted(again["pretraining"]) == sorted(grown["pretraining"]) and len(parameters["pretrained"]) == 3
    with pytest.raises(ValueError, match="previous must be a stored study as load_finetune_study returns it"):
        finetune_study(folders[2:], epochs=1, probe_train=144, results=tmp_path / "res", previous=first[0])
    with pytest.raises(ValueError, match="previous: the stored study was measured with other settings .*epochs"):
        finetune_study(folders[2:], epochs=2, probe_train=144, results=tmp_path / "res", previous=first)


def test_the_fine_tuning_starts_from_the_pretrained_body_on_coarse_labels(pretrained):
    from lgtools.runs.probe_study import kept_weights
    from lgtools.training.pretrained import read_weights

    path = kept_weights(pretrained / "finer")[-1][1]
    tune = fs.finetune_config(read_weights(path)["config"], path, 2, "finetune-cpu-scale")
    assert tune.labels == "coarse" and tune.pseudo_k == 0 and tune.epochs == 2 and tune.init_from.endswith(".pt")
    assert not tune.keep_weights and tune.checkpoint_dir is None


def test_an_unfinished_pretraining_is_refused(tmp_path):
    folder = tmp_path / "half"
    train(TrainConfig(**{**TINY, "epochs": 2}, checkpoint_dir=str(folder)), stop_after=1)
    with pytest.raises(ValueError, match="stopped at epoch 1 of 2"):
        finetune_study([folder])


def test_granularity_in_words_and_bad_inputs():
    assert granularity({"labels": "fine", "pseudo_k": 10, "pseudo_within": "all"}, 10) == "clusters across the coarse classes (10)"
    assert granularity({"labels": "fine"}, 10) == "fine"
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        finetune_study(["x"], epochs=0)
    with pytest.raises(ValueError, match="weights_dirs must name at least one folder"):
        finetune_study([])
