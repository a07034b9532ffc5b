"""Tiny mode: chapters shrink their parameters so the test suite executes every chapter quickly.

The environment variable ``LGTOOLS_TINY=1`` (set by the test suite) turns it on; papermill still
sets full-scale values through a chapter's parameters cell, and those are never shrunk unless
tiny mode is on.
"""

from __future__ import annotations

import numpy as np
import os
from typing import Any


TINY_ENV = "LGTOOLS_TINY"


def tiny() -> bool:
    """True when tiny mode is on (environment variable ``LGTOOLS_TINY`` is 1/true/yes)."""
    return os.environ.get(TINY_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def scale_params(params: dict[str, Any], **tiny_values: Any) -> dict[str, Any]:
    """Return a copy of ``params`` with ``tiny_values`` applied, but only in tiny mode.

    Numbers are capped at their tiny value (tiny mode never makes a run bigger); other values
    are replaced. Outside tiny mode the parameters come back unchanged, so papermill-injected
    values are never shrunk. A list given as text (``papermill -p seeds "[0, 1]"`` injects the
    string) is read as YAML first.
    """
    unknown = sorted(set(tiny_values) - set(params))
    if unknown:
        raise ValueError(
            f"tiny_values: {unknown} are not parameters; allowed names are {sorted(params)}"
        )
    scaled = {name: _list_from_text(name, value) for name, value in params.items()}
    for name, small in tiny_values.items():  # the tiny value's kind is the parameter's, in every mode
        _check_kind(name, scaled[name], small)
    if not tiny():
        return scaled
    for name, small in tiny_values.items():
        value = scaled[name]
        if _is_number(value) and _is_number(small):
            scaled[name] = min(value, small)
        else:
            scaled[name] = small
    return scaled


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__


def _check_kind(name: str, value: Any, small: Any) -> None:
    """A parameter must be of its tiny value's kind (None stands for "all" or "default" and fits any)."""
    if value is None or small is None or _kind(value) == _kind(small):
        return
    example = f" such as {small!r}" if isinstance(small, (list, tuple)) else ""
    raise ValueError(f"parameter {name} must be {_kind(small)}{example}, got {_kind(value)} {value!r}")


def _list_from_text(name: str, value: Any) -> Any:
    """``"[0, 1]"`` → ``[0, 1]``; any other value unchanged."""
    if not (isinstance(value, str) and value.strip().startswith("[")):
        return value
    import yaml

    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise ValueError(f"{name} must be a list such as [0, 1], got {value!r}") from error
    if not isinstance(parsed, list):
        raise ValueError(f"{name} must be a list such as [0, 1], got {value!r}")
    return parsed


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
