"""What a stored result file must say: the one schema of a result record, and a bounded reader for it.

Every reader of ``results/`` goes through ``read_result_file``: ``lgtools.runs.results``
(``load_result``, ``load_results``, ``check_results``) and the sweep (``lgtools.runs.sweep_store``,
which moves a file that fails it aside and trains the run again). A file

- is read bounded: a regular file (no FIFO, device, or link leading out of the results folder),
  at most ``MAX_RESULT_BYTES``, JSON nested at most ``MAX_NESTING`` deep;
- holds a record that ``RESULT_SCHEMA`` (JSON Schema, checked with ``jsonschema``; versioned by
  ``format_version``) accepts: field types, and finite numbers wherever a number was measured
  (``"type": "number"`` here excludes NaN and ±inf);
- and passes what a schema cannot say (``record_problems``): confusion matrices square with the
  class counts, per-image arrays decodable base64 of the length their header gives, the file
  named ``<run_id>.json``, and the identity the one its config gives (``stored_identity``).

One record per identity in a folder is a check over files (``duplicate_problems``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import numpy as np

from lgtools.training.config import TrainConfig
from lgtools.training.identity import DIGEST_LENGTH, legacy_config, run_identity

FORMAT = "lgtools-result"  # marks a file as an lgtools run result; sweep bookkeeping files lack it
FORMAT_VERSION = 1
LABEL_ARRAYS = ("test_predictions", "test_fine_labels", "test_coarse_summed", "test_crm_predictions")
LABEL_ENCODING = "base64-uint16-le"
MAX_RESULT_BYTES = 256 * 2**20  # a 1000-class run (ImageNet) stores ~5 MB; this leaves room, not memory exhaustion
MAX_NESTING = 32  # a result nests 4 deep (history → epoch → value); metadata a few more
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._=,+-]*$"

_MEASURED = {"type": "number"}  # finite: see _finite_number
_MEASURED_OR_NONE = {"type": ["number", "null"]}
_PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
_PERCENT_OR_NONE = {"type": ["number", "null"], "minimum": 0, "maximum": 100}
# Rows of counts; that each count is an integer >= 0 is checked with numpy (``_shape_problems``), not cell by cell.
_MATRIX = {"type": "array", "minItems": 1, "items": {"type": "array"}}
_LABELS = {"type": ["object", "null"], "required": ["encoding", "n", "data"],
           "properties": {"encoding": {"const": LABEL_ENCODING}, "n": {"type": "integer", "minimum": 0},
                          "data": {"type": "string"}}}

RESULT_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": f"lgtools result record, format_version {FORMAT_VERSION}",
    "type": "object",
    "required": ["format", "run_id", "config", "summary", "history", "confusion_coarse", "fine_names",
                 "coarse_names", "fine_to_coarse"],
    "properties": {
        "format": {"const": FORMAT},
        "format_version": {"type": "integer", "minimum": 1, "maximum": FORMAT_VERSION},
        "experiment": {"type": "string"},
        "run_id": {"type": "string", "pattern": RUN_ID_PATTERN},
        "identity": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "config": {"type": "object", "required": ["dataset", "labels", "seed"], "properties": {
            "dataset": {"type": "string"}, "labels": {"enum": ["fine", "coarse"]},
            "seed": {"type": "integer", "minimum": 0}, "epochs": {"type": "integer", "minimum": 1},
            "data_ratio": _MEASURED, "lr": _MEASURED, "noise": _MEASURED}},
        "provenance": {"type": "object"},
        "computation": {"type": "object", "properties": {  # runs stored since issue 28 (older: read from provenance)
            "device_kind": {"enum": ["cpu", "cuda"]}, "device_name": {"type": "string"},
            "threads": {"type": "integer", "minimum": 1}, "torch_version": {"type": "string"},
            "cpu_capability": {"type": "string"}}},
        "metadata": {"type": "object"},
        "summary": {"type": "object", "required": ["test_acc"], "properties": {
            "test_acc": _PERCENT, "train_acc": _PERCENT_OR_NONE, "test_acc_fine": _PERCENT_OR_NONE,
            "test_acc_summed": _PERCENT_OR_NONE, "test_acc_fine_crm": _PERCENT_OR_NONE,
            "test_acc_coarse_head": _PERCENT_OR_NONE, "acr": _MEASURED_OR_NONE,
            "acr_equation": _MEASURED_OR_NONE, "seconds": _MEASURED_OR_NONE,
            "epochs_run": {"type": "integer", "minimum": 0}, "device": {"type": "string"},
            "data_digest": {"type": "object",  # what the run trained and was tested on (runs stored since issue 30)
                            "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}},
        "history": {"type": "array", "items": {"type": "object", "properties": {
            "epoch": {"type": "integer", "minimum": 0}, "train_loss": _MEASURED_OR_NONE,
            "test_loss": _MEASURED_OR_NONE, "train_acc": _PERCENT_OR_NONE, "test_acc": _PERCENT_OR_NONE,
            "train_acc_fine": _PERCENT_OR_NONE, "test_acc_fine": _PERCENT_OR_NONE,
            "seconds": _MEASURED_OR_NONE}}},
        "confusion_fine": {**_MATRIX, "type": ["array", "null"]},
        "confusion_coarse": _MATRIX,
        "fine_names": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "coarse_names": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "fine_to_coarse": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}},
        **{key: _LABELS for key in LABEL_ARRAYS},
    },
}


def _finite_number(checker: Any, instance: Any) -> bool:
    """JSON Schema's "number", less NaN and ±inf (which Python's json reads): a measured number is finite."""
    return (isinstance(instance, (int, float)) and not isinstance(instance, bool)
            and math.isfinite(instance))


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number))
_VALIDATOR = _Validator(RESULT_SCHEMA)


@functools.cache
def _fast_check() -> Any:
    """``RESULT_SCHEMA`` compiled to Python (``fastjsonschema``, ~30× faster): passes or raises at the first violation.

    Its "number" admits NaN, so it decides alone only for a file without NaN or ±inf; any doubt goes
    to ``jsonschema``, which lists every violation.
    """
    return fastjsonschema.compile(RESULT_SCHEMA)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def nesting_depth(data: bytes) -> int:
    """How deep JSON text nests arrays and objects (strings' contents aside), without parsing it."""
    codes = np.frombuffer(_STRING.sub(b"", data), dtype=np.uint8)
    steps = ((codes == 0x5B) | (codes == 0x7B)).astype(np.int32) - ((codes == 0x5D) | (codes == 0x7D))
    return int(steps.cumsum().max()) if steps.size else 0


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve(strict=True).relative_to(root.resolve())
        return True
    except ValueError:
        return False


def read_json_file(path: str | Path, root: str | Path | None = None,
                   limit: int = MAX_RESULT_BYTES) -> tuple[Any, str | None]:
    """(JSON value, None), or (None, what is wrong) for a file that cannot be read safely as JSON.

    Bounded: only a regular file (a link must resolve inside ``root``, default the file's folder),
    at most ``limit`` bytes, nested at most ``MAX_NESTING`` deep; opening never blocks on a FIFO.
    """
    value, problem, _ = _read_json(path, root, limit)
    return value, problem


def _read_json(path: str | Path, root: str | Path | None, limit: int) -> tuple[Any, str | None, bool]:
    """``read_json_file``, and whether the text held NaN or ±Infinity."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    try:
        if path.is_symlink() and not path.exists():
            return None, f"a symbolic link to {os.readlink(path)!r}, which does not exist", False
        if not _inside(path, root):  # the file, or a folder on its way, links elsewhere
            return None, f"a symbolic link leading out of {str(root)!r} (to {str(path.resolve())!r})", False
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, RuntimeError) as error:  # RuntimeError: a link loop (older Pythons)
        return None, f"unreadable ({getattr(error, 'strerror', None) or error})", False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode)
                    or stat.S_ISBLK(info.st_mode) else "a folder" if stat.S_ISDIR(info.st_mode) else "a socket")
            return None, f"{kind}, not a regular file", False
        if info.st_size > limit:
            return None, f"{info.st_size} bytes, more than a stored record may hold ({limit})", False
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        return None, f"unreadable ({error.strerror or error})", False
    finally:
        os.close(fd)
    if len(data) > limit:
        return None, f"more than {limit} bytes, more than a stored record may hold", False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"not valid JSON (not UTF-8 text: {error.reason} at byte {error.start})", False
    depth = nesting_depth(data)
    if depth > MAX_NESTING:
        return None, f"not a result: JSON nested {depth} deep (at most {MAX_NESTING})", False
    constants: list[str] = []
    try:
        return json.loads(text, parse_constant=lambda name: constants.append(name) or float(name)), None, bool(constants)
    except RecursionError:
        return None, f"not a result: JSON nested deeper than {MAX_NESTING}", False
    except ValueError as error:
        return None, f"not valid JSON (truncated or damaged: {error})", False


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is a plain file name (letters, digits, ``. _ = , + -``, no leading dot); ValueError otherwise."""
    if not isinstance(run_id, str) or not re.fullmatch(RUN_ID_PATTERN, run_id):
        raise ValueError(f"run_id must be a plain file name (letters, digits and . _ = , + -, not starting "
                         f"with a dot or a sign), got {run_id!r}")
    return run_id


def _where(error: jsonschema.ValidationError) -> str:
    """``summary.test_acc``, ``history[3].test_loss``: where in the record a violation is."""
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(the record)"


def _message(error: jsonschema.ValidationError) -> str:
    value = error.instance
    if error.validator == "type" and isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    return error.message if len(error.message) < 200 else error.message[:200] + "…"


def decode_label_array(stored: dict) -> np.ndarray:
    """Class indices from ``{"encoding", "n", "data"}``; ValueError if not decodable to ``n`` entries."""
    if stored.get("encoding") != LABEL_ENCODING:
        raise ValueError(f"unknown label encoding {stored.get('encoding')!r}; known: {LABEL_ENCODING!r}")
    try:
        raw = base64.b64decode(str(stored.get("data")), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"data is not valid base64 ({error})") from None
    if len(raw) != 2 * stored.get("n", -1):
        raise ValueError(f"data holds {len(raw)} bytes, its header says n = {stored.get('n')} entries "
                         f"({2 * stored.get('n', 0)} bytes)")
    return np.frombuffer(raw, dtype="<u2").astype(np.int64)


def _shape_problems(record: dict) -> list[str]:
    """Confusion matrices against the class counts, label arrays against their headers and the fine classes."""
    problems = []
    fine, coarse = len(record["fine_names"]), len(record["coarse_names"])
    if len(record["fine_to_coarse"]) != fine or max(record["fine_to_coarse"]) >= coarse:
        problems.append(f"fine_to_coarse: must give each of the {fine} fine classes a coarse index below {coarse}")
    for key, size in (("confusion_coarse", coarse), ("confusion_fine", fine)):
        matrix = record.get(key)
        if matrix is None:
            continue
        if len(matrix) != size or any(len(row) != size for row in matrix):
            problems.append(f"{key}: must be {size}×{size} (the number of classes), got rows of "
                            f"{sorted({len(row) for row in matrix})} in {len(matrix)} rows")
            continue
        counts = np.asarray(matrix)
        if counts.dtype.kind not in "iu" or counts.min() < 0:
            problems.append(f"{key}: must hold counts (integers >= 0), got {counts.dtype} values"
                            + (f" down to {counts.min()}" if counts.dtype.kind in "iuf" else ""))
            continue
    for key in LABEL_ARRAYS:
        if record.get(key) is None:
            continue
        try:
            labels = decode_label_array(record[key])
        except ValueError as error:
            problems.append(f"{key}: {error}")
            continue
        if key == "test_fine_labels" and labels.size and labels.max() >= fine:
            problems.append(f"{key}: class {labels.max()} of {fine} fine classes")
    return problems


def _identity_problems(record: dict, path: Path | None) -> list[str]:
    """The file named after the record's run id, and the identity its config gives."""
    problems = []
    run_id = record["run_id"]
    if path is not None and path.name != f"{run_id}.json":
        problems.append(f"run_id: the file is named {path.name!r}, its record says run {run_id!r} "
                        f"(a result belongs in {run_id}.json)")
    identity = record.get("identity")
    if identity is None:
        return problems
    device = str(record["summary"].get("device") or "cpu")
    try:
        recomputed = run_identity(TrainConfig.from_dict(legacy_config(record["config"])), device)
        if recomputed != identity:  # a config without noise_mode, as save_result writes it (not a legacy one)
            recomputed = run_identity(TrainConfig.from_dict(record["config"]), device)
    except (KeyError, TypeError, ValueError) as error:
        return problems + [f"config: not a training configuration ({' '.join(str(error).split())[:200]})"]
    if recomputed != identity:
        problems.append(f"identity: the record says {identity[:DIGEST_LENGTH]}…, its config and device give "
                        f"{recomputed[:DIGEST_LENGTH]}… (config edited, or another run's record)")
    suffix = re.search(r"(?:^|-)([0-9a-f]{%d})$" % DIGEST_LENGTH, run_id)
    if suffix and suffix.group(1) != identity[:DIGEST_LENGTH]:
        problems.append(f"run_id: ends in {suffix.group(1)}, the identity begins {identity[:DIGEST_LENGTH]}")
    return problems


def record_problems(record: Any, path: str | Path | None = None, finite: bool = False) -> list[str]:
    """Every way ``record`` (as read from ``path``) breaks the result schema, each naming its field; [] if none.

    ``finite``: the JSON text held no NaN or ±Infinity, so the compiled schema may decide alone.
    """
    if not isinstance(record, dict):
        return [f"(the record): holds a {type(record).__name__}, not a result record"]
    try:
        valid = finite and _fast_check()(record) is not None
    except fastjsonschema.JsonSchemaException:
        valid = False
    if not valid:
        errors = sorted(_VALIDATOR.iter_errors(record), key=lambda e: [str(p) for p in e.absolute_path])
        problems = [f"{_where(error)}: {_message(error)}" for error in errors]
        if problems:  # the checks below rely on the types being right
            return problems
    problems = _shape_problems(record)
    return problems + _identity_problems(record, None if path is None else Path(path))


def read_result_file(path: str | Path, root: str | Path | None = None) -> tuple[dict | None, list[str]]:
    """(record, []) for a valid result file; (None, problems) for one that should be a result and is not;
    (None, []) for a JSON file that is no result (a sweep's failure record, a study table)."""
    value, problem, nonfinite = _read_json(path, root, MAX_RESULT_BYTES)
    if problem:
        return None, [problem]
    if not isinstance(value, dict):
        return None, [f"holds a {type(value).__name__}, not a result record"]
    if value.get("format") != FORMAT:
        return None, []
    problems = record_problems(value, path, finite=not nonfinite)
    return (None, problems) if problems else (value, [])


def duplicate_problems(identities: list[tuple[Path, str | None]]) -> list[tuple[Path, str]]:
    """(path, problem) for each file whose identity an earlier file of the same folder already holds."""
    first: dict[tuple[Path, str], Path] = {}
    problems = []
    for path, identity in identities:
        if identity is None:
            continue
        key = (path.parent, identity)
        if key in first:
            problems.append((path, f"identity: the same run ({identity[:DIGEST_LENGTH]}…) as {first[key].name}; "
                                   "one record per run"))
        else:
            first[key] = path
    return problems
