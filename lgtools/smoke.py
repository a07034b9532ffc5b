"""``python -m lgtools.smoke``: a few seconds on every branch of the training path a GPU takes.

Each check trains or runs a tiny piece and records ``ok``, seconds and what it saw: bf16
autocast, channels_last, fused SGD, ``torch.compile`` and JPEG decoding on the device (against
the CPU decoder). On a CPU (``--device cpu``, the dry run of ``benchmarks/gpu_run.sh``) the same
checks run, each where the CPU has the branch. ``--toy-npz PATH`` also writes a small
``cifar10-jpeg.npz``-format archive (CIFAR-10's class names, synthetic images) for dry runs.
Exit status 1 if any check fails; the JSON (``--out``) holds every check.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from lgtools.data.synthetic import make_synthetic
from lgtools.labels.builtin import get_hierarchy
from lgtools.runs.results import to_jsonable, write_json_atomic
from lgtools.training.config import TrainConfig
from lgtools.training.loop import train
from lgtools.training.provenance import provenance
from lgtools.training.state import prepare_run, resolve_device

TINY = dict(dataset="synthetic", epochs=1, max_train=128, max_test=64, batch_size=32, progress=False)


def toy_cifar_npz(path: str | Path, per_class: int = 8, test_per_class: int = 4, seed: int = 0) -> Path:
    """A ``cifar10-jpeg.npz``-format archive: CIFAR-10's class names over synthetic 32×32 JPEGs."""
    from torchvision.io import encode_jpeg

    classes = get_hierarchy("cifar10").fine_names
    arrays: dict[str, np.ndarray] = {"classes": np.array(classes)}
    for split, n, offset in (("train", per_class, 0), ("test", test_per_class, 1)):
        images, _ = make_synthetic(n, seed + offset)  # 12 shape classes; relabelled round-robin
        labels = np.arange(len(images)) % len(classes)
        blobs = [encode_jpeg(torch.from_numpy(np.ascontiguousarray(img)), quality=90).numpy() for img in images]
        arrays[f"{split}_jpeg"] = np.concatenate(blobs)
        arrays[f"{split}_offsets"] = np.cumsum([0] + [len(b) for b in blobs])
        arrays[f"{split}_labels"] = labels.astype(np.int64)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def _bf16(device: str) -> dict:
    result = train(TrainConfig(**TINY, device=device, precision="bf16"))
    loss = result.history[-1]["train_loss"]
    assert np.isfinite(loss), f"train loss {loss}"
    return {"train_loss": loss, "test_acc": result.summary["test_acc"]}


def _channels_last(device: str) -> dict:
    state = prepare_run(TrainConfig(**{**TINY, "model": "preact_resnet18", "width": 16}, device=device))
    assert state.channels_last, "prepare_run kept NCHW at width 16"
    return {"channels_last": True}


def _fused_sgd(device: str) -> dict:
    state = prepare_run(TrainConfig(**TINY, device=device))
    defaults = state.optimizer.defaults
    kind = "fused" if defaults.get("fused") else "foreach" if defaults.get("foreach") else "plain"
    assert kind == ("fused" if state.device.type == "cuda" else "foreach"), f"SGD is {kind}"
    return {"sgd": kind}


def _compile(device: str) -> dict:
    result = train(TrainConfig(**TINY, device=device, compile=True))
    assert result.summary["compiled"] and result.summary["compile_seconds"] > 0
    return {"compile_seconds": result.summary["compile_seconds"]}


def _jpeg(device: str) -> dict:
    from torchvision.io import decode_jpeg, encode_jpeg

    images, _ = make_synthetic(2, 0)
    blobs = [encode_jpeg(torch.from_numpy(np.ascontiguousarray(img)), quality=90) for img in images]
    on_cpu = torch.stack(decode_jpeg(blobs))
    on_device = torch.stack(decode_jpeg(blobs, device=device)).cpu()
    diff = int((on_cpu.int() - on_device.int()).abs().max())
    assert diff <= 8, f"device decoder differs from the CPU one by up to {diff} levels"
    return {"images": len(blobs), "max_abs_difference": diff}


CHECKS: dict[str, Callable[[str], dict]] = {"bf16_autocast": _bf16, "channels_last": _channels_last,
                                           "fused_sgd": _fused_sgd, "compile": _compile, "jpeg_decode": _jpeg}


def run_checks(device: str, names: list[str] | None = None) -> list[dict]:
    """Run the named checks (all by default) on ``device``; one record per check, failures included."""
    records = []
    for name in names or list(CHECKS):
        start = time.perf_counter()
        try:
            detail, ok = CHECKS[name](device), True
        except Exception as error:  # a failed branch is a result to report, not a reason to stop
            detail, ok = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}, False
        records.append({"check": name, "ok": ok, "seconds": time.perf_counter() - start, **detail})
    return records


def main(argv: list[str] | None = None) -> int:
    """Command line: run every check, print one line each, write ``--out``; exit 1 if one failed."""
    parser = argparse.ArgumentParser(prog="python -m lgtools.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--out", default=None, help="JSON file for every check")
    parser.add_argument("--only", nargs="+", choices=list(CHECKS), help="run only these checks")
    parser.add_argument("--toy-npz", default=None, help="also write a toy cifar10-jpeg.npz here")
    args = parser.parse_args(argv)
    try:
        device = str(resolve_device(args.device))
    except ValueError as error:
        parser.error(str(error))
    if args.toy_npz:
        print(f"toy archive: {toy_cifar_npz(args.toy_npz)}")
    records = run_checks(device, args.only)
    for r in records:
        shown = {k: v for k, v in r.items() if k not in ("check", "ok", "seconds", "traceback")}
        print(f"{'ok  ' if r['ok'] else 'FAIL'} {r['check']:<14} {r['seconds']:6.1f} s  {json.dumps(to_jsonable(shown))}")
    if args.out:
        write_json_atomic(Path(args.out), to_jsonable({"device": device, "checks": records,
                                                       "provenance": provenance({}, {"device": device})}),
                          overwrite=True)
    failed = [r["check"] for r in records if not r["ok"]]
    print("smoke: all passed" if not failed else f"smoke: failed {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
