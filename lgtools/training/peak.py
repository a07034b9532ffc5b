"""How close a training path comes to the machine: a model's training FLOPs and the machine's peak.

``training_flops_per_image`` counts a model's forward and backward FLOPs once with
``torch.utils.flop_counter.FlopCounterMode`` (matrix products and convolutions, 2 FLOPs per
multiply-add; element-wise work is not counted, so GFLOP/s figures are conservative).
``measured_peak_gflops`` times a large fp32 matrix product on the device, the best a real kernel
reaches here; ``theoretical_peak_gflops`` is cores × SIMD lanes × FMA units × 2 × clock for a CPU
(read from ``/proc/cpuinfo``; the FMA unit count is an assumption the result states).
"""

from __future__ import annotations

import copy
import os
import re
import time
from pathlib import Path

import torch
from torch import nn

FMA_UNITS = 2  # per core on every x86 core with AVX2 since Haswell / Zen 2 (Zen 1 splits 256-bit FMAs)


def training_flops_per_image(model: nn.Module, side: int, num_classes: int, channels: int = 3,
                             device: str | torch.device = "cpu") -> float:
    """FLOPs of one training step per image (forward + backward through a copy of ``model``)."""
    from torch.utils.flop_counter import FlopCounterMode

    twin = copy.deepcopy(model).to(device).train()
    x = torch.randn(2, channels, side, side, device=device)
    y = torch.randint(0, num_classes, (2,), device=device)
    with FlopCounterMode(display=False) as counter:
        nn.functional.cross_entropy(twin(x), y).backward()
    return counter.get_total_flops() / 2


def measured_peak_gflops(device: str | torch.device = "cpu", n: int = 2048, repeats: int = 5,
                         dtype: torch.dtype = torch.float32) -> float:
    """Best GFLOP/s of an n×n matrix product in ``dtype`` on ``device`` over ``repeats`` timed products."""
    device = torch.device(device)
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    torch.mm(a, b)  # warm-up: thread pool, allocator, kernel choice
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def theoretical_peak_gflops(cpuinfo: str | None = None, cores: int | None = None) -> dict:
    """fp32 peak of this CPU from /proc/cpuinfo: cores × lanes × FMA units × 2 × GHz (``gflops`` None if unreadable)."""
    read_here = cpuinfo is None
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.exists() else ""
    flags = set(re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.M).group(1).split()) if "flags" in cpuinfo else set()
    lanes = 16 if "avx512f" in flags else 8 if {"avx2", "fma"} <= flags else 4 if "sse2" in flags else None
    clocks = [float(v) for v in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", cpuinfo, re.M)]
    max_khz = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if read_here and max_khz.exists():
        ghz, clock_source = int(max_khz.read_text()) / 1e6, "cpuinfo_max_freq"
    else:
        ghz, clock_source = (max(clocks) / 1000, "/proc/cpuinfo cpu MHz") if clocks else (None, None)
    cores = cores or len(os.sched_getaffinity(0))
    gflops = cores * lanes * FMA_UNITS * 2 * ghz if lanes and ghz else None
    return {"gflops": gflops, "cores": cores, "fp32_lanes": lanes, "fma_units_assumed": FMA_UNITS,
            "ghz": ghz, "clock_source": clock_source}


def compute_floor(gflop_per_image: float, images: int, epochs: int, peak_gflops: float,
                  budget_minutes: float) -> dict:
    """The shortest a run can take at ``peak_gflops`` (its FLOPs / peak), and what a ``budget_minutes`` budget buys.

    A bound, not a forecast: a real run reaches a share of the peak (85 % for the fast recipe here), so
    when the floor already exceeds the budget no implementation of that network fits it on this machine.
    """
    for name, value in (("gflop_per_image", gflop_per_image), ("images", images), ("epochs", epochs),
                        ("peak_gflops", peak_gflops), ("budget_minutes", budget_minutes)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
    total_gflop = gflop_per_image * images * epochs
    floor_minutes = total_gflop / peak_gflops / 60
    return {"total_gflop": total_gflop, "floor_minutes": floor_minutes,
            "budget_gflop": peak_gflops * budget_minutes * 60,
            "budget_share_of_run": peak_gflops * budget_minutes * 60 / total_gflop,
            "fits": floor_minutes <= budget_minutes}
