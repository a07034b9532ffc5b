"""``python -m lgtools.bench``: the paper's original training pipeline vs lgtools' fast path.

Speed mode (default) measures, in one process and alternately (reference, lgtools, reference,
lgtools, … for ``--rounds``), the training images/s and peak memory of

1. the reference, rebuilt from the original design (``lgtools.training.reference``):
   ``torchvision.datasets.ImageFolder`` with per-image PIL transforms (RandomCrop(32, padding=4),
   RandomHorizontalFlip, ToTensor, Normalize), ``DataLoader(shuffle=True, num_workers=2)``, fp32,
   a plain SGD step (momentum 0.9, weight decay 5e-4) that reads the loss and the accuracy back
   every step as the original did;
2. ``lgtools.training.loop``'s path (``prepare_run`` + ``train_steps``): uint8 data on the device,
   batched augmentation; on CUDA bf16, channels_last, optional ``torch.compile``.

Same data, model, batch size and number of timed steps after ``--warmup`` untimed steps. lgtools
decodes (and caches) the data once before any timing; that one-off cost is reported apart. The
reference gets one DataLoader iterator per round, created before its warm-up (worker start-up
is untimed) and shut down after its timed steps (idle workers never compete with the lgtools
phase); when an epoch ends inside a phase a new iterator starts, as in the original loop. On
CUDA both pipelines run with ``cudnn.benchmark`` (the original CIFAR script set it too).
Memory (``lgtools.training.memory``): CUDA, ``max_memory_allocated`` reset per phase; CPU, the peak summed RSS of this
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
import time
from pathlib import Path
from typing import Callable

import torch

from lgtools.data.datasets import dataset_stats
from lgtools.nets.models import MODELS, build_model
from lgtools.runs.ladder import ladder_runs, ladder_table, time_to
from lgtools.runs.results import load_results, to_jsonable, write_json_atomic
from lgtools.training.config import RECIPES, TrainConfig, recipe_values
from lgtools.training.identity import cpu_has_bf16, resolved_precision
from lgtools.training.loop import train
from lgtools.training.memory import MemoryMonitor
from lgtools.training.peak import measured_peak_gflops, theoretical_peak_gflops, training_flops_per_image
from lgtools.training.provenance import cpu_model, provenance
from lgtools.training.reference import (
    Batches,
    reference_loader,
    reference_optimizer,
    reference_step,
    reference_train,
)
from lgtools.training.state import keep_freed_memory, prepare_run, resolve_device
from lgtools.training.steps import train_steps, warm_up_compile
from lgtools.training.throughput import side_by_side

PRECISIONS = ("auto", "bf16", "fp32")


# ----------------------------------------------------------------------------- arguments

def build_parser() -> argparse.ArgumentParser:
    """The command-line options of ``python -m lgtools.bench``."""
    p = argparse.ArgumentParser(prog="python -m lgtools.bench", description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/cifar10-imagefolder",
                   help="ImageFolder root with train/<class>/*.jpg (and test/ for --accuracy)")
    p.add_argument("--model", default="preact_resnet18", choices=MODELS)
    p.add_argument("--width", type=int, default=16, help="filters of stage 1 (64: paper CIFAR net)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="images per SGD step (default 256; with --recipe the recipe's)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before each measurement")
    p.add_argument("--rounds", type=int, default=5, help="alternations reference/lgtools")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--workers", type=int, default=2, help="reference DataLoader workers")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="lgtools' precision (auto: bf16 on CUDA, fp32 on CPU); the reference is fp32")
    p.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                   help="torch.compile lgtools' model: auto = as training does (CUDA only)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results", help="folder for the result JSON")
    p.add_argument("--accuracy", action="store_true", help="compare test accuracy instead of speed")
    p.add_argument("--epochs", type=int, default=5, help="--accuracy: epochs per run")
    p.add_argument("--train-subset", type=int, default=20000,
                   help="--accuracy: stratified training images per run (0 = all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="--accuracy: seeds")
    p.add_argument("--recipe", choices=sorted(RECIPES), default=None,
                   help="measure a named training recipe instead: its speed (one run on every core against one-thread "
                        "runs side by side), the machine's peaks, and its accuracy ladder read from --ladder")
    p.add_argument("--npz", default="../shared/data/cifar10-jpeg.npz", help="--recipe: the CIFAR-10 archive")
    p.add_argument("--ladder", default="results/ladder-converged",
                   help="--recipe: stored runs of the recipe at several epoch budgets (a sweep's results folder)")
    p.add_argument("--target", type=float, default=94.0, help="--recipe: fine top-1 (%%) whose time is reported")
    return p


def check_args(args: argparse.Namespace) -> None:
    """Raise ValueError naming the first bad option (data layout, counts, device)."""
    if args.recipe is not None:
        if not Path(args.npz).is_file():
            raise ValueError(f"--npz must be the CIFAR-10 archive (a file), got {args.npz!r}")
        if not Path(args.ladder).is_dir():
            raise ValueError(f"--ladder must be a results folder of the recipe's runs, got {args.ladder!r}")
        if args.steps < 1 or not 0 < args.target <= 100:
            raise ValueError(f"--steps must be >= 1 and --target in (0, 100], got {args.steps}, {args.target}")
        return
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
    config = TrainConfig(
        dataset="imagefolder", data_root=args.data, model=args.model, width=args.width,
        batch_size=args.batch_size, schedule="constant", seed=args.seed, device=args.device,
        precision=args.precision, compile={"on": True, "off": False}.get(args.compile, "auto"),
        epochs=1, progress=False)
    start = time.perf_counter()
    state = prepare_run(config)  # decode (or read the cache), copy to the device, build
    prepare_seconds = time.perf_counter() - start
    compile_seconds = warm_up_compile(state) if state.compiled else 0.0
    device = state.device
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    mean, std = dataset_stats(config.dataset)
    start = time.perf_counter()
    loader = reference_loader(args.data, "train", args.batch_size, args.workers, mean, std, args.seed)
    scan_seconds = time.perf_counter() - start
    classes = loader.dataset.classes
    torch.manual_seed(args.seed)
    model = build_model(args.model, len(classes), args.width).to(device).train()
    optimizer = reference_optimizer(model)
    log(f"one-off: lgtools prepare {prepare_seconds:.1f} s (decode/cache, device copy, model), "
        f"compile {compile_seconds:.1f} s; reference ImageFolder scan {scan_seconds:.1f} s")

    ref_phases, lg_phases = [], []
    for r in range(args.rounds):
        batches = None

        def ref_warm() -> None:
            nonlocal batches
            # The original design ran with glibc's defaults; lgtools' path tunes them (prepare_run).
            keep_freed_memory(False)
            batches = Batches(loader)  # workers start here, untimed
            for _ in range(args.warmup):
                reference_step(model, optimizer, *batches.next(), device)

        ref = _phase(device, ref_warm, lambda: sum(reference_step(model, optimizer, *batches.next(), device)
                                                   for _ in range(args.steps)))
        batches.close()
        def lg_warm() -> None:
            keep_freed_memory(device.type == "cpu")  # lgtools' own setting back (prepare_run's)
            if args.warmup:
                train_steps(state, args.warmup)

        lg = _phase(device, lg_warm, lambda: train_steps(state, args.steps))
        ref_phases.append(ref)
        lg_phases.append(lg)
        log(f"round {r + 1}/{args.rounds}: reference {ref['images_per_s']:.1f} img/s, "
            f"lgtools {lg['images_per_s']:.1f} img/s")
    reference, fast = _summary(ref_phases), _summary(lg_phases)
    machine = machine_figures(state.model, state.crop_size, len(classes), device)
    for summary in (reference, fast):
        summary.update(throughput_share(summary["median_images_per_s"], machine))
    return {
        "mode": "speed", "args": vars(args), "device": str(device),
        "data": {"root": os.path.abspath(args.data), "train_images": len(loader.dataset),
                 "classes": len(classes)},
        "one_off_seconds": {"lgtools_prepare": prepare_seconds, "lgtools_compile": compile_seconds,
                            "reference_scan": scan_seconds},
        "torch_threads": torch.get_num_threads(),
        "layout": "channels_last" if state.channels_last else "contiguous", "compiled": state.compiled,
        "machine": machine, "reference": reference, "lgtools": fast,
        "round_speedups": [b["images_per_s"] / a["images_per_s"] for a, b in zip(ref_phases, lg_phases)],
        "speedup": fast["median_images_per_s"] / reference["median_images_per_s"],
    }


def machine_figures(model: torch.nn.Module, side: int, num_classes: int, device: torch.device) -> dict:
    """The model's training FLOPs per image and the machine's fp32 peak, measured here and in theory."""
    theory = theoretical_peak_gflops() if device.type == "cpu" else {"gflops": None}
    return {"training_gflop_per_image": training_flops_per_image(model, side, num_classes, device=device) / 1e9,
            "measured_peak_gflops": measured_peak_gflops(device, n=4096 if device.type == "cuda" else 2048),
            "peak_measured_with": "fp32 matrix product (torch.mm), best of 5",
            "theoretical_peak_gflops": theory["gflops"], "theoretical_peak": theory}


def throughput_share(images_per_s: float, machine: dict) -> dict:
    """Achieved GFLOP/s of a pipeline at ``images_per_s`` and its share of the measured and theoretical peaks."""
    gflops = images_per_s * machine["training_gflop_per_image"]
    theory = machine.get("theoretical_peak_gflops")
    return {"gflops": gflops, "share_of_measured_peak": gflops / machine["measured_peak_gflops"],
            "share_of_theoretical_peak": gflops / theory if theory else None}


# ----------------------------------------------------------------------------- accuracy mode

def _stats(values: list[float]) -> dict:
    return {"values": values, "mean": statistics.mean(values), "std": statistics.stdev(values),
            "min": min(values), "max": max(values)}


def run_accuracy(args: argparse.Namespace, log: Callable[[str], None] = lambda s: None) -> dict:
    """Train both pipelines for every seed; compare fine test accuracy (mean ± std over seeds)."""
    runs = []
    for seed in args.seeds:
        config = TrainConfig(
            dataset="imagefolder", data_root=args.data, model=args.model, width=args.width,
            epochs=args.epochs, batch_size=args.batch_size, schedule="onecycle", seed=seed,
            max_train=args.train_subset or None, device=args.device, progress=False)
        ref = reference_train(config, args.workers)
        log(f"seed {seed}: reference {ref['test_acc_fine']:.2f} % ({ref['seconds']:.0f} s)")
        result = train(config)
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


# ----------------------------------------------------------------------------- recipe mode

def run_recipe(args: argparse.Namespace, log: Callable[[str], None] = lambda s: None) -> dict:
    """A recipe's speed on this machine (both ways of using its cores), the peaks, and its stored accuracy ladder."""
    config = TrainConfig(**{**recipe_values(args.recipe), "dataset": "cifar10", "data_root": args.npz,
                            "width": args.width, "batch_size": args.batch_size, "device": args.device,
                            "progress": False})
    device = resolve_device(args.device)
    model = build_model(config.model, 10, config.width)
    machine = machine_figures(model, 32, 10, device)
    if device.type == "cpu" and cpu_has_bf16():
        machine["measured_peak_gflops_bf16"] = measured_peak_gflops(device, dtype=torch.bfloat16)
    machine["cpu_bf16"] = cpu_has_bf16() if device.type == "cpu" else None
    machine["precision"] = resolved_precision(config.precision, device.type)
    log(f"{args.recipe} recipe, width {config.width}: {machine['training_gflop_per_image']:.3f} GFLOP per training "
        f"image, precision {machine['precision']}; measuring {args.steps} steps one way, then the other")
    speed = side_by_side(config, args.steps)
    cores = speed["cores"]
    per_core_peak = machine["measured_peak_gflops"] / cores  # the matrix product ran on every core
    for key in ("one_run_all_threads_images_per_s", "one_thread_runs_total_images_per_s"):
        speed[key.replace("images_per_s", "gflops")] = speed[key] * machine["training_gflop_per_image"]
    # Against the peak of the arithmetic the runs use (bf16 where the CPU has it and the recipe chose it).
    peak = machine.get("measured_peak_gflops_bf16") if machine["precision"] == "bf16" else None
    speed["peak_used_gflops"] = peak or machine["measured_peak_gflops"]
    speed["share_of_measured_peak"] = speed["one_thread_runs_total_gflops"] / speed["peak_used_gflops"]
    speed["per_core_measured_peak_gflops"] = per_core_peak
    table = ladder_table(ladder_runs(load_results(args.ladder), width=args.width))
    times = {column: time_to(table, args.target, column) for column in ("fine_top1", "fine_top1_no_tta")}
    return {"mode": "recipe", "recipe": args.recipe, "config": config.to_dict(), "args": vars(args),
            "machine": machine, "speed": speed, "ladder": table.to_dict(orient="records"), "time_to_target": times,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}


