"""lgtools.runs.sweep: spec validation, expansion, resumable runs, failures, submitit, papermill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import nbformat
import numpy as np
import pytest
import torch
import yaml

from lgtools.cli import main
from lgtools.runs.results import load_result, load_results
from lgtools.runs.sweep import run_sweep
from lgtools.runs.sweep_spec import expand, load_spec, run_of, spec_from_dict, SweepSpec
from lgtools.training.config import TrainConfig
from lgtools.training.loop import RunResult, train

TINY = {"dataset": "synthetic", "model": "small_cnn", "epochs": 1, "batch_size": 64,
        "max_train": 200, "max_test": 100, "device": "cpu", "schedule": "constant"}


def write_spec(tmp_path: Path, spec: dict, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return path


def fake_train(config: TrainConfig) -> RunResult:
    """Instant stand-in for lgtools.training.loop.train (for the bookkeeping tests)."""
    return RunResult(config=config.to_dict(), history=[{"epoch": 1, "test_acc": 50.0}],
                     summary={"train_acc": 60.0, "test_acc": 50.0 + config.seed, "seconds": 0.0,
                              "device": "cpu"},
                     confusion_fine=np.eye(4, dtype=np.int64), confusion_coarse=np.eye(2, dtype=np.int64),
                     fine_names=("a", "b", "c", "d"), coarse_names=("x", "y"),
                     fine_to_coarse=np.array([0, 0, 1, 1]))


def failing_on_seed_1(config: TrainConfig) -> RunResult:
    if config.seed == 1:
        raise RuntimeError("diverged at step 3")
    return fake_train(config)


def killed_after_one_epoch(config: TrainConfig) -> RunResult:
    """Train one epoch (checkpointed), then die as a killed process would."""
    train(config, stop_after=1)
    raise KeyboardInterrupt


def tiny_spec(**extra) -> dict:
    return {"name": "tiny", "train": {}, "parameters": dict(TINY), "scale": "unit-scale",
            "grid": {"labels": ["fine", "coarse"]}, **extra}


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("change, key", [
    ({"colour": "red"}, "colour"),
    ({"grid": {"seed": []}}, "seed"),
    ({"grid": {"seed": 3}}, "seed"),
    ({"parameters": {**TINY, "epoch": 2}}, "epoch"),
    ({"parameters": {**TINY, "epochs": "two"}}, "epochs"),
    ({"parameters": {**TINY, "dropout": "0.3"}}, "dropout"),
    ({"parameters": {**TINY, "augment": 1}}, "augment"),
    ({"parameters": {**TINY, "hierarchy": 7}}, "hierarchy"),
    ({"parameters": {**TINY, "checkpoint_dir": "x"}}, "checkpoint_dir"),
    ({"parameters": {**TINY, "labels": "fine"}}, "labels"),
    ({"grid": {"labels": ["fine", "medium"]}}, "labels"),
    ({"cases": [{"width": 1.5}]}, "width"),
    ({"name": "a/b"}, "name"),
    ({"recipe": "mine"}, "recipe"),
])
def test_bad_specs_name_the_key(tmp_path: Path, change: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        load_spec(write_spec(tmp_path, tiny_spec(**change)))
    assert not (tmp_path / "results").exists()


def test_expand_is_the_product_with_stable_distinct_ids() -> None:
    spec = spec_from_dict(tiny_spec(grid={"labels": ["fine", "coarse"], "seed": [0, 1, 2]},
                                    cases=[{"noise": 0.0}, {"noise": 0.1}]))
    runs = expand(spec)
    assert len(runs) == 2 * 2 * 3
    assert {(r.parameters["noise"], r.parameters["labels"], r.parameters["seed"]) for r in runs} == {
        (n, lab, s) for n in (0.0, 0.1) for lab in ("fine", "coarse") for s in (0, 1, 2)}
    assert len({r.run_id for r in runs}) == len(runs)
    assert [r.run_id for r in runs] == [r.run_id for r in expand(spec)]
    assert runs[0].run_id.startswith("noise=0.0_labels=fine_seed=0-")
    assert all(r.parameters["max_train"] == 200 for r in runs)


def test_paper_recipe_fills_what_the_spec_leaves_out() -> None:
    spec = spec_from_dict({"name": "r", "train": {"dataset": "cifar100"}, "recipe": "paper",
                           "grid": {"seed": [0]}})
    assert expand(spec)[0].parameters["model"] == "wide_resnet"
    spec = spec_from_dict({"name": "r", "train": {"dataset": "cifar100", "epochs": 3},
                           "recipe": "paper", "grid": {"seed": [0]}})
    assert expand(spec)[0].parameters["epochs"] == 3


def test_dry_run_lists_the_runs_and_runs_nothing(tmp_path: Path, capsys) -> None:
    spec = write_spec(tmp_path, tiny_spec(grid={"labels": ["fine", "coarse"], "seed": [0, 1, 2]}))
    results = tmp_path / "results"
    assert main(["sweep", str(spec), "--results", str(results), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "6 runs" in out and out.count("[todo]") == 6
    assert "'labels': 'coarse', 'seed': 2" in out
    assert not results.exists()


def test_only_keeps_matching_runs_and_rejects_values_no_run_has(tmp_path: Path, capsys) -> None:
    spec = write_spec(tmp_path, tiny_spec(grid={"labels": ["fine", "coarse"], "seed": [0, 1, 2]}))
    results = tmp_path / "results"
    common = ["--results", str(results), "--runs-dir", str(tmp_path / "runs"), "--no-progress"]
    assert main(["sweep", str(spec), "--only", "labels=coarse", "--only", "seed=1", "--dry-run", *common]) == 0
    out = capsys.readouterr().out
    assert "1 runs" in out and out.count("[todo]") == 1 and "'labels': 'coarse', 'seed': 1" in out
    for bad, named in (("seed=7", "seed"), ("colour=red", "colour"), ("seed", "KEY=VALUE")):
        assert main(["sweep", str(spec), "--only", bad, *common]) == 2
        assert named in capsys.readouterr().err and not results.exists()
    assert main(["sweep", str(spec), "--only", "seed=2", *common]) == 0  # 2 runs, not 6
    assert sorted(load_results(results)["seed"]) == [2, 2]


def test_data_root_option_replaces_the_specs_path_and_keeps_run_ids(tmp_path: Path, capsys) -> None:
    spec = write_spec(tmp_path, tiny_spec(parameters={**TINY, "data_root": "data/placeholder"},
                                          grid={"seed": [0]}))
    results = tmp_path / "res"
    with pytest.raises(ValueError, match="data_root .*my-copy.* does not exist"):
        run_sweep(load_spec(spec), results, tmp_path / "runs", train_fn=fake_train,
                  progress=False, data_root=str(tmp_path / "my-copy"))
    assert not results.exists()  # refused before any run
    (tmp_path / "my-copy").mkdir()
    summary = run_sweep(load_spec(spec), results, tmp_path / "runs", train_fn=fake_train,
                        progress=False, data_root=str(tmp_path / "my-copy"))
    record = load_result(results / "tiny" / f"{summary.done[0]}.json")
    assert record["config"]["data_root"] == str(tmp_path / "my-copy")
    assert record["metadata"]["parameters"]["data_root"] == str(tmp_path / "my-copy")
    assert summary.done == [r.run_id for r in expand(load_spec(spec))]  # the id did not move
    assert main(["sweep", str(spec), "--results", str(results), "--data-root", ""]) == 2
    assert "data_root" in capsys.readouterr().err


# ----------------------------------------------------------------------------- running

def test_real_tiny_sweep_then_rerun_does_nothing(tmp_path: Path, capsys) -> None:
    spec = write_spec(tmp_path, tiny_spec())
    args = ["sweep", str(spec), "--results", str(tmp_path / "res"), "--runs-dir",
            str(tmp_path / "runs"), "--no-progress"]
    assert main(args) == 0
    assert "done 2, skipped 0, reused 0, failed 0, trained elsewhere 0" in capsys.readouterr().out
    frame = load_results(tmp_path / "res")
    assert sorted(frame["labels"]) == ["coarse", "fine"]
    assert set(frame["experiment"]) == {"tiny"} and set(frame["scale"]) == {"unit-scale"}
    assert frame["test_acc"].between(0, 100).all() and frame["acr"].notna().sum() == 1
    ids = {r.run_id for r in expand(load_spec(spec))}
    assert {Path(p).stem for p in frame["path"]} == ids
    assert not (tmp_path / "runs" / "tiny").exists() or not any((tmp_path / "runs" / "tiny").iterdir())
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "res").rglob("*.json")}
    assert main(args) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "res").rglob("*.json")} == before


def test_several_specs_are_all_checked_first_then_run_in_order(tmp_path: Path, capsys) -> None:
    first = write_spec(tmp_path, tiny_spec(name="first", grid={"seed": [0]}), "first.yaml")
    # The second repeats the first's run (copied, not trained) and adds one of its own.
    second = write_spec(tmp_path, tiny_spec(name="second", grid={"seed": [0, 1]}), "second.yaml")
    bad = write_spec(tmp_path, tiny_spec(name="bad", grid={"seed": []}), "bad.yaml")
    results = tmp_path / "res"
    common = ["--results", str(results), "--runs-dir", str(tmp_path / "runs"), "--no-progress"]
    assert main(["sweep", str(first), str(second), str(bad), *common]) == 2
    assert "seed" in capsys.readouterr().err and not results.exists()  # nothing ran
    assert main(["sweep", str(first), str(first), *common]) == 2
    assert "share a name" in capsys.readouterr().err and not results.exists()
    assert main(["sweep", str(first), str(second), *common]) == 0
    out = capsys.readouterr().out
    assert "sweep first: done 1," in out and "sweep second: done 1, skipped 0, reused 1," in out
    assert sorted(load_results(results)["experiment"]) == ["first", "second", "second"]


def test_temporaries_of_killed_writes_are_removed_fresh_ones_kept(tmp_path: Path) -> None:
    spec = spec_from_dict(tiny_spec(grid={"seed": [0]}))
    results, runs = tmp_path / "res", tmp_path / "runs"
    (results / "tiny").mkdir(parents=True)
    (runs / "tiny" / "x.ckpt").mkdir(parents=True)
    old_json = results / "tiny" / ".x.json.abc123.tmp"
    old_ckpt = runs / "tiny" / "x.ckpt" / "checkpoint.pt.tmp4242"
    fresh = results / "tiny" / ".y.json.def456.tmp"  # a writer may still be at work on it
    other = results / "other" / ".z.json.aaa.tmp"  # another sweep's folder is left alone
    other.parent.mkdir()
    for path in (old_json, old_ckpt, fresh, other):
        path.write_text("partial")
    for path in (old_json, old_ckpt, other):
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    run_sweep(spec, results, runs, dry_run=True, progress=False)
    assert old_json.exists() and old_ckpt.exists()  # a dry run changes nothing
    run_sweep(spec, results, runs, train_fn=fake_train, progress=False)
    assert not old_json.exists() and not old_ckpt.exists()
    assert fresh.exists() and other.exists()


def test_each_finished_run_is_logged(tmp_path: Path, caplog) -> None:
    # For background sweeps without a progress bar: `python -m lgtools -v sweep …`.
    spec = spec_from_dict(tiny_spec(grid={"seed": [0, 1, 2]}))
    with caplog.at_level("INFO", logger="lgtools.runs.sweep"):
        run_sweep(spec, tmp_path / "res", tmp_path / "runs", train_fn=failing_on_seed_1, progress=False)
    done = [r.getMessage() for r in caplog.records if " done (" in r.getMessage()]
    assert len(done) == 2 and done[-1].endswith("(3 of 3)")
    assert any("failed" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_killed_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    spec = spec_from_dict(tiny_spec(parameters={**TINY, "epochs": 2}, grid={"seed": [0, 1]}))
    results, runs = tmp_path / "res", tmp_path / "runs"
    first = expand(spec)[0].run_id
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, results, runs, train_fn=killed_after_one_epoch, progress=False)
    checkpoint = runs / "tiny" / f"{first}.ckpt" / "checkpoint.pt"
    saved = torch.load(checkpoint, weights_only=True)["history"]
    assert len(saved) == 1 and not list(results.rglob("*.json"))
    summary = run_sweep(spec, results, runs, progress=False)
    assert sorted(summary.done) == sorted(r.run_id for r in expand(spec)) and not summary.failed
    files = sorted(p.name for p in results.rglob("*.json"))
    assert files == sorted(f"{r.run_id}.json" for r in expand(spec))  # each exactly once
    resumed = load_result(results / "tiny" / f"{first}.json")["history"]
    assert len(resumed) == 2 and resumed[0] == saved[0]  # epoch 1 came from the checkpoint
    assert not checkpoint.parent.exists()


def test_a_keep_weights_run_leaves_its_weights_beside_the_removed_checkpoint(tmp_path: Path) -> None:
    spec = spec_from_dict(tiny_spec(parameters={**TINY, "keep_weights": True}, grid={"seed": [0]}))
    results, runs = tmp_path / "res", tmp_path / "runs"
    summary = run_sweep(spec, results, runs, progress=False)
    run_id = expand(spec)[0].run_id
    assert summary.done == [run_id] and not (runs / "tiny" / f"{run_id}.ckpt").exists()
    kept = sorted(p.name for p in (runs / "tiny" / f"{run_id}.weights").iterdir())
    assert kept == ["weights-epoch000.pt", "weights-epoch001.pt"]
    # The same run in another sweep is copied, unless that sweep wants its weights too.
    for keep, reused in ((False, 1), (True, 0)):
        other = spec_from_dict(tiny_spec(name=f"other-{keep}", parameters={**TINY, "keep_weights": keep},
                                         grid={"seed": [0]}))
        assert len(run_sweep(other, results, runs, dry_run=True, progress=False).reused) == reused
        path = write_spec(tmp_path, tiny_spec(name=f"other-{keep}", parameters={**TINY, "keep_weights": keep},
                                              grid={"seed": [0]}), name=f"other-{keep}.yaml")
        from lgtools.runs.sweep_store import coverage

        assert coverage([path], results)["copyable"].tolist() == [reused]  # chapter 8's count says the same


def test_failed_run_is_recorded_and_retried(tmp_path: Path) -> None:
    spec = spec_from_dict(tiny_spec(grid={"seed": [0, 1, 2]}))
    results = tmp_path / "res"
    summary = run_sweep(spec, results, tmp_path / "runs", train_fn=failing_on_seed_1, progress=False)
    assert len(summary.done) == 2 and len(summary.failed) == 1
    (failed_id, error), = summary.failed.items()
    assert "diverged at step 3" in error and "seed=1" in failed_id
    record = json.loads((results / "tiny" / f"{failed_id}.failed.json").read_text())
    assert record["attempts"] == 1 and "RuntimeError" in record["traceback"]
    assert len(load_results(results)) == 2  # the failure record is not a result
    again = run_sweep(spec, results, tmp_path / "runs", train_fn=failing_on_seed_1, progress=False)
    assert len(again.skipped) == 2 and list(again.failed) == [failed_id]
    assert json.loads((results / "tiny" / f"{failed_id}.failed.json").read_text())["attempts"] == 2
    fixed = run_sweep(spec, results, tmp_path / "runs", train_fn=fake_train, progress=False)
    assert fixed.done == [failed_id] and not list(results.rglob("*.failed.json"))
    assert sorted(load_results(results)["test_acc"]) == [50.0, 51.0, 52.0]


def test_submitit_local_executor_runs_a_tiny_sweep(tmp_path: Path) -> None:
    spec = spec_from_dict(tiny_spec(grid={"labels": ["fine", "coarse"], "seed": [0]}))
    summary = run_sweep(spec, tmp_path / "res", tmp_path / "runs", launcher="submitit",
                        cluster="local", jobs=2, progress=False)
    assert len(summary.done) == 2 and not summary.failed, summary.failed
    frame = load_results(tmp_path / "res")
    assert sorted(frame["labels"]) == ["coarse", "fine"]
    assert (tmp_path / "runs" / "tiny" / "submitit").is_dir()  # submitit's logs


def test_submitit_jobs_in_flight_are_cancelled_when_the_sweep_stops(tmp_path: Path) -> None:
    # Left running, a job would train alongside its resubmission on the next invocation.
    from lgtools.runs.sweep_launch import outcomes_submitit
    from lgtools.runs.sweep_task import RunTask

    def task(run_id: str, **change) -> RunTask:
        return RunTask("train", "tiny", run_id, {**TINY, "seed": 0, **change},
                       str(tmp_path / "res"), str(tmp_path / "runs"), num_threads=1)

    folder = tmp_path / "submitit"
    # As in a sweep started in the background (`&`, nohup): SIGINT ignored, which children inherit,
    # and submitit cancels a local job with SIGINT. 100,000 epochs: "slow" cannot finish first.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        outcomes = outcomes_submitit([task("quick"), task("slow", epochs=100_000)], 2, folder,
                                      {"cluster": "local"})
        first, (status, _) = next(outcomes)
        assert first.run_id == "quick" and status == "done"
        pids = {int(f.name.split("_")[0]) for f in folder.glob("*_log.out")}
        assert len(pids) == 2
        limits = {line for pid in pids if Path(f"/proc/{pid}").exists()
                  for line in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                  if line.startswith(b"SUBMITIT_LOCAL_TIMEOUT_S=")}
        assert limits == {b"SUBMITIT_LOCAL_TIMEOUT_S=86400"}  # the slow job's: a day, not submitit's 2 minutes
        outcomes.close()  # what an interruption of the consuming sweep does
    finally:
        signal.signal(signal.SIGINT, previous)

    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    # A cancelled job exits within seconds: submitit SIGINTs its worker, then SIGKILLs it 1 s later.
    deadline = time.monotonic() + 60
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in pids)
    assert not (tmp_path / "res" / "tiny" / "slow.json").exists()


# ----------------------------------------------------------------------------- notebooks

NOTEBOOK_BODY = """
from types import SimpleNamespace
import numpy as np
from lgtools.runs.results import save_result
assert seed != fail_seed, "this seed is set to fail"
run = SimpleNamespace(config={"dataset": "synthetic", "labels": "fine", "seed": seed, "lr": lr},
                      history=[], summary={"test_acc": 80.0 + seed, "device": "cpu"},
                      confusion_fine=None, confusion_coarse=np.eye(2, dtype=int),
                      fine_names=["a", "b"], coarse_names=["x", "y"], fine_to_coarse=[0, 1])
