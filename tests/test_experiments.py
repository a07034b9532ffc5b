"""lgtools.report.live and the chapters' live demos (chapters 3–7) and the chapter 3–7 figure helpers, on tiny CPU runs."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lgtools.chapters.acr import acr_breakdown, confusion_heatmap
from lgtools.chapters.generalization import penultimate_features, tsne_embedding, tsne_scatter
from lgtools.chapters.optimization import training_curves
from lgtools.chapters.training_data import data_efficiency
from lgtools.report import live as ex  # noqa: E402
from lgtools.report import figures as plots  # noqa: E402
from lgtools.labels.builtin import as_hierarchy, get_hierarchy
from lgtools.labels.hierarchy import Hierarchy
from lgtools.metrics import acr
from lgtools.runs.compare import delta_table, NOISE_PAIR_KEYS
from lgtools.runs.results import load_results
from lgtools.report.selection import coarse_per_noise
from lgtools.training.config import TrainConfig
from lgtools.training.identity import run_identity

BASE = dict(dataset="synthetic", model="small_cnn", width=8, epochs=1, batch_size=64, lr=0.05,
            schedule="constant", max_train=120, max_test=120, num_threads=2, progress=False,
            eval_batch_size=256, device="cpu")
SYNTHETIC = get_hierarchy("synthetic")


@pytest.fixture
def count_trainings(monkeypatch):
    """Count calls of lgtools.training.loop.train made through lgtools.report.live."""
    calls = []
    real = ex.train

    def counted(config):
        calls.append(config)
        return real(config)

    monkeypatch.setattr(ex, "train", counted)
    return calls


@pytest.fixture(scope="module")
def pair():
    return ex.fine_vs_coarse(BASE, seeds=[0])


def test_fine_vs_coarse_rows_match_runs(pair):
    table, runs = pair
    assert list(table["labels"]) == ["fine", "coarse"] and len(runs) == 2
    assert list(table["setting"]) == ["fine", "coarse"]
    assert set(table["scale"]) == {"live"} and table["hierarchy"].eq("synthetic").all()
    fine, coarse = table.iloc[0], table.iloc[1]
    assert fine["test_acc"] == runs[0].summary["test_acc"] and 0 <= fine["test_acc"] <= 100
    assert np.isfinite(fine["acr"]) and fine["acr"] > 0
    assert pd.isna(coarse["acr"]) and pd.isna(coarse["test_acc_fine"])
    assert runs[0].confusion_fine.shape == (12, 12) and runs[1].confusion_fine is None


def test_live_table_works_with_delta_table(pair):
    table, _ = pair
    deltas = delta_table(table, by=["dataset"])
    assert len(deltas) == 1 and deltas["n"].iloc[0] == 1
    expected = table["test_acc"].iloc[0] - table["test_acc"].iloc[1]
    assert deltas["delta"].iloc[0] == pytest.approx(expected)


def test_results_dir_stores_every_run(tmp_path):
    table, _ = ex.fine_vs_coarse({**BASE, "experiment": "t1"}, seeds=[3], results_dir=str(tmp_path))
    stored = load_results(tmp_path)
    assert len(stored) == 2 and set(stored["experiment"]) == {"t1"}
    assert sorted(stored["test_acc"]) == pytest.approx(sorted(table["test_acc"]))


def test_data_efficiency_scales_epochs(count_trainings):
    table, runs = data_efficiency(BASE, ratios=[0.5, 1.0], seeds=[0])
    assert len(count_trainings) == 4
    assert sorted(zip(table["data_ratio"], table["labels"])) == [
        (0.5, "coarse"), (0.5, "fine"), (1.0, "coarse"), (1.0, "fine")]
    epochs_run = {(r.config["data_ratio"], r.config["labels"]): len(r.history) for r in runs}
    assert epochs_run[(0.5, "fine")] == 2 and epochs_run[(1.0, "fine")] == 1
    # One cap for every share: the training path caps first, then keeps the share of the capped set.
    assert {r.config["max_train"] for r in runs} == {BASE["max_train"]}
    seen = {(r.config["data_ratio"], r.config["labels"]): r.confusion_coarse.sum() for r in runs}
    assert seen[(0.5, "coarse")] == seen[(1.0, "coarse")]  # the test set is not subsampled


@pytest.mark.parametrize("ratios", [[], [0.0], [1.5]])
def test_data_efficiency_rejects_bad_ratios(ratios):
    with pytest.raises(ValueError, match="ratios"):
        data_efficiency(BASE, ratios=ratios, seeds=[0])


def test_bad_seeds_and_settings_are_rejected():
    with pytest.raises(ValueError, match="seeds"):
        ex.fine_vs_coarse(BASE, seeds=[])
    with pytest.raises(ValueError, match="seeds"):
        ex.fine_vs_coarse(BASE, seeds=["0"])
    with pytest.raises(ValueError, match="labels"):
        ex.compare_variants(BASE, {"extra": {"extra_layer": "linear"}}, seeds=[0])
    with pytest.raises(ValueError, match="settings"):
        ex.run_settings(BASE, {}, seeds=[0])


def test_compare_variants_builds_the_extra_layer():
    variants = {"extra relu C": {"labels": "coarse", "extra_layer": "square_relu"},
                "dropout F": {"labels": "fine", "dropout": 0.3}}
    table, runs = ex.compare_variants(BASE, variants, seeds=[0])
    assert list(table["setting"]) == list(variants)
    assert table["extra_layer"].iloc[0] == "square_relu" and pd.isna(table["extra_layer"].iloc[1])
    assert list(table["dropout"]) == [0.0, 0.3]
    head = [type(m).__name__ for m in runs[0].model.head]
    assert head == ["Linear", "ReLU"]


def test_custom_partitions_trains_fine_runs_once(count_trainings):
    parts = {"natural": "synthetic", "bits": "000000111111", "random": SYNTHETIC.__class__.from_bits(
        SYNTHETIC.fine_names, "010101010101", name="alternating")}
    table, runs = ex.custom_partitions(BASE, parts, seeds=[0])
    labels = [c.labels for c in count_trainings]
    assert labels.count("fine") == 1 and labels.count("coarse") == 3
    fine = table[table["labels"] == "fine"].set_index("setting")
    assert list(fine.index) == list(parts) and fine["train_acc"].isna().all()
    # A_FC re-scored from the confusion matrix equals A_FC counted image by image from the run's
    # stored predictions, under each partition (two independent paths to one number).
    pred, true = runs[0].test_predictions, runs[0].test_fine_labels
    for name, spec in parts.items():
        h = spec if isinstance(spec, Hierarchy) else as_hierarchy(spec, SYNTHETIC.fine_names)
        by_image = 100 * np.mean(h.fine_to_coarse[pred] == h.fine_to_coarse[true])
        assert fine.loc[name, "test_acc"] == pytest.approx(by_image)
    # ACR by hand (eq. in the authors' code) on the natural grouping: column-normalise, symmetrise,
    # mean over different-coarse pairs over mean over same-coarse pairs.
    counts = np.zeros((12, 12))
    np.add.at(counts, (true, pred), 1)
    norm = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)
    sym, f2c = (norm + norm.T) / 2, SYNTHETIC.fine_to_coarse
    pairs = [(i, j) for i in range(12) for j in range(i + 1, 12)]
    inter = np.mean([sym[i, j] for i, j in pairs if f2c[i] != f2c[j]])
    intra = np.mean([sym[i, j] for i, j in pairs if f2c[i] == f2c[j]])
    assert fine.loc["natural", "acr"] == pytest.approx(inter / intra)
    assert fine.loc["bits", "hierarchy"] == "000000111111"
    assert fine.loc["random", "hierarchy"] == "alternating"
    coarse = table[table["labels"] == "coarse"]
    assert list(coarse["hierarchy"]) == ["synthetic", "000000111111", "alternating"]
    assert len(delta_table(table, by=["hierarchy"])) == 3


def test_noisy_labels_shares_one_coarse_run_per_seed(count_trainings):
    table, _ = ex.noisy_labels(BASE, randomness=[0.0, 0.3], seeds=[0])
    assert [(c.labels, c.noise) for c in count_trainings] == [("fine", 0.0), ("fine", 0.3), ("coarse", 0.0)]
    assert sorted(table.loc[table["labels"] == "fine", "noise"]) == [0.0, 0.3]
    paired = coarse_per_noise(table)
    assert len(paired) == 2 + 2  # the coarse run, once per randomness factor
    deltas = delta_table(paired, by=["noise"])
    # Pairing without the noise key gives the same table from the runs as they are.
    direct = delta_table(table, by=["noise"], keys=NOISE_PAIR_KEYS)
    pd.testing.assert_frame_equal(direct, deltas)
    assert list(deltas["noise"]) == [0.0, 0.3] and list(deltas["n"]) == [1, 1]
    coarse_acc = table.loc[table["labels"] == "coarse", "test_acc"].iloc[0]
    assert deltas["a_cc"].tolist() == pytest.approx([coarse_acc, coarse_acc])
    fine_acc = table.loc[table["labels"] == "fine", "test_acc"].tolist()
    assert deltas["delta"].tolist() == pytest.approx([a - coarse_acc for a in fine_acc])
    with pytest.raises(ValueError, match="randomness"):
        ex.noisy_labels(BASE, randomness=[1.5], seeds=[0])


def test_a_shared_cache_trains_each_run_once(count_trainings):
    cache: dict = {}
    own = ex.base_hierarchy(BASE)
    ex.custom_partitions(BASE, {"own": own}, seeds=[0], cache=cache)
    table, _ = ex.noisy_labels(BASE, randomness=[0.0, 0.3], seeds=[0], cache=cache)
    # The clean fine run and the coarse run on the own hierarchy (as an object there, as None
    # here) were trained by custom_partitions; noisy_labels trains only the noisy fine run.
    assert [(c.labels, c.noise) for c in count_trainings] == [("fine", 0.0), ("coarse", 0.0), ("fine", 0.3)]
    assert len(table) == 3 and len(cache) == 3
    ex.noisy_labels(BASE, randomness=[0.0], seeds=[1], cache=cache)  # another seed is another run
    assert len(count_trainings) == 5
    assert run_identity(TrainConfig(**BASE)) == run_identity(TrainConfig(**{**BASE, "num_threads": 1,
                                                                           "experiment": "other"}))
    assert run_identity(TrainConfig(**BASE)) != run_identity(TrainConfig(**{**BASE, "hierarchy": "000000111111"}))


def test_vary_coarse_classes_restricts_the_data():
    sets = {"two": ["round", "polygon"], "four": list(SYNTHETIC.coarse_names)}
    table, runs = ex.vary_coarse_classes(BASE, sets, seeds=[0])
    assert list(table["num_coarse"]) == [2, 2, 4, 4]
    assert list(table["hierarchy"]) == ["two", "two", "four", "four"]
    assert runs[0].confusion_fine.shape == (6, 6)
    assert runs[1].confusion_coarse.shape == (2, 2)
    with pytest.raises(ValueError, match="restrict"):
        ex.vary_coarse_classes(BASE, {"bad": ["no_such_class"]}, seeds=[0])


def test_history_frame_has_train_and_test_rows(pair):
    _, runs = pair
    frame = ex.history_frame(runs)
    assert len(frame) == 2 * 2 * len(runs[0].history)
    assert set(frame["split"]) == {"train", "test"} and set(frame["labels"]) == {"fine", "coarse"}
    fig = training_curves(frame)
    assert len(fig.axes[0].lines) >= 4  # fine/coarse × train/test
    with pytest.raises(ValueError):
        ex.history_frame([])


def test_penultimate_features_and_tsne(pair):
    _, runs = pair
    features, fine, coarse = penultimate_features(runs[0], n=60)
    assert features.shape == (60, 4 * BASE["width"])
    assert fine.shape == coarse.shape == (60,) and set(coarse) <= set(range(4))
    assert np.array_equal(coarse, SYNTHETIC.fine_to_coarse[fine])
    embedding = tsne_embedding(features, seed=0)
    assert embedding.shape == (60, 2) and np.isfinite(embedding).all()
    fig = tsne_scatter(embedding, coarse, SYNTHETIC.coarse_names)
    assert len(fig.axes[0].collections) == 4 + 4  # one scatter per class + one mean marker each
    with pytest.raises(ValueError, match="features"):
        tsne_embedding(np.zeros((3, 2)))


def test_acr_breakdown_reproduces_both_conventions():
    h = Hierarchy.from_bits(("a", "b", "c", "d"), "0011")
    confusion = np.array([[50, 6, 2, 1], [8, 40, 1, 3], [2, 0, 45, 5], [1, 2, 9, 30]])
    table = acr_breakdown(confusion, h).set_index("convention")
    assert table.loc["eq. (1) as printed", "ACR"] == pytest.approx(acr(confusion, h, "equation"))
    assert table.loc["authors' code", "ACR"] == pytest.approx(acr(confusion, h, "code"))
    no_diag = table.loc["eq. (1) without the diagonal", "ACR"]
    assert no_diag == pytest.approx((6 + 8 + 5 + 9) / 4 / ((2 + 1 + 1 + 3 + 2 + 0 + 1 + 2) / 8))
    assert table.loc["reciprocal of the line above", "ACR"] == pytest.approx(1 / no_diag)
    with pytest.raises(ValueError, match="confusion"):
        acr_breakdown(np.eye(3), h)
    fig = confusion_heatmap(confusion, h)
    assert len(fig.axes[0].lines) == 2  # one boundary each way between the two coarse blocks


def test_base_config_maps_empty_values_to_defaults():
    config = ex.base_config("ch", dataset="synthetic", data_root="", hierarchy="", width=0,
                            max_train=0, epochs=2)
    assert config["data_root"] is None and config["hierarchy"] is None and config["width"] is None
    assert config["max_train"] is None and config["epochs"] == 2 and config["progress"] is False
    assert config["experiment"] == "ch"
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        ex.base_config("ch", epoch=2)
    with pytest.raises(ValueError, match="labels"):
        ex.base_config("ch", labels="medium")


def test_versus_baseline_differences():
    table = pd.DataFrame({"setting": ["C", "C", "F", "F"], "dataset": ["d"] * 4, "seed": [0, 1, 1, 0],
                          "train_acc": [90.0, 92.0, 95.0, 97.0], "test_acc": [80.0, 82.0, 85.0, 86.0]})
    out = ex.versus_baseline(table, baseline="C", group=["dataset"]).set_index("setting")
    # Paired by seed: F−C is 86−80 = 6 (seed 0) and 85−82 = 3 (seed 1).
    assert out.loc["F", "test_acc_vs_C"] == pytest.approx(4.5)
    half = 12.706204736174698 * np.std([6.0, 3.0], ddof=1) / np.sqrt(2)
    assert out.loc["F", "test_acc_vs_C_low"] == pytest.approx(4.5 - half)
    assert out.loc["F", "train_acc_vs_C"] == pytest.approx(5.0) and out.loc["C", "n"] == 2
    assert out.loc["F", "pairs"] == 2
    with pytest.raises(ValueError, match="baseline"):
        ex.versus_baseline(table, baseline="X")


def test_partitions_and_coarse_sets():
    parts = ex.table6_partitions({"dataset": "cifar10"})
    assert list(parts.values()) == [f"cifar10_table6_{k}" for k in range(1, 11)]
    own = ex.table6_partitions({"dataset": "synthetic"}, n_random=2)
    assert list(own) == ["own", "random 1", "random 2"]
    assert sorted(np.bincount(own["random 1"].fine_to_coarse)) == [6, 6]
    assert ex.table8_sets({"dataset": "synthetic"}, (2, 3)) == {
        "synthetic_2": ("round", "polygon"), "synthetic_3": ("round", "polygon", "stripes")}
    assert [len(v) for v in ex.table8_sets({"dataset": "cifar100"}).values()] == [5, 10, 15, 20]
    assert list(ex.table8_sets({"dataset": "cifar10"}, (2, 4))) == ["cifar10_2"]
    with pytest.raises(ValueError, match="sizes"):
        ex.table8_sets({"dataset": "synthetic"}, (5,))


def test_stored_results_count_a_run_copied_by_another_sweep_once(tmp_path):
    import shutil
    from pathlib import Path

    from lgtools.report.stored import stored_results
    original = sorted(Path(__file__).parent.parent.glob("results/table1-cpu-scale/labels=fine_seed=0-*.json"))[0]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    import json
    import warnings

    shutil.copy(original, tmp_path / "a" / original.name)
    record = json.loads(original.read_text())  # a reuse copy as the sweep writes it: its own run id and folder
    copy_name = "noise=0.0_" + original.name
    record.update(run_id=copy_name[:-len(".json")], experiment="b")
    (tmp_path / "b" / copy_name).write_text(json.dumps(record))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # both files are valid records: neither may be left out as a problem
        table = stored_results(tmp_path)
        assert len(table) == 1
        assert len(stored_results(tmp_path / "b")) == 1  # the copy alone is a result in its own right


def test_scale_params_reads_lists_given_as_text(monkeypatch):
    # papermill's -p injects "[0, 1]" as a string; the chapters must read it as the list it names.
    from lgtools.report.tiny import scale_params

    monkeypatch.delenv("LGTOOLS_TINY", raising=False)
    assert scale_params({"seeds": "[0, 1]", "ratios": "[0.2, 0.5]", "dataset": "cifar10"}) == {
        "seeds": [0, 1], "ratios": [0.2, 0.5], "dataset": "cifar10"}
    with pytest.raises(ValueError, match="seeds must be a list"):
        scale_params({"seeds": "[0, 1"})
    monkeypatch.setenv("LGTOOLS_TINY", "1")
    assert scale_params({"seeds": "[4, 5]"}, seeds=[0]) == {"seeds": [0]}


def test_base_config_reads_data_root_from_the_repository_root(monkeypatch, tmp_path):
    # Chapters run with book/ as working directory (papermill --cwd book, Jupyter Book); a path
    # such as ../shared/data/cifar10-jpeg.npz is meant from the repository root, like results_dir.
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root / "book")
    assert ex.base_config("ch", data_root="sweeps/cpu")["data_root"] == str(root / "sweeps" / "cpu")
    assert ex.base_config("ch", data_root="../sweeps")["data_root"] == "../sweeps"  # exists from here
    assert ex.base_config("ch", data_root=str(tmp_path))["data_root"] == str(tmp_path)
