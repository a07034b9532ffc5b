"""Chapter 5: the paired generalisation gap from stored runs, and Fig 4's t-SNE study from kept weights."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lgtools import cli  # noqa: E402
from lgtools.chapters import generalization  # noqa: E402
from lgtools.labels.builtin import get_hierarchy  # noqa: E402
from lgtools.report.scorecard import scorecard  # noqa: E402
from lgtools.report.stored import stored_results  # noqa: E402
from lgtools.runs.embedding_study import (balanced_subset, embedding_study, load_embedding_study,  # noqa: E402
                                          save_embedding_study)
from lgtools.runs.results import encode_labels, load_result, save_result  # noqa: E402
from lgtools.runs.sweep_spec import expand, load_spec  # noqa: E402
from lgtools.runs.sweep_store import identical_result  # noqa: E402
from lgtools.training.config import TrainConfig  # noqa: E402
from lgtools.training.loop import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _summary(path: str) -> dict:
    """The stored summary of the run at ``path``, read straight from its JSON file (not through the results table)."""
    record = json.loads(Path(path).read_text())
    return {**record["summary"], "labels": record["config"]["labels"], "seed": record["config"]["seed"],
            "epochs": record["config"]["epochs"]}


def _plain_test(summary: dict) -> float:
    return summary["test_acc_no_tta"] if summary.get("test_acc_no_tta") is not None else summary["test_acc"]


@pytest.fixture(scope="module")
def stored_gaps():
    return generalization.gap_pairs(stored_results(ROOT / "results"))


def test_stored_gap_pairs_are_one_seed_fine_minus_coarse(stored_gaps):
    """Each pair is the fine and the coarse run of one seed and rung, and lead and gain are fine minus coarse."""
    assert {"cpu-scale", "converged"} <= set(stored_gaps["scale"])
    column = {"final network": "train_acc_eval", "last epoch, running": "train_acc"}
    for row in stored_gaps.itertuples():
        fine, coarse = _summary(row.fine_path), _summary(row.coarse_path)
        for summary, twin in ((fine, row.fine_eval_from), (coarse, row.coarse_eval_from)):
            if row.measure == "final network" and isinstance(twin, str):  # a retrain with eval_train, the same network
                summary["train_acc_eval"] = _summary(twin)["train_acc_eval"]
        assert Path(row.fine_path).parent.name in generalization.GAP_EXPERIMENTS
        assert Path(row.coarse_path).parent.name == Path(row.fine_path).parent.name
        assert (fine["labels"], coarse["labels"]) == ("fine", "coarse")
        assert fine["seed"] == coarse["seed"] == row.seed and fine["epochs"] == coarse["epochs"] == row.epochs
        lead = fine[column[row.measure]] - coarse[column[row.measure]]
        gain = _plain_test(fine) - _plain_test(coarse)
        assert math.isclose(row.lead, lead, abs_tol=1e-9) and math.isclose(row.gain, gain, abs_tol=1e-9)
        assert math.isclose(row.beyond, gain - lead, abs_tol=1e-9)


def test_a_twin_with_the_same_predictions_gives_a_run_its_final_network_accuracy(tmp_path):
    """A retrain of the same identity with eval_train lends its accuracy only if it predicted every test image alike."""
    for name in ("seed=0_epochs=10_labels=fine-553d68426c.json", "seed=0_epochs=10_labels=coarse-2f1db3f52a.json"):
        record = json.loads((ROOT / "results" / "ladder-converged" / name).read_text())
        (tmp_path / "ladder-converged").mkdir(exist_ok=True)
        (tmp_path / "ladder-converged" / name).write_text(json.dumps(record))
        twin = {**record, "experiment": "features-converged", "run_id": name.split("_", 2)[2][:-len(".json")],
                "summary": {**record["summary"], "train_acc_eval": 99.0 if "fine" in name else 98.0},
                "provenance": {**record["provenance"], "date": "2026-12-31T00:00:00+00:00"}}  # trained later
        (tmp_path / "features-converged").mkdir(exist_ok=True)
        (tmp_path / "features-converged" / name.split("_", 2)[2]).write_text(json.dumps(twin))
    pairs = generalization.gap_pairs(stored_results(tmp_path))
    final = pairs[pairs["measure"].eq("final network")]
    assert len(final) == 1 and final["lead"].iloc[0] == pytest.approx(1.0)
    assert Path(final["fine_eval_from"].iloc[0]).parent.name == "features-converged"
    assert Path(final["fine_path"].iloc[0]).parent.name == "ladder-converged"  # the original stays the run shown
    # A twin that predicted one test image otherwise is another network: it lends nothing.
    path = tmp_path / "features-converged" / "labels=coarse-2f1db3f52a.json"
    twin = load_result(path)
    predictions = twin["test_predictions"].copy()
    predictions[0] = (predictions[0] + 1) % 2
    raw = json.loads(path.read_text())
    raw["test_predictions"] = encode_labels(predictions)
    path.write_text(json.dumps(raw))
    pairs = generalization.gap_pairs(stored_results(tmp_path))
    assert not pairs["measure"].eq("final network").any()


def test_running_training_lead_is_the_scorecards_training_delta(stored_gaps):
    """At each scale's Table I budget the running lead over seeds is Table I's training-accuracy ΔA (scorecard)."""
    table = generalization.gap_table(stored_gaps)
    train = scorecard(stored_results(ROOT / "results"), "table1", metric="train_acc")
    train = train[train["dataset"].eq("cifar10") & train["n"].gt(0)]
    assert set(train["scale"]) >= {"cpu-scale", "converged"}
    for row in train.itertuples():
        rungs = table[table["scale"].eq(row.scale) & table["measure"].eq("last epoch, running")]
        top = rungs[rungs["epochs"].eq(rungs["epochs"].max())].iloc[0]
        assert math.isclose(top["lead"], row.ours_delta, abs_tol=1e-6) and int(top["n"]) == int(row.n)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    columns = ["experiment", "labels", "seed", "train_acc", "train_acc_eval", "test_acc", "test_acc_no_tta"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(scale="converged", model="m", width=1, epochs=4, dataset="cifar10",
                        run_id=[f"r{i}" for i in range(len(frame))], path=[f"p{i}" for i in range(len(frame))])


def test_gap_pairs_pair_by_seed_and_take_fine_minus_coarse():
    """Seed 1's coarse run is far worse than seed 0's: pairing across seeds or swapping fine and coarse would show."""
    frame = _frame([("ladder-converged", "fine", 0, 80.0, 90.0, 88.0, 87.0),
                    ("ladder-converged", "coarse", 0, 79.0, 85.0, 81.0, 80.0),
                    ("ladder-converged", "fine", 1, 80.0, 91.0, 89.0, 88.0),
                    ("ladder-converged", "coarse", 1, 70.0, 75.0, 71.0, 70.0),
                    ("other-sweep", "coarse", 0, 0.0, 0.0, 0.0, 0.0)])  # not Table I's: never paired
    pairs = generalization.gap_pairs(frame).set_index(["measure", "seed"])
    final = pairs.loc["final network"]
    # Lead from train_acc_eval, gain from the test accuracy without test-time augmentation.
    assert final.loc[0, ["lead", "gain", "beyond"]].tolist() == [5.0, 7.0, 2.0]
    assert final.loc[1, ["lead", "gain", "beyond"]].tolist() == [16.0, 18.0, 2.0]
    assert pairs.loc[("last epoch, running", 0), "lead"] == 1.0
    table = generalization.gap_table(generalization.gap_pairs(frame))
    row = table[table["measure"].eq("final network")].iloc[0]
    assert row["n"] == 2 and row["beyond"] == 2.0 and row["beyond_low"] == row["beyond_high"] == 2.0
    assert generalization.gap_text(table, "converged", "final network").startswith(
        "the fine runs' test gain exceeds their training lead at 1 of 1 rung")


def test_gap_text_says_when_the_gain_is_no_more_than_the_lead():
    table = pd.DataFrame([{"scale": "converged", "measure": "final network", "epochs": e, "n": 3, "lead": 1.0,
                           "lead_low": 0.5, "lead_high": 1.5, "gain": 0.5, "gain_low": 0.0, "gain_high": 1.0,
                           "beyond": -0.5, "beyond_low": -0.9, "beyond_high": -0.1} for e in (1, 10)])
    text = generalization.gap_text(table)
    assert "at 0 of 2 rungs" in text and "2 of the 2 intervals exclude 0" in text and "+1.00 to +1.00" in text


def test_features_sweep_retrains_the_ladders_seed_0_pair_to_keep_weights():
    """Same identities as the stored seed-0 runs at 10 epochs, one thread, and the sweep will not copy them."""
    runs = expand(load_spec(ROOT / "sweeps" / "converged" / "features.yaml"))
    stored = {json.loads(p.read_text())["identity"]: p for p in ROOT.glob("results/ladder-converged/seed=0_epochs=10_*.json")}
    assert sorted(r.parameters["labels"] for r in runs) == ["coarse", "fine"]
    for run in runs:
        assert run.identity in stored, run.run_id
        assert run.parameters["keep_weights"] and run.parameters["num_threads"] == 1
        assert json.loads(stored[run.identity].read_text())["config"]["num_threads"] == 1
        assert identical_result(run, ROOT / "results") is None  # trained, not copied: a copy has no weights


def test_chapter_says_fig4_is_not_run_and_how_when_no_study_is_stored(tmp_path):
    (tmp_path / "results").mkdir()
    frame, record = generalization.stored_tsne(tmp_path / "results")
    assert frame.empty
    status = generalization.tsne_status(frame, record)
    assert "Not run yet" in status and "sweeps/converged/features.yaml" in status
    assert (ROOT / "sweeps" / "converged" / "features.yaml").is_file()
    assert generalization.tsne_summary(frame).startswith("not run yet")


RUN_HASH = re.compile(r"(?<![0-9a-f])(?=[0-9a-f]*\d)[0-9a-f]{10}(?![0-9a-f])")  # a run identity's first 10 hex digits


def _outside_dropdowns(text: str) -> str:
    """A markdown cell without its ``:::{dropdown}`` blocks (folded detail a reader opens on purpose)."""
    return re.sub(r":::\{dropdown\}.*?\n:::", "", text, flags=re.DOTALL)


def test_chapter5_prose_names_networks_by_seed_not_by_run_hash():
    """Issue 31: chapter 5's prose read "fine: 553d68426c at epoch 10"; a reader gets seed and labels, the ids fold away."""
    cells = json.loads((ROOT / "book" / "05_generalization.ipynb").read_text())["cells"]
    prose = [_outside_dropdowns("".join(c["source"])) for c in cells if c["cell_type"] == "markdown"]
    assert not [m.group(0) for text in prose for m in RUN_HASH.finditer(text)]
    glued = re.findall(r"\{glue:md\}`?\s*(\w+)", "\n".join(prose))  # the glued texts the prose shows
    assert "ch05_tsne_how" in glued and "ch05_tsne_ids" not in glued  # the identities sit in the dropdown only
    frame, record = generalization.stored_tsne(ROOT / "results")
    stored = stored_results(ROOT / "results")
    texts = {"ch05_tsne_how": generalization.tsne_status(frame, record),
             "ch05_tsne_state": generalization.tsne_summary(frame),
             **{f"ch05_gap_{name}": text for name, text in
                generalization.gap_texts(generalization.gap_table(generalization.gap_pairs(stored))).items()}}
    assert set(glued) - {"ch05_found"} <= set(texts), set(glued) - set(texts)  # every glued sentence is checked here
    assert not {name: RUN_HASH.findall(text) for name, text in texts.items() if RUN_HASH.search(text)}
    if len(frame):  # the stored study: named by seed and labels, its ids kept for provenance
        assert "seed 0's fine-label and coarse-label networks" in texts["ch05_tsne_how"]
        assert RUN_HASH.search(generalization.tsne_provenance(record))