def _say_recipe(record: dict, say: Callable[[str], None]) -> None:
    speed, machine = record["speed"], record["machine"]
    say(f"one run on {speed['cores']} threads: {speed['one_run_all_threads_images_per_s']:.0f} img/s; "
        f"{speed['cores']} one-thread runs side by side: {speed['one_thread_runs_total_images_per_s']:.0f} img/s in all "
        f"-> more runs per hour: {speed['more_runs_per_hour']}")
    say(f"{speed['one_thread_runs_total_gflops']:.0f} GFLOP/s = {100 * speed['share_of_measured_peak']:.0f} % of the "
        f"measured fp32 peak ({machine['measured_peak_gflops']:.0f} GFLOP/s)"
        + (f"; bf16 peak {machine['measured_peak_gflops_bf16']:.0f} GFLOP/s" if "measured_peak_gflops_bf16" in machine
           else "; no bf16 arithmetic on this CPU: fp32"))
    for row in record["ladder"]:
        say(f"  {row['epochs']:>3} epochs: fine top-1 {row['fine_top1']:.2f} % ({row['fine_top1_no_tta']:.2f} without TTA), "
            f"A_FC {row['a_fc']:.2f}, A_CC {row['a_cc']:.2f}, {row['fine_seconds'] / 60:.1f} min, n = {row['n_fine']}")
    for column, t in record["time_to_target"].items():
        say(f"time to {t['target']:.1f} % ({column}): " + (f"{t['seconds'] / 60:.1f} min at {t['epochs']} epochs"
            if t["reached"] else f"not reached; best {t['best']:.2f} % at {t['best_epochs']} epochs"))


