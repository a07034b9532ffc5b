"""Bad input is refused up front with one clear error naming the parameter (issue: the results store under faults)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lgtools.labels.builtin import as_hierarchy, get_hierarchy
from lgtools.labels.hierarchy import Hierarchy
from lgtools.runs.results import ensure_writable, write_json_atomic
from lgtools.runs.sweep_spec import load_spec, spec_from_dict
from lgtools.training.config import MAX_SEED, TrainConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("field", ["lr", "weight_decay", "momentum", "dropout", "label_smoothing", "noise", "data_ratio"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_hyperparameters_must_be_finite(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be a finite number"):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**80])
def test_seeds_outside_what_numpy_and_torch_take_are_refused(seed: int) -> None:
    with pytest.raises(ValueError, match=r"^seed must be an integer in \[0, "):
        TrainConfig(seed=seed)
    TrainConfig(seed=MAX_SEED)


@pytest.mark.parametrize("name", ["../../x", "a/b", ".hidden", "", "with space"])
def test_the_experiment_name_cannot_leave_the_results_folder(name: str) -> None:
    with pytest.raises(ValueError, match="^experiment must be a plain folder name"):
        TrainConfig(experiment=name)


def test_hierarchies_are_resolved_and_checked_before_training() -> None:
    with pytest.raises(ValueError, match="unknown hierarchy 'nosuch'; known: cifar10"):
        TrainConfig(dataset="cifar10", hierarchy="nosuch")
    with pytest.raises(ValueError, match=r"bits '0101ab0101' contains \['a', 'b'\]"):
        TrainConfig(dataset="cifar10", hierarchy="0101ab0101")
    with pytest.raises(ValueError, match="has 1 coarse class; training and A_FC need at least 2"):
        TrainConfig(dataset="cifar10", hierarchy="0000000000")
    with pytest.raises(ValueError, match="has 1 coarse class"):
        TrainConfig(hierarchy=Hierarchy(("a", "b"), ("x",), np.array([0, 0])))
    # The bits error also reaches whoever resolves a hierarchy directly.
    with pytest.raises(ValueError, match="allowed characters are digits"):
        as_hierarchy("01010101ab01", get_hierarchy("synthetic").fine_names)


def test_a_spec_that_names_one_run_twice_is_refused_before_any_run() -> None:
    with pytest.raises(ValueError, match="the spec gives run seed=0-[0-9a-f]{10} twice"):
        spec_from_dict({"name": "dup", "train": {}, "grid": {"seed": [0, 0, 1]}})
    with pytest.raises(ValueError, match="unknown hierarchy"):  # the sweep's up-front check resolves names
        spec_from_dict({"name": "h", "train": {}, "parameters": {"dataset": "cifar10"},
                        "grid": {"hierarchy": ["cifar10", "cifar10_tabel6_1"]}})


def test_result_files_are_readable_by_the_group(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_json_atomic(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_an_unwritable_results_folder_is_found_before_training(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="results folder .* is not writable"):
        ensure_writable(blocker / "sub")


@pytest.mark.parametrize("argv, says", [
    (["train", "--dataset", "cifar10", "--data_root", "/nonexistent", "--epochs", "1"], "root '/nonexistent' does not exist"),
    (["train", "--epochs", "1", "--results", "/etc/passwd/x"], "is not writable"),
    (["train", "--lr", "nan"], "lr must be a finite number"),
    (["train", "--experiment", "../../x"], "experiment must be a plain folder name"),
])
def test_the_command_line_says_one_line_and_exits_2(argv: list[str], says: str) -> None:
    done = subprocess.run([sys.executable, "-m", "lgtools", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr
    assert lines[0].count("(") == lines[0].count(")") and "((" not in lines[0]  # the data hint reads cleanly


def test_a_truncated_result_is_reported_kept_aside_and_trained_again(tmp_path: Path) -> None:
    import json
    import warnings

    from lgtools.runs.results import ResultProblem, check_results, load_results
    from lgtools.runs.sweep import run_sweep

    spec = spec_from_dict({"name": "tiny", "train": {}, "grid": {"seed": [0, 1]},
                           "parameters": {"dataset": "synthetic", "epochs": 1, "max_train": 96, "max_test": 48}})
    results = tmp_path / "res"
    run_sweep(spec, results, tmp_path / "runs", progress=False)
    victim = sorted((results / "tiny").glob("*.json"))[0]
    before = json.loads(victim.read_text())["summary"]["test_acc"]
    victim.write_text(victim.read_text()[:200])  # a write cut short (disk full, a copy interrupted)
    with pytest.warns(ResultProblem, match=f"{victim.name}: not valid JSON"):
        assert len(load_results(results)) == 1  # the run is missing, and it says so
    assert [p for p, _ in check_results(results)] == [victim]
    done = subprocess.run([sys.executable, "-m", "lgtools", "results", str(results), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and victim.name in done.stdout
    summary = run_sweep(spec, results, tmp_path / "runs", progress=False)
    assert summary.done == [victim.stem] and len(summary.skipped) == 1
    [aside] = (results / "tiny").glob(f"{victim.name}.bad-*")
    assert len(aside.read_text()) == 200  # kept, never deleted
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResultProblem)
        assert len(load_results(results)) == 2
    assert json.loads(victim.read_text())["summary"]["test_acc"] == before  # same seed, same machine, same numbers
    assert check_results(results) == []


def test_a_diverging_run_stops_at_the_first_non_finite_loss_and_stores_nothing(tmp_path: Path) -> None:
    import json

    from lgtools.runs.sweep import run_sweep
    from lgtools.training.loop import train
    from lgtools.training.steps import NonFiniteLoss

    tiny = {"dataset": "synthetic", "epochs": 2, "max_train": 96, "max_test": 48, "batch_size": 16, "lr": 1e12}
    with pytest.raises(NonFiniteLoss, match=r"non-finite at epoch 1, step \d+ of 6"):
        train(TrainConfig(**tiny, progress=False))
    spec = spec_from_dict({"name": "nan", "train": {}, "parameters": tiny, "grid": {"seed": [0]}})
    summary = run_sweep(spec, tmp_path / "res", tmp_path / "runs", progress=False)
    assert len(summary.failed) == 1 and not summary.done
    assert not list((tmp_path / "res" / "nan").glob("*[!d].json"))  # only the .failed.json record
    [failure] = (tmp_path / "res" / "nan").glob("*.failed.json")
    assert "NonFiniteLoss" in json.loads(failure.read_text())["error"]


@pytest.mark.parametrize("tiny_mode", ["1", ""])
def test_notebook_parameters_of_the_wrong_kind_are_refused_in_and_out_of_tiny_mode(monkeypatch, tiny_mode: str) -> None:
    from lgtools.report.tiny import scale_params

    monkeypatch.setenv("LGTOOLS_TINY", tiny_mode)
    defaults = {"ratios": [0.2, 0.5], "epochs": 4, "dataset": "synthetic", "max_train": None}
    tiny = dict(ratios=[0.5], epochs=1, dataset="synthetic", max_train=240)
    with pytest.raises(ValueError, match=r"parameter ratios must be a list such as \[0.5\], got a number 0.5"):
        scale_params({**defaults, "ratios": 0.5}, **tiny)  # papermill -p ratios 0.5
    with pytest.raises(ValueError, match="parameter epochs must be a number, got a string 'four'"):
        scale_params({**defaults, "epochs": "four"}, **tiny)
    scaled = scale_params(defaults, **tiny)
    assert scaled["epochs"] == (1 if tiny_mode else 4) and scaled["max_train"] == (240 if tiny_mode else None)


def test_two_sweeps_on_one_folder_train_each_run_once(tmp_path: Path) -> None:
    import json
    import re

    spec = tmp_path / "tiny.yaml"
    spec.write_text("name: tiny\ntrain: {}\nparameters: {dataset: synthetic, epochs: 2, max_train: 192, "
                    "max_test: 48, num_threads: 1}\ngrid:\n  seed: [0, 1, 2, 3]\n")
    command = [sys.executable, "-m", "lgtools", "sweep", str(spec), "--no-progress"]
    both = [subprocess.Popen([*command, "--results", str(tmp_path / "shared"), "--runs-dir", str(tmp_path / "runs")],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in both]
    assert [p.returncode for p in both] == [0, 0], outputs
    counts = [dict(re.findall(r"(done|failed|trained elsewhere) (\d+)", out)) for out, _ in outputs]
    assert sum(int(c["done"]) for c in counts) == 4 and all(c["failed"] == "0" for c in counts), outputs
    folder = tmp_path / "shared" / "tiny"
    assert len(list(folder.glob("*.json"))) == 4 and not list(folder.glob("*.failed.json"))
    alone = subprocess.run([*command, "--results", str(tmp_path / "alone"), "--runs-dir", str(tmp_path / "runs2")],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert alone.returncode == 0, alone.stderr
    for path in sorted(folder.glob("*.json")):
        twin = tmp_path / "alone" / "tiny" / path.name
        assert json.loads(path.read_text())["summary"]["test_acc"] == json.loads(twin.read_text())["summary"]["test_acc"]


def test_a_lock_held_by_a_process_that_died_is_free_again(tmp_path: Path) -> None:
    import signal
    import time

    from lgtools.runs.sweep_store import run_lock
    from lgtools.runs.sweep_task import RunTask

    task = RunTask("train", "tiny", "seed=0-0123456789", {}, str(tmp_path), str(tmp_path / "runs"))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from lgtools.runs.sweep_store import run_lock; from lgtools.runs.sweep_task import RunTask\n"
        f"task = RunTask('train', 'tiny', 'seed=0-0123456789', {{}}, {str(tmp_path)!r}, {str(tmp_path / 'runs')!r})\n"
        "with run_lock(task) as mine:\n    print(mine, flush=True); time.sleep(600)")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "True"
    with run_lock(task) as mine:
        assert mine is False  # held by a live process: this sweep moves on
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    time.sleep(0.1)
    with run_lock(task) as mine:
        assert mine is True  # the kernel released the dead holder's lock: nothing to clean up by hand


@pytest.mark.parametrize("content", [b"\xa1\x00random bytes", b'{"a": ', b"[1, 2]", b'{"format": "finetune", "rows": 5}'])
def test_a_stored_study_that_is_not_one_is_named_in_one_error(tmp_path: Path, content: bytes) -> None:
    """``finetune --out FILE --update`` reads FILE first: bytes, cut JSON or another shape name the file, no traceback."""
    from lgtools.runs.finetune_study import load_finetune_study

    path = tmp_path / "study.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"path {path} is not a (readable )?lgtools-finetune-study file"):
        load_finetune_study(path)


@pytest.mark.parametrize("kind", ["fifo", "deep", "folder", "link out"])
def test_a_stored_study_is_read_as_boundedly_as_a_result(tmp_path: Path, kind: str) -> None:
    """A FIFO at a study's path once read as absent (or would block); deep nesting reached the parser unbounded."""
    from lgtools.runs.finetune_study import load_finetune_study

    path = tmp_path / "study.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "deep":
        path.write_text("[" * 5000 + "]" * 5000)
    elif kind == "folder":
        path.mkdir()
    else:
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "study.json").write_text('{"format": "lgtools-finetune-study", "rows": []}')
        (tmp_path / "results").mkdir()
        path = tmp_path / "results" / "study.json"
        path.symlink_to(tmp_path / "elsewhere" / "study.json")
    reason = {"fifo": "a FIFO, not a regular file", "deep": "nested 5000 deep", "folder": "a folder",
              "link out": "a symbolic link leading out of"}[kind]
    with pytest.raises(ValueError, match=f"path {path} is not a readable lgtools-finetune-study file .*{reason}"):
        load_finetune_study(path)


