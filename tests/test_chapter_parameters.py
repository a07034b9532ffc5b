"""Issue 30: a chapter's parameters are checked before its kernel starts (``python -m lgtools chapter``), and a
results folder that is not there is an error naming it, in every chapter that reads one (``existing_folder``)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER8 = str(ROOT / "book" / "08_conclusion.ipynb")


@pytest.mark.parametrize("given, named", [
    (["-p", "reslts_dir", "results"], "parameter 'reslts_dir' is not in the parameters cell of 08_conclusion.ipynb; "
                                      "allowed: ['results_dir', 'sweeps_dir']"),
    (["-p", "results_dir", "/missing"], "results_dir '/missing' does not exist"),
    (["-p", "results_dir", "3"], "results_dir '3' does not exist"),  # a str parameter keeps its text
])
def test_the_chapter_command_refuses_a_bad_parameter_before_the_kernel_starts(tmp_path: Path, capsys, given,
                                                                               named) -> None:
    from lgtools.cli import main

    out = tmp_path / "ch8.ipynb"
    assert main(["chapter", CHAPTER8, str(out), *given]) == 2
    err = capsys.readouterr().err
    assert named in err and err.count("\n") == 1 and not out.exists()  # one line, nothing executed


def test_the_chapter_command_refuses_a_value_of_another_type(tmp_path: Path, capsys) -> None:
    from lgtools.cli import main

    out = tmp_path / "ch9.ipynb"
    assert main(["chapter", str(ROOT / "book" / "09_hierarchy_inside.ipynb"), str(out), "-p", "controls", "many"]) == 2
    err = capsys.readouterr().err
    assert "parameter 'controls' of 09_hierarchy_inside.ipynb must be int, got str 'many'" in err and not out.exists()


def test_a_missing_results_folder_is_an_error_in_every_chapter_that_reads_one(tmp_path: Path) -> None:
    from lgtools.chapters import about_performance as recipe
    from lgtools.report.stored import benchmark_table, stored_results

    missing = tmp_path / "missing"
    for read in (stored_results, recipe.recipe_ladder, recipe.cpu_scale_point):  # chapters 3-12, intro; performance
        with pytest.raises(ValueError, match=f"results_dir '{missing}' does not exist"):
            read(missing)
    with pytest.raises(ValueError, match="benchmarks_dir .* does not exist"):
        benchmark_table(missing)
    assert stored_results(tmp_path).empty  # a folder with nothing stored yet is no error