def test_balanced_subset_takes_as_many_of_each_class():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    keep = balanced_subset(labels, 12, seed=0)
    assert np.bincount(labels[keep]).tolist() == [3, 3, 3, 3] and np.all(np.diff(keep) > 0)
    assert np.array_equal(keep, balanced_subset(labels, 12, seed=0))
    with pytest.raises(ValueError, match="n="):
        balanced_subset(labels, 48)  # 12 of class 0, which has 10


TINY = dict(experiment="tiny-features", dataset="synthetic", model="small_cnn", width=4, epochs=1, batch_size=32,
            max_train=96, max_test=48, seed=0, device="cpu", num_threads=1, progress=False, keep_weights=True)


def test_embedding_study_end_to_end_from_kept_weights(tmp_path, capsys):
    """Two tiny keep_weights runs → the study's JSON → chapter 5's Fig 4 and status sentence."""
    results = tmp_path / "results"
    identities = {}
    for labels in ("fine", "coarse"):
        run = train(TrainConfig(**TINY, labels=labels, checkpoint_dir=str(tmp_path / f"{labels}.weights")))
        identities[labels] = json.loads(save_result(run, results).read_text())["identity"]
    with pytest.raises(ValueError, match="fine must hold a network trained on fine labels"):
        embedding_study(tmp_path / "coarse.weights", tmp_path / "fine.weights", n=24, max_iter=250, results=results)
    frame, parameters = embedding_study(tmp_path / "fine.weights", tmp_path / "coarse.weights", n=24,
                                        max_iter=250, results=results)
    assert len(frame) == 48 and set(frame["network"]) == {"fine", "coarse"}
    fine, coarse = (frame[frame["network"] == name] for name in ("fine", "coarse"))
    assert fine["image"].tolist() == coarse["image"].tolist()  # one subset for both networks
    assert np.bincount(fine["fine_label"], minlength=12).tolist() == [2] * 12
    f2c = np.asarray(get_hierarchy("synthetic").fine_to_coarse)
    assert np.array_equal(f2c[fine["fine_label"]], fine["coarse_label"])
    assert np.all(np.round(frame[["x", "y"]], 2) == frame[["x", "y"]])
    for name, net in parameters["networks"].items():
        assert net["identity"] == identities[name] and net["epoch"] == 1
        # The loaded weights are the network whose result was stored: it predicts what the result stored.
        assert list(net["stored_predictions_agree"].values()) == [1.0]
    path = save_embedding_study(frame, results / generalization.TSNE_STUDY, parameters)
    stored, record = generalization.stored_tsne(results)
    assert path.is_file() and stored.equals(load_embedding_study(path)[0]) and len(stored) == 48
    assert {"git_rev", "date", "torch_version", "device_name"} <= set(record["provenance"])
    status = generalization.tsne_status(stored, record)
    assert "fine network 100 % alike" in status and "2 of each fine class" in status
    assert "seed 0's fine-label and coarse-label networks after 1 epoch;" in status
    assert identities["fine"][:10] not in status and identities["fine"][:10] in generalization.tsne_provenance(record)
    fig = generalization.stored_tsne_figure(stored, record)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["trained on coarse labels", "trained on fine labels"]
    assert len(fig.axes[0].collections) >= 4  # one scatter per coarse class, plus the class means
    matplotlib.pyplot.close(fig)
    out = tmp_path / "cli" / "tsne.json"  # the command the chapter names does the same
    assert cli.main(["tsne", "--fine", str(tmp_path / "fine.weights"), "--coarse", str(tmp_path / "coarse.weights"),
                     "--out", str(out), "--points", "24", "--max-iter", "250", "--results", str(results)]) == 0
    assert load_embedding_study(out)[0].equals(stored)  # fixed seeds: the very same maps
    printed = capsys.readouterr().out.splitlines()
    head = next(line for line in printed if "network" in line).split()
    assert head == ["network", "images", "x_min", "x_max", "y_min", "y_max"]  # every printed column is named
