"""``python -m lgtools.bench``: the paper's original training pipeline vs lgtools' fast path.

Speed mode (default) measures, in one process and alternately (reference, lgtools, reference,
lgtools, … for ``--rounds``), the training images/s and peak memory of

1. the reference, rebuilt here from the original design: ``torchvision.datasets.ImageFolder``
   with per-image PIL transforms (RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor,
   Normalize), ``DataLoader(shuffle=True, num_workers=2)``, fp32, a plain SGD step (momentum 0.9,
   weight decay 5e-4) that reads the loss and the accuracy back every step as the original did;
2. ``lgtools.train``'s path (``prepare_run`` + ``train_steps``): uint8 data on the device,
   batched augmentation; on CUDA bf16, channels_last, optional ``torch.compile``.

Same data, model, batch size and number of timed steps after ``--warmup`` untimed steps. lgtools
decodes (and caches) the data once before any timing; that one-off cost is reported apart. The
reference gets one DataLoader iterator per round, created before its warm-up (worker start-up
is untimed) and shut down after its timed steps (idle workers never compete with the lgtools
phase); when an epoch ends inside a phase a new iterator starts, as in the original loop. On
CUDA both pipelines run with ``cudnn.benchmark`` (the original CIFAR script set it too).
Memory: CUDA, ``max_memory_allocated`` reset per phase; CPU, the peak summed RSS of this
process and its DataLoader workers sampled from /proc (a worker's RSS includes pages it shares
copy-on-write with the parent, so the sum overstates physical memory). Both models stay
allocated throughout, so each phase's figure includes the other's (small) model state; the
phase's starting level is stored as ``baseline_memory_mb``.

``--accuracy`` trains both pipelines fully (same seeds, schedule, subset size) on the same
ImageFolder data and compares their fine test accuracy (mean ± std over seeds).
The last line printed in speed mode is ``speedup X.XX``. Results go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from lgtools import results
from lgtools import train as lgtrain
from lgtools.models import MODELS, build_model

PRECISIONS = ("auto", "bf16", "fp32")


# ----------------------------------------------------------------------------- arguments

def build_parser() -> argparse.ArgumentParser:
    """The command-line options of ``python -m lgtools.bench``."""
    p = argparse.ArgumentParser(prog="python -m lgtools.bench", description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/cifar10-imagefolder",
                   help="ImageFolder root with train/<class>/*.jpg (and test/ for --accuracy)")
    p.add_argument("--model", default="preact_resnet18", choices=MODELS)
    p.add_argument("--width", type=int, default=16, help="filters of stage 1 (64: paper CIFAR net)")
    p.add_argument("--batch-size", type=int, default=256, help="images per SGD step")
    p.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before each measurement")
    p.add_argument("--rounds", type=int, default=3, help="alternations reference/lgtools")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--workers", type=int, default=2, help="reference DataLoader workers")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="lgtools' precision (auto: bf16 on CUDA, fp32 on CPU); the reference is fp32")
    p.add_argument("--compile", action="store_true", help="torch.compile lgtools' model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results", help="folder for the result JSON")
    p.add_argument("--accuracy", action="store_true", help="compare test accuracy instead of speed")
    p.add_argument("--epochs", type=int, default=5, help="--accuracy: epochs per run")
    p.add_argument("--train-subset", type=int, default=20000,
                   help="--accuracy: stratified training images per run (0 = all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="--accuracy: seeds")
    return p


def check_args(args: argparse.Namespace) -> None:
    """Raise ValueError naming the first bad option (data layout, counts, device)."""
    train_dir = Path(args.data) / "train"
    if not train_dir.is_dir() or not any(d.is_dir() for d in train_dir.iterdir()):
        raise ValueError(f"--data must be an ImageFolder root holding train/<class>/*.jpg, got "
                         f"{args.data!r}; write CIFAR-10 there with "
                         f"`python ../shared/data/cifar10_jpeg.py imagefolder {args.data}`")
    if args.accuracy and not (Path(args.data) / "test").is_dir():
        raise ValueError(f"--data must hold test/<class>/*.jpg for --accuracy; {args.data!r} has no test/")
    for name in ("width", "batch_size", "steps", "rounds", "epochs"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    for name in ("warmup", "workers", "train_subset"):
        if getattr(args, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    if args.accuracy and len(set(args.seeds)) < 2:
        raise ValueError(f"--seeds needs at least 2 different seeds for a spread, got {args.seeds}")
    if not (args.device in ("auto", "cpu", "cuda") or args.device.startswith("cuda:")):
        raise ValueError(f"--device must be auto, cpu, cuda or cuda:N, got {args.device!r}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device!r} requested but CUDA is not available; use cpu or auto")


# ----------------------------------------------------------------------------- measuring

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


# ----------------------------------------------------------------------------- the reference

def reference_loader(root: str, split: str, batch_size: int, workers: int, mean, std,
                     seed: int, indices=None) -> torch.utils.data.DataLoader:
    """The original input pipeline: ImageFolder + per-image PIL transforms + a DataLoader."""
    from torchvision import datasets, transforms as T

    train = split == "train"
    steps = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] if train else []
    tf = T.Compose(steps + [T.ToTensor(), T.Normalize(mean, std)])
    data = datasets.ImageFolder(os.path.join(root, split), transform=tf)
    if indices is not None:
        data = torch.utils.data.Subset(data, [int(i) for i in indices])
    return torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=train, num_workers=workers,
                                       generator=torch.Generator().manual_seed(seed))


def reference_step(model: nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
                   targets: torch.Tensor, device: torch.device) -> int:
    """One fp32 SGD step as in the original loop (loss and accuracy read back); returns images."""
    inputs, targets = inputs.to(device), targets.to(device)
    optimizer.zero_grad()
    outputs = model(inputs)
    loss = nn.functional.cross_entropy(outputs, targets)
    loss.backward()
    optimizer.step()
    # The original loop logged these every step; .item() is a host sync on CUDA.
    loss.item()
    outputs.argmax(1).eq(targets).sum().item()
    return len(targets)


class _Batches:
    """Batches from one DataLoader iterator, restarted when an epoch ends."""

    def __init__(self, loader: torch.utils.data.DataLoader):
        self.loader, self.it = loader, iter(loader)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            return next(self.it)

    def close(self) -> None:
        self.it = None  # dropping the iterator shuts its workers down


def _sgd(model: nn.Module, lr: float = 0.1) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)


# ----------------------------------------------------------------------------- speed mode

def _phase(device: torch.device, warm: Callable[[], object], timed: Callable[[], int]) -> dict:
    with MemoryMonitor(device) as mem:
        warm()
        start = time.perf_counter()
        images = timed()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
    return {"images": images, "seconds": seconds, "images_per_s": images / seconds, **mem.as_dict()}


def _summary(phases: list[dict]) -> dict:
    rates = [p["images_per_s"] for p in phases]
    peaks = {k: max(p[k] for p in phases) for k in phases[0] if k.startswith("peak_")}
    return {"median_images_per_s": statistics.median(rates), "images_per_s": rates, **peaks,
            "phases": phases}


def run_benchmark(args: argparse.Namespace, log: Callable[[str], None] = lambda s: None) -> dict:
    """Alternate reference and lgtools phases; returns every figure (see the module docstring)."""
    from lgtools import data

    config = lgtrain.TrainConfig(
        dataset="imagefolder", data_root=args.data, model=args.model, width=args.width,
        batch_size=args.batch_size, schedule="constant", seed=args.seed, device=args.device,
        precision=args.precision, compile=args.compile, epochs=1, progress=False)
    start = time.perf_counter()
    state = lgtrain.prepare_run(config)  # decode (or read the cache), copy to the device, build
    prepare_seconds = time.perf_counter() - start
    compile_seconds = lgtrain.warm_up_compile(state) if args.compile else 0.0
    device = state.device
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    mean, std = data.dataset_stats(config.dataset)
    start = time.perf_counter()
    loader = reference_loader(args.data, "train", args.batch_size, args.workers, mean, std, args.seed)
    scan_seconds = time.perf_counter() - start
    classes = loader.dataset.classes
    torch.manual_seed(args.seed)
    model = build_model(args.model, len(classes), args.width).to(device).train()
    optimizer = _sgd(model)
    log(f"one-off: lgtools prepare {prepare_seconds:.1f} s (decode/cache, device copy, model), "
        f"compile {compile_seconds:.1f} s; reference ImageFolder scan {scan_seconds:.1f} s")

    ref_phases, lg_phases = [], []
    for r in range(args.rounds):
        batches = None

        def ref_warm() -> None:
            nonlocal batches
            batches = _Batches(loader)  # workers start here, untimed
            for _ in range(args.warmup):
                reference_step(model, optimizer, *batches.next(), device)

        ref = _phase(device, ref_warm, lambda: sum(reference_step(model, optimizer, *batches.next(), device)
                                                   for _ in range(args.steps)))
        batches.close()
        lg = _phase(device, lambda: args.warmup and lgtrain.train_steps(state, args.warmup),
                    lambda: lgtrain.train_steps(state, args.steps))
        ref_phases.append(ref)
        lg_phases.append(lg)
        log(f"round {r + 1}/{args.rounds}: reference {ref['images_per_s']:.1f} img/s, "
            f"lgtools {lg['images_per_s']:.1f} img/s")
    reference, fast = _summary(ref_phases), _summary(lg_phases)
    return {
        "mode": "speed", "args": vars(args), "device": str(device),
        "data": {"root": os.path.abspath(args.data), "train_images": len(loader.dataset),
                 "classes": len(classes)},
        "one_off_seconds": {"lgtools_prepare": prepare_seconds, "lgtools_compile": compile_seconds,
                            "reference_scan": scan_seconds},
        "torch_threads": torch.get_num_threads(),
        "reference": reference, "lgtools": fast,
        "round_speedups": [b["images_per_s"] / a["images_per_s"] for a, b in zip(ref_phases, lg_phases)],
        "speedup": fast["median_images_per_s"] / reference["median_images_per_s"],
    }


# ----------------------------------------------------------------------------- accuracy mode

def reference_train(config: lgtrain.TrainConfig, workers: int) -> dict:
    """Train and test the reference pipeline with ``config``'s model, schedule, seed and subset."""
    from lgtools import data

    device = lgtrain.resolve_device(config.device)
    mean, std = data.dataset_stats(config.dataset)
    loader = reference_loader(config.data_root, "train", config.batch_size, workers, mean, std, config.seed)
    targets = np.asarray(loader.dataset.targets)
    if config.max_train is not None and config.max_train < len(targets):
        # Same helper and seed as lgtools' cap: the same images wherever both list them in one order.
        keep = data.stratified_cap(targets, config.max_train, config.seed)
        loader = reference_loader(config.data_root, "train", config.batch_size, workers, mean, std,
                                  config.seed, keep)
    torch.manual_seed(config.seed)  # as prepare_run: identical initial weights
    model = build_model(config.model, len(np.unique(targets)), config.width).to(device)
    optimizer = _sgd(model, config.lr)
    steps = len(loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lgtrain.lr_factor(config, s, steps))
    start = time.perf_counter()
    for _ in range(lgtrain.num_epochs(config)):
        model.train()
        for inputs, labels in loader:
            reference_step(model, optimizer, inputs, labels, device)
            scheduler.step()
    train_seconds = time.perf_counter() - start
    model.eval()
    correct = total = 0
    test = reference_loader(config.data_root, "test", config.eval_batch_size, workers, mean, std, config.seed)
    with torch.no_grad():
        for inputs, labels in test:
            correct += model(inputs.to(device)).argmax(1).cpu().eq(labels).sum().item()
            total += len(labels)
    return {"test_acc_fine": 100 * correct / total, "train_seconds": train_seconds,
            "seconds": time.perf_counter() - start}