save_result(run, results_dir, experiment="chapter")
"""


def write_notebook(path: Path, fail_seed: int) -> Path:
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(
        f'results_dir: str = "results"  # where results go\nseed: int = 0  # random seed\n'
        f'lr = 0.1  # learning rate\nfail_seed: int = {fail_seed}  # a seed that fails\n')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(NOTEBOOK_BODY)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)
    return path


def test_notebook_spec_validation(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "chapter.ipynb", fail_seed=-1)
    for grid, key in (({"epochs": [1]}, "epochs"), ({"seed": ["0"]}, "seed"),
                      ({"lr": ["fast"]}, "lr"), ({"results_dir": ["x"]}, "results_dir")):
        with pytest.raises(ValueError, match=key):
            spec_from_dict({"name": "nb", "notebook": str(notebook), "grid": grid})
    assert spec_from_dict({"name": "nb", "notebook": str(notebook), "grid": {"lr": [1]}}).kind == "notebook"
    with pytest.raises(ValueError, match="notebook 'book/nope.ipynb' not found"):
        spec_from_dict({"name": "nb", "notebook": "book/nope.ipynb", "grid": {"seed": [0]}})
    with pytest.raises(ValueError, match="exactly one of the keys notebook or train"):
        spec_from_dict({"name": "nb", "notebook": str(notebook), "train": {}})


def test_notebook_sweep_through_papermill(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "chapter.ipynb", fail_seed=1)
    spec = load_spec(write_spec(tmp_path, {"name": "nb", "notebook": "chapter.ipynb",
                                           "grid": {"seed": [0, 1]}}))
    assert isinstance(spec, SweepSpec)
    first = run_sweep(spec, "res", "runs", progress=False)
    (done,), (failed,) = first.done, list(first.failed)
    assert "this seed is set to fail" in first.failed[failed]
    assert (tmp_path / "runs" / "nb" / f"{done}.ipynb").exists()
    assert (tmp_path / "runs" / "nb" / f"{failed}.failed.ipynb").exists()
    write_notebook(tmp_path / "chapter.ipynb", fail_seed=-1)  # the bug is fixed
    second = run_sweep(spec, "res", "runs", progress=False)
    assert second.skipped == [done] and second.done == [failed]
    frame = load_results("res")
    assert sorted(frame["test_acc"]) == [80.0, 81.0] and set(frame["experiment"]) == {"chapter"}
    for run_id in (done, failed):
        record = json.loads((tmp_path / "res" / "nb" / run_id / "sweep_run.json").read_text())
        assert record["parameters"]["seed"] in (0, 1)
    assert not list((tmp_path / "res").rglob("*.failed.json"))
    assert run_sweep(spec, "res", "runs", progress=False).nothing_to_do


CHAPTER_BODY = """
import json, pathlib
from types import SimpleNamespace
import numpy as np
from lgtools.runs.results import save_result
# Like the book's chapters: read stored results from results_dir, save live runs to save_dir.
pathlib.Path(save_dir, "seen.txt").write_text(results_dir)
run = SimpleNamespace(config={"dataset": "synthetic", "labels": "fine", "seed": seed},
                      history=[], summary={"test_acc": 70.0, "device": "cpu"},
                      confusion_fine=None, confusion_coarse=np.eye(2, dtype=int),
                      fine_names=["a", "b"], coarse_names=["x", "y"], fine_to_coarse=[0, 1])
