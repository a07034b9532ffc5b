"""lgtools.runs.results: round trip with provenance, no silent overwrite, graceful absence, re-evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lgtools.labels.hierarchy import Hierarchy
from lgtools.runs.compare import delta_pairs, delta_table, NOISE_PAIR_KEYS, summarise
from lgtools.training.config import TrainConfig
from lgtools.training.identity import run_identity
from lgtools.runs.results import COLUMNS, load_result, load_results, reevaluate, reevaluate_runs, save_result

FINE = ("a", "b", "c", "d")
# Fine classes a, b | c, d: the run's own grouping.
GROUPING = Hierarchy.from_groups({"x": ["a", "b"], "y": ["c", "d"]}, fine_names=FINE, name="ab_cd")
# Rows true, columns predicted; 100 samples, 10 wrong across the groupings differently.
CONFUSION = np.array([[20, 3, 1, 1],
                      [2, 21, 0, 2],
                      [0, 1, 22, 2],
                      [1, 0, 2, 22]])


def fake_result(labels: str = "fine", seed: int = 0, test_acc: float = 90.0,
                hierarchy=None, **config) -> SimpleNamespace:
    """A RunResult-shaped object, as lgtools.training.loop.train returns it."""
    cfg = {"experiment": "unit", "dataset": "synthetic", "hierarchy": hierarchy, "labels": labels,
           "model": "small_cnn", "width": None, "epochs": 1, "data_ratio": 1.0, "noise": 0.0,
           "dropout": 0.0, "extra_layer": None, "schedule": "onecycle", "seed": seed,
           "device": "cpu", "progress": False, **config}
    fine = labels == "fine"
    return SimpleNamespace(
        config=cfg,
        history=[{"epoch": 1, "lr": 0.1, "train_loss": 1.0, "train_acc": 80.0,
                  "test_acc": test_acc, "seconds": 0.5}],
        summary={"train_acc": 95.0, "test_acc": test_acc, "test_acc_fine": 85.0 if fine else None,
                 "acr": 0.5 if fine else None, "acr_equation": 3.0 if fine else None,
                 "images_per_s": 100.0, "seconds": 1.5, "peak_memory_mb": 0.0, "device": "cpu"},
        confusion_fine=CONFUSION.copy() if fine else None,
        confusion_coarse=np.array([[46, 4], [3, 47]]),
        fine_names=list(FINE), coarse_names=["x", "y"], fine_to_coarse=np.array([0, 0, 1, 1]),
        model=object())


def test_round_trip_keeps_everything_and_provenance(tmp_path: Path) -> None:
    path = save_result(fake_result(hierarchy=GROUPING), tmp_path, metadata={"scale": "cpu-scale"})
    assert path.parent == tmp_path / "unit" and path.suffix == ".json"
    record = load_result(path)
    assert record["config"]["hierarchy"]["fine_to_coarse"] == [0, 0, 1, 1]
    np.testing.assert_array_equal(record["confusion_fine"], CONFUSION)
    assert record["confusion_coarse"].tolist() == [[46, 4], [3, 47]]
    assert record["fine_names"] == list(FINE) and record["coarse_names"] == ["x", "y"]
    assert record["history"][0]["test_acc"] == 90.0 and record["summary"]["seconds"] == 1.5
    prov = record["provenance"]
    for key in ("seed", "lgtools_version", "git_rev", "git_dirty", "torch_version",
                "device_name", "cpu_count", "date"):
        assert key in prov
    assert prov["seed"] == 0 and prov["cpu_count"] >= 1 and prov["date"].endswith("+00:00")
    assert prov["device_name"]  # CPU model string on this machine
    # The run id is the run's identity (bookkeeping keys aside), whose digits the record keeps whole.
    again = fake_result(hierarchy=GROUPING, progress=True, experiment="elsewhere").config
    assert record["identity"] == run_identity(TrainConfig(**again), "cpu")
    assert path.stem == record["identity"][:10]
    assert record["identity"] != run_identity(TrainConfig(**{**again, "seed": 1}), "cpu")
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("labels", ["fine", "coarse"])
def test_per_image_predictions_are_stored_and_agree_with_the_confusion(tmp_path: Path, labels: str) -> None:
    from lgtools.metrics import confusion_matrix
    from lgtools.training.config import TrainConfig
    from lgtools.training.loop import train

    config = TrainConfig(dataset="synthetic", model="small_cnn", labels=labels, epochs=1,
                         batch_size=64, max_train=120, max_test=60, device="cpu", progress=False)
    record = load_result(save_result(train(config), tmp_path))
    pred, fine = record["test_predictions"], record["test_fine_labels"]
    assert pred.dtype == np.int64 and len(pred) == len(fine) == 60
    f2c = record["fine_to_coarse"]
    if labels == "fine":
        np.testing.assert_array_equal(record["confusion_fine"], confusion_matrix(fine, pred, len(f2c)))
        pred = f2c[pred]
    coarse = confusion_matrix(f2c[fine], pred, int(f2c.max()) + 1)
    np.testing.assert_array_equal(record["confusion_coarse"], coarse)
    assert 100 * np.mean(pred == f2c[fine]) == pytest.approx(record["summary"]["test_acc"])


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory) -> Path:
    """A fine and a coarse run trained on the embedded data (same seed, same test images), stored."""
    from lgtools.training.config import TrainConfig
    from lgtools.training.loop import train

    folder = tmp_path_factory.mktemp("pair")
    for labels in ("fine", "coarse"):
        config = TrainConfig(experiment="pair", dataset="synthetic", model="small_cnn", labels=labels,
                             epochs=1, batch_size=64, max_train=120, max_test=60, device="cpu",
                             progress=False)
        save_result(train(config), folder)
    return folder


def test_paired_outcomes_count_images_and_give_delta_exactly(tiny_pair: Path) -> None:
    from lgtools.runs.compare import paired_outcomes

    frame = load_results(tiny_pair).set_index("labels")
    fine, coarse = (load_result(frame.loc[k, "path"]) for k in ("fine", "coarse"))
    out = paired_outcomes(fine, coarse)
    assert out["both_right"] + out["fine_only"] + out["coarse_only"] + out["both_wrong"] == out["n"] == 60
    assert out["delta"] == pytest.approx(frame.loc["fine", "test_acc"] - frame.loc["coarse", "test_acc"])
    assert 0 < out["p_value"] <= 1
    with pytest.raises(ValueError, match="fine must be a run trained on fine labels"):
        paired_outcomes(coarse, fine)
    with pytest.raises(ValueError, match="different images"):
        paired_outcomes(fine, {**coarse, "test_fine_labels": coarse["test_fine_labels"][::-1]})
    assert paired_outcomes(fine, {**coarse, "test_predictions": None}) is None  # stored before


def test_paired_table_finds_the_stored_pairs_with_predictions(tiny_pair: Path) -> None:
    from lgtools.chapters.conclusion import paired_table

    runs = load_results(tiny_pair).assign(scale="unit")
    assert paired_table(runs).empty  # capped runs are not the paper's protocol: the scorecard leaves them out
    table = paired_table(runs.assign(max_train=None, max_test=None))  # as if trained on the whole sets
    assert len(table) == 1 and table["n"].iloc[0] == 60 and table["source"].iloc[0] == "table1"
    assert paired_table(load_results(tiny_pair).iloc[:0]).empty


def test_label_encoding_round_trips_and_rejects_what_it_cannot_hold() -> None:
    from lgtools.runs.results import decode_labels, encode_labels

    labels = np.array([0, 9, 99, 65535, 3])
    np.testing.assert_array_equal(decode_labels(encode_labels(labels)), labels)
    assert encode_labels(None) is None and decode_labels(None) is None
    assert decode_labels(encode_labels(np.array([], dtype=int))).size == 0
    with pytest.raises(ValueError, match="labels"):
        encode_labels(np.array([-1, 2]))
    with pytest.raises(ValueError, match="encoding"):
        decode_labels({"encoding": "csv", "n": 1, "data": "1"})
    with pytest.raises(ValueError, match="header"):
        decode_labels({**encode_labels(labels), "n": 4})


def test_runs_stored_before_predictions_were_kept_still_load(tmp_path: Path) -> None:
    record = load_result(save_result(fake_result(), tmp_path))  # a result without per-image labels
    assert record["test_predictions"] is None and record["test_fine_labels"] is None


def test_no_silent_overwrite(tmp_path: Path) -> None:
    path = save_result(fake_result(test_acc=90.0), tmp_path, run_id="r1")
    with pytest.raises(FileExistsError, match="r1.json"):
        save_result(fake_result(test_acc=50.0), tmp_path, run_id="r1")
    assert load_result(path)["summary"]["test_acc"] == 90.0
    save_result(fake_result(test_acc=50.0), tmp_path, run_id="r1", overwrite=True)
    assert load_result(path)["summary"]["test_acc"] == 50.0
    with pytest.raises(ValueError, match="run_id"):
        save_result(fake_result(), tmp_path, run_id="../escape")


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_load_results_absent_gives_empty_frame(tmp_path: Path, where: str) -> None:
    directory = tmp_path / "results"
    if where == "empty":
        directory.mkdir()
        (directory / "notes.json").write_text("{\"not\": \"a result\"}")
    frame = load_results(directory)
    assert frame.empty
    required = ["experiment", "dataset", "hierarchy", "labels", "model", "width", "epochs",
                "data_ratio", "noise", "dropout", "extra_layer", "seed", "train_acc", "test_acc",
                "test_acc_fine", "acr", "device", "seconds", "run_id", "path", "git_rev", "date",
                "schedule", "scale"]
    assert list(frame.columns)[:len(required)] == required == list(COLUMNS)[:len(required)]


def test_load_results_rows_and_scale(tmp_path: Path) -> None:
    save_result(fake_result(seed=0), tmp_path, experiment="table1-cpu-scale")
    save_result(fake_result(seed=1, labels="coarse"), tmp_path / "nested",
                metadata={"scale": "paper-scale"})
    (tmp_path / "unit.failed.json").write_text(json.dumps({"error": "boom"}))
    frame = load_results(tmp_path)
    assert len(frame) == 2
    assert set(frame["scale"]) == {"cpu-scale", "paper-scale"}
    fine = frame[frame["labels"] == "fine"].iloc[0]
    assert fine["hierarchy"] == "synthetic" and fine["acr"] == 0.5 and fine["seconds"] == 1.5
    assert Path(fine["path"]).exists()


def test_reevaluate_hand_made_confusion() -> None:
    own = reevaluate(fake_result(), GROUPING)
    # Correct coarse predictions: the two 2×2 diagonal blocks: (20+3+2+21)+(22+2+2+22) = 94.
    assert own["a_fc"] == pytest.approx(94.0) and own["num_coarse"] == 2
    other = reevaluate(fake_result(), "0101")  # a, c | b, d by Table VI bits
    # Blocks {a, c} and {b, d}: 20+1+0+22 + 21+2+0+22 = 88.
    assert other["a_fc"] == pytest.approx(88.0)
    # Authors' ACR: column-normalise, symmetrise, mean different-coarse / mean same-coarse pair.
    norm = CONFUSION / CONFUSION.sum(axis=0, keepdims=True)
    sym = (norm + norm.T) / 2
    same = [sym[0, 2], sym[1, 3]]
    different = [sym[0, 1], sym[0, 3], sym[1, 2], sym[2, 3]]
    assert other["acr"] == pytest.approx(np.mean(different) / np.mean(same))
    assert other["acr_equation"] > 0 and other["acr_equation"] != other["acr"]
    with pytest.raises(ValueError, match="fine classes"):
        reevaluate(fake_result(), Hierarchy.from_bits(("a", "b", "d", "c"), "0011"))
    with pytest.raises(ValueError, match="no fine confusion"):
        reevaluate(fake_result(labels="coarse"), GROUPING)


def test_reevaluate_from_rows(tmp_path: Path) -> None:
    save_result(fake_result(seed=0), tmp_path)
    save_result(fake_result(seed=0, labels="coarse"), tmp_path)
    frame = load_results(tmp_path)
    assert reevaluate(frame[frame["labels"] == "fine"].iloc[0], "0101")["a_fc"] == pytest.approx(88.0)
    rescored = reevaluate_runs(frame, ["0011", "0101"])
    assert list(rescored["hierarchy"]) == ["0011", "0101"]
    assert list(rescored["test_acc"]) == pytest.approx([94.0, 88.0])
    assert rescored["reevaluated_from"].tolist() == ["synthetic", "synthetic"]


def test_delta_table_pairs_fine_and_coarse_by_seed(tmp_path: Path) -> None:
    for seed, (fine_acc, coarse_acc) in enumerate([(92.0, 90.0), (94.0, 91.0), (90.0, 89.0)]):
        save_result(fake_result(seed=seed, test_acc=fine_acc), tmp_path)
        save_result(fake_result(seed=seed, labels="coarse", test_acc=coarse_acc), tmp_path)
    # A coarse run with another dropout and a fine run without partner pair with nothing.
    save_result(fake_result(seed=0, labels="coarse", dropout=0.3, test_acc=10.0), tmp_path)
    save_result(fake_result(seed=7, test_acc=10.0), tmp_path)
    frame = load_results(tmp_path)
    pairs = delta_pairs(frame)
    assert sorted(pairs["delta"]) == pytest.approx([1.0, 2.0, 3.0])
    table = delta_table(frame, by=["dataset"])
    assert len(table) == 1
    row = table.iloc[0]
    assert row["n"] == 3 and row["delta"] == pytest.approx(2.0)
    # Deltas 1, 2, 3: sd 1, so the 95 % interval is 2 ± t(0.975, 2) / sqrt(3) = 2 ± 2.484.
    half = 4.302652729911275 / 3**0.5
    assert row["delta_low"] == pytest.approx(2.0 - half) and row["delta_high"] == pytest.approx(2.0 + half)
    assert row["a_fc"] == pytest.approx(92.0)
    assert delta_table(frame.iloc[0:0]).empty


def test_paired_interval_and_verdicts() -> None:
    from lgtools.runs.compare import paired_interval, verdict

    one = paired_interval([1.5])
    assert one["n"] == 1 and one["mean"] == 1.5 and one["low"] != one["low"]  # NaN: no interval from one pair
    two = paired_interval([1.0, 3.0])  # sd sqrt(2), sem 1: ± 12.71 with one degree of freedom
    assert two["low"] == pytest.approx(2.0 - 12.706204736174698) and two["n"] == 2
    assert paired_interval([]) ["n"] == 0
    assert verdict(0.5, 1.5, paper_delta=0.7) == "agrees"
    assert verdict(0.5, 1.5, paper_delta=-0.3) == "disagrees"
    assert verdict(-1.5, -0.5, paper_delta=-0.3) == "agrees"
    assert verdict(-0.5, 1.5, paper_delta=0.7) == "inconclusive"
    assert verdict(float("nan"), float("nan"), paper_delta=0.7) is None
    assert verdict(0.5, 1.5, paper_delta=float("nan")) is None
    with pytest.raises(ValueError, match="confidence"):
        paired_interval([1.0, 2.0], confidence=95)


def test_pairs_differ_in_every_setting_that_changes_numbers(tmp_path: Path) -> None:
    """Runs that differ in lr (or any PAIR_KEYS setting) never pair; a reused copy never displaces its original."""
    from lgtools.runs.compare import PAIR_KEYS, delta_pairs

    for key in ("lr", "batch_size", "label_smoothing", "augment", "weight_decay", "max_train", "max_test",
                "noise_mode", "noise_test"):
        assert key in PAIR_KEYS
    save_result(fake_result(seed=0, test_acc=90.0), tmp_path)
    save_result(fake_result(seed=0, labels="coarse", test_acc=88.0), tmp_path)
    save_result(fake_result(seed=0, labels="coarse", test_acc=50.0, lr=0.01), tmp_path)
    frame = load_results(tmp_path)
    pairs = delta_pairs(frame)
    assert list(pairs["delta"]) == [pytest.approx(2.0)]
    copy = frame[frame["labels"].eq("fine")].assign(reused_from="elsewhere.json", test_acc=0.0)
    both = pd.concat([copy, frame], ignore_index=True)  # the copy listed first
    assert list(delta_pairs(both)["delta"]) == [pytest.approx(2.0)]


def test_provenance_names_the_revision_training_started_from(tmp_path: Path) -> None:
    run = fake_result()
    run.summary.update(git_rev_started="0" * 40, git_dirty_started=False)
    prov = load_result(save_result(run, tmp_path))["provenance"]
    assert prov["git_rev"] == "0" * 40 and prov["git_dirty"] is False
    assert prov["git_rev_saved"] != "0" * 40  # this checkout's revision (or None outside git)
    plain = load_result(save_result(fake_result(seed=1), tmp_path))["provenance"]
    assert plain["git_rev"] == plain["git_rev_saved"]  # nothing recorded at the start: save time's
    # Time per run sums the epochs of the history (kept across resumes), not the last process's wall time.
    assert load_results(tmp_path)["epoch_seconds"].tolist() == [0.5, 0.5]


def test_noisy_fine_runs_pair_with_the_clean_coarse_run_and_stay_apart(tmp_path: Path) -> None:
    for seed, (clean, noisy, coarse) in enumerate([(92.0, 85.0, 90.0), (94.0, 87.0, 91.0)]):
        save_result(fake_result(seed=seed, test_acc=clean), tmp_path)
        save_result(fake_result(seed=seed, noise=0.3, test_acc=noisy), tmp_path)
        save_result(fake_result(seed=seed, labels="coarse", test_acc=coarse), tmp_path)
    frame = load_results(tmp_path)
    pairs = delta_pairs(frame, keys=NOISE_PAIR_KEYS)
    assert len(pairs) == 4  # each fine run once: the noisy ones are not merged into the clean ones
    table = delta_table(frame, by=["noise"], keys=NOISE_PAIR_KEYS).set_index("noise")
    assert table.loc[0.0, "delta"] == pytest.approx(2.5) and table.loc[0.3, "delta"] == pytest.approx(-4.5)
    assert table.loc[0.3, "a_cc"] == pytest.approx(90.5) and table.loc[0.3, "n"] == 2
    assert len(delta_pairs(frame)) == 2  # with the noise key, only the clean runs have a partner


def test_summarise_mean_std_n() -> None:
    frame = pd.DataFrame({"labels": ["fine", "fine", "coarse"], "test_acc": [90.0, 94.0, 80.0]})
    table = summarise(frame, ["labels"], "test_acc").set_index("labels")
    assert table.loc["fine", "mean"] == 92.0 and table.loc["fine", "n"] == 2
    assert table.loc["fine", "std"] == pytest.approx(np.std([90, 94], ddof=1))
    with pytest.raises(ValueError, match="missing_column"):
        summarise(frame, ["missing_column"], "test_acc")


def test_unique_runs_keeps_the_original_over_its_copies() -> None:
    from lgtools.runs.compare import unique_runs

    frame = pd.DataFrame({"identity": ["a", "a", "b", "a"], "hierarchy": ["h", "h", "h", "g"],
                          "reused_from": ["x.json", None, None, None], "noise": [0.0, 0.0, 0.0, 0.1],
                          "test_acc": [1.0, 2.0, 3.0, 4.0]})
    kept = unique_runs(frame)
    assert sorted(kept["test_acc"]) == [2.0, 3.0, 4.0]  # the copy (1.0) gives way to its original
    copies = frame.iloc[[1, 1]].assign(noise=[0.1, 0.3])  # one run listed under two settings on purpose
    assert len(unique_runs(copies)) == 1 and len(unique_runs(copies, apart=["noise"])) == 2
    assert unique_runs(frame.drop(columns="identity")).equals(frame.drop(columns="identity"))


def test_unique_runs_keeps_the_first_trained_of_two_originals() -> None:
    from lgtools.runs.compare import unique_runs

    # A run retrained later under another sweep (to keep its weights) sorts first by folder name.
    frame = pd.DataFrame({"identity": ["a", "a"], "hierarchy": ["h", "h"], "reused_from": [None, None],
                          "date": ["2026-12-03T08:00:00+00:00", "2026-11-30T10:00:00+00:00"],
                          "test_acc": [94.18, 94.22]})
    assert unique_runs(frame)["test_acc"].tolist() == [94.22]
    assert unique_runs(frame.iloc[::-1])["test_acc"].tolist() == [94.22]


def test_a_copy_answers_to_the_name_its_own_sweep_gave_it(tmp_path: Path) -> None:
    # Table VI's partition (1) is CIFAR-10's own grouping: its seed-2 coarse run is a copy of
    # Table I's, whose config says hierarchy None. Read back it must be "(1)", or it never pairs.
    save_result(fake_result(labels="coarse", seed=2), tmp_path / "table6",
                metadata={"reused_from": "table1/x.json",
                          "parameters": {"hierarchy": "synthetic_renamed", "data_root": "elsewhere",
                                         "not_a_config_key": 1}})
    save_result(fake_result(labels="coarse", seed=1), tmp_path / "table1",
                metadata={"parameters": {"hierarchy": "ignored_without_a_copy"}})
    frame = load_results(tmp_path).set_index("seed")
    assert frame.loc[2, "hierarchy"] == "synthetic_renamed" and frame.loc[1, "hierarchy"] == "synthetic"
    assert "not_a_config_key" not in frame.columns
