"""Issue 30: a chapter's parameters are checked before its kernel starts (``python -m lgtools chapter``), and a
results folder that is not there is an error naming it, in every chapter that reads one (``existing_folder``)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_a_missing_results_folder_is_an_error_in_every_chapter_that_reads_one(tmp_path: Path) -> None:
    from lgtools.chapters import recipe
    from lgtools.chapters.stored import benchmark_table, stored_results

    missing = tmp_path / "missing"
    for read in (stored_results, recipe.recipe_ladder, recipe.cpu_scale_point):  # chapters 3-12, intro; performance
        with pytest.raises(ValueError, match=f"results_dir '{missing}' does not exist"):
            read(missing)
    with pytest.raises(ValueError, match="benchmarks_dir .* does not exist"):
        benchmark_table(missing)
    assert stored_results(tmp_path).empty  # a folder with nothing stored yet is no error