save_result(run, save_dir, experiment="ch99-live")
"""


def test_chapter_notebooks_write_to_save_dir_and_keep_reading_results_dir(tmp_path: Path, monkeypatch) -> None:
    # The book's chapters take both: the sweep points save_dir at the run's folder and leaves
    # results_dir (the stored results a chapter reads) to the spec, which may now set it.
    monkeypatch.chdir(tmp_path)
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('results_dir: str = "results"  # stored runs to read\n'
                                           'save_dir: str = ""  # live runs saved here\n'
                                           'seed: int = 0  # random seed\n')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(CHAPTER_BODY)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "ch99.ipynb")
    with pytest.raises(ValueError, match="save_dir"):
        spec_from_dict({"name": "nb", "notebook": "ch99.ipynb", "grid": {"save_dir": ["x"]}})
    spec = spec_from_dict({"name": "nb", "notebook": "ch99.ipynb", "scale": "unit-scale",
                           "parameters": {"results_dir": "stored"}, "grid": {"seed": [0, 1]}})
    summary = run_sweep(spec, "res", "runs", progress=False)
    assert len(summary.done) == 2 and not summary.failed
    for run_id in summary.done:
        assert (tmp_path / "res" / "nb" / run_id / "seen.txt").read_text() == "stored"
    frame = load_results("res")
    assert len(frame) == 2 and set(frame["experiment"]) == {"ch99-live"}
    assert set(frame["scale"]) == {"unit-scale"}  # tagged by the sweep
    record = load_result(frame["path"].iloc[0])
    assert record["metadata"]["sweep"] == "nb" and record["metadata"]["notebook_run"] in summary.done


def refuses_seeds_0_and_1(config: TrainConfig) -> RunResult:
    if config.seed in (0, 1):
        raise AssertionError("should have been reused, not trained")
    return fake_train(config)


def test_exclude_drops_matching_runs() -> None:
    spec = spec_from_dict(tiny_spec(
        grid={"extra_layer": [None, "linear", "square_relu"], "labels": ["fine", "coarse"]},
        exclude=[{"labels": "fine", "extra_layer": "linear"}, {"labels": "fine", "extra_layer": "square_relu"}]))
    kept = {(r.parameters["extra_layer"], r.parameters["labels"]) for r in expand(spec)}
    assert kept == {(None, "fine"), (None, "coarse"), ("linear", "coarse"), ("square_relu", "coarse")}
    with pytest.raises(ValueError, match="exclude"):
        spec_from_dict(tiny_spec(exclude=[{"dropout": 0.3}]))
    with pytest.raises(ValueError, match="exclude leaves no runs"):
        spec_from_dict(tiny_spec(exclude=[{"labels": "fine"}, {"labels": "coarse"}]))


def test_identical_runs_of_another_sweep_are_reused(tmp_path: Path, monkeypatch) -> None:
    results = tmp_path / "res"
    first = spec_from_dict(tiny_spec(name="first", grid={"seed": [0, 1]}, scale="a"))
    run_sweep(first, results, tmp_path / "runs", train_fn=fake_train, progress=False)
    second = spec_from_dict(tiny_spec(name="second", grid={"seed": [0, 1, 2]}, scale="a",
                                      parameters={**TINY, "data_root": "elsewhere"}))
    monkeypatch.chdir(tmp_path)  # the relative data_root must exist from where the sweep starts
    (tmp_path / "elsewhere").mkdir()
    plan = run_sweep(second, results, tmp_path / "runs", dry_run=True, progress=False)
    assert len(plan.reused) == 2 and len(plan.pending) == 1 and not (results / "second").exists()
    summary = run_sweep(second, results, tmp_path / "runs", train_fn=refuses_seeds_0_and_1,
                        progress=False)
    assert len(summary.reused) == 2 and len(summary.done) == 1 and not summary.failed
    copied = load_result(results / "second" / f"{summary.reused[0]}.json")
    source = copied["metadata"]["reused_from"]  # relative to the results root: no machine paths
    assert copied["experiment"] == "second" and source.startswith("first/")
    assert not Path(source).is_absolute() and str(tmp_path) not in json.dumps(copied["metadata"])
    assert copied["summary"] == load_result(results / source)["summary"]
    assert sorted(load_results(results)["experiment"]) == ["first"] * 2 + ["second"] * 3
    third = spec_from_dict(tiny_spec(name="third", grid={"seed": [0]}))
    forced = run_sweep(third, results, tmp_path / "runs", train_fn=refuses_seeds_0_and_1,
                       progress=False, reuse=False)
    assert not forced.reused and len(forced.failed) == 1


def test_runs_equal_by_content_are_reused_across_names(tmp_path: Path) -> None:
    # The default hierarchy (None) and the dataset's own grouping spelled out hash to different
    # run ids, but train the same network: the second sweep copies, as Table VI's partition (1)
    # does Table I's coarse runs. Another grouping of the same classes is trained.
    results = tmp_path / "res"
    first = spec_from_dict(tiny_spec(name="first", grid={"labels": ["coarse"], "seed": [0, 1]}))
    run_sweep(first, results, tmp_path / "runs", train_fn=fake_train, progress=False)
    second = spec_from_dict(tiny_spec(name="second", grid={"seed": [0, 1]}, cases=[
        {"labels": "coarse", "hierarchy": "synthetic"},
        {"labels": "coarse", "hierarchy": "000000111111"}]))
    assert not {r.run_id for r in expand(first)} & {r.run_id for r in expand(second)}
    summary = run_sweep(second, results, tmp_path / "runs", train_fn=refuses_seeds_0_and_1,
                        progress=False)
    assert len(summary.reused) == 2 and len(summary.failed) == 2 and not summary.done
    assert all("synthetic" in run_id for run_id in summary.reused)
    sources = {load_result(results / "second" / f"{r}.json")["metadata"]["reused_from"]
               for r in summary.reused}
    assert sources == {f"first/{r.run_id}.json" for r in expand(first)}
    # A third sweep with second's run ids names the source where the run was trained ("first",
    # found by content), not second's copies or "a-copy"'s copies of those (found by run id).
    (results / "a-copy").mkdir()
    for path in (results / "second").glob("*synthetic*.json"):
        (results / "a-copy" / path.name).write_text(path.read_text())
    third = spec_from_dict(tiny_spec(name="third", grid={"seed": [0, 1]}, cases=[
        {"labels": "coarse", "hierarchy": "synthetic"}]))
    summary = run_sweep(third, results, tmp_path / "runs", train_fn=refuses_seeds_0_and_1, progress=False)
    assert len(summary.reused) == 2
    assert {load_result(results / "third" / f"{r}.json")["metadata"]["reused_from"].split("/")[0]
            for r in summary.reused} == {"first"}


def test_coverage_counts_stored_copyable_and_remaining_runs(tmp_path: Path) -> None:
    from lgtools.runs.sweep_store import coverage

    first = write_spec(tmp_path, tiny_spec(name="first", grid={"seed": [0, 1]}), "first.yaml")
    second = write_spec(tmp_path, tiny_spec(name="second", grid={"seed": [0, 1, 2]}), "second.yaml")
    results = tmp_path / "res"
    empty = coverage([first, second], results).set_index("sweep")
    assert empty["to_train"].tolist() == [2, 3] and empty["stored"].sum() == 0
    run_sweep(load_spec(first), results, tmp_path / "runs", train_fn=fake_train, progress=False)
    table = coverage([first, second], results).set_index("sweep")
    assert table.loc["first", ["runs", "stored", "copyable", "to_train"]].tolist() == [2, 2, 0, 0]
    assert table.loc["second", ["runs", "stored", "copyable", "to_train"]].tolist() == [3, 0, 2, 1]
    assert table.loc["second", "scale"] == "unit-scale"


def test_coverage_predicts_what_a_sweep_copies(tmp_path: Path) -> None:
    # Two runs of one sweep equal by content (the default grouping spelled out): a sweep never
    # copies from itself, so with one of them stored the other is still to train, in the
    # coverage count as in the sweep; a second sweep may copy it.
    from lgtools.runs.sweep_store import coverage

    own = write_spec(tmp_path, tiny_spec(name="own", grid={"seed": [0]}, cases=[
        {"labels": "coarse"}, {"labels": "coarse", "hierarchy": "synthetic"}]), "own.yaml")
    other = write_spec(tmp_path, tiny_spec(name="other", grid={"seed": [0]}, cases=[
        {"labels": "coarse", "hierarchy": "synthetic"}]), "other.yaml")
    results = tmp_path / "res"
    run_sweep(load_spec(own), results, tmp_path / "runs", train_fn=fake_train, progress=False,
              only={"hierarchy": "synthetic"})
    table = coverage([own, other], results).set_index("sweep")
    assert table.loc["own", ["stored", "copyable", "to_train"]].tolist() == [1, 0, 1]
    assert table.loc["other", ["stored", "copyable", "to_train"]].tolist() == [0, 1, 0]
    for spec, row in ((own, "own"), (other, "other")):
        planned = run_sweep(load_spec(spec), results, tmp_path / "runs", dry_run=True, progress=False)
        assert len(planned.reused) == table.loc[row, "copyable"]
        assert len(planned.pending) == table.loc[row, "to_train"]


def test_every_shipped_spec_is_valid() -> None:
    root = Path(__file__).resolve().parents[1] / "sweeps"
    specs = {path: load_spec(path) for path in sorted(root.rglob("*.yaml"))}
    names = [spec.name for spec in specs.values()]
    assert len(specs) >= 13 and len(set(names)) == len(names)
    for path, spec in specs.items():
        if path.parent.name == "chapters":  # examples of chapters run through papermill
            assert spec.kind == "notebook" and spec.notebook.is_file() and expand(spec)
            continue
        if path.parent.name == "converged":  # the fast recipe on the real CIFAR-10, converged networks
            runs = expand(spec)
            # The published width (64) is a scale of its own: its tables never pool with width 32's.
            assert spec.scale == ("converged-w64" if path.stem == "table1_w64" else "converged")
            assert spec.name.endswith(f"-{spec.scale}") and spec.recipe == "fast"
            # Every claim's spec runs three seeds; Fig 4's features spec retrains one stored pair to keep its weights.
            seeds = {0} if path.stem == "features" else {0, 1, 2}
            assert {r.parameters["seed"] for r in runs} >= seeds
            assert all(r.parameters["model"] == "whitened_cnn" and r.parameters["schedule"] == "triangular"
                       and r.parameters["data_root"] == "../shared/data/cifar10-jpeg.npz" for r in runs)
            continue
        cpu = path.parent.name == "cpu"
        # Beyond the paper there is no authors' recipe: those GPU specs say "gpu-scale", not "paper-scale".
        gpu = spec.name.endswith("-gpu-scale")
        assert spec.scale == ("cpu-scale" if cpu else "gpu-scale" if gpu else "paper-scale") and spec.kind == "train"
        assert spec.name.endswith(f"-{spec.scale}")
        runs = expand(spec)
        # Three seeds for a 95 % interval of a paired difference; the redraw noise procedure (kept
        # beside the authors' swaps) has two.
        cpu_seeds = {0, 1} if spec.name == "table7-cpu-scale" else {0, 1, 2}
        assert {r.parameters["seed"] for r in runs} == (cpu_seeds if cpu else {0, 1, 2})
        if cpu:
            assert all(r.parameters["data_root"] == "../shared/data/cifar10-jpeg.npz"
                       and r.parameters["width"] == 16 and r.parameters["schedule"] == "onecycle"
                       for r in runs)
            if "noise" in spec.grid:  # the authors' procedure, or ours under its own name
                assert {r.parameters.get("noise_mode") for r in runs} <= {"swap", "redraw"}
    table6 = expand(specs[root / "cpu" / "table6.yaml"])
    assert sum(r.parameters["labels"] == "coarse" for r in table6) == 10 * 3


def test_run_ids_do_not_move_when_a_trainconfig_default_changes():
    """model's default became "auto"; ids issued when it was preact_resnet18 must stay valid."""
    base = {"dataset": "cifar10", "width": 16, "labels": "fine", "seed": 0}
    ids = {model: run_of("s", {**base, "model": model}, {}).identity for model in ("preact_resnet18", "small_cnn")}
    assert run_of("s", base, {}).identity == ids["preact_resnet18"] != ids["small_cnn"]


