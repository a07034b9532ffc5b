"""benchmarks/gpu_run.sh --dry-run: the GPU command's three steps on the CPU at toy size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_run_dry_run_runs_smoke_bench_and_the_table1_pair(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "LGTOOLS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(["bash", "benchmarks/gpu_run.sh", str(tmp_path / "out"), "--dry-run"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = tmp_path / "out"
    smoke = json.loads((out / "smoke.json").read_text())
    assert [c["check"] for c in smoke["checks"]] == ["bf16_autocast", "channels_last", "fused_sgd", "compile",
                                                     "jpeg_decode"]
    assert all(c["ok"] for c in smoke["checks"])
    [bench] = (out / "bench").glob("cpu-preact_resnet18-w4-*.json")
    record = json.loads(bench.read_text())
    assert record["speedup"] > 0 and record["lgtools"]["gflops"] > 0
    recipe = [json.loads(p.read_text())["config"] for p in sorted((out / "results" / "recipe-dry-run").glob("*.json"))]
    assert sorted((c["labels"], c["seed"]) for c in recipe) == [("coarse", 0), ("coarse", 1), ("fine", 0), ("fine", 1)]
    assert all(c["model"] == "whitened_cnn" and c["lookahead"] and c["tta"] == 2 for c in recipe)
    results = sorted((out / "results" / "table1-dry-run").glob("*.json"))
    assert [json.loads(p.read_text())["config"]["labels"] for p in results] == ["coarse", "fine"]
    assert not (out / "imagefolder").exists()  # removed before the results come back
    assert "status 0" in done.stdout


def test_gpu_run_refuses_a_bad_option() -> None:
    done = subprocess.run(["bash", "benchmarks/gpu_run.sh", "/tmp/x", "--fast"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage:" in done.stderr
