"""How long ``python -m lgtools sweep --dry-run`` takes, and how much memory it holds, for large grids.

Writes a train spec with ``seed: [0 .. N-1]`` (above 10^5, seeds × 1000 learning rates) into a temporary folder (an empty results root, so
only the listing itself is measured) and runs the dry run as a child process per size, timing
the first listed run and the whole listing, and reading the child's CPU seconds and peak memory (``ru_maxrss``).
Prints one line per size. Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/dry_run_scale.py 10000 100000 1000000
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(runs: int, folder: Path) -> dict:
    """Time one dry run of a ``runs``-run grid and read its peak memory; a dict of the figures."""
    spec = folder / f"grid{runs}.yaml"
    if runs <= 100_000:  # one list of seeds (10^5 of them is 0.6 MB of YAML)
        grid = f"  seed: [{', '.join(map(str, range(runs)))}]\n"
    else:  # a spec is at most 1 MiB of YAML: seeds × learning rates
        seeds, rates = runs // 1000, [f"{0.001 * (i + 1):.3f}" for i in range(1000)]
        grid = f"  seed: [{', '.join(map(str, range(seeds)))}]\n  lr: [{', '.join(rates)}]\n"
    spec.write_text(f"name: grid{runs}\ntrain: {{epochs: 1, max_train: 64, max_test: 64}}\ngrid:\n{grid}")
    command = [sys.executable, "-m", "lgtools", "sweep", str(spec), "--dry-run", "--no-progress",
               "--results", str(folder / "results"), "--runs-dir", str(folder / "runs"), "--jobs", "1"]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first_run, lines = None, 0
    for line in child.stdout:
        if line.startswith("  [") and first_run is None:
            first_run = time.perf_counter() - start
        lines += line.startswith("  [")
    error = child.stderr.read()
    status = child.wait()
    total = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mib = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime - cpu_before  # the child's CPU seconds: what load on other cores does not inflate much
    return {"runs": runs, "status": status, "listed": lines, "first_run_s": first_run, "total_s": total, "cpu_s": cpu,
            "peak_mib": peak_mib if peak_mib > before / 1024 else float("nan"), "error": error.strip()[-300:]}


def main(sizes: list[int]) -> None:
    """Measure each size in turn (smallest first: ru_maxrss of children is a running maximum)."""
    with tempfile.TemporaryDirectory() as tmp:
        for runs in sorted(sizes):
            row = measure(runs, Path(tmp))
            first = "-" if row["first_run_s"] is None else f"{row['first_run_s']:.1f} s"
            print(f"{row['runs']:>8} runs: exit {row['status']}, {row['listed']} listed, first run listed after "
                  f"{first}, all after {row['total_s']:.1f} s ({row['cpu_s']:.1f} CPU s), peak memory {row['peak_mib']:.0f} MiB"
                  + (f"; stderr: {row['error']}" if row["status"] else ""), flush=True)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000, 100_000])
