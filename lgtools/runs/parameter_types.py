"""The types of a run's parameters: a notebook's parameters cell, read without running it, and the YAML values that fit.

A sweep spec (``runs.sweep_spec``) and ``python -m lgtools chapter`` check every parameter before anything runs:
a train run's against ``TrainConfig``'s type hints, a notebook run's against its parameters cell, whose
annotations are parsed and looked up in a fixed table (nothing in a notebook is executed).
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path
from typing import Any


# The names a parameters cell's annotation or ``# type:`` comment may use; anything else reads as "any".
_NOTEBOOK_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "List": list,
                   "dict": dict, "Dict": dict, "tuple": tuple, "Tuple": tuple, "None": type(None),
                   "NoneType": type(None), "Any": typing.Any}
_NOTEBOOK_GENERICS = {"list": list, "List": list, "tuple": tuple, "Tuple": tuple, "dict": dict, "Dict": dict}
MAX_TYPE_TEXT = 200  # characters of a type annotation read at all; a longer one reads as "any"


def _type_from_node(node: ast.AST) -> Any:
    """The type a parsed annotation names, from ``_NOTEBOOK_TYPES`` only; ValueError for anything else."""
    if isinstance(node, ast.Constant) and node.value is None:
        return type(None)
    if isinstance(node, ast.Name) and node.id in _NOTEBOOK_TYPES:
        return _NOTEBOOK_TYPES[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # int | None
        return typing.Union[_type_from_node(node.left), _type_from_node(node.right)]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        name = node.value.id
        if name == "Literal":
            values = [ast.literal_eval(item) for item in items]  # constants only: nothing is called
            return typing.Literal[tuple(values)]
        if name == "Optional" and len(items) == 1:
            return typing.Optional[_type_from_node(items[0])]
        if name == "Union":
            return typing.Union[tuple(_type_from_node(item) for item in items)]
        if name in _NOTEBOOK_GENERICS:
            generic = _NOTEBOOK_GENERICS[name]
            if generic is dict:
                return dict
            return generic[tuple(_type_from_node(item) for item in items)] if generic is tuple \
                else generic[_type_from_node(items[0])]
    raise ValueError(f"type {ast.dump(node)[:60]} is not among {sorted(_NOTEBOOK_TYPES)}")


def notebook_type(text: str) -> Any:
    """The type a parameters-cell annotation names (``int``, ``list[float]``, ``Optional[str]``), or None (any).

    Read by parsing it and looking names up in a fixed table: nothing in a notebook is ever run.
    """
    if not isinstance(text, str) or len(text) > MAX_TYPE_TEXT:
        return None
    try:
        return _type_from_node(ast.parse(text.strip(), mode="eval").body)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        return None  # a type we do not read: accept any value, the run's own checks decide


def notebook_parameter_types(notebook: str | Path) -> dict[str, Any]:
    """A notebook's parameters-cell names and the type of each (None: any), read without running anything.

    The type is the name's annotation, else its default's type.
    """
    import papermill

    try:
        found = papermill.inspect_notebook(str(notebook))
    except Exception as error:  # nbformat raises many kinds on a file that is no notebook: one line naming it
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"notebook {str(notebook)!r} is not a readable Jupyter notebook: "
                         f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}") from None
    types = {}
    for name, info in found.items():
        hint = None
        if info.get("inferred_type_name") not in (None, "None"):
            hint = notebook_type(info["inferred_type_name"])
        else:
            try:
                default = ast.literal_eval(info.get("default", "None"))
            except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
                default = None  # an expression, not a constant: accept any value
            hint = None if default is None else (float if isinstance(default, float) else type(default))
        types[name] = hint
    return types


def check_notebook_parameters(notebook: str | Path, parameters: dict[str, Any]) -> None:
    """Refuse, before the notebook runs, a parameter its parameters cell does not define or a value of another type.

    papermill itself only logs "Passed unknown parameter" and runs the cell's default; here the ValueError names the
    parameter, the notebook and the allowed names (or the type the cell gives it).
    """
    types = notebook_parameter_types(notebook)
    if not types:
        raise ValueError(f"notebook {str(notebook)!r} has no cell tagged parameters; it takes no parameters")
    for name, value in parameters.items():
        if name not in types:
            raise ValueError(f"parameter {name!r} is not in the parameters cell of {Path(notebook).name}; "
                             f"allowed: {sorted(types)}")
        if not fits(value, types[name]):
            raise ValueError(f"parameter {name!r} of {Path(notebook).name} must be {type_name(types[name])}, "
                             f"got {type(value).__name__} {value!r}")


def fits(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits a type hint (int fits float; bool fits only bool)."""
    if hint is None or hint is typing.Any:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return any(fits(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin in (list, tuple) or hint in (list, tuple):
        return isinstance(value, list) and all(fits(v, args[0] if args else None) for v in value)
    if hint is type(None):
        return value is None
    if hint is bool or isinstance(value, bool):
        return hint is bool and isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float))
    if isinstance(hint, type):
        return isinstance(value, hint)  # a class YAML cannot build (Hierarchy) never matches
    return True  # an annotation we do not interpret: leave it to the run's own checks


def type_name(hint: Any) -> str:
    """A type hint as an error message names it (``int``, ``Optional[str]``)."""
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
