"""The package's own rules (CONTRIBUTING.md), checked on the source so that they cannot drift."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lgtools

PACKAGE = Path(lgtools.__file__).resolve().parent
ROOT = PACKAGE.parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
SUBPACKAGES = sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_every_subpackage_and_module_is_listed_where_readers_look() -> None:
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    for folder in SUBPACKAGES:
        assert f"`lgtools/{folder.name}/`" in contributing, f"{folder.name}/ missing from CONTRIBUTING.md's layer map"
        doc = ast.get_docstring(_tree(folder / "__init__.py")) or ""
        for path in sorted(folder.glob("*.py")):
            if path.name != "__init__.py":
                assert f"``{path.stem}``" in doc, f"{_name(path)} missing from {folder.name}/__init__.py's docstring"
    for path in PACKAGE.glob("*.py"):
        if path.name not in ("__init__.py", "__main__.py"):
            assert f"`lgtools/{path.name}`" in contributing, f"{path.name} missing from CONTRIBUTING.md's layer map"


def test_contributing_names_every_module_in_the_layer_map_and_every_trainconfig_field() -> None:
    """CONTRIBUTING.md cannot drift: each module of a subpackage sits in the layer map, each TrainConfig field in its list."""
    import dataclasses

    from lgtools.training.config import TrainConfig

    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    layer_map = contributing[contributing.index("## Layout: the layer map"):contributing.index("### A run's identity")]
    for folder in SUBPACKAGES:
        for path in sorted(folder.glob("*.py")):
            if path.name != "__init__.py":
                assert f"`{path.stem}`" in layer_map, f"{_name(path)} missing from CONTRIBUTING.md's layer map"
    fields = contributing[contributing.index("## Training: `TrainConfig` fields"):contributing.index("`train(config) -> RunResult`")]
    missing = [f.name for f in dataclasses.fields(TrainConfig) if f"`{f.name}`" not in fields]
    assert not missing, f"TrainConfig fields missing from CONTRIBUTING.md's field list: {missing}"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_have_a_docstring_and_public_functions_are_documented_and_typed(path: Path) -> None:
    tree = _tree(path)
    assert ast.get_docstring(tree), f"{_name(path)} has no module docstring"
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            assert ast.get_docstring(node), f"{_name(path)}: {node.name}() has no docstring"
            assert node.returns is not None, f"{_name(path)}: {node.name}() has no return type hint"
            unhinted = [a.arg for a in node.args.args + node.args.kwonlyargs if a.annotation is None]
            assert not unhinted, f"{_name(path)}: {node.name}() has parameters without hints: {unhinted}"


def _prints(node: ast.AST) -> list[int]:
    return sorted(n.lineno for n in ast.walk(node)
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print")


@pytest.mark.parametrize("path", [p for p in MODULES if _name(p) not in ("cli.py", "__main__.py")], ids=_name)
def test_library_code_does_not_print(path: Path) -> None:
    # Only the command-line front ends talk to the terminal: cli.py and a module's main().
    tree = _tree(path)
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    allowed = {line for main in mains for line in _prints(main)}
    calls = [line for line in _prints(tree) if line not in allowed]
    assert not calls, f"{_name(path)} calls print outside main() on lines {calls}"


# ----------------------------------------------------------------------------- layers

def _lint_imports(cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_import_contracts_hold() -> None:
    """The layers of pyproject.toml's [tool.importlinter]: no upward import, no circle anywhere."""
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("importer, imported", [
    ("labels/hierarchy.py", "lgtools.report.paper"),  # upward across layers
    ("data/augment.py", "lgtools.nets.models"),  # between siblings of one layer
    ("training/config.py", "lgtools.training.loop"),  # a circle inside one layer
])
def test_import_contracts_catch_a_bad_import(tmp_path: Path, importer: str, imported: str) -> None:
    copy = tmp_path / "lgtools"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / importer
    target.write_text(target.read_text() + f"\nimport {imported}  # noqa\n")
    done = _lint_imports(tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode != 0 and "BROKEN" in done.stdout, done.stdout[-2000:]
    assert imported in done.stdout or f".{imported.rsplit('.', 1)[1]}" in done.stdout


def _layer_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def test_the_import_graph_between_layers_has_at_most_seven_levels() -> None:
    import grimp

    graph = grimp.build_graph("lgtools")
    nodes = {_layer_of(m) for m in graph.modules if m != "lgtools"}
    edges = {(a, b) for m in graph.modules if m != "lgtools"
             for i in graph.find_modules_directly_imported_by(m) if i != "lgtools"
             for a, b in [(_layer_of(m), _layer_of(i))] if a != b}
    level: dict[str, int] = {}

    def height(node: str, seen: tuple = ()) -> int:
        assert node not in seen, f"import circle between layers: {seen + (node,)}"
        if node not in level:
            level[node] = 1 + max((height(b, seen + (node,)) for a, b in edges if a == node), default=0)
        return level[node]

    levels = max(height(n) for n in nodes)
    assert levels <= 7, sorted(level.items(), key=lambda kv: -kv[1])
    assert level["lgtools.labels"] == 1 and level["lgtools.__main__"] == levels


def test_the_public_face_offers_what_a_user_needs_and_stays_cheap() -> None:
    code = ("import sys, lgtools as lg; cheap = 'torch' not in sys.modules; "
            "names = [n for n in lg.__all__ if n != '__version__']; "
            "print(cheap, all(callable(getattr(lg, n)) for n in names), len(names))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.stdout.split() == ["True", "True", "13"], done.stderr[-2000:]
    with pytest.raises(AttributeError, match="public names"):
        lgtools.no_such_name  # noqa: B018


def test_the_old_flat_modules_are_gone() -> None:
    old = ("hierarchy", "sources", "synthetic", "augment", "models", "config", "train", "checkpoint",
           "provenance", "results", "compare", "sweep_spec", "sweep_store", "sweep", "experiments",
           "scorecard", "toy", "plots", "book", "paper", "memory", "reference")
    assert not [name for name in old + ("data",) if (PACKAGE / f"{name}.py").exists()]
    mentions = [f"{p.relative_to(ROOT)}: lgtools.{m.group(1)}"
                for p in [*ROOT.glob("*.md"), *ROOT.glob("book/*.md"), *ROOT.glob("book/*.ipynb"),
                          *ROOT.glob("benchmarks/*.md"), *ROOT.glob("results/*.md"), *PACKAGE.rglob("*.py")]
                for m in re.finditer(r"lgtools\.(" + "|".join(old) + r")\b", p.read_text())]
    assert not mentions, mentions[:20]


def test_a_built_wheel_carries_the_package_data(tmp_path) -> None:
    """Not only the editable install: the wheel holds the paper's numbers, the class list and its source note."""
    import zipfile

    source = tmp_path / "source"  # a copy, so that setuptools' build/ folder never lands in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(PACKAGE, source / "lgtools", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (tmp_path / "dist").glob("lgtools-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("lgtools/report/paper_results.csv", "lgtools/labels/ilsvrc2012_classes.csv",
                 "lgtools/labels/ilsvrc2012_classes.md"):
        assert data in names, f"{data} missing from {wheel.name}"
    assert not any(n.startswith(("tests/", "book/", "results/")) for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Dist: torch>=2.11" in text and "==" not in text.split("Requires-Dist: torch")[1].split("\n")[0]


MAX_CELL_LINES = 12  # a notebook cell is a few calls; the logic lives in its chapter module


def test_no_notebook_cell_but_the_parameters_is_longer_than_a_few_calls():
    """Every code cell but papermill's parameters cell has at most MAX_CELL_LINES lines (CONTRIBUTING.md's protocol)."""
    import json

    long = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            lines = len("".join(cell["source"]).splitlines())
            tags = cell.get("metadata", {}).get("tags", [])
            if cell["cell_type"] == "code" and "parameters" not in tags and lines > MAX_CELL_LINES:
                long.setdefault(path.name, []).append(f"cell {index}: {lines} lines")
    assert not long, long


PLUMBING = ("glue(", "glue_figure(", "note_if_empty(", "select_runs(", "show(", "save_or_show(")
HIDDEN_TAGS = {"remove-input", "hide-input", "remove-cell", "hide-cell", "parameters"}


def test_code_shown_on_a_page_is_readable_and_no_plumbing():
    """A code cell shown as content (no hiding tag) calls no glue/select/show plumbing and fits 80 columns (issue 31)."""
    import json

    shown = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", [])):
                continue
            if any(call in source for call in PLUMBING) or max(map(len, source.splitlines()), default=0) > 80:
                shown.setdefault(path.name, []).append(index)
    assert not shown, f"tag these cells hide-input or remove-input, or thin them: {shown}"


def test_each_notebook_imports_its_own_chapter_module_and_the_report_layer_only():
    """A chapter's cells reach lgtools through its own module (named after the notebook) and lgtools.report."""
    import json
    import re

    offenders = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        own = re.sub(r"^\d+_", "", path.stem)
        cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        for source in ("".join(c["source"]) for c in cells):
            for module, names in re.findall(r"^\s*from (lgtools[\w.]*) import ([^\n]+)", source, re.M):
                # The one exception: a finding box reads the book's ledger from the landing page's module, because
                # Holm's adjustment runs over every chapter's claims at once (no chapter can compute it alone).
                allowed = module.startswith("lgtools.report") or module == f"lgtools.chapters.{own}" or (
                    module == "lgtools.chapters" and re.match(rf"({own}|intro)\b", names.strip()))
                if not allowed:
                    offenders.setdefault(path.name, []).append(f"from {module} import {names.strip()}")
            for module in re.findall(r"^\s*import (lgtools[\w.]*)", source, re.M):
                if not module.startswith("lgtools.report") and module != f"lgtools.chapters.{own}":
                    offenders.setdefault(path.name, []).append(f"import {module}")
    assert not offenders, offenders


TERM_ROLE = re.compile(r"\{term\}`([^`<]*?)(?:\s*<([^>`]+)>)?`")


def _first_use_linked(prose: str, words: str, term: str) -> tuple[bool, str]:
    """Whether the first match of ``words`` in ``prose`` lies inside a {term} role that links ``term``; and its context."""
    first = re.search(words, prose)
    if not first:
        return False, "not found"
    for role in TERM_ROLE.finditer(prose):
        if role.start() <= first.start() < role.end():
            return (role.group(2) or role.group(1)).strip() == term, role.group(0)
    return False, prose[max(first.start() - 40, 0):first.end() + 10]


def _chapter_prose(name: str) -> str:
    """A chapter's markdown cells without their headings (a heading is no place for a link)."""
    import json

    cells = json.loads((ROOT / "book" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    prose = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return "\n".join(line for line in prose.splitlines() if not line.startswith("#"))


# Where each chapter first uses a glossary term in its prose (issue 31): chapters 3-5 show an ACR column before
# chapter 6 defines it; the reader's review found ACR unlinked in chapters 7 and 8, ARI ("adjusted Rand index")
# in chapter 11, and NMI linked there but not at its first use.
FIRST_USES = [("03_training_data", r"\bACR\b", "ACR"), ("04_optimization", r"\bACR\b", "ACR"),
              ("05_generalization", r"\bACR\b", "ACR"), ("07_discussion", r"\bACR\b", "ACR"),
              ("08_conclusion", r"\bACR\b", "ACR"), ("09_hierarchy_inside", r"\bARI\b|adjusted Rand index", "ARI"),
              ("11_automatic_fine_labels", r"\bARI\b|adjusted Rand index", "ARI"),
              ("11_automatic_fine_labels", r"\bNMI\b|mutual information", "NMI")]


@pytest.mark.parametrize("name, words, term", FIRST_USES, ids=[f"{n[:2]}-{t}" for n, _, t in FIRST_USES])
def test_chapters_link_a_glossary_term_at_its_first_use(name, words, term):
    assert re.search(rf"^{term}$", (ROOT / "book" / "glossary.md").read_text(encoding="utf-8"), re.M)
    linked, context = _first_use_linked(_chapter_prose(name), words, term)
    assert linked, (name, term, context)


def test_chapter_11_links_nmi_in_the_box_that_opens_it():
    """Chapter 11's first NMI is in its glued "measurements" box above the prose: the glued text links it."""
    import pandas as pd

    from lgtools.chapters import automatic_fine_labels as auto_fine
    from lgtools.report.page import link_first

    clusters = pd.DataFrame({"features": ["whitened pixels"] * 2, "k": [1, 2], "n": [3, 3], "nmi": [0.4, 0.3],
                             "nmi_low": [0.4, 0.3], "nmi_high": [0.4, 0.3], "ari": [0.1, 0.1], "ari_low": [0.1, 0.1],
                             "ari_high": [0.1, 0.1]})
    empty = pd.DataFrame()
    text = auto_fine.found_text(clusters, auto_fine.pseudo_versus(empty), auto_fine.pseudo_runs(empty),
                                auto_fine.pseudo_versus(empty), pd.DataFrame(columns=["features", "k", "seed", "test_nmi",
                                                                                      "test_ari"]),
                                auto_fine.method_gap(empty), None)
    linked, context = _first_use_linked(text, r"\bNMI\b", "NMI")
    assert linked and text.count("{term}") == 1, context
    assert link_first("NMI and NMI", "NMI") == "{term}`NMI` and NMI"
    assert link_first("{term}`mutual information <NMI>` (NMI)", "NMI") == "{term}`mutual information <NMI>` (NMI)"
    assert link_first("no such word", "NMI") == "no such word"


def test_chapter_7_folds_its_secondary_tables():
    """Issue 31: chapter 7's page was 15,913 px tall at 1280 px. Its scorecards, per-partition table and live tables
    are folded (hide-output, as chapter 8 folds its full tables): 14,896 → 11,706 px measured in Chromium."""
    import json

    cells = json.loads((ROOT / "book" / "07_discussion.ipynb").read_text(encoding="utf-8"))["cells"]
    showing = [c for c in cells if c["cell_type"] == "code" and "show(" in "".join(c["source"])]
    shown = [c for c in showing if "hide-output" not in c.get("metadata", {}).get("tags", [])]
    assert len(showing) >= 8 and len(shown) <= 3, ["".join(c["source"]).splitlines()[-1] for c in shown]
