"""Stored results: one JSON file per training run, with provenance, read back as a DataFrame.

Every chapter's "stored results" view and the scorecard read ``results/`` through this module.
A fine-label run keeps its fine test confusion matrix, so A_FC and ACR for any other grouping
of the same fine classes are recomputed here (``reevaluate``) instead of retrained (Table VI,
Table VII, Fig 6/7).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lgtools import metrics
from lgtools.labels.builtin import as_hierarchy
from lgtools.labels.validate import as_label_array
from lgtools.runs.record import (
    FORMAT,
    FORMAT_VERSION,
    LABEL_ARRAYS,
    LABEL_ENCODING,
    check_run_id,
    decode_label_array,
    duplicate_problems,
    read_result_file,
    record_problems,
)
from lgtools.training.config import TrainConfig
from lgtools.training.identity import run_id as make_run_id
from lgtools.training.identity import IDENTITY_BASELINE, device_kind, resolved_precision, run_identity, stored_identity
from lgtools.training.provenance import computation, provenance

if TYPE_CHECKING:  # pandas loads in the functions that build frames: a sweep's listing never does
    import pandas as pd


CONFIG_COLUMNS = ("dataset", "hierarchy", "labels", "model", "width", "epochs", "data_ratio",
                  "noise", "dropout", "extra_layer", "seed", "schedule", "lr", "batch_size",
                  "label_smoothing", "noise_test", "augment", "max_train", "max_test", "noise_mode",
                  "weight_decay", "momentum", "scale_epochs", "loss", "loss_param", "pseudo_k", "pseudo_features",
                  "coarse_head", "init_from", "init_identity", "pseudo_within", "pseudo_identity", "tta", "num_threads",
                  "nesterov", "bias_lr_scale", "lookahead", "whiten_bias_epochs", "flip", "crop_padding",
                  "crop_pad_mode")
RECIPE_COLUMNS = ("tta", "nesterov", "bias_lr_scale", "lookahead", "whiten_bias_epochs", "flip", "crop_padding",
                  "crop_pad_mode")  # the fast recipe's fields: baseline values for runs stored before them
SUMMARY_COLUMNS = ("train_acc", "test_acc", "test_acc_fine", "acr", "acr_equation",
                   "images_per_s", "seconds", "peak_memory_mb", "device", "test_acc_summed", "noise_share", "epochs_run",
                   "test_acc_fine_crm", "pseudo_train_nmi", "pseudo_train_ari", "pseudo_test_nmi",
                   "test_acc_coarse_head", "test_acc_no_tta", "test_acc_fine_no_tta", "train_gflop_per_s",
                   "precision", "train_acc_eval", "train_acc_fine_eval")
# Every column of the results table, live or stored (``load_results``, ``result_row``): the first 24
# are the ones the book relies on; the rest are there for whoever needs them.
COLUMNS = ("experiment", "dataset", "hierarchy", "labels", "model", "width", "epochs",
           "data_ratio", "noise", "dropout", "extra_layer", "seed", "train_acc", "test_acc",
           "test_acc_fine", "acr", "device", "seconds", "run_id", "path", "git_rev", "date",
           "schedule", "scale", "lr", "batch_size", "label_smoothing", "noise_test", "augment",
           "max_train", "max_test", "acr_equation", "images_per_s", "peak_memory_mb",
           "device_name", "git_dirty", "epoch_seconds", "identity", "reused_from", "noise_mode",
           "weight_decay", "momentum", "scale_epochs", "test_acc_summed", "noise_share",
           "best_test_acc", "best_epoch", "train_acc_fine", "epochs_run", "loss", "loss_param",
           "test_acc_fine_crm", "pseudo_k", "pseudo_train_nmi", "pseudo_train_ari", "pseudo_test_nmi",
           "pseudo_features", "coarse_head", "test_acc_coarse_head", "init_from", "init_identity", "pseudo_within", "pseudo_identity",
           "tta", "num_threads", "test_acc_no_tta", "test_acc_fine_no_tta", "train_gflop_per_s", "precision",
           "nesterov", "bias_lr_scale", "lookahead", "whiten_bias_epochs", "flip", "crop_padding", "crop_pad_mode",
           "train_acc_eval", "train_acc_fine_eval")


def to_jsonable(value: Any) -> Any:
    """Convert configs and results (numpy, torch, Path, Hierarchy, dataclasses) to plain JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray,)):
        return value.tolist()
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        return value.detach().cpu().tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if all(hasattr(value, a) for a in ("fine_names", "coarse_names", "fine_to_coarse")):
        return {"name": str(getattr(value, "name", "custom")),
                "fine_names": list(value.fine_names), "coarse_names": list(value.coarse_names),
                "fine_to_coarse": to_jsonable(np.asarray(value.fine_to_coarse))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    return str(value)  # torch.device, dtypes, enums: their text is what a reader needs


def _umask() -> int:
    """The process's umask (read by setting it, then restored at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def ensure_writable(directory: str | Path, what: str = "results") -> Path:
    """Create ``directory`` and check that files can be written there, before any training; ValueError naming it if not."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise ValueError(f"{what} folder {str(directory)!r} is not writable ({error.strerror or error})") from None
    return directory


def write_json_atomic(path: Path, record: dict, overwrite: bool = False) -> Path:
    """Write JSON through a temporary file; never leaves a half-written file at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are shared files (0644 by default)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle, indent=1, allow_nan=True)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:  # link fails if the target exists: no window where a result is clobbered
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(f"result already exists: {path} (pass overwrite=True)")
            except OSError:  # filesystems without hard links
                if path.exists():
                    raise FileExistsError(f"result already exists: {path} (pass overwrite=True)")
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def encode_labels(labels: np.ndarray | None) -> dict | None:
    """Class indices as base64 of little-endian uint16 (about 2.7 characters per image, not ~6 as JSON)."""
    if labels is None:
        return None
    labels = as_label_array(labels, "labels", 2**16)
    data = base64.b64encode(labels.astype("<u2").tobytes()).decode("ascii")
    return {"encoding": LABEL_ENCODING, "n": int(labels.size), "data": data}


def decode_labels(stored: dict | None) -> np.ndarray | None:
    """Inverse of ``encode_labels``: an int64 array (None stays None)."""
    return None if stored is None else decode_label_array(stored)


def save_result(result: Any, directory: str | Path = "results", experiment: str | None = None,
                run_id: str | None = None, overwrite: bool = False,
                metadata: dict | None = None) -> Path:
    """Write a RunResult to ``directory/<experiment>/<run_id>.json`` with provenance."""
    config = to_jsonable(dict(result.config))
    experiment = experiment or config.get("experiment") or "adhoc"
    identity = run_identity(TrainConfig.from_dict(config), str(result.summary.get("device") or "cpu"))
    run_id = run_id or make_run_id(identity)
    check_run_id(str(run_id))
    summary = to_jsonable(dict(result.summary))
    record = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "experiment": experiment,
        "run_id": run_id, "identity": identity, "config": config, "provenance": provenance(config, summary),
        # what computed it: one identity run with 1 and 2 threads gives two networks (lgtools.training.provenance)
        "computation": computation(config, str(summary.get("device") or "cpu")),
        "metadata": to_jsonable(dict(metadata or {})), "summary": summary,
        "history": to_jsonable(list(result.history)),
        "confusion_fine": to_jsonable(result.confusion_fine),
        "confusion_coarse": to_jsonable(result.confusion_coarse),
        "fine_names": to_jsonable(result.fine_names),
        "coarse_names": to_jsonable(result.coarse_names),
        "fine_to_coarse": to_jsonable(result.fine_to_coarse),
        **{key: encode_labels(getattr(result, key, None)) for key in LABEL_ARRAYS},
    }
    path = Path(directory) / experiment / f"{run_id}.json"
    problems = record_problems(json.loads(json.dumps(record)), path)  # as a reader will see it
    if problems:
        raise ValueError(f"result of run {run_id} not stored: {'; '.join(problems)}")
    return write_json_atomic(path, record, overwrite=overwrite)


def load_result(path: str | Path) -> dict:
    """Read one stored result (a dict; confusion matrices and per-image labels as numpy arrays).

    ``test_predictions`` and ``test_fine_labels`` are None for runs stored before they were kept.
    A file the result schema refuses (``lgtools.runs.record``) raises ValueError naming it and every problem.
    """
    record, problems = read_result_file(path)
    if problems:
        raise ValueError(f"path {path} is not a valid lgtools result: {'; '.join(problems)}")
    if record is None:
        raise ValueError(f"path {path} is not an lgtools result (no format {FORMAT!r})")
    for key in ("confusion_fine", "confusion_coarse", "fine_to_coarse"):
        if record.get(key) is not None:
            record[key] = np.asarray(record[key], dtype=np.int64)
    for key in LABEL_ARRAYS:
        record[key] = decode_labels(record.get(key))
    record["path"] = str(path)
    return record


def hierarchy_label(config: dict) -> str:
    """A short text name for a run's hierarchy (None = the dataset's default)."""
    value = config.get("hierarchy")
    if value is None:
        return str(config.get("dataset"))
    if isinstance(value, dict):
        if value.get("name") not in (None, "custom"):
            return str(value["name"])
        mapping = value.get("fine_to_coarse", [])
        if len(value.get("coarse_names", [])) <= 10:
            return "".join(str(int(c)) for c in mapping)
        return "custom-" + hashlib.sha256(json.dumps(value).encode()).hexdigest()[:8]
    return str(value)


def _scale(record: dict) -> str:
    """The run's scale tag: metadata ``scale``, else an ``…-scale`` part of the experiment."""
    scale = record.get("metadata", {}).get("scale")
    if scale:
        return str(scale)
    found = re.search(r"([A-Za-z0-9]+-scale)", str(record.get("experiment", "")))
    return found.group(1) if found else ""


