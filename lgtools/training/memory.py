"""Peak memory of a block of code: the CUDA allocator's peak, or on the CPU the summed RSS.

``with MemoryMonitor(device) as mem: ...`` then ``mem.as_dict()``. On the CPU a thread samples
``/proc`` every ``interval`` seconds for this process and all its descendants (DataLoader workers
and their helpers); a worker's RSS counts the pages it shares copy-on-write with its parent, so
the sum overstates physical memory. Linux only for the CPU figures (``lgtools.bench`` uses it).
"""

from __future__ import annotations

import os
import threading

import torch


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0  # the process ended between listing and reading


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


class MemoryMonitor:
    """Peak memory of one phase: CUDA allocator peak, or summed RSS of this process and its children."""

    def __init__(self, device: torch.device, interval: float = 0.05):
        self.device, self.interval = device, interval
        self.baseline = self.peak = self.peak_main = self.peak_children = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        main = _rss_bytes(os.getpid())
        todo, children = _children(os.getpid()), 0
        while todo:  # workers may have children of their own (e.g. pin-memory helpers)
            pid = todo.pop()
            children += _rss_bytes(pid)
            todo += _children(pid)
        self.peak_main, self.peak_children = max(self.peak_main, main), max(self.peak_children, children)
        self.peak = max(self.peak, main + children)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> MemoryMonitor:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline = torch.cuda.memory_allocated(self.device)
        else:
            self._sample()
            self.baseline = self.peak
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self._stop.set()
            self._thread.join()
            self._sample()

    def as_dict(self) -> dict:
        """Peak and starting memory in MiB (CPU: also main-process and worker peaks apart)."""
        mib = 2.0**20
        out = {"peak_memory_mb": self.peak / mib, "baseline_memory_mb": self.baseline / mib}
        if self.device.type != "cuda":
            out.update(peak_main_rss_mb=self.peak_main / mib, peak_workers_rss_mb=self.peak_children / mib)
        return out