def _stats(values: list[float]) -> dict:
    return {"values": values, "mean": statistics.mean(values), "std": statistics.stdev(values),
            "min": min(values), "max": max(values)}


def run_accuracy(args: argparse.Namespace, log: Callable[[str], None] = lambda s: None) -> dict:
    """Train both pipelines for every seed; compare fine test accuracy (mean ± std over seeds)."""
    runs = []
    for seed in args.seeds:
        config = lgtrain.TrainConfig(
            dataset="imagefolder", data_root=args.data, model=args.model, width=args.width,
            epochs=args.epochs, batch_size=args.batch_size, schedule="onecycle", seed=seed,
            max_train=args.train_subset or None, device=args.device, progress=False)
        ref = reference_train(config, args.workers)
        log(f"seed {seed}: reference {ref['test_acc_fine']:.2f} % ({ref['seconds']:.0f} s)")
        result = lgtrain.train(config)
        lg = {"test_acc_fine": result.summary["test_acc_fine"], "seconds": result.summary["seconds"]}
        log(f"seed {seed}: lgtools   {lg['test_acc_fine']:.2f} % ({lg['seconds']:.0f} s)")
        runs.append({"seed": seed, "config": config.to_dict(), "reference": ref, "lgtools": lg})
    ref_acc = _stats([r["reference"]["test_acc_fine"] for r in runs])
    lg_acc = _stats([r["lgtools"]["test_acc_fine"] for r in runs])
    # "Within each other's seed spread": the [min, max] ranges over seeds overlap.
    overlap = max(ref_acc["min"], lg_acc["min"]) <= min(ref_acc["max"], lg_acc["max"])
    return {"mode": "accuracy", "args": vars(args), "runs": runs, "reference": ref_acc,
            "lgtools": lg_acc, "mean_difference": lg_acc["mean"] - ref_acc["mean"],
            "within_seed_spread": overlap}


