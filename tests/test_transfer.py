"""Transfer (chapter 12, issue 28): two disjoint halves of the training images, pretrain on one, fine-tune on the other."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import lgtools.runs.finetune_study as fs
import lgtools.training.labelling as labelling
import lgtools.training.loop as loop
import lgtools.training.state as state
from lgtools.chapters import pretraining_granularity
from lgtools.cli import main
from lgtools.data.datasets import load_dataset, training_part
from lgtools.runs.finetune_study import finetune_study, scratch_config
from lgtools.runs.results import load_result
from lgtools.runs.sweep import run_sweep
from lgtools.runs.sweep_spec import expand, load_spec, spec_from_dict
from lgtools.training.config import TrainConfig
from lgtools.training.identity import identity_values, legacy_config, run_identity, stored_identity
from lgtools.training.loop import train
from lgtools.training.pretrained import read_weights
from lgtools.training.run_data import load_run_data, training_subset

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(dataset="synthetic", model="preact_resnet18", width=4, epochs=1, max_train=144, max_test=72,
            batch_size=48, device="cpu", progress=False, num_threads=1)
# A stored CPU-scale run of Table I, trained before train_part existed, and its identity then.
STORED = ROOT / "results" / "table1-cpu-scale" / "labels=coarse_seed=0-2d910bee5a.json"
STORED_IDENTITY = "2d910bee5a01f9d6"


def _labels() -> np.ndarray:
    return load_dataset("synthetic", split="train").labels.numpy()


def _kept(**fields) -> np.ndarray:
    return training_subset(_labels(), TrainConfig(**{**TINY, **fields}))


def test_the_halves_are_disjoint_cover_the_set_and_split_every_class_evenly() -> None:
    labels = _labels()
    a, b = training_part(labels, "a"), training_part(labels, "b")
    assert len(np.intersect1d(a, b)) == 0 and np.array_equal(np.union1d(a, b), np.arange(len(labels)))
    counts_a, counts_b = np.bincount(labels[a]), np.bincount(labels[b])
    assert len(counts_a) == len(counts_b) == labels.max() + 1 and np.abs(counts_a - counts_b).max() <= 1
    assert np.array_equal(training_part(labels, "all"), np.arange(len(labels)))
    # A run's part is the same for every seed: no seed moves an image from one half to the other.
    full = {seed: (_kept(train_part="a", max_train=None, seed=seed), _kept(train_part="b", max_train=None, seed=seed))
            for seed in (0, 1, 2)}
    assert all(np.array_equal(x, a) and np.array_equal(y, b) for x, y in full.values())


def test_caps_and_shares_are_taken_inside_the_part_for_every_seed() -> None:
    labels = _labels()
    for seed_a in (0, 1, 2):
        for seed_b in (0, 1, 2):
            pretrain = _kept(train_part="a", seed=seed_a)
            target = _kept(train_part="b", seed=seed_b, data_ratio=0.5)
            assert len(np.intersect1d(pretrain, target)) == 0
    pretrain, target = _kept(train_part="a"), _kept(train_part="b", data_ratio=0.5)
    assert np.isin(pretrain, training_part(labels, "a")).all() and np.isin(target, training_part(labels, "b")).all()
    assert len(pretrain) == 144 and len(target) == 72  # the cap within the part, then data_ratio of it
    assert set(np.bincount(labels[target])) == {6}  # stratified: 12 classes, 6 images each


def test_a_run_of_every_image_keeps_its_stored_identity() -> None:
    record = json.loads(STORED.read_text())
    assert record["identity"].startswith(STORED_IDENTITY) and stored_identity(record) == record["identity"]
    config = TrainConfig.from_dict({**legacy_config(record["config"]), "train_part": "all"})
    device, precision = record["summary"]["device"], record["summary"].get("precision")
    assert run_identity(config, device, precision) == record["identity"]
    assert "train_part" not in identity_values(config, device, precision)
    half = TrainConfig.from_dict({**legacy_config(record["config"]), "train_part": "b"})
    assert run_identity(half, device, precision) != record["identity"]
    # Every stored run of chapter 12's spec is still found under the id the spec gives it.
    spec = load_spec(ROOT / "sweeps" / "cpu" / "pretraining.yaml")
    found = 0
    for run in expand(spec):
        path = ROOT / "results" / spec.name / f"{run.run_id}.json"
        if path.exists():
            found += 1
            assert json.loads(path.read_text())["identity"] == run.identity
    assert found >= 12


def test_a_bad_part_is_refused_before_any_work(tmp_path, capsys, monkeypatch) -> None:
    with pytest.raises(ValueError, match=r"train_part must be one of \('all', 'a', 'b'\), got 'c'"):
        TrainConfig(**TINY, train_part="c")
    with pytest.raises(ValueError, match=r"train_part must be one of \('all', 'a', 'b'\)"):
        spec_from_dict({"name": "bad", "train": {}, "parameters": {**TINY, "train_part": "half"}})
    with pytest.raises(ValueError, match="part must be one of"):
        training_part([0, 1, 0, 1], "A")
    monkeypatch.setattr(state, "load_run_data", lambda config: (_ for _ in ()).throw(AssertionError("loaded data")))
    monkeypatch.setattr(loop, "load_run_images", lambda config: (_ for _ in ()).throw(AssertionError("loaded data")))
    assert main(["train", "--dataset", "synthetic", "--train-part", "c", "--results", str(tmp_path)]) == 2
    assert "train_part must be one of ('all', 'a', 'b'), got 'c'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="target_part must be None .* or one of"):
        finetune_study([tmp_path / "no-weights"], target_part="c")
    with pytest.raises(ValueError, match=r"target_ratio must be None .* in \(0, 1\]"):
        finetune_study([tmp_path / "no-weights"], target_part="b", target_ratio=0)


def test_whitening_and_pseudo_clusters_see_only_the_runs_part(monkeypatch) -> None:
    dataset = load_dataset("synthetic", split="train")
    part_a = dataset.images[torch.as_tensor(_kept(train_part="a"))]
    seen = {}

    def clustering(x_tr, x_te, config):
        seen["clusters"] = x_tr
        return original(x_tr, x_te, config)

    original = labelling.clustering_features
    monkeypatch.setattr(labelling, "clustering_features", clustering)
    data = load_run_data(TrainConfig(**TINY, train_part="a", pseudo_k=2, pseudo_within="fine"))
    assert torch.equal(seen["clusters"], part_a) and torch.equal(data.train[0], part_a)

    class Seen(Exception):
        pass

    def whitening(x, mean, std, seed):
        seen["whitening"] = x
        raise Seen

    monkeypatch.setattr(state, "_whitening_images", whitening)
    with pytest.raises(Seen):
        state.prepare_run(TrainConfig(**{**TINY, "model": "whitened_cnn", "width": 8}, train_part="a"))
    assert torch.equal(seen["whitening"], part_a)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """Tiny pretrainings on half a, coarse and fine labels, seed 0, weights kept."""
    root = tmp_path_factory.mktemp("pretrained-a")
    for labels in ("coarse", "fine"):
        train(TrainConfig(**TINY, labels=labels, train_part="a", keep_weights=True, checkpoint_dir=str(root / labels)))
    return root


def test_a_tiny_transfer_study_pretrains_on_a_and_fine_tunes_on_b(pretrained, tmp_path, monkeypatch) -> None:
    results = tmp_path / "res"
    # The from-scratch baseline on half b, stored by a sweep first: the study reads it, never trains it.
    spec = spec_from_dict({"name": "transfer-tiny", "train": {},
                           "parameters": {**TINY, "labels": "coarse", "train_part": "b"}, "grid": {"seed": [0]}})
    run_sweep(spec, results, tmp_path / "runs", progress=False)
    trained = []

    def counting(config):
        trained.append(config)
        return train(config)

    monkeypatch.setattr(fs, "train", counting)
    folders = [pretrained / "coarse", pretrained / "fine"]
    frame, parameters = finetune_study(folders, epochs=1, probe_train=60, results=results,
                                       experiment="transfer-finetune", target_part="b", scratch=True)
    assert frame["pretraining"].tolist() == ["coarse", "fine", "scratch"] and frame["seed"].tolist() == [0, 0, 0]
    assert frame["finetune_acc"].between(0, 100).all() and frame["probe_acc"].iloc[:2].between(0, 100).all()
    assert all(len(p) == 72 for p in frame["finetune_pred"])
    assert [c.init_from is not None for c in trained] == [True, True]  # only the fine-tunings trained
    assert parameters["target_part"] == "b" and parameters["weights"][2] is None
    stored = sorted((results / "transfer-finetune").glob("*.json"))
    assert len(stored) == 2
    pretraining_ids = {read_weights(next((pretrained / name).glob("weights-epoch001.pt")))["identity"]
                       for name in ("coarse", "fine")}
    for path in stored:
        record = load_result(path)
        assert record["config"]["train_part"] == "b" and record["config"]["labels"] == "coarse"
        assert record["config"]["init_identity"].split("@")[0] in pretraining_ids
        assert "train_part" in record["config"] and record["identity"] == stored_identity(record)
    scratch = load_result(next((results / "transfer-tiny").glob("*.json")))
    assert frame["finetune_run"].iloc[2] == scratch["run_id"] and scratch["config"]["train_part"] == "b"
    # Fine-tuned on images the pretraining never saw.
    tuned = TrainConfig.from_dict({**load_result(stored[0])["config"], "init_from": None, "init_identity": None})
    assert len(np.intersect1d(training_subset(_labels(), tuned), _kept(train_part="a"))) == 0
    # The small target: a share of half b, 1/ratio the epochs; its baseline is trained by the study itself.
    small, _ = finetune_study(folders[:1], epochs=1, probe_train=60, results=results, experiment="transfer-finetune",
                              target_part="b", target_ratio=0.5, scratch=True)
    assert small["pretraining"].tolist() == ["coarse", "scratch"]
    assert [c.data_ratio for c in trained[2:]] == [0.5, 0.5] and trained[3].init_from is None
    assert all(c.train_part == "b" for c in trained)


def test_a_transfer_target_must_be_the_half_the_pretraining_did_not_see(pretrained, tmp_path) -> None:
    with pytest.raises(ValueError, match="target_part 'a' must be the half the pretraining did not see.*must be 'b'"):
        finetune_study([pretrained / "coarse"], target_part="a", results=tmp_path)
    train(TrainConfig(**TINY, keep_weights=True, checkpoint_dir=str(tmp_path / "every-image")))
    with pytest.raises(ValueError, match="train_part 'all', so no image is new to it"):
        finetune_study([tmp_path / "every-image"], target_part="b", results=tmp_path)
    assert not tmp_path.joinpath("finetune-cpu-scale").exists()


def test_the_command_line_fine_tunes_across_the_halves(pretrained, tmp_path, capsys) -> None:
    out = tmp_path / "finetune-small.json"
    assert main(["finetune", "--weights", str(pretrained / "fine"), "--target-part", "b", "--target-ratio", "0.5",
                 "--scratch", "--epochs", "1", "--probe-train", "60", "--results", str(tmp_path / "res"),
                 "--experiment", "cli-transfer", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["parameters"]["target_part"] == "b" and record["parameters"]["target_ratio"] == 0.5
    assert [row["pretraining"] for row in record["rows"]] == ["fine", "scratch"]
    configs = [load_result(path)["config"] for path in (tmp_path / "res" / "cli-transfer").glob("*.json")]
    assert sorted((c["train_part"], c["data_ratio"], c["init_from"] is None) for c in configs) == \
        [("b", 0.5, False), ("b", 0.5, True)]


def test_the_transfer_specs_baselines_are_the_ones_the_study_looks_for() -> None:
    spec = load_spec(ROOT / "sweeps" / "cpu" / "pretraining_transfer.yaml")
    runs = expand(spec)
    assert len(runs) == 12 and {r.parameters["seed"] for r in runs} == {0, 1, 2}
    pretrainings = [r for r in runs if r.parameters["train_part"] == "a"]
    baselines = {r.identity for r in runs if r.parameters["train_part"] == "b"}
    assert {r.parameters["labels"] for r in pretrainings} == {"coarse", "fine"}
    assert all(r.parameters["keep_weights"] for r in pretrainings) and len(baselines) == 6
    for run in pretrainings:  # the config a pretraining stores, as the study reads it from its weights
        stored = TrainConfig(**{**run.parameters, "data_root": "/data/cifar10-jpeg.npz",
                                "checkpoint_dir": "runs/x.ckpt"}).to_dict()
        for ratio in (None, 0.2):
            assert run_identity(scratch_config(stored, 4, "transfer-finetune-cpu-scale", "b", ratio)) in baselines


def test_the_transfer_table_pairs_fine_coarse_and_scratch_per_seed_and_target_size(tmp_path, monkeypatch) -> None:
    results, runs = tmp_path / "res", tmp_path / "runs"
    # The transfer spec's shape on tiny data: pretrain on a, baselines from scratch on b (all of it and half of it).
    spec = spec_from_dict({"name": "tiny-transfer", "train": {}, "parameters": TINY, "grid": {"seed": [0, 1]},
                           "cases": [{"train_part": "a", "labels": "coarse", "keep_weights": True},
                                     {"train_part": "a", "labels": "fine", "keep_weights": True},
                                     {"train_part": "b", "labels": "coarse"},
                                     {"train_part": "b", "labels": "coarse", "data_ratio": 0.5}]})
    run_sweep(spec, results, runs, progress=False)
    monkeypatch.setattr(fs, "train", lambda config: train(config) if config.init_from else
                        (_ for _ in ()).throw(AssertionError("a stored baseline trained again")))
    weights = sorted((runs / "tiny-transfer").glob("train_part=a_*.weights"))
    assert len(weights) == 4
    studies = {ratio: finetune_study(weights, epochs=1, probe_train=60, results=results, experiment="tiny-finetune",
                                     target_part="b", target_ratio=ratio, scratch=True)[0] for ratio in (None, 0.5)}
    per_seed, paired = fs.transfer_table(results, ["tiny-transfer", "tiny-finetune"])
    assert per_seed[["data_ratio", "seed"]].values.tolist() == [[0.5, 0], [0.5, 1], [1.0, 0], [1.0, 1]]
    assert per_seed["images_share"].tolist() == [0.25, 0.25, 0.5, 0.5]
    for ratio, frame in studies.items():
        mine = per_seed[per_seed["data_ratio"] == (ratio or 1.0)].set_index("seed")
        for row in frame.itertuples():
            assert mine.loc[row.seed, row.pretraining] == pytest.approx(row.finetune_acc)
    assert paired["comparison"].tolist() == ["fine - coarse", "fine - scratch", "coarse - scratch"] * 2
    assert (paired["n"] == 2).all()
    full = per_seed[per_seed["data_ratio"] == 1.0]
    row = paired[(paired["data_ratio"] == 1.0) & (paired["comparison"] == "fine - scratch")].iloc[0]
    assert row["mean"] == pytest.approx((full["fine"] - full["scratch"]).mean())
    assert row["low"] <= row["mean"] <= row["high"]
    # Chapter 12's ledger row reads the same pairs: fine minus coarse pretraining on all of half b.
    ledger_row = pretraining_granularity._transfer_row(str(results), ["tiny-transfer", "tiny-finetune"])
    fine_coarse = paired[(paired["data_ratio"] == 1.0) & (paired["comparison"] == "fine - coarse")].iloc[0]
    assert ledger_row["seeds"] == 2 and f"{fine_coarse['mean']:+.2f}" in ledger_row["ours"]
    assert "disjoint images" in ledger_row["ours"] and not ledger_row["verdict"].startswith("not run")
    # Without the pretrainings' folder a fine-tuning cannot say what it was pretrained on: said, not guessed.
    with pytest.raises(ValueError, match="which none of the folders holds"):
        fs.transfer_table(results, ["tiny-finetune"])
    with pytest.raises(ValueError, match="target_part must be one of"):
        fs.transfer_table(results, ["tiny-transfer"], target_part="all")