# ----------------------------------------------------------------------------- output

def hardware(device: str) -> dict:
    """CPU model and cores, GPU name, torch/CUDA versions, git revision and date."""
    import torchvision

    info = provenance({}, {"device": device})
    info.pop("seed", None)
    gpu = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else None
    return {**info, "cpu_model": cpu_model(), "gpu": gpu, "torchvision_version": torchvision.__version__,
            "cuda_version": torch.version.cuda}


def write_result(record: dict, out: str, stem: str) -> Path:
    """Write ``record`` to ``out/<stem>.json`` (``-2``, ``-3``, … if taken); returns the path."""
    for n in range(1, 1000):
        path = Path(out) / f"{stem}{'' if n == 1 else f'-{n}'}.json"
        if not path.exists():
            try:
                return write_json_atomic(path, to_jsonable(record))
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
    if args.batch_size is None:
        args.batch_size = recipe_values(args.recipe)["batch_size"] if args.recipe else 256
    try:
        check_args(args)
    except ValueError as err:
        parser.error(str(err))  # exits with status 2 and a one-line message

    def say(line: str) -> None:
        print(line, flush=True)

    device = str(resolve_device(args.device))
    hw = hardware(device)
    say(f"hardware: {hw['cpu_model']} ({hw['cpu_count']} cores), GPU {hw['gpu'] or 'none'}, "
        f"torch {hw['torch_version']}, git {(hw['git_rev'] or 'unknown')[:10]}")
    say(f"{args.recipe + ' recipe' if args.recipe else args.model} width {args.width}, batch {args.batch_size}, "
        f"device {device}, data {args.npz if args.recipe else args.data}")
    date = datetime.date.today().isoformat()
    if args.recipe is not None:
        record = {**run_recipe(args, say), "hardware": hw}
        _say_recipe(record, say)
        path = write_result(record, args.out, f"recipe-{args.recipe}-{device.split(':')[0]}-w{args.width}-{date}")
        say(f"results: {path}")
        return 0
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
    machine = record["machine"]
    theory = machine["theoretical_peak_gflops"]
    say(f"model: {machine['training_gflop_per_image']:.3f} GFLOP per training image; machine peak: "
        f"{machine['measured_peak_gflops']:.1f} GFLOP/s measured (fp32 matmul)"
        + (f", {theory:.1f} GFLOP/s in theory" if theory else ""))
    for name in ("reference", "lgtools"):
        s = record[name]
        share = f", {100 * s['share_of_theoretical_peak']:.0f} % of theory" if s["share_of_theoretical_peak"] else ""
        say(f"{name}: {s['median_images_per_s']:.1f} img/s median (all: "
            f"{', '.join(f'{v:.1f}' for v in s['images_per_s'])}), {s['gflops']:.1f} GFLOP/s "
            f"= {100 * s['share_of_measured_peak']:.0f} % of measured peak{share}, {_memory_text(s)}")
    path = write_result(record, args.out, stem)
    say(f"results: {path}")
    say(f"speedup {record['speedup']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