# ----------------------------------------------------------------------------- output

def hardware(device: str) -> dict:
    """CPU model and cores, GPU name, torch/CUDA versions, git revision and date."""
    import torchvision

    info = results.provenance({}, {"device": device})
    info.pop("seed", None)
    gpu = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else None
    return {**info, "cpu_model": results.cpu_model(), "gpu": gpu, "torchvision_version": torchvision.__version__,
            "cuda_version": torch.version.cuda}


def write_result(record: dict, out: str, stem: str) -> Path:
    """Write ``record`` to ``out/<stem>.json`` (``-2``, ``-3``, … if taken); returns the path."""
    for n in range(1, 1000):
        path = Path(out) / f"{stem}{'' if n == 1 else f'-{n}'}.json"
        if not path.exists():
            try:
                return results.write_json_atomic(path, results.to_jsonable(record))
            except FileExistsError:
                continue
    raise FileExistsError(f"no free result name for {stem!r} in {out!r}")


def _memory_text(summary: dict) -> str:
    if "peak_main_rss_mb" not in summary:
        return f"peak memory {summary['peak_memory_mb']:.0f} MiB (CUDA max allocated)"
    return (f"peak memory {summary['peak_memory_mb']:.0f} MiB (RSS of process + workers; "
            f"process {summary['peak_main_rss_mb']:.0f}, workers {summary['peak_workers_rss_mb']:.0f})")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints the figures and ends with ``speedup X.XX`` (speed mode)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_args(args)
    except ValueError as err:
        parser.error(str(err))  # exits with status 2 and a one-line message

    def say(line: str) -> None:
        print(line, flush=True)

    device = str(lgtrain.resolve_device(args.device))
    hw = hardware(device)
    say(f"hardware: {hw['cpu_model']} ({hw['cpu_count']} cores), GPU {hw['gpu'] or 'none'}, "
        f"torch {hw['torch_version']}, git {(hw['git_rev'] or 'unknown')[:10]}")
    say(f"{args.model} width {args.width}, batch {args.batch_size}, device {device}, data {args.data}")
    date = datetime.date.today().isoformat()
    stem = f"{device.split(':')[0]}-{args.model}-w{args.width}-{date}"
    if args.accuracy:
        record = {**run_accuracy(args, say), "hardware": hw}
        path = write_result(record, args.out, f"accuracy-{stem}")
        for name in ("reference", "lgtools"):
            s = record[name]
            say(f"{name}: fine test accuracy {s['mean']:.2f} ± {s['std']:.2f} % over seeds {args.seeds} "
                f"(values {', '.join(f'{v:.2f}' for v in s['values'])})")
        say(f"results: {path}")
        say(f"within seed spread: {'yes' if record['within_seed_spread'] else 'no'} "
            f"(difference {record['mean_difference']:+.2f} points)")
        return 0
    say(f"{args.rounds} rounds x {args.steps} timed steps after {args.warmup} warm-up steps, alternating")
    record = {**run_benchmark(args, say), "hardware": hw}
    for name in ("reference", "lgtools"):
        s = record[name]
        say(f"{name}: {s['median_images_per_s']:.1f} img/s median (all: "
            f"{', '.join(f'{v:.1f}' for v in s['images_per_s'])}), {_memory_text(s)}")
    path = write_result(record, args.out, stem)
    say(f"results: {path}")
    say(f"speedup {record['speedup']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
