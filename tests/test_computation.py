"""Issue 28: one identity, two networks. A run's identity leaves out threads (and torch's version, the CPU's
instruction set); the same config on 1 and on 2 threads trains another network, so every stored run says what
computed it, and nothing takes one computation's result for another's (the sweep's reuse, chapter 12's twins,
the fine-tuning study)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

TINY = {"dataset": "synthetic", "epochs": 1, "max_train": 96, "max_test": 48, "batch_size": 32, "progress": False}


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory) -> Path:
    """One tiny run trained on 2 threads, stored by a sweep named ``a``."""
    from lgtools.runs.sweep import run_sweep
    from lgtools.runs.sweep_spec import spec_from_dict

    results = tmp_path_factory.mktemp("computation") / "res"
    spec = spec_from_dict({"name": "a", "train": {**TINY, "num_threads": 2}, "grid": {"seed": [0]}})
    summary = run_sweep(spec, results, results.parent / "runs", progress=False)
    assert len(summary.done) == 1
    return next((results / "a").glob("*.json"))


def test_a_stored_run_says_what_computed_it_and_older_runs_are_read_from_their_provenance(stored_run: Path) -> None:
    from lgtools.runs.results import load_result
    from lgtools.training.provenance import stored_computation

    record = json.loads(stored_run.read_text())
    assert record["computation"]["threads"] == 2 and record["computation"]["device_kind"] == "cpu"
    assert {"torch_version", "device_name", "cpu_capability"} <= set(record["computation"])
    assert load_result(stored_run)["computation"] == record["computation"]  # the schema takes it
    older = {key: value for key, value in record.items() if key != "computation"}  # stored before issue 28
    assert stored_computation(older)["threads"] == 2  # the config's num_threads
    older["config"] = {**older["config"], "num_threads": None}
    assert stored_computation(older)["threads"] == record["provenance"]["cpu_count"]  # None: every core


def _spec(name: str, threads: int | None):
    from lgtools.runs.sweep_spec import spec_from_dict

    return spec_from_dict({"name": name, "train": {**TINY, "num_threads": threads}, "grid": {"seed": [0]}})


def test_the_sweep_does_not_reuse_a_run_another_computation_made(stored_run: Path) -> None:
    from lgtools.runs.sweep import run_sweep

    results = stored_run.parents[1]
    one_thread = run_sweep(_spec("b", 1), results, results.parent / "runs", dry_run=True, progress=False)
    assert one_thread.reused == [] and len(one_thread.pending) == 1  # same identity, 1 thread: another network
    two_threads = run_sweep(_spec("c", 2), results, results.parent / "runs", dry_run=True, progress=False)
    assert len(two_threads.reused) == 1  # computed as the stored run was: the same network, copied


def test_a_twin_of_another_computation_is_another_network_and_only_a_stand_in(stored_run: Path, tmp_path: Path,
                                                                            caplog) -> None:
    """Chapter 12's hard images: where Table I's run kept no predictions, its same-identity twin stands in (the chapter
    says so), while ``network_difference`` still names it another network; the page gets no warning."""
    from lgtools.report.evidence import with_predictions
    from lgtools.runs.compare import network_difference

    results = tmp_path / "res"
    record = json.loads(stored_run.read_text())
    (results / "table1").mkdir(parents=True)
    (results / "pretraining").mkdir()
    shown = results / "table1" / stored_run.name  # the run a chapter shows, stored without per-image predictions
    shown.write_text(json.dumps({**record, "experiment": "table1", "test_predictions": None,
                                 "computation": {**record["computation"], "threads": 1},
                                 "config": {**record["config"], "num_threads": 1}}))
    row = pd.Series({"path": str(shown), "identity": record["identity"]})
    assert with_predictions(row) is None  # no twin yet: nothing stands in
    twin = results / "pretraining" / stored_run.name  # retrained with the same identity on 2 threads
    twin.write_text(json.dumps({**record, "experiment": "pretraining"}))
    with caplog.at_level(logging.WARNING):
        assert with_predictions(row)["experiment"] == "pretraining"
    assert not caplog.text  # nothing printed into the built page
    assert network_difference(json.loads(shown.read_text()), record) == "computed differently (threads 1 vs 2)"


def test_a_checkpoint_is_resumed_only_by_the_same_computation(tmp_path: Path, caplog) -> None:
    from lgtools.training.config import TrainConfig
    from lgtools.training.loop import train

    run = {**TINY, "epochs": 2, "seed": 3}
    checkpoint = tmp_path / "ckpt"
    train(TrainConfig(**run, num_threads=2, checkpoint_dir=str(checkpoint)), stop_after=1)  # killed after epoch 1
    with caplog.at_level(logging.WARNING):
        resumed = train(TrainConfig(**run, num_threads=1, checkpoint_dir=str(checkpoint)))  # restarted on 1 thread
    assert "threads 2 then, 1 now" in caplog.text and list(checkpoint.glob("checkpoint.pt.bad-*"))
    fresh = train(TrainConfig(**run, num_threads=1))
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in fresh.history]  # all on 1 thread