def result_row(config: dict, summary: dict, **extra: Any) -> dict:
    """One results-table row (``COLUMNS``) from a run's config and summary, stored or live; ``extra`` set last."""
    row = {c: config.get(c) for c in CONFIG_COLUMNS}
    row.update({c: summary.get(c) for c in SUMMARY_COLUMNS})
    row["hierarchy"] = hierarchy_label(config)
    row["loss"] = config.get("loss") or "cross_entropy"  # runs stored before the field trained with it
    row["loss_param"] = float(config.get("loss_param") or 0.0)
    row["pseudo_k"] = int(config.get("pseudo_k") or 0)  # 0: the annotators' fine labels
    # What was clustered (None without pseudo-fine labels; runs stored before the field clustered pixels).
    row["pseudo_features"] = (config.get("pseudo_features") or "pixels") if row["pseudo_k"] else None
    row["pseudo_within"] = (config.get("pseudo_within") or "coarse") if row["pseudo_k"] else None
    if not config.get("noise"):  # without noise the procedure changed nothing (as in the run identity)
        row["noise_mode"] = None
    for column in RECIPE_COLUMNS:  # runs stored before these fields existed ran with their baseline values
        if config.get(column) is None:
            row[column] = IDENTITY_BASELINE[column]
    if row.get("precision") is None:  # stored before runs recorded it: as the config resolved on its device
        row["precision"] = resolved_precision(config.get("precision") or "auto",
                                              device_kind(str(summary.get("device") or "cpu")))
    row.update(extra)
    return row


