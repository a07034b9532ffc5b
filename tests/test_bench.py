"""lgtools.bench: the CLI runs both pipelines on a tiny ImageFolder tree and rejects bad options."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from lgtools import bench  # the benchmark command module
from lgtools.labels.builtin import get_hierarchy


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """CIFAR-10's class folders (so its hierarchy is recognised), 8 train and 2 test JPEGs each."""
    monkeypatch.setenv("LGTOOLS_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("test", 2)):
        for label, name in enumerate(get_hierarchy("cifar10").fine_names):
            folder = tmp_path / "tree" / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 128, (32, 32, 3)) + 12 * label  # classes differ in brightness
                Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.jpg")
    return tmp_path / "tree"


def _run(argv, capsys):
    code = bench.main(argv)
    return code, capsys.readouterr().out.strip().splitlines()


def test_speed_mode_prints_speedup_and_writes_both_pipelines(tree, tmp_path, capsys):
    out = tmp_path / "results"
    # bf16 autocast on CPU runs the precision branch the GPU path uses.
    code, lines = _run(["--data", str(tree), "--width", "4", "--batch-size", "16", "--steps", "2",
                        "--warmup", "1", "--rounds", "2", "--workers", "1", "--device", "cpu",
                        "--precision", "bf16", "--out", str(out)], capsys)
    assert code == 0
    assert re.fullmatch(r"speedup \d+\.\d\d", lines[-1])
    [path] = out.glob("cpu-preact_resnet18-w4-*.json")
    record = json.loads(path.read_text())
    for name in ("reference", "lgtools"):
        s = record[name]
        assert len(s["images_per_s"]) == 2 and all(v > 0 for v in s["images_per_s"])
        assert s["median_images_per_s"] > 0 and s["peak_memory_mb"] > 0
        assert [p["images"] for p in s["phases"]] == [32, 32]  # 2 steps × 16 images each round
    assert record["reference"]["peak_workers_rss_mb"] > 0  # the DataLoader worker was sampled
    assert record["lgtools"]["peak_workers_rss_mb"] == 0  # and shut down before lgtools' phase
    assert float(lines[-1].split()[1]) == pytest.approx(record["speedup"], abs=0.005)
    assert record["data"]["train_images"] == 80 and record["hardware"]["torch_version"]
    assert record["args"]["precision"] == "bf16"
    # GFLOP/s and the share of the machine's peak, for both pipelines, from one FLOP count.
    machine = record["machine"]
    assert 0 < machine["training_gflop_per_image"] < 0.21 and machine["measured_peak_gflops"] > 0
    for name in ("reference", "lgtools"):
        s = record[name]
        assert s["gflops"] == pytest.approx(s["median_images_per_s"] * machine["training_gflop_per_image"])
        assert s["share_of_measured_peak"] == pytest.approx(s["gflops"] / machine["measured_peak_gflops"])
    assert record["layout"] == "contiguous"  # width 4: the oneDNN guard keeps NCHW


def test_second_run_same_day_gets_a_new_file(tree, tmp_path):
    out = tmp_path / "results"
    stem = "cpu-x"
    first = bench.write_result({"a": 1}, str(out), stem)
    second = bench.write_result({"a": 2}, str(out), stem)
    assert first != second and json.loads(first.read_text()) == {"a": 1}


def test_accuracy_mode_reports_both_pipelines_over_seeds(tree, tmp_path, capsys):
    out = tmp_path / "results"
    code, lines = _run(["--accuracy", "--data", str(tree), "--width", "4", "--batch-size", "16",
                        "--epochs", "1", "--train-subset", "40", "--seeds", "0", "1",
                        "--workers", "0", "--device", "cpu", "--out", str(out)], capsys)
    assert code == 0 and lines[-1].startswith("within seed spread: ")
    [path] = out.glob("accuracy-cpu-preact_resnet18-w4-*.json")
    record = json.loads(path.read_text())
    for name in ("reference", "lgtools"):
        values = record[name]["values"]
        assert len(values) == 2 and all(0 <= v <= 100 for v in values)
        assert record[name]["mean"] == pytest.approx(np.mean(values))
    assert [r["seed"] for r in record["runs"]] == [0, 1]
    assert record["runs"][0]["config"]["max_train"] == 40


@pytest.mark.parametrize("argv, parameter", [
    (["--data", "/nonexistent/cifar10"], "--data"),
    (["--model", "resnet1000"], "--model"),
    (["--steps", "0"], "--steps"),
    (["--device", "tpu"], "--device"),
])
def test_bad_arguments_name_the_parameter(tree, argv, parameter, capsys):
    if "--data" not in argv:
        argv = ["--data", str(tree)] + argv
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert parameter in err[-1] and err[-1].startswith("python -m lgtools.bench: error:")


def test_accuracy_needs_two_seeds(tree, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--accuracy", "--data", str(tree), "--seeds", "3"])
    assert "--seeds" in capsys.readouterr().err
