"""Issue 30: nothing runs on inspection, and the results store checks what a file says, not only that it parses."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import typing
from pathlib import Path

import nbformat
import pytest

from lgtools.runs.parameter_types import notebook_type
from lgtools.runs.sweep_spec import spec_from_dict

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, cell: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(cell)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell("pass")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def test_inspecting_a_notebook_runs_nothing_from_its_parameters_cell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    # papermill reads a "# type:" comment up to the first space; eval of this one (no spaces, one '=' per line) writes a file.
    escape = ("[c.__init__.__globals__['__builtins__']['open']('%s','w')for(c)in().__class__.__base__"
              ".__subclasses__()if((c.__name__)in['_wrap_close'])]" % marker)
    notebook = _notebook(tmp_path / "evil.ipynb", f"results_dir = 'out'\nseed = 0  # type: {escape}\n")
    spec = tmp_path / "evil.yaml"
    spec.write_text(f"name: evil\nnotebook: {notebook}\ngrid:\n  seed: [0, 1]\n")
    done = subprocess.run([sys.executable, "-m", "lgtools", "sweep", str(spec), "--dry-run",
                           "--results", str(tmp_path / "res"), "--runs-dir", str(tmp_path / "runs")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert not marker.exists(), "the parameters cell's type comment was executed"
    assert done.returncode == 0, done.stderr  # an unreadable type accepts any value
    assert "2 runs" in done.stdout


@pytest.mark.parametrize("text, hint", [
    ("int", int), ("float", float), ("str", str), ("bool", bool), ("None", type(None)),
    ("list[float]", list[float]), ("Optional[int]", typing.Optional[int]),
    ("int|None", typing.Optional[int]), ("Literal['a','b']", typing.Literal["a", "b"]),
    ("Union[int,str]", typing.Union[int, str]), ("tuple[int,int]", tuple[int, int]),
])
def test_notebook_types_are_read_from_a_fixed_table(text: str, hint: typing.Any) -> None:
    assert notebook_type(text) == hint


@pytest.mark.parametrize("text", ["__import__('os')", "().__class__", "open", "int()", "Literal[print(1)]",
                                  "list[" * 5000, "x" * 1000])
def test_anything_else_reads_as_any_type_and_is_never_run(text: str) -> None:
    assert notebook_type(text) is None


def test_a_typed_notebook_parameter_still_refuses_a_value_of_the_wrong_type(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "typed.ipynb", "results_dir = 'out'\nratios = [0.5]  # type: list[float]\n")
    with pytest.raises(ValueError, match=r"parameter 'ratios' \(grid\['ratios'\]\[0\]\) must be"):
        spec_from_dict({"name": "t", "notebook": str(notebook), "grid": {"ratios": ["high"]}})


# ----------------------------------------------------------------------------- the result schema

STORED = ROOT / "results" / "fig2-cpu-scale"  # fine runs with per-image predictions
SEED0, SEED1 = "data_ratio=0.2_labels=fine_seed=0-e3235dfe5e", "data_ratio=0.2_labels=fine_seed=1-26576d1281"


def _store(tmp_path: Path, *names: str, experiment: str = "fig2") -> Path:
    """A results folder holding copies of stored Fig 2 runs."""
    folder = tmp_path / "res" / experiment
    folder.mkdir(parents=True)
    for name in names:
        (folder / f"{name}.json").write_bytes((STORED / f"{name}.json").read_bytes())
    return tmp_path / "res"


def _edit(path: Path, change: typing.Callable[[dict], None]) -> None:
    import json

    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _check(results: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lgtools", "results", str(results), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def _set(section: str, key: str, value: typing.Any) -> typing.Callable[[dict], None]:
    return lambda record: record[section].__setitem__(key, value)


DAMAGE = {
    "text": (_set("summary", "test_acc", "high"), "summary.test_acc: 'high' is not of type 'number'"),
    "nan": (_set("summary", "test_acc", float("nan")), "summary.test_acc: nan is not a finite number"),
    "null": (_set("summary", "test_acc", None), "summary.test_acc: None is not of type 'number'"),
    "config": (lambda r: r.__setitem__("config", "cifar10"), "config: 'cifar10' is not of type 'object'"),
    "loss": (lambda r: r["history"][2].__setitem__("test_loss", float("inf")),
             "history[2].test_loss: inf is not a finite number"),
    "ragged": (lambda r: r["confusion_fine"][3].pop(), "confusion_fine: must be 10×10 (the number of classes)"),
    "base64": (lambda r: r["test_predictions"].__setitem__("data", "not base64!"),
               "test_predictions: data is not valid base64"),
    "short": (lambda r: r["test_predictions"].__setitem__("data", base64.b64encode(bytes(19990)).decode()),
              "test_predictions: data holds 19990 bytes, its header says n = 10000 entries (20000 bytes)"),
    "seed": (_set("config", "seed", 5), "identity: the record says e3235dfe5e…, its config and device give"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_result_that_parses_but_says_something_wrong_is_reported_and_left_out(tmp_path: Path, damage: str) -> None:
    import warnings

    from lgtools.runs.results import ResultProblem, check_results, load_result, load_results

    change, says = DAMAGE[damage]
    results = _store(tmp_path, SEED0, SEED1)
    victim = results / "fig2" / f"{SEED0}.json"
    _edit(victim, change)
    problems = check_results(results)
    assert problems and [path for path, _ in problems] == [victim] * len(problems)
    assert any(problem.startswith(says) for _, problem in problems), problems
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = load_results(results)
    assert frame["run_id"].tolist() == [SEED1]  # the other seed, never the damaged record
    assert any(issubclass(w.category, ResultProblem) and victim.name in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="is not a valid lgtools result"):
        load_result(victim)


def test_the_command_line_names_each_damaged_file_and_the_table_leaves_it_out(tmp_path: Path) -> None:
    results = tmp_path / "res"
    for name, (change, _) in DAMAGE.items():
        _store(tmp_path, SEED0, experiment=name)
        _edit(results / name / f"{SEED0}.json", change)
    _store(tmp_path, SEED1, experiment="fine")
    done = _check(results)
    assert done.returncode == 1, done.stderr
    for name, (_, says) in DAMAGE.items():
        assert f"{results / name / SEED0}.json: {says}" in done.stdout, (name, done.stdout)
    table = subprocess.run([sys.executable, "-m", "lgtools", "results", str(results)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and "Traceback" not in table.stderr, table.stderr  # `config: "cifar10"` crashed it
    assert "fine" in table.stdout and not any(f" {name} " in table.stdout for name in DAMAGE)


def test_check_lists_every_violation_of_a_file_with_its_path(tmp_path: Path) -> None:
    results = _store(tmp_path, SEED0)
    victim = results / "fig2" / f"{SEED0}.json"
    _edit(victim, lambda r: (r["summary"].update(test_acc="high", train_acc=float("nan")),
                             r["history"][0].update(test_acc=-3)))
    done = _check(results)
    lines = [line for line in done.stdout.splitlines() if line.startswith(str(victim))]
    assert done.returncode == 1 and len(lines) == 3, done.stdout
    assert "3 problem(s)" in done.stdout


def test_one_seed_copied_over_another_or_under_another_name_is_refused(tmp_path: Path) -> None:
    import shutil

    from lgtools.runs.results import check_results, load_results

    results = _store(tmp_path, SEED0, SEED1)
    folder = results / "fig2"
    shutil.copy(folder / f"{SEED1}.json", folder / f"{SEED0}.json")  # seed 1's record in seed 0's file
    shutil.copy(folder / f"{SEED1}.json", folder / "copy.json")  # and once more under another name
    problems = dict(check_results(results))
    assert sorted(problems) == [folder / "copy.json", folder / f"{SEED0}.json"]
    assert f"its record says run '{SEED1}'" in problems[folder / f"{SEED0}.json"]
    with pytest.warns(UserWarning):
        assert load_results(results)["seed"].tolist() == [1]  # seed 1 once, never twice


def test_two_files_of_one_folder_holding_one_run_count_once(tmp_path: Path) -> None:
    from lgtools.runs.results import check_results, load_results

    results = _store(tmp_path, SEED0)
    folder = results / "fig2"
    twin = folder / "twin-e3235dfe5e.json"
    twin.write_text((folder / f"{SEED0}.json").read_text())
    _edit(twin, lambda r: r.__setitem__("run_id", twin.stem))
    assert check_results(results) == [(twin, f"identity: the same run (e3235dfe5e…) as {SEED0}.json; one record per run")]
    with pytest.warns(UserWarning, match="one record per run"):
        assert len(load_results(results)) == 1


def test_deep_nesting_fifos_and_links_out_are_refused_without_reading_them(tmp_path: Path) -> None:
    import os

    from lgtools.runs.results import check_results

    results = _store(tmp_path, SEED0)
    folder = results / "fig2"
    (folder / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    os.mkfifo(folder / "fifo.json")
    (folder / "zero.json").symlink_to("/dev/zero")
    (folder / "gone.json").symlink_to(tmp_path / "nothing.json")
    big = folder / "big.json"
    with open(big, "wb") as handle:  # sparse: takes no disk
        handle.truncate(300 * 2**20)
    problems = dict(check_results(results))
    assert "JSON nested 200000 deep" in problems[folder / "deep.json"]
    assert problems[folder / "fifo.json"] == "a FIFO, not a regular file"
    assert "symbolic link leading out of" in problems[folder / "zero.json"]
    assert "which does not exist" in problems[folder / "gone.json"]
    assert "more than a stored record may hold" in problems[big]
    done = _check(results)  # a FIFO once hung this, /dev/zero filled the memory, deep JSON a RecursionError
    assert done.returncode == 1 and "5 problem(s)" in done.stdout and "Traceback" not in done.stderr, done.stderr
    table = subprocess.run([sys.executable, "-m", "lgtools", "results", str(results)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and "Traceback" not in table.stderr, table.stderr


def test_a_linked_experiment_folder_is_reported_and_refused_by_the_sweep(tmp_path: Path) -> None:
    from lgtools.runs.results import check_results
    from lgtools.runs.sweep import run_sweep

    elsewhere = _store(tmp_path / "other", SEED0) / "fig2"
    results = tmp_path / "res"
    results.mkdir()
    (results / "tiny").symlink_to(elsewhere)
    assert [(path.name, "symbolic link to a folder" in problem) for path, problem in check_results(results)] \
        == [("tiny", True)]
    spec = spec_from_dict({"name": "tiny", "train": {}, "grid": {"seed": [0]},
                           "parameters": {"dataset": "synthetic", "epochs": 1, "max_train": 96, "max_test": 48}})
    with pytest.raises(ValueError, match="is a symbolic link"):
        run_sweep(spec, results, tmp_path / "runs", progress=False, dry_run=True)


def test_the_sweep_moves_a_result_the_schema_refuses_aside_and_trains_it_again(tmp_path: Path) -> None:
    import json

    from lgtools.runs.results import check_results
    from lgtools.runs.sweep import run_sweep

    spec = spec_from_dict({"name": "tiny", "train": {}, "grid": {"seed": [0, 1, 2]},
                           "parameters": {"dataset": "synthetic", "epochs": 1, "max_train": 96, "max_test": 48}})
    results = tmp_path / "res"
    run_sweep(spec, results, tmp_path / "runs", progress=False)
    nan, link, clean = sorted((results / "tiny").glob("*.json"))
    before = json.loads(nan.read_text())["summary"]["test_acc"]
    _edit(nan, _set("summary", "test_acc", float("nan")))
    link.unlink()
    link.symlink_to(tmp_path / "nowhere.json")  # a dangling link at a run's path once trained, then failed to save
    summary = run_sweep(spec, results, tmp_path / "runs", progress=False)
    assert sorted(summary.done) == sorted([nan.stem, link.stem]) and summary.skipped == [clean.stem]
    assert len(list((results / "tiny").glob(f"{nan.name}.bad-*"))) == 1
    assert len(list((results / "tiny").glob(f"{link.name}.bad-*"))) == 1
    assert json.loads(nan.read_text())["summary"]["test_acc"] == before and not link.is_symlink()
    assert check_results(results) == []


# ----------------------------------------------------------------------------- options checked before any work

def _cli(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lgtools", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_bad_options_get_one_line_naming_them_and_exit_2_before_any_work(tmp_path: Path) -> None:
    results = tmp_path / "res"
    spec_twice = tmp_path / "twice.yaml"
    spec_twice.write_text("name: t\ntrain: {}\nparameters: {epochs: 1}\ngrid:\n  seed: [0, 1]\n  seed: [2]\n")
    spec_bytes = tmp_path / "noise.yaml"
    spec_bytes.write_bytes(bytes(range(256)) * 4)
    (tmp_path / "a-folder").mkdir()
    cases = [
        (["train", "--run-id", "../../escaped", "--results", str(results), "--epochs", "1"],
         "run_id must be a plain file name"),
        (["train", "--data_ratio", "1e-9", "--results", str(results)],
         "data_ratio 1e-09 with epochs 200 means 200000000000 epochs"),
        (["train", "--num_threads", "1000000", "--results", str(results)],
         "num_threads must be None or an integer in [1, 1024], got 1000000"),
        (["train", "--width", "1000000", "--results", str(results)],
         "width of small_cnn must be None or an integer in [1, 1024], got 1000000"),
        (["finetune", "--weights", str(tmp_path / "w"), "--out", str(tmp_path / "a-folder"),
          "--results", str(results)], f"--out '{tmp_path / 'a-folder'}' is a folder"),
        (["results", str(tmp_path / "missing")], f"results folder '{tmp_path / 'missing'}' does not exist"),
        (["sweep", str(spec_twice), "--dry-run"], "key 'seed' is given twice (lines 5 and 6)"),
        (["sweep", str(spec_bytes), "--dry-run"], f"spec file '{spec_bytes}'"),
        (["sweep", str(ROOT / "sweeps" / "cpu" / "table1.yaml"), "--dry-run", "--only", "seed=[0"],
         "--only 'seed=[0': the value is not YAML"),
    ]
    for argv, says in cases:
        done = _cli(*argv)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (argv, done.stderr)
        assert says in lines[0], (argv, lines[0])
    assert not results.exists() or not list(results.rglob("*.json"))  # nothing trained, nothing stored


def test_a_duplicate_key_anywhere_in_a_spec_is_refused(tmp_path: Path) -> None:
    from lgtools.runs.sweep_spec import load_spec

    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\ntrain: {}\nparameters: {epochs: 1, epochs: 2}\n")
    with pytest.raises(ValueError, match=r"s.yaml' is not valid YAML: .*key 'epochs' is given twice"):
        load_spec(spec)
    spec.write_text("name: s\ntrain: {}\nparameters: {epochs: 1, lr: 0.1}\n")
    assert load_spec(spec).parameters == {"epochs": 1, "lr": 0.1}


@pytest.mark.parametrize("values, says, limit", [
    ({"data_ratio": 1e-9}, r"means 200000000000 epochs \(epochs / data_ratio, scale_epochs=True\); at most 100000", {"data_ratio": 0.002}),
    ({"data_ratio": 0.001, "epochs": 200}, "means 200000 epochs", {"data_ratio": 0.001, "epochs": 100}),
    ({"num_threads": 10**6}, r"num_threads must be None or an integer in \[1, 1024\]", {"num_threads": 1024}),
    ({"width": 10**6}, r"width of small_cnn must be None or an integer in \[1, 1024\]", {"width": 1024}),
    ({"model": "wide_resnet", "width": 41}, r"width of wide_resnet must be None or an integer in \[1, 40\]",
     {"model": "wide_resnet", "width": 40}),
])
def test_runs_beyond_any_machine_are_refused_by_the_config(values: dict, says: str, limit: dict) -> None:
    from lgtools.training.config import TrainConfig

    with pytest.raises(ValueError, match=says):
        TrainConfig(**values)
    TrainConfig(**limit)  # the limit itself is allowed


def test_a_run_whose_weights_overflow_stores_nothing(tmp_path: Path) -> None:
    from lgtools.runs.sweep import run_sweep
    from lgtools.training.config import TrainConfig
    from lgtools.training.loop import train
    from lgtools.training.steps import NonFiniteLoss

    tiny = {"dataset": "synthetic", "epochs": 1, "max_train": 16, "max_test": 16, "batch_size": 16, "lr": 1e30,
            "num_threads": 1}
    with pytest.raises(NonFiniteLoss, match="test loss became non-finite after epoch 1"):
        train(TrainConfig(**tiny, progress=False))  # one step: its training loss was finite, the weights are not
    spec = spec_from_dict({"name": "over", "train": {}, "parameters": tiny, "grid": {"seed": [0]}})
    summary = run_sweep(spec, tmp_path / "res", tmp_path / "runs", progress=False)
    assert len(summary.failed) == 1 and not summary.done
    assert [p.name.endswith(".failed.json") for p in (tmp_path / "res" / "over").glob("*.json")] == [True]


# ----------------------------------------------------------------------------- recoverable checkpoints

TINY_RUN = {"dataset": "synthetic", "epochs": 2, "max_train": 96, "max_test": 48, "batch_size": 32,
            "num_threads": 1, "progress": False}


def _damage_checkpoint(path: Path, how: str) -> None:
    import torch

    if how == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif how == "fifo":  # a read from it blocked the run for ever
        path.unlink()
        os.mkfifo(path)
    elif how == "link_to_zero":  # a read from it never ends
        path.unlink()
        path.symlink_to("/dev/zero")
    elif how == "random":
        path.write_bytes(bytes(range(256)) * 64)
    else:
        payload = torch.load(path, weights_only=True)
        if how == "missing_key":
            del payload["optimizer"]
        else:  # wrong_shape
            name = next(k for k, v in payload["model"].items() if v.ndim == 4)
            payload["model"][name] = torch.zeros(1, 1, 1, 1)
        torch.save(payload, path)


@pytest.mark.parametrize("how", ["truncated", "random", "missing_key", "wrong_shape", "fifo", "link_to_zero"])
def test_a_checkpoint_that_cannot_be_loaded_is_moved_aside_and_the_run_starts_again(
        tmp_path: Path, how: str, caplog) -> None:
    import logging

    from lgtools.training.config import TrainConfig
    from lgtools.training.loop import train

    straight = train(TrainConfig(**TINY_RUN))
    config = TrainConfig(**TINY_RUN, checkpoint_dir=str(tmp_path / "ckpt"))
    train(config, stop_after=1)
    checkpoint = tmp_path / "ckpt" / "checkpoint.pt"
    _damage_checkpoint(checkpoint, how)
    with caplog.at_level(logging.WARNING, logger="lgtools.training.checkpoint"):
        again = train(config)  # once failed here on every later sweep, advising weights_only=False
    [line] = [r.getMessage() for r in caplog.records if "cannot be loaded" in r.getMessage()]
    assert str(checkpoint) in line and "starts again from epoch 1" in line and "weights_only" not in line
    assert len(list((tmp_path / "ckpt").glob("checkpoint.pt.bad-*"))) == 1
    assert [row["train_loss"] for row in again.history] == [row["train_loss"] for row in straight.history]
    assert again.summary["test_acc"] == straight.summary["test_acc"]


def test_a_save_on_a_full_disk_says_so_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    import collections
    import errno

    import lgtools.training.checkpoint as checkpoint
    from lgtools.training.config import TrainConfig
    from lgtools.training.loop import train

    def full(payload, target):
        Path(target).write_bytes(b"x" * 4096)  # what got written before the space ran out
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4096 vs 4000")

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(checkpoint.torch, "save", full)
    monkeypatch.setattr(checkpoint.shutil, "disk_usage", lambda path: usage(10**9, 10**9, 0))
    with pytest.raises(OSError, match=r"disk full: checkpoint '.*checkpoint.pt' not written") as caught:
        train(TrainConfig(**TINY_RUN, checkpoint_dir=str(tmp_path / "ckpt")), stop_after=1)
    assert caught.value.errno == errno.ENOSPC
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == []  # no temporary file filling what is left


def test_a_cache_write_on_a_full_disk_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    import errno

    import numpy as np

    from lgtools.data import sources

    def full(handle, array):
        handle.write(b"x" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sources.np, "save", full)
    with pytest.raises(OSError, match="disk full: cache file"):
        sources._atomic_save(tmp_path / "a-x.npy", np.zeros(3))
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- the decoded-data cache

@pytest.mark.parametrize("damage", ["pixels", "labels"])
def test_a_cache_overwritten_with_same_size_garbage_is_decoded_again(tmp_path: Path, monkeypatch, caplog,
                                                                     damage: str) -> None:
    import logging

    import numpy as np

    from lgtools.data import sources

    monkeypatch.setenv("LGTOOLS_CACHE", str(tmp_path))
    images, labels = sources.synthetic_arrays(4, 0, 16)
    [x_path] = tmp_path.glob("synthetic-*-x.npy")
    [digest] = tmp_path.glob("synthetic-*-digest.json")
    if damage == "pixels":  # same shape, same size, other numbers: np.load reads it without a word
        np.save(x_path, np.random.default_rng(1).integers(0, 256, images.shape, dtype=np.uint8))
    else:
        np.save(x_path.with_name(x_path.name.replace("-x.", "-y.")), np.full_like(labels, 99))
    with caplog.at_level(logging.WARNING, logger="lgtools.data.sources"):
        again_images, again_labels = sources.synthetic_arrays(4, 0, 16)
    assert any("differ from the digests" in r.getMessage() for r in caplog.records)
    np.testing.assert_array_equal(again_images, images)
    np.testing.assert_array_equal(again_labels, labels)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lgtools.data.sources"):
        sources.synthetic_arrays(4, 0, 16)  # rebuilt and trusted again
    assert not caplog.records and digest.exists()


def test_a_cache_decoded_from_another_archive_is_decoded_again(tmp_path: Path, monkeypatch, caplog) -> None:
    import logging

    import numpy as np

    from lgtools.data import sources

    monkeypatch.setenv("LGTOOLS_CACHE", str(tmp_path / "cache"))
    archive = tmp_path / "a.bin"
    archive.write_bytes(b"one")
    made = []

    def make() -> tuple:
        made.append(1)
        return np.zeros((2, 3, 4, 4), np.uint8), np.arange(2)

    sources._cached("k", make, source=archive)
    sources._cached("k", make, source=archive)
    assert len(made) == 1
    archive.write_bytes(b"two")  # replaced: the cache key (size, time) could stay the same
    with caplog.at_level(logging.WARNING, logger="lgtools.data.sources"):
        sources._cached("k", make, source=archive)
    assert len(made) == 2 and any("decoded from another a.bin" in r.getMessage() for r in caplog.records)


# ----------------------------------------------------------------------------- dry runs

def test_a_dry_run_expands_the_grid_once(tmp_path: Path, monkeypatch, capsys) -> None:
    import lgtools.runs.sweep_spec as sweep_spec
    from lgtools.cli import main

    spec = tmp_path / "grid.yaml"
    spec.write_text("name: grid\ntrain: {}\nparameters: {epochs: 1}\ngrid:\n  seed: [0, 1, 2, 3, 4]\n  lr: [0.1, 0.2]\n")
    made = []
    real = sweep_spec.run_of
    monkeypatch.setattr(sweep_spec, "run_of", lambda *args, **kwargs: made.append(1) or real(*args, **kwargs))
    assert main(["sweep", str(spec), "--dry-run", "--results", str(tmp_path / "res"), "--only", "seed=1"]) == 0
    out = capsys.readouterr().out
    assert "sweep grid: 2 runs" in out and out.count("[todo]") == 2
    assert len(made) == 10  # each run's config checked and its identity computed once, not four times


def test_a_result_records_the_digests_of_the_data_it_trained_on(tmp_path: Path) -> None:
    from lgtools.runs.results import load_result, save_result
    from lgtools.training.config import TrainConfig
    from lgtools.training.loop import train

    config = TrainConfig(**{**TINY_RUN, "epochs": 1})
    record = load_result(save_result(train(config), tmp_path))
    digests = record["summary"]["data_digest"]
    assert sorted(digests) == ["test_images", "test_labels", "train_images", "train_targets"]
    assert digests == train(config).summary["data_digest"]  # the same data, the same digests
    assert digests["train_images"] != train(TrainConfig(**{**TINY_RUN, "epochs": 1, "max_train": 48})).summary[
        "data_digest"]["train_images"]


def test_a_dry_run_lists_each_run_before_the_next_is_expanded(tmp_path: Path, monkeypatch) -> None:
    # Streaming, not timing: when the first run's line is written, only that run has been built, so a listing of
    # 10^6 runs holds one run at a time (today's code built all ten first, then wrote the list).
    import io

    import lgtools.runs.sweep_spec as sweep_spec
    from lgtools.cli import main

    spec = tmp_path / "grid.yaml"
    spec.write_text("name: grid\ntrain: {}\nparameters: {epochs: 1}\ngrid:\n  seed: [0, 1, 2, 3, 4]\n  lr: [0.1, 0.2]\n")
    made, built_when_listed = [], []
    real = sweep_spec.run_of
    monkeypatch.setattr(sweep_spec, "run_of", lambda *args, **kwargs: made.append(1) or real(*args, **kwargs))

    class Listing(io.StringIO):
        def write(self, text: str) -> int:
            built_when_listed.extend([len(made)] * text.count("[todo]"))
            return super().write(text)

    out = Listing()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["sweep", str(spec), "--dry-run", "--results", str(tmp_path / "res")]) == 0
    assert out.getvalue().count("[todo]") == 10 and "sweep grid: 10 runs" in out.getvalue()
    assert built_when_listed[0] == 1 and len(made) == 10  # the first line before the second run was built; once each


def test_a_dry_run_checks_each_run_as_it_lists_it_and_a_real_sweep_checks_all_first(tmp_path: Path, capsys) -> None:
    from lgtools.cli import main

    spec = tmp_path / "grid.yaml"
    spec.write_text("name: grid\ntrain: {}\nparameters: {epochs: 1, max_train: 96, max_test: 48}\n"
                    "grid:\n  lr: [0.1, -1.0]\n")
    common = ["--results", str(tmp_path / "res"), "--runs-dir", str(tmp_path / "runs"), "--no-progress"]
    assert main(["sweep", str(spec), "--dry-run", *common]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "lr" in captured.err and "[todo]" in captured.out
    assert main(["sweep", str(spec), *common]) == 2  # nothing trains: the second run's value is refused first
    assert "lr" in capsys.readouterr().err and not (tmp_path / "res").exists()