def best_epoch(history: list[dict]) -> tuple[int | None, float | None]:
    """(epoch, test_acc) of the epoch with the highest coarse-level test accuracy: the authors' checkpoint choice.

    ``main_f2c.py`` saved the checkpoint whenever the test accuracy beat the best so far, so the
    first epoch reaching the maximum is the one they kept. (None, None) without a history.
    """
    scored = [(row.get("epoch"), row.get("test_acc")) for row in history or [] if row.get("test_acc") is not None]
    if not scored:
        return None, None
    epoch, acc = max(scored, key=lambda item: item[1])  # max keeps the first of equal values
    return epoch, float(acc)


def _row(record: dict) -> dict:
    """One DataFrame row from a stored result."""
    prov = record.get("provenance", {})
    # Training and evaluation time over every epoch, also those of attempts before a resume
    # (summary "seconds" is only the last process's wall time).
    history = record.get("history") or []
    seconds = float(sum(h.get("seconds") or 0.0 for h in history)) if history else None
    best = best_epoch(history)
    metadata = record.get("metadata") or {}
    config = record["config"]
    if metadata.get("reused_from"):  # a copy answers to its own sweep's names (e.g. Table VI's "(1)" for cifar10)
        config = {**config, **{key: value for key, value in (metadata.get("parameters") or {}).items()
                               if key in config and key != "data_root"}}
    return result_row(config, record["summary"], experiment=record.get("experiment"),
                      best_test_acc=best[1], best_epoch=best[0],
                      train_acc_fine=history[-1].get("train_acc_fine") if history else None,
                      run_id=record.get("run_id"), identity=record.get("identity") or stored_identity(record),
                      path=record.get("path"), scale=_scale(record), git_rev=prov.get("git_rev"),
                      git_dirty=prov.get("git_dirty"), date=prov.get("date"),
                      device_name=prov.get("device_name"), epoch_seconds=seconds,
                      reused_from=metadata.get("reused_from"))


