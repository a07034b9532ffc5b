"""Migration 002: say which label-noise procedure a stored run used; rename the square extra layers.

Two meanings changed on 2026-12-01 (issue 13):

- ``TrainConfig.noise_mode`` is new, and its default is ``"swap"`` (the authors' label swaps).
  Every run stored before used the other procedure, now called ``"redraw"``; this script writes
  ``config.noise_mode = "redraw"`` into each result that lacks the field (runs without noise
  included: the field is then recorded but changes nothing, and their identity stays).
- ``extra_layer="linear"`` now means the authors' bottleneck (features → fine classes → classes).
  The layer stored runs trained under that name was a square Linear: it becomes ``"square"``, and
  the old ``"relu"`` (square Linear + ReLU) becomes ``"square_relu"``, in the config, in the sweep
  parameters kept in ``metadata.parameters`` and in the readable part of the run id.

A renamed file keeps everything else byte for byte (summary, history, predictions, provenance);
its old run id goes to ``metadata.previous_run_ids`` and each change is listed in
``metadata.migrations``; ``reused_from`` pointers are then rewritten by migration 001's pass.
Re-running it does nothing. ``--check`` only reports (exit 1 if anything would change).

    python migrations/002_noise_mode_and_extra_layers.py [RESULTS_DIR] [--check]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from pathlib import Path

from lgtools.runs.results import write_json_atomic
from lgtools.training.identity import LEGACY_EXTRA_LAYERS as EXTRA_LAYER_NAMES
from lgtools.training.identity import legacy_config, run_id, stored_identity

NAME = "002_noise_mode_and_extra_layers"


def _migration_001():
    path = Path(__file__).with_name("001_one_run_identity.py")
    spec = importlib.util.spec_from_file_location("migration_001", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _migrated_extra(parameters: dict) -> dict:
    value = parameters.get("extra_layer")
    return dict(parameters, extra_layer=EXTRA_LAYER_NAMES[value]) if value in EXTRA_LAYER_NAMES else parameters


def _readable(old_readable: str) -> str:
    return re.sub(r"(^|_)extra_layer=(linear|relu)(?=_|$)",
                  lambda m: f"{m.group(1)}extra_layer={EXTRA_LAYER_NAMES[m.group(2)]}", old_readable)


def updated_record(record: dict) -> dict | None:
    """The record as this migration leaves it, or None when it needs no change."""
    config = dict(record["config"])
    if "noise_mode" in config:  # written since the field exists: "linear" there is the bottleneck
        return None
    config = legacy_config(config)  # the one translation, shared with stored_identity
    metadata = dict(record.get("metadata") or {})
    if isinstance(metadata.get("parameters"), dict):
        metadata["parameters"] = _migrated_extra(metadata["parameters"])
    metadata["migrations"] = [*metadata.get("migrations", []), NAME]
    updated = dict(record, config=config, metadata=metadata)
    identity = stored_identity(updated)
    if identity is None:
        raise SystemExit(f"{record.get('run_id')}: its config is not a TrainConfig; cannot compute its identity")
    old_id = record["run_id"]
    readable = _readable(old_id.rsplit("-", 1)[0] if "-" in old_id else "")
    new_id = run_id(identity, readable)
    if new_id != old_id:
        metadata["previous_run_ids"] = [*metadata.get("previous_run_ids", []), old_id]
    updated.update(identity=identity, run_id=new_id)
    return updated


def plan(results: Path) -> list[tuple[Path, Path, dict]]:
    """(old path, new path, updated record) for every result this migration changes."""
    moves, targets = [], {}
    for path, record in _migration_001().stored_records(results):
        updated = updated_record(record)
        if updated is None:
            continue
        new_path = path.with_name(f"{updated['run_id']}.json")
        if new_path in targets or (new_path != path and new_path.exists()):
            raise SystemExit(f"{path} would become {new_path.name}, which is taken")
        targets[new_path] = path
        moves.append((path, new_path, updated))
    return moves


def migrate(results: Path) -> int:
    """Apply ``plan``, then migration 001's ``reused_from`` pass; the number of files changed."""
    moves = plan(results)
    for old, new, record in moves:
        write_json_atomic(new, record, overwrite=old == new)
        if old != new:
            os.unlink(old)
    return len(moves) + _migration_001().migrate(results)


def main(argv: list[str] | None = None) -> int:
    """Command line: migrate RESULTS_DIR (default results/), or only report with --check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", default="results")
    parser.add_argument("--check", action="store_true", help="report what would change; exit 1 if anything")
    args = parser.parse_args(argv)
    results = Path(args.results)
    if not results.is_dir():
        print(f"error: results folder {results} does not exist", file=sys.stderr)
        return 2
    if args.check:
        moves = plan(results)
        for old, new, _ in moves:
            print(f"{old} -> {new.name}")
        return 1 if moves else 0
    print(f"migrated {migrate(results)} file(s) under {results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
