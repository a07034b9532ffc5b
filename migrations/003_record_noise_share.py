"""Migration 003: record the realised share of changed training labels in runs stored before it was kept.

Since 2026-12-01 every run stores ``summary.noise_share``, the share of its training fine labels
the noise changed. For a run stored before, the number is recomputed exactly as the training path
makes it (``lgtools.training.labelling.noise_share``: the same cap, share, seed and procedure on the
dataset's training labels, read without decoding a single image) and written with
``summary.noise_share_source = "recomputed by migrations/003"``; the run is listed in
``metadata.migrations``. Nothing else changes. Runs without noise get 0. Runs whose data is
not at hand here are left alone and reported. Re-running it does nothing; ``--check`` only
reports (exit 1 if anything would change).

    python migrations/003_record_noise_share.py [RESULTS_DIR] [--data-root ../shared/data/cifar10-jpeg.npz] [--check]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

from lgtools.labels.builtin import resolve_for
from lgtools.runs.results import write_json_atomic
from lgtools.training.config import TrainConfig
from lgtools.training.identity import legacy_config
from lgtools.training.labelling import noise_share
from lgtools.training.run_data import training_subset

NAME = "003_record_noise_share"
SOURCE = "recomputed by migrations/003"


def _stored_records(results: Path):
    """Migration 001's reader of the stored results (one definition for every migration)."""
    path = Path(__file__).with_name("001_one_run_identity.py")
    spec = importlib.util.spec_from_file_location("migration_001", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.stored_records(results)


def cifar10_train_labels(npz: Path) -> np.ndarray:
    """CIFAR-10's training labels in the file's order (the order the training path loads)."""
    with np.load(npz, allow_pickle=False) as data:
        return np.asarray(data["train_labels"], dtype=np.int64)


def plan(results: Path, npz: Path) -> tuple[list[tuple[Path, dict]], list[str]]:
    """(path, updated record) for every result that lacks ``noise_share``, and the ones that cannot be done."""
    labels = cifar10_train_labels(npz) if npz.is_file() else None
    changes, skipped = [], []
    for path, record in _stored_records(results):
        if "noise_share" in record["summary"]:
            continue
        config = TrainConfig.from_dict(legacy_config(record["config"]))
        if config.noise and (config.dataset != "cifar10" or labels is None):
            skipped.append(f"{path}: needs the {config.dataset} training labels")
            continue
        hierarchy = resolve_for(config.dataset, config.hierarchy)
        share = noise_share(labels[training_subset(labels, config)], hierarchy, config) if config.noise else 0.0
        summary = dict(record["summary"], noise_share=share, noise_share_source=SOURCE)
        metadata = dict(record.get("metadata") or {})
        metadata["migrations"] = [*metadata.get("migrations", []), NAME]
        changes.append((path, dict(record, summary=summary, metadata=metadata)))
    return changes, skipped


def main(argv: list[str] | None = None) -> int:
    """Command line: migrate RESULTS_DIR (default results/), or only report with --check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", default="results")
    parser.add_argument("--data-root", default="../shared/data/cifar10-jpeg.npz",
                        help="cifar10-jpeg.npz, whose training labels the noisy runs were drawn from")
    parser.add_argument("--check", action="store_true", help="report what would change; exit 1 if anything")
    args = parser.parse_args(argv)
    results = Path(args.results)
    if not results.is_dir():
        print(f"error: results folder {results} does not exist", file=sys.stderr)
        return 2
    changes, skipped = plan(results, Path(args.data_root))
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    if args.check:
        for path, record in changes:
            print(f"{path}: noise_share {record['summary']['noise_share']:.4f}")
        return 1 if changes else 0
    for path, record in changes:
        write_json_atomic(path, record, overwrite=True)
    print(f"recorded noise_share in {len(changes)} file(s) under {results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
