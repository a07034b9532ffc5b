"""A run's one identity: a digest of everything in its resolved configuration that changes its numbers.

``run_identity(config)`` is what the sweep names a run by, what the result store files it under
and what the reuse-by-content index looks runs up by; a checkpoint resumes only a run of the same
identity. It digests the ``TrainConfig`` after ``__post_init__`` resolved it (``model="auto"``
→ the network), with

- the hierarchy by content (fine names in label order and their coarse index), so ``None``,
  ``"cifar10"``, ``"cifar10_table6_1"`` and the bits ``"0011111100"`` are one grouping;
- the device kind (``cpu`` or ``cuda``) and the precision as resolved for it (``"auto"`` is bf16
  on CUDA, fp32 on a CPU), since a GPU run and a CPU run of one config give different numbers;
- float fields as floats (``lr: 1`` and ``lr: 1.0`` are one run);
- and without the fields that change no number: where the data lies, the results folder name,
  checkpoints, progress bars; nor how the arithmetic is done (threads, ``torch.compile``,
  the memory layout, the evaluation batch size). Those can give another network (1 and 2 threads do,
  measured): a stored result records them as its ``computation`` (``lgtools.training.provenance``),
  and one identity is one network only with one computation (``lgtools.runs.compare.same_network``).

``noise_mode`` is left out when a run has no noise. A field equal to its value in ``IDENTITY_BASELINE`` is left out of the digest, so a field added
to ``TrainConfig`` later (with a baseline value that reproduces today's runs) changes no stored
identity, and changing a default in ``TrainConfig`` never renames a stored run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import typing
from typing import Any

from lgtools.labels.builtin import resolve_for
from lgtools.training.config import TrainConfig, check_seed

# Fields that change no number of a run (where things are, how they are shown or how fast).
NOT_IDENTITY = ("experiment", "data_root", "checkpoint_dir", "keep_weights", "init_from", "pseudo_from", "progress", "num_threads",
                "eval_batch_size", "compile", "device", "precision", "eval_train")
# The values a field takes in every run stored so far when nothing set it: left out of the digest.
IDENTITY_BASELINE = {
    "hierarchy": None, "labels": "fine", "model": "preact_resnet18", "width": None, "dropout": 0.0,
    "extra_layer": None, "epochs": 200, "batch_size": 256, "lr": 0.1, "momentum": 0.9,
    "weight_decay": 5e-4, "schedule": "paper", "label_smoothing": 0.0, "loss": "cross_entropy", "loss_param": 0.0, "coarse_head": None, "init_identity": None, "data_ratio": 1.0, "train_part": "all",
    "scale_epochs": True, "noise": 0.0, "noise_mode": "redraw", "noise_test": False, "pseudo_k": 0, "pseudo_features": "pixels", "pseudo_within": "coarse", "pseudo_identity": None, "augment": True, "seed": 0,
    "max_train": None, "max_test": None, "dataset": "synthetic",
    "nesterov": False, "bias_lr_scale": 1.0, "lookahead": False, "whiten_bias_epochs": 3, "flip": "random",
    "crop_padding": 4, "crop_pad_mode": "zeros", "tta": 0,
}
# What a config written before noise_mode existed meant (see migrations/002_*): its noise was
# redrawn, and its "linear" / "relu" extra layers were square ones.
LEGACY_CONFIG = {"noise_mode": "redraw"}
LEGACY_EXTRA_LAYERS = {"linear": "square", "relu": "square_relu"}


def legacy_config(config: dict) -> dict:
    """A stored config as today's fields read it: unchanged if it names its ``noise_mode``, else translated."""
    if "noise_mode" in config:
        return dict(config)
    out = {**LEGACY_CONFIG, **config}
    if out.get("extra_layer") in LEGACY_EXTRA_LAYERS:
        out["extra_layer"] = LEGACY_EXTRA_LAYERS[out["extra_layer"]]
    return out
DEVICE_KINDS = ("cpu", "cuda")
DIGEST_LENGTH = 10  # hex digits of the identity in a run id (file names); the full digest is stored


def digest(values: dict, length: int | None = None) -> str:
    """SHA-256 (hex) of a JSON-able dict with sorted keys: the one hash behind every run id."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    full = hashlib.sha256(text.encode()).hexdigest()
    return full if length is None else full[:length]


def device_kind(device: str) -> str:
    """``"cpu"`` or ``"cuda"`` for a config's device (``"auto"`` as this machine resolves it) or a stored device name."""
    if device == "auto":
        return _auto_kind()
    return "cpu" if str(device).startswith("cpu") else "cuda"


CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of x86 CPUs with bf16 arithmetic


@functools.cache
def _auto_kind() -> str:
    """``device_kind("auto")`` on this machine, asked of torch once (a sweep's listing asks once per run)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """This CPU's feature flags (from ``/proc/cpuinfo``, or the text given); empty where unreadable."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def cpu_has_bf16(flags: set[str] | None = None) -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX), where bf16 autocast pays."""
    return bool(set(CPU_BF16_FLAGS) & (cpu_flags() if flags is None else flags))


