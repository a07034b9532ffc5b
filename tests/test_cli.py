"""python -m lgtools: train options from TrainConfig, a real tiny run, the results table."""

from __future__ import annotations

import dataclasses
import runpy
import sys
from pathlib import Path

import pytest

from lgtools.cli import build_parser, field_help, main
from lgtools.runs.results import load_results
from lgtools.training.config import TrainConfig

TINY = ["--dataset", "synthetic", "--model", "small_cnn", "--epochs", "1", "--max_train", "200",
        "--max-test", "100", "--batch_size", "64", "--device", "cpu", "--no-progress"]


def test_help_documents_every_trainconfig_field(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    helps = field_help(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        assert f"--{f.name}" in text
        assert helps[f.name], f"no description for {f.name}"
        assert " ".join(helps[f.name].split())[:30] in text
    assert "--no-augment" in text and "one of fine, coarse" in text


def test_options_parse_to_trainconfig_types() -> None:
    args = build_parser().parse_args(["train", "--width", "none", "--dropout", "0.3",
                                      "--no-augment", "--extra-layer", "square_relu", "--seed", "4"])
    assert args.width is None and args.dropout == 0.3 and args.augment is False
    assert args.extra_layer == "square_relu" and args.seed == 4
    assert not hasattr(args, "epochs")  # unset options keep TrainConfig's defaults
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--epochs", "many"])


def test_train_prints_summary_and_stores_result(tmp_path: Path, capsys) -> None:
    results = tmp_path / "results"
    assert main(["train", *TINY, "--labels", "fine", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    for text in ("A_FC (coarse test accuracy)", "fine test accuracy", "ACR (authors code)",
                 "eq. 1 as printed", "images/s", "result: "):
        assert text in out
    frame = load_results(results)
    assert len(frame) == 1 and frame.loc[0, "labels"] == "fine" and frame.loc[0, "epochs"] == 1
    assert f"{frame.loc[0, 'test_acc']:.2f} %" in out
    # The same configuration again must not silently replace the stored result.
    assert main(["train", *TINY, "--labels", "fine", "--results", str(results)]) == 1
    assert "exists" in capsys.readouterr().err
    assert len(load_results(results)) == 1
    assert main(["results", str(results)]) == 0
    table = capsys.readouterr().out
    assert "synthetic" in table and "test_acc" in table and "fine" in table


def test_bad_values_give_one_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["train", "--labels", "medium", "--results", str(tmp_path)]) == 2
    assert "labels must be one of" in capsys.readouterr().err
    assert main(["results", str(tmp_path)]) == 0  # a folder without results
    assert "no results under" in capsys.readouterr().out
    assert main(["results", str(tmp_path / "none")]) == 2  # a folder that is not there: a typo, said so (issue 30)
    assert "results folder" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_module_entry_point_runs(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["lgtools", "sweep", "--help"])
    with pytest.raises(SystemExit) as stop:  # in-process: python -m lgtools without a new torch import
        runpy.run_module("lgtools", run_name="__main__")
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "--launcher" in out and "--dry-run" in out and "--jobs" in out


def test_results_scorecard_sets_stored_runs_beside_the_paper(tmp_path: Path, capsys) -> None:
    import shutil

    stored = Path(__file__).parent.parent / "results" / "table1-cpu-scale"
    shutil.copytree(stored, tmp_path / "table1-cpu-scale")
    frame = load_results(tmp_path)
    means = frame.groupby("labels")["test_acc"].mean()
    assert main(["results", str(tmp_path), "--scorecard"]) == 0
    out = capsys.readouterr().out
    assert "table1: the paper beside ours" in out and "table6: the paper" not in out  # only sources we ran
    assert f"{means['fine'] - means['coarse']:.2f}" in out  # our ΔA, from the stored runs
    assert "0.78" in out  # the paper's CIFAR-10 ΔA (99.20 − 98.42)


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # `lgtools results --scorecard | head`: the reader leaves first; no traceback, exit 128+SIGPIPE.
    import signal
    import subprocess

    process = subprocess.Popen([sys.executable, "-m", "lgtools", "results", str(tmp_path),  # empty, not missing
                                "--scorecard"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=Path(__file__).resolve().parents[1])
    process.stdout.close()  # before the command has written anything
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 128 + signal.SIGPIPE
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
