"""The planted-feature model (Hong et al.'s setting) and the pretraining chapter's tables on hand-made studies."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lgtools.chapters import pretraining_granularity as pt
from lgtools.data.multiview import make_multiview
from lgtools.training.multiview import coarse_accuracy, feature_alignment, train_two_layer


def test_planted_images_carry_their_features_in_two_patches():
    data = make_multiview(50, hard_share=0.5, noise=0.0, seed=3)
    assert data.x.shape == (50, 8, 64) and np.allclose(data.common @ data.fine_features.T, 0, atol=1e-6)
    for i in range(5):
        along_common = data.x[i] @ data.common[data.coarse[i]]
        along_fine = data.x[i] @ data.fine_features[data.fine[i]]
        assert along_common.max() == pytest.approx(0.1 if data.hard[i] else 1.0, abs=1e-5)
        assert along_fine.max() == pytest.approx(0.7, abs=1e-5) and np.argmax(along_common) != np.argmax(along_fine)
    assert list(data.fine_to_coarse) == [0, 0, 0, 1, 1, 1] and np.array_equal(data.fine_to_coarse[data.fine], data.coarse)
    with pytest.raises(ValueError, match="dim >= num_coarse \\+ num_fine"):
        make_multiview(10, dim=4)


def test_fine_labels_teach_the_fine_features_and_rescue_hard_samples():
    train, test = make_multiview(600, seed=0), make_multiview(1500, seed=1)
    coarse = train_two_layer(train, "coarse", filters=12, steps=200)
    fine = train_two_layer(train, "fine", filters=4, steps=200)
    assert feature_alignment(fine, train)["fine"].mean() > feature_alignment(coarse, train)["fine"].mean() + 0.2
    assert coarse_accuracy(fine, test, hard_only=True) > coarse_accuracy(coarse, test, hard_only=True) + 5
    with pytest.raises(ValueError, match="labels must be 'coarse' or 'fine'"):
        train_two_layer(train, "leaves")


def test_the_planted_summary_pairs_the_two_networks_by_seed():
    table = pt.multiview_table([0, 1], n_train=300, n_test=400, steps=60)
    assert len(table) == 4 and set(table["labels"]) == {"coarse", "fine"}
    summary = pt.multiview_summary(table).set_index("measure")
    wide = table.pivot(index="seed", columns="labels")["hard_accuracy"]
    assert summary.loc["hard_accuracy", "delta"] == pytest.approx((wide["fine"] - wide["coarse"]).mean())
    assert summary.loc["hard_accuracy", "n"] == 2
    text = pt.pretraining_finding(pt.multiview_summary(table), pd.DataFrame())
    assert "Planted features" in text and "not run yet" in text


def test_transfer_is_paired_with_coarse_pretraining_of_the_same_seed():
    rows = [{"pretraining": name, "classes": classes, "seed": seed, "pretrained_afc": 90.0,
             "probe_acc": 90.0 + gain + seed, "finetune_acc": 91.0 + gain, "probe_hard": np.nan, "finetune_hard": np.nan,
             "hard_n": np.nan}
            for seed in (0, 1, 2) for name, classes, gain in (("coarse", 2, 0.0), ("fine", 10, 1.5), ("finer", 20, -0.5))]
    versus = pt.versus_coarse_pretraining(pd.DataFrame(rows)).set_index(["pretraining", "measure"])
    assert versus.loc[("fine", "probe_acc"), "delta"] == pytest.approx(1.5) and versus.loc[("fine", "probe_acc"), "n"] == 3
    assert ("fine", "probe_hard") not in versus.index  # no hard subset: no row
    summary = pd.DataFrame([{"measure": m, "coarse": 1.0, "fine": 2.0, "delta": 1.0, "low": 0.5, "high": 1.5, "n": 3}
                            for m in ("hard_accuracy", "fine_alignment", "common_alignment")])
    text = pt.pretraining_finding(summary, versus.reset_index(), pd.DataFrame(rows))
    assert "fine (10 classes) +1.50" in text and "finer (20 classes) -0.50" in text and "(n = 3)" in text
    assert "on the hard test images" not in text  # no hard subset measured: no claim about it
    assert "2: +0.00, 10: +1.50, 20: -0.50 points by number of pretraining classes, on seeds 0, 1, 2" in text
    assert "highest at 10 classes, in between, lower on both sides" in text and "no shape is claimed" not in text
    assert "The peak minus its neighbours, paired: 10 − 2 classes +1.50 [+1.50, +1.50]; 10 − 20 classes +2.00" in text
    assert "both above 0." in text
    assert "Misaligned control" not in text  # no control stored: no claim
    # The shape is read on the seeds every granularity has: a point with only seed 0 restricts all to seed 0.
    extra = [{**rows[0], "pretraining": "finest", "classes": 40, "finetune_acc": 99.0}]
    shape = pt.granularity_shape(pd.DataFrame(rows + extra))
    assert "on seed 0 (the seeds every granularity has)" in shape and "40: +8.00" in shape
    assert "no shape is claimed" in shape
    crossing = [{**row, "pretraining": "clusters across the coarse classes (10)", "classes": 10,
                 "finetune_acc": 90.0} for row in rows if row["pretraining"] == "coarse"]
    with_control = pt.versus_coarse_pretraining(pd.DataFrame(rows + crossing))
    line = pt.misaligned_line(with_control)
    assert "fine-tuned -1.00 [-1.00, -1.00] points against coarse pretraining (n = 3)" in line and "+1.50" in line
    paired = pt.misaligned_versus_fine(pd.DataFrame(rows + crossing)).set_index("measure")
    assert paired.loc["finetune_acc", "delta"] == pytest.approx(-2.5) and paired.loc["finetune_acc", "n"] == 3
    assert "paired with the fine labels of the same seed -2.50" in pt.misaligned_line(with_control, paired.reset_index())
    assert "-1.00" not in pt.granularity_shape(pd.DataFrame(rows + crossing))  # the control is off the aligned axis
    assert "paired with the fine labels of the same seed -2.50" in pt.pretraining_finding(
        summary, with_control, pd.DataFrame(rows + crossing))
    hard = [{**row, "finetune_hard": 50.0 + 10 * (row["pretraining"] == "fine") + row["seed"]} for row in rows]
    versus = pt.versus_coarse_pretraining(pd.DataFrame(hard))
    text = pt.pretraining_finding(pd.DataFrame([{"measure": m, "coarse": 1.0, "fine": 2.0, "delta": 1.0, "low": 0.5,
                                                  "high": 1.5, "n": 3} for m in ("hard_accuracy", "fine_alignment",
                                                                                "common_alignment")]), versus)
    assert "fine-tuned, on the hard test images, against coarse pretraining** (points, paired over seeds): fine " \
           "(10 classes) +10.00" in text


def test_hard_images_are_those_every_other_seeds_coarse_network_gets_wrong(tmp_path):
    from types import SimpleNamespace

    from lgtools.labels.builtin import get_hierarchy
    from lgtools.runs.results import load_results, save_result

    h = get_hierarchy("synthetic")
    truth_fine = np.arange(12).repeat(2)  # 24 test images
    truth = np.asarray(h.fine_to_coarse)[truth_fine]
    wrong = {0: [0, 1, 2], 1: [1, 2, 3], 2: [2, 3, 4]}  # the images each seed's coarse network misses
    for seed, missed in wrong.items():
        pred = truth.copy()
        pred[missed] = (pred[missed] + 1) % 4
        config = {"experiment": "table1-cpu-scale", "dataset": "synthetic", "labels": "coarse", "model": "small_cnn",
                  "epochs": 1, "seed": seed, "device": "cpu", "progress": False}
        result = SimpleNamespace(config=config, summary={"test_acc": 100 * np.mean(pred == truth), "device": "cpu"},
                                 history=[], confusion_fine=None, confusion_coarse=np.eye(4, dtype=np.int64),
                                 fine_names=list(h.fine_names), coarse_names=list(h.coarse_names),
                                 fine_to_coarse=h.fine_to_coarse, test_predictions=pred, test_fine_labels=truth_fine)
        save_result(result, tmp_path, metadata={"scale": "cpu-scale"})
    stored = load_results(tmp_path)
    assert np.flatnonzero(pt.hard_images(stored, 0, dataset="synthetic")).tolist() == [2, 3]  # seeds 1 and 2 both miss
    assert np.flatnonzero(pt.hard_images(stored, 2, dataset="synthetic")).tolist() == [1, 2]
    assert pt.hard_images(stored[stored["seed"].isin([0, 1])], 0, dataset="synthetic") is None  # one other seed: no consensus
    # Seed 1's Table I result lost its per-image predictions (stored before they were kept); the
    # pretraining sweep retrained the same run (same identity) and kept them: those are read instead,
    # while Table I's result, stored first, stays the one the tables show.
    from lgtools.report.stored import stored_results
    seed1 = next(path for path in tmp_path.rglob("*.json") if json.loads(path.read_text())["config"]["seed"] == 1)
    record = json.loads(seed1.read_text())
    twin = tmp_path / "pretraining-cpu-scale" / seed1.name
    twin.parent.mkdir()
    twin.write_text(json.dumps({**record, "experiment": "pretraining-cpu-scale",
                                "provenance": {**record["provenance"], "date": "2099-01-01T00:00:00+00:00"}}))
    seed1.write_text(json.dumps({**record, "test_predictions": None}))
    both = stored_results(tmp_path)
    assert len(both) == 3 and both.loc[both["seed"].eq(1), "experiment"].tolist() == ["table1-cpu-scale"]
    assert np.flatnonzero(pt.hard_images(both, 0, dataset="synthetic")).tolist() == [2, 3]
    twin.unlink()
    assert pt.hard_images(stored_results(tmp_path), 0, dataset="synthetic") is None  # no predictions for seed 1 anywhere


def test_study_coverage_names_each_granularity_and_its_seeds():
    table = pd.DataFrame({"pretraining": ["coarse", "coarse", "fine"], "classes": [2, 2, 10], "seed": [1, 0, 0]})
    text = pt.study_coverage(table, 18)
    assert text == "Fine-tuned so far: 3 of the CPU sweep's 18 pretraining runs: coarse (2 classes; seeds 0, 1); fine (10 classes; seed 0)."
    assert "No pretraining run is fine-tuned yet (the CPU sweep lists 18)" in pt.study_coverage(table.head(0), 18)


def test_fine_tuned_runs_stay_out_of_the_papers_tables_and_the_ledger_names_the_study():
    from lgtools.chapters.pretraining_granularity import _pretraining_row
    from lgtools.report.selection import select_runs

    from lgtools.runs.results import result_row

    config = {"dataset": "cifar10", "labels": "coarse", "model": "preact_resnet18", "width": 16, "epochs": 4}
    frame = pd.DataFrame([result_row({**config, "init_from": start}, {"test_acc": 90.0}) for start in (None, "w.pt")])
    assert len(select_runs(frame)) == 1 and select_runs(frame)["init_from"].isna().all()
    row = _pretraining_row(pd.DataFrame())
    assert row["ours"] == "—" and row["where"] == "[Chapter 12](12_pretraining_granularity.ipynb)"


def test_the_ledger_judges_alignment_by_the_misaligned_control_paired_with_fine_labels():
    from lgtools.chapters.pretraining_granularity import _alignment_row

    assert _alignment_row(pd.DataFrame())["ours"] == "—"
    study = pd.DataFrame([{"pretraining": name, "classes": 10, "seed": seed, "pretrained_afc": 90.0, "probe_acc": 90.0,
                           "finetune_acc": acc + 0.1 * seed, "finetune_run": "r", "probe_pred": [], "finetune_pred": []}
                          for seed in (0, 1, 2) for name, acc in (("fine", 95.0), ("clusters across the coarse classes (10)", 93.0))])
    row = _alignment_row(pt.granularity_table(study, pd.DataFrame()))
    assert row["verdict"] == "agrees" and row["seeds"] == 3 and "-2.00" in row["ours"]
    worse_fine = study.assign(finetune_acc=study["finetune_acc"].where(study["pretraining"].ne("fine"), 92.0))
    assert _alignment_row(pt.granularity_table(worse_fine, pd.DataFrame()))["verdict"] == "disagrees"


def test_the_study_section_says_not_stored_before_any_fine_tuning(tmp_path):
    found = pt.study_evidence(pd.DataFrame(), pd.DataFrame(), {}, listed=12, results_dir=str(tmp_path))
    assert found["table"].empty and found["versus"].empty and found["ch12_study_rev"] == "(not stored)"
    assert found["shown"]["note"].str.contains("no pretraining run is fine-tuned yet").all()
    assert "the CPU sweep lists 12" in found["ch12_coverage"] and "cannot be compared" in found["ch12_retrained"]
    assert found["figure"].axes
