"""Migration 001: name every stored result by the one run identity (lgtools.training.identity).

Before 2026-12-01 a result file was named ``<readable>-<10 hex>`` where the hex digits hashed the
sweep parameters that differ from TrainConfig's defaults; the reuse index used another digest,
and ``lgtools train`` a third. Now one function, ``run_identity``, digests the resolved
configuration (hierarchy by content, device kind and resolved precision included), and a file's
name ends in its first 10 hex digits. This script, run from the repository root,

- adds ``identity`` (the full digest) to every result,
- renames a file whose digits differ, keeping its readable part, and records the old run id in
  ``metadata.previous_run_ids``,
- rewrites every ``metadata.reused_from`` that points at a renamed file (also one renamed by an
  earlier invocation, found through its ``previous_run_ids``), so results trained by older code
  can be copied in and migrated later.

Nothing else changes: config, summary, history, confusion matrices, predictions and provenance
stay byte for byte. Re-running it does nothing. ``--check`` only reports what it would change
(exit 1 if anything).

    python migrations/001_one_run_identity.py [RESULTS_DIR] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from lgtools.runs.results import FORMAT, write_json_atomic
from lgtools.training.identity import run_id, stored_identity


def stored_records(results: Path):
    """(path, record) of every lgtools result directly below ``results/<sweep>/``, in path order (all migrations)."""
    for path in sorted(results.glob("*/*.json")):
        if path.name.startswith(".") or path.name.endswith(".failed.json"):
            continue
        record = json.loads(path.read_text())
        if isinstance(record, dict) and record.get("format") == FORMAT:
            yield path, record


def plan(results: Path) -> list[tuple[Path, Path, dict]]:
    """(old path, new path, updated record) for every result that is not named by its identity yet."""
    moves, targets = [], {}
    for path, record in stored_records(results):
        identity = stored_identity(record)
        if identity is None:
            raise SystemExit(f"{path}: its config is not a TrainConfig; cannot compute its identity")
        old_id = record["run_id"]
        readable = old_id.rsplit("-", 1)[0] if "-" in old_id else ""
        new_id = run_id(identity, readable)
        new_path = path.with_name(f"{new_id}.json")
        if new_path in targets:
            raise SystemExit(f"{path} and {targets[new_path]} would both become {new_path.name}")
        targets[new_path] = path
        if record.get("identity") == identity and new_id == old_id:
            continue
        updated = dict(record, identity=identity, run_id=new_id)
        if new_id != old_id:
            metadata = dict(record.get("metadata") or {})
            metadata["previous_run_ids"] = [*metadata.get("previous_run_ids", []), old_id]
            updated["metadata"] = metadata
        moves.append((path, new_path, updated))
    return moves


def migrate(results: Path) -> int:
    """Apply ``plan``, then point every ``reused_from`` at the renamed files; the number of files changed."""
    moves = plan(results)
    renamed = {old.relative_to(results).as_posix(): new.relative_to(results).as_posix()
               for old, new, _ in moves if old != new}
    for old, new, record in moves:
        write_json_atomic(new, record, overwrite=old == new)
        if old != new:
            os.unlink(old)
    changed = len(moves)
    records = {}
    for path in sorted(results.glob("*/*.json")):
        if not path.name.startswith(".") and not path.name.endswith(".failed.json"):
            records[path] = json.loads(path.read_text())
    # Files renamed by an earlier invocation: their old names, from metadata.previous_run_ids.
    for path, record in records.items():
        for old_id in (record.get("metadata") or {}).get("previous_run_ids", []):
            renamed.setdefault(f"{path.parent.name}/{old_id}.json", path.relative_to(results).as_posix())
    for path, record in records.items():
        source = (record.get("metadata") or {}).get("reused_from") if isinstance(record, dict) else None
        if source in renamed and not (results / source).exists():
            record["metadata"]["reused_from"] = renamed[source]
            write_json_atomic(path, record, overwrite=True)
            changed += path not in {new for _, new, _ in moves}
    return changed


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