def test_auto_model_is_hashed_as_the_network_it_resolves_to():
    synthetic = {"dataset": "synthetic", "seed": 0}  # "auto" means small_cnn here
    auto = run_of("s", synthetic, {}).identity
    assert auto == run_of("s", {**synthetic, "model": "small_cnn"}, {}).identity
    assert auto != run_of("s", {**synthetic, "model": "preact_resnet18"}, {}).identity


# ----------------------------------------------------------------------------- interruption

REPO = Path(__file__).resolve().parents[1]

# Run as a script, it is `python -m lgtools ...` with run_sweep's train_fn set to the function
# LGTOOLS_TEST_TRAIN names. Spawned workers import it as __mp_main__, so its functions resolve.
SWEEP_SCRIPT = """
import functools, os, sys, time
from types import SimpleNamespace
import numpy as np


def blocking_train(config):
    # Tell the test which process runs this, then "train" until killed.
    open(os.path.join(os.environ["LGTOOLS_TEST_PIDS"], f"{os.getpid()}.pid"), "w").close()
    time.sleep(120)
    raise RuntimeError("the worker outlived the sweep that started it")


def quick_train(config):
    return SimpleNamespace(config=config.to_dict(), history=[], summary={"test_acc": 50.0},
                           confusion_fine=None, confusion_coarse=np.eye(2, dtype=int), fine_names=["a", "b"],
                           coarse_names=["x", "y"], fine_to_coarse=[0, 1])


if __name__ == "__main__":
    import signal
    import lgtools.runs.sweep
    from lgtools.cli import main

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    train_fn = globals()[os.environ["LGTOOLS_TEST_TRAIN"]]
    lgtools.runs.sweep.run_sweep = functools.partial(lgtools.runs.sweep.run_sweep, train_fn=train_fn)
    sys.exit(main(sys.argv[1:]))
"""


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: state letter after the parenthesised command name
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` every 50 ms; whether it held within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start_sweep(tmp_path: Path, spec: Path, train: str) -> subprocess.Popen:
    """``python -m lgtools sweep spec --jobs 2`` in a child process, runs calling ``train``."""
    script = tmp_path / "sweep_script.py"
    script.write_text(SWEEP_SCRIPT)
    (tmp_path / "pids").mkdir(exist_ok=True)
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "LGTOOLS_TEST_PIDS": str(tmp_path / "pids"),
           "LGTOOLS_TEST_TRAIN": train, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(script), "sweep", str(spec), "--jobs", "2", "--no-progress",
               "--results", str(tmp_path / "res"), "--runs-dir", str(tmp_path / "runs")]
    # Output to files, not pipes: workers inherit them, and a pipe would wait for them too.
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=err)


def finish(sweep: subprocess.Popen, tmp_path: Path, timeout: float) -> tuple[str, str]:
    """Wait for the sweep process to exit; its (stdout, stderr)."""
    sweep.wait(timeout=timeout)
    return (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_killing_a_sweep_stops_its_workers(tmp_path: Path, signum: int) -> None:
    spec = write_spec(tmp_path, tiny_spec(grid={"seed": [0, 1, 2]}))  # 2 in flight, 1 queued
    sweep = start_sweep(tmp_path, spec, "blocking_train")
    pids: list[int] = []
    try:
        assert wait_until(lambda: len(list((tmp_path / "pids").iterdir())) == 2, 60), \
            (tmp_path / "err.txt").read_text()
        pids = [int(p.stem) for p in (tmp_path / "pids").iterdir()]
        assert sweep.pid not in pids and all(alive(pid) for pid in pids)
        sweep.send_signal(signum)
        out, err = finish(sweep, tmp_path, 20)
        if signum == signal.SIGKILL:
            assert sweep.returncode == -signal.SIGKILL
        else:  # cleaned up, said so, and exited with the shell's code for the signal
            assert sweep.returncode == 128 + signum, (out, err)
            assert f"interrupted by {signal.Signals(signum).name}" in err
            assert "resume from their checkpoints" in err and "Traceback" not in err
        # Workers end with the sweep: stopped by it, or (SIGKILL) on noticing it is gone.
        assert wait_until(lambda: not any(alive(pid) for pid in pids), 5), \
            [pid for pid in pids if alive(pid)]
    finally:  # a failing test must not leave training processes behind
        for pid in [sweep.pid] + pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        sweep.wait(timeout=10)
    assert len(list((tmp_path / "pids").iterdir())) == 2  # the queued run never started
    assert not list((tmp_path / "res").rglob("*.json"))
    # Re-running completes the sweep, each result stored exactly once: once through the pool
    # (a normal finish there waits for every run), else in this process, which is quicker.
    if signum == signal.SIGTERM:
        again = start_sweep(tmp_path, spec, "quick_train")
        out, err = finish(again, tmp_path, 120)
        assert again.returncode == 0 and "done 3, skipped 0" in out, (out, err)
    else:
        summary = run_sweep(load_spec(spec), tmp_path / "res", tmp_path / "runs",
                            train_fn=fake_train, progress=False)
        assert len(summary.done) == 3 and not summary.failed
    ids = sorted(f"{r.run_id}.json" for r in expand(load_spec(spec)))
    assert sorted(p.name for p in (tmp_path / "res").rglob("*.json")) == ids
    assert not list((tmp_path / "runs").rglob("*.ckpt"))


def terminated(config: TrainConfig) -> RunResult:
    """A run that receives SIGTERM (only while a handler is set: otherwise it would end pytest)."""
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.SIG_IGN, None):
        raise AssertionError("no SIGTERM handler during the run")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler raises long before this ends
    raise AssertionError("SIGTERM did not interrupt the run")


def test_sigterm_raises_only_while_a_local_sweep_runs(tmp_path: Path) -> None:
    """SIGTERM raises SweepInterrupted inside a sweep; the previous disposition comes back."""
    from lgtools.runs.sweep import SweepInterrupted

    spec = spec_from_dict(tiny_spec())
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with pytest.raises(SweepInterrupted) as stop:
            run_sweep(spec, tmp_path / "res", tmp_path / "runs", train_fn=terminated,
                      progress=False)
        assert stop.value.signum == signal.SIGTERM and isinstance(stop.value, KeyboardInterrupt)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        assert not list(tmp_path.rglob("*.failed.json"))  # an interruption is not a failed run
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as under nohup: the sweep leaves it be
        summary = run_sweep(spec, tmp_path / "res", tmp_path / "runs", train_fn=terminated,
                            progress=False)
        assert all("no SIGTERM handler" in e for e in summary.failed.values()) and summary.failed
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_coarse_net_spec_expands_without_its_weights_files_and_names_runs_readably() -> None:
    # CI has no runs/ folder: pseudo_identity in the spec names each clustered network, so the run ids
    # are known without the files, and the 64-digit identity stays out of the readable name.
    spec = load_spec(Path(__file__).resolve().parents[1] / "sweeps" / "cpu" / "pseudo_fine_coarse_net.yaml")
    runs = expand(spec)
    assert len(runs) == 9
    assert all("pseudo_identity" not in r.run_id and len(r.run_id) < 40 for r in runs)
    assert len({r.identity for r in runs}) == 9
    assert {r.parameters["pseudo_identity"][:10] for r in runs} == {"2d910bee5a", "d72706b82d", "9b35f41047"}
