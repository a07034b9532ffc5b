"""The package's own rules (CONTRIBUTING.md), checked on the source so that they cannot drift."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import lgtools

PACKAGE = Path(lgtools.__file__).resolve().parent
ROOT = PACKAGE.parent
MODULES = sorted(p for p in PACKAGE.glob("*.py") if p.name != "__init__.py")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def test_every_module_is_listed_where_readers_look() -> None:
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    listed = set(re.findall(r"\w+", lgtools.__doc__.split("Modules", 1)[1].split(".", 1)[0]))
    for path in MODULES:
        if path.name == "__main__.py":
            continue
        assert f"`lgtools/{path.name}`" in contributing, f"{path.name} missing from CONTRIBUTING.md's table"
        assert path.stem in listed, f"{path.stem} missing from the module list in lgtools' docstring"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_have_a_docstring_and_public_functions_are_documented_and_typed(path: Path) -> None:
    tree = _tree(path)
    assert ast.get_docstring(tree), f"{path.name} has no module docstring"
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            assert ast.get_docstring(node), f"{path.name}: {node.name}() has no docstring"
            assert node.returns is not None, f"{path.name}: {node.name}() has no return type hint"
            unhinted = [a.arg for a in node.args.args + node.args.kwonlyargs if a.annotation is None]
            assert not unhinted, f"{path.name}: {node.name}() has parameters without hints: {unhinted}"


def _prints(node: ast.AST) -> list[int]:
    return sorted(n.lineno for n in ast.walk(node)
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print")


@pytest.mark.parametrize("path", [p for p in MODULES if p.name not in ("cli.py", "__main__.py")],
                         ids=lambda p: p.name)
def test_library_code_does_not_print(path: Path) -> None:
    # Only the command-line front ends talk to the terminal: cli.py and a module's main().
    tree = _tree(path)
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    allowed = {line for main in mains for line in _prints(main)}
    calls = [line for line in _prints(tree) if line not in allowed]
    assert not calls, f"{path.name} calls print outside main() on lines {calls}"