@pytest.mark.parametrize("content", [b"\xa1\x00random bytes", b'{"cells": 5}', b"[]"])
def test_a_file_that_is_no_notebook_is_named_before_any_kernel_starts(tmp_path: Path, capsys, content: bytes) -> None:
    from lgtools.cli import main

    notebook = tmp_path / "bad.ipynb"
    notebook.write_bytes(content)
    assert main(["chapter", str(notebook), str(tmp_path / "out.ipynb"), "-p", "x", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"notebook '{notebook}' is not a readable Jupyter notebook" in lines[0]
    assert not (tmp_path / "out.ipynb").exists()


def test_weights_that_torch_cannot_load_are_refused_without_its_advice_to_run_their_code(tmp_path: Path) -> None:
    from lgtools.training.pretrained import read_weights

    path = tmp_path / "weights-epoch001.pt"
    path.write_bytes(os.urandom(3000))
    with pytest.raises(ValueError, match="init_from .* is not a readable weights file") as refused:
        read_weights(path)
    assert "weights_only" not in str(refused.value).replace("as weights only", "") and "False" not in str(refused.value)


def test_a_checkpoint_dir_that_is_a_file_or_no_path_is_refused_by_the_config(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="checkpoint_dir must be a folder .* exists and is not a folder"):
        TrainConfig(checkpoint_dir=str(blocker))
    with pytest.raises(ValueError, match="checkpoint_dir must be None or a folder path"):
        TrainConfig(checkpoint_dir=5)
    assert TrainConfig(checkpoint_dir=str(tmp_path / "new")).checkpoint_dir.endswith("new")  # created later, when used


def test_a_spec_path_that_is_a_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="spec file .* not a regular file"):
        load_spec(tmp_path)