def resolved_precision(precision: str, kind: str) -> str:
    """``"auto"`` → bf16 on CUDA, fp32 on a CPU; ``"fast"`` → bf16 on CUDA and bf16 CPUs, else fp32; others as they are.

    On an AVX2-only CPU bf16 autocast converts every operand in software and runs slower than fp32.
    """
    if kind not in DEVICE_KINDS:
        raise ValueError(f"kind must be one of {DEVICE_KINDS}, got {kind!r}")
    if precision == "auto":
        return "bf16" if kind == "cuda" else "fp32"
    if precision == "fast":
        return "bf16" if kind == "cuda" or cpu_has_bf16() else "fp32"
    return precision


def hierarchy_content(config: TrainConfig) -> Any:
    """The run's grouping as [fine names, coarse index per fine class]; a folder's own classes by name."""
    hierarchy = resolve_for(config.dataset, config.hierarchy)
    if hierarchy is None:  # an image folder's own classes: as written
        return config.hierarchy if config.hierarchy is not None else config.dataset
    return [list(hierarchy.fine_names), [int(c) for c in hierarchy.fine_to_coarse]]


@functools.cache
def _field_types() -> dict[str, Any]:
    """TrainConfig's field types, resolved once (every stored result read recomputes its identity)."""
    return typing.get_type_hints(TrainConfig)


@functools.cache
def _identity_fields() -> tuple[tuple[str, bool, Any], ...]:
    """(name, is a float field, baseline value) of each field the identity digests, in field order, listed once."""
    hints = _field_types()
    return tuple((f.name, hints[f.name] is float, IDENTITY_BASELINE.get(f.name, dataclasses.MISSING))
                 for f in dataclasses.fields(TrainConfig) if f.name not in NOT_IDENTITY)


def identity_values(config: TrainConfig, device: str | None = None, precision: str | None = None) -> dict:
    """What ``run_identity`` digests: the fields that change the numbers, baseline values left out.

    ``precision``: the precision the run actually used (a stored run's ``summary.precision``); a config's
    ``"fast"`` resolves on the CPU that ran it, not on the reader's.
    """
    kind = device_kind(config.device if device is None else device)
    values: dict[str, Any] = {}
    for name, is_float, baseline in _identity_fields():
        value = getattr(config, name)
        if name == "hierarchy":
            value = None if value is None else hierarchy_content(config)
        elif is_float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if name == "noise_mode" and not config.noise:
            continue  # without noise the procedure changes nothing
        if value == baseline and isinstance(value, bool) == isinstance(baseline, bool):
            continue
        values[name] = value
    # A hierarchy is always compared by content: None means the dataset's own grouping.
    values["hierarchy"] = hierarchy_content(config)
    values["device_kind"] = kind
    values["precision"] = (precision if precision is not None and config.precision == "fast"
                           else resolved_precision(config.precision, kind))
    return values


def run_identity(config: TrainConfig, device: str | None = None, precision: str | None = None) -> str:
    """The run's identity (64 hex digits); ``device`` is where it ran or runs (default: ``config.device`` here).

    ``precision``: what a stored run used (see ``identity_values``); None resolves the config's on this machine.
    """
    return digest(identity_values(config, device, precision))


def parameters_identity(parameters: dict) -> str:
    """``run_identity(TrainConfig(**parameters))``, with the config checked once for all seeds of one setting.

    A sweep's grid is mostly seeds: everything but the seed is checked and resolved once (cached), the seed by
    ``check_seed``, so listing 10^5 runs does not build 10^5 configs. Same identity, same errors, as building each.
    """
    rest = {name: value for name, value in parameters.items() if name != "seed"}
    try:
        # each value's type in the key: True == 1 and 1 == 1.0 hash alike, but TrainConfig checks them apart
        key = tuple(sorted((name, type(value).__name__, value) for name, value in rest.items()))
        hash(key)
    except TypeError:  # a value with no hash (a list, a Hierarchy object): build the config itself
        return run_identity(TrainConfig(**parameters))
    values = dict(_unseeded_values(key))  # raises what TrainConfig raises for every field but the seed
    seed = parameters.get("seed", TrainConfig.seed)
    check_seed(seed)
    if seed != IDENTITY_BASELINE["seed"]:
        values["seed"] = seed
    return digest(values)


@functools.lru_cache(maxsize=4096)
def _unseeded_values(key: tuple) -> dict:
    """``identity_values`` of the config these (name, type, value) triples give, at the baseline seed (so without one)."""
    return identity_values(TrainConfig(**{name: value for name, _, value in key}, seed=IDENTITY_BASELINE["seed"]))


def stored_identity(record: dict) -> str | None:
    """``run_identity`` of a stored result (its config, on the device its summary names); None if not a run."""
    try:
        config = TrainConfig.from_dict(legacy_config(record["config"]))
        summary = record.get("summary") or {}
        device = summary.get("device") or "cpu"
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return run_identity(config, device, summary.get("precision"))


def run_id(identity: str, readable: str = "") -> str:
    """A run's file name: ``readable`` (the values that set it apart) + "-" + the identity's first digits."""
    short = identity[:DIGEST_LENGTH]
    return f"{readable}-{short}" if readable else short