class ResultProblem(UserWarning):
    """A file under a results folder that should be a result and is not a valid one."""


def read_record(path: str | Path, root: str | Path | None = None) -> tuple[dict | None, str | None]:
    """(record, problem) of a would-be result file, read once (bounded) and checked against the result
    schema (``lgtools.runs.record``): the record if valid, else None; every problem, joined, if it
    should be a result and is not; (None, None) for a JSON file that is no result."""
    record, problems = read_result_file(path, root)
    return record, ("; ".join(problems) if problems else None)


def result_problem(path: str | Path, root: str | Path | None = None) -> str | None:
    """What is wrong with a would-be result file (every schema violation, joined), or None if it is fine or no result."""
    return read_record(path, root)[1]


def _result_files(root: Path) -> list[Path]:
    """Every ``*.json`` below ``root``, hidden files and folders (temporaries, staging) left out."""
    return [path for path in sorted(root.rglob("*.json")) if root.is_dir()
            and not any(part.startswith(".") for part in path.relative_to(root).parts)]


def _linked_folders(root: Path) -> list[Path]:
    """Folders below ``root`` that are symbolic links (never read: a result lies in the results folder itself)."""
    found = []
    for folder, names, _ in os.walk(root):
        for name in names:
            if not name.startswith(".") and os.path.islink(os.path.join(folder, name)):
                found.append(Path(folder) / name)
    return sorted(found)


def _read_all(root: Path) -> tuple[list[tuple[Path, dict]], list[tuple[Path, str]]]:
    """(valid records with their paths, (path, problem) for every problem) of the result files under ``root``."""
    records, problems = [], []
    for folder in _linked_folders(root):
        problems.append((folder, "a symbolic link to a folder; results are read only from folders inside "
                                 f"{str(root)!r} (copy the files instead)"))
    for path in _result_files(root):
        record, found = read_result_file(path, root)
        problems += [(path, problem) for problem in found]
        if record is not None:
            records.append((path, record))
    duplicates = duplicate_problems([(path, record.get("identity")) for path, record in records])
    twice = {path for path, _ in duplicates}
    return [(p, r) for p, r in records if p not in twice], sorted(problems + duplicates, key=lambda item: str(item[0]))


def check_results(directory: str | Path = "results") -> list[tuple[Path, str]]:
    """Every problem under a results folder, one (path, problem) per schema violation; empty when all is well."""
    return _read_all(Path(directory))[1]


