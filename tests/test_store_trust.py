"""Issue 30: nothing runs on inspection, and the results store checks what a file says, not only that it parses."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import nbformat
import pytest

from lgtools.runs.sweep_spec import notebook_type, spec_from_dict

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, cell: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(cell)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell("pass")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def test_inspecting_a_notebook_runs_nothing_from_its_parameters_cell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    # papermill reads a "# type:" comment up to the first space; eval of this one (no spaces, one '=' per line) writes a file.
    escape = ("[c.__init__.__globals__['__builtins__']['open']('%s','w')for(c)in().__class__.__base__"
              ".__subclasses__()if((c.__name__)in['_wrap_close'])]" % marker)
    notebook = _notebook(tmp_path / "evil.ipynb", f"results_dir = 'out'\nseed = 0  # type: {escape}\n")
    spec = tmp_path / "evil.yaml"
    spec.write_text(f"name: evil\nnotebook: {notebook}\ngrid:\n  seed: [0, 1]\n")
    done = subprocess.run([sys.executable, "-m", "lgtools", "sweep", str(spec), "--dry-run",
                           "--results", str(tmp_path / "res"), "--runs-dir", str(tmp_path / "runs")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert not marker.exists(), "the parameters cell's type comment was executed"
    assert done.returncode == 0, done.stderr  # an unreadable type accepts any value
    assert "2 runs" in done.stdout


@pytest.mark.parametrize("text, hint", [
    ("int", int), ("float", float), ("str", str), ("bool", bool), ("None", type(None)),
    ("list[float]", list[float]), ("Optional[int]", typing.Optional[int]),
    ("int|None", typing.Optional[int]), ("Literal['a','b']", typing.Literal["a", "b"]),
    ("Union[int,str]", typing.Union[int, str]), ("tuple[int,int]", tuple[int, int]),
])
def test_notebook_types_are_read_from_a_fixed_table(text: str, hint: typing.Any) -> None:
    assert notebook_type(text) == hint


@pytest.mark.parametrize("text", ["__import__('os')", "().__class__", "open", "int()", "Literal[print(1)]",
                                  "list[" * 5000, "x" * 1000])
def test_anything_else_reads_as_any_type_and_is_never_run(text: str) -> None:
    assert notebook_type(text) is None


def test_a_typed_notebook_parameter_still_refuses_a_value_of_the_wrong_type(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "typed.ipynb", "results_dir = 'out'\nratios = [0.5]  # type: list[float]\n")
    with pytest.raises(ValueError, match=r"parameter 'ratios' \(grid\['ratios'\]\[0\]\) must be"):
        spec_from_dict({"name": "t", "notebook": str(notebook), "grid": {"ratios": ["high"]}})