def load_results(directory: str | Path = "results") -> pd.DataFrame:
    """Every stored result below ``directory`` (recursive), one row per run; empty if none.

    A file that should be a result and is not (truncated, not JSON, required fields missing) is
    left out with a ``ResultProblem`` warning naming it and what is wrong, never silently.
    """
    rows = []
    records, problems = _read_all(Path(directory))
    by_path: dict[Path, list[str]] = {}
    for path, problem in problems:
        by_path.setdefault(path, []).append(problem)
    for path, found in by_path.items():
        warnings.warn(f"{path}: {'; '.join(found)}; left out (python -m lgtools results --check lists every problem)",
                      ResultProblem, stacklevel=2)
    for path, record in records:
        record["path"] = str(path)
        rows.append(_row(record))
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.sort_values(["experiment", "run_id"], ignore_index=True) if rows else frame


def _is_series(value: Any) -> bool:
    """Whether ``value`` is a pandas Series (a row of ``load_results``), without importing pandas to ask."""
    pandas = sys.modules.get("pandas")  # no Series exists before pandas is loaded
    return pandas is not None and isinstance(value, pandas.Series)


def _fine_confusion(result_or_row: Any) -> tuple[np.ndarray, list[str], str]:
    """(fine confusion, fine names, where it came from) of a result, row, record or path."""
    source = result_or_row
    if isinstance(source, (str, Path)):
        source = load_result(source)
    elif isinstance(source, dict) and "format" not in source or _is_series(source):
        if not source.get("path"):
            raise ValueError("result_or_row: a row needs a 'path' column to find its result file")
        source = load_result(source["path"])
    if isinstance(source, dict):
        confusion, names, where = source.get("confusion_fine"), source.get("fine_names"), source.get("path")
    else:  # a RunResult
        confusion, names, where = source.confusion_fine, source.fine_names, "RunResult"
    if confusion is None:
        raise ValueError(f"result_or_row ({where}) has no fine confusion matrix: only fine-label "
                         "runs can be re-evaluated under another hierarchy")
    return np.asarray(confusion), [str(n) for n in names], str(where)


def reevaluate(result_or_row: Any, hierarchy: Any) -> dict:
    """A_FC (%) and ACR (both conventions) of a stored fine run under another hierarchy."""
    confusion, fine_names, where = _fine_confusion(result_or_row)
    target = as_hierarchy(hierarchy, fine_names)
    if list(target.fine_names) != fine_names:
        raise ValueError(f"hierarchy {getattr(target, 'name', '?')!r} is over fine classes "
                         f"{list(target.fine_names)[:5]}…, the run ({where}) over {fine_names[:5]}…; "
                         "they must be the same classes in the same order")
    return {"hierarchy": hierarchy if isinstance(hierarchy, str) else target.name,
            "num_coarse": int(target.num_coarse),
            "a_fc": metrics.coarse_accuracy_from_confusion(confusion, target),
            "acr": metrics.acr(confusion, target, convention="code"),
            "acr_equation": metrics.acr(confusion, target, convention="equation")}


def reevaluate_runs(df: pd.DataFrame, hierarchies: list) -> pd.DataFrame:
    """Rows of every fine run in ``df`` re-scored under each hierarchy (Table VI, Fig 6/7).

    ``test_acc`` becomes A_FC under the new hierarchy and ``acr``/``acr_equation`` follow it;
    ``train_acc``, ``best_test_acc`` and ``test_acc_summed`` are NaN (only the last epoch's fine
    confusion is stored, no probabilities); ``reevaluated_from`` keeps the
    hierarchy the run was trained with.
    """
    rows = []
    for _, row in df[df["labels"] == "fine"].iterrows():
        record = load_result(row["path"])
        for hierarchy in hierarchies:
            scores = reevaluate(record, hierarchy)
            rows.append({**row.to_dict(), "reevaluated_from": row["hierarchy"],
                         "hierarchy": scores["hierarchy"], "test_acc": scores["a_fc"],
                         "acr": scores["acr"], "acr_equation": scores["acr_equation"],
                         "train_acc": float("nan"), "best_test_acc": float("nan"), "best_epoch": None,
                         "test_acc_summed": float("nan")})
    import pandas as pd

    return pd.DataFrame(rows, columns=list(df.columns) + ["reevaluated_from"])
