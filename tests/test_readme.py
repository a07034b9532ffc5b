"""The README's status section says what the repository holds: its sweep list is drawn from sweeps/ and results/
(book/set_readme_status.py), and its count of "Beyond the paper" chapters is the table of contents'."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _status_module():
    spec = importlib.util.spec_from_file_location("set_readme_status", ROOT / "book" / "set_readme_status.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_sweep_list_matches_the_stored_results():
    status = _status_module()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = text.find(status.STATUS_BEGIN), text.find(status.STATUS_END)
    assert 0 <= start < end, "README.md lost its sweep list markers"
    written = text[start:end + len(status.STATUS_END)]
    assert written == status.status_markdown(ROOT), (
        "README.md's sweep list is stale: run `.venv/bin/python book/set_readme_status.py`")


def test_readme_calls_no_stored_sweep_untouched_and_no_complete_sweep_unfinished():
    """What the README says of each sweep, against lgtools' own coverage counts (chapter 8's)."""
    from lgtools.runs.sweep_store import coverage

    status = _status_module()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.find(status.STATUS_BEGIN):text.find(status.STATUS_END)]
    said, empty_groups = {}, []
    for line in filter(str.strip, block.splitlines()[1:]):
        heading, patterns = next((h, p) for h, p in status.GROUPS if line.strip().startswith(f"- {h}"))
        if "no run stored yet" in line:
            empty_groups += patterns
        for label, names in re.findall(r"(complete|still to train|not begun): ([^;]*)", line):
            said.update({name: label for name in re.findall(r"`([^`]+)`", names)})
    table = coverage(sorted((ROOT / "sweeps").rglob("*.yaml")), ROOT / "results")
    for row in table.itertuples():
        truth = ("complete" if row.stored == row.runs else "not begun" if row.stored == 0 else "still to train")
        if row.sweep in said:
            assert said[row.sweep] == truth, f"README says {row.sweep} is {said[row.sweep]}: {row.stored}/{row.runs} stored"
        else:
            in_empty = any(Path(row.spec).relative_to(ROOT / "sweeps").match(g) for g in empty_groups)
            assert in_empty and row.stored == 0, f"README does not place {row.sweep} ({row.stored}/{row.runs} stored)"


def test_set_status_rewrites_only_the_block(tmp_path):
    status = _status_module()
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n  {status.STATUS_BEGIN}\n  - stale\n  {status.STATUS_END}\nafter\n")
    assert status.set_status(readme, ROOT) and not status.set_status(readme, ROOT)
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n  ") and text.endswith("\nafter\n") and "stale" not in text
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="readme"):
        status.set_status(readme, ROOT)


def test_readme_counts_the_beyond_the_paper_chapters_of_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbered = [part for part in toc["parts"] if part.get("numbered")]
    first = sum(len(part["chapters"]) for part in numbered[:-1]) + 1
    beyond = next(part for part in toc["parts"] if part["caption"] == "Beyond the paper")
    numbers = range(first, first + len(beyond["chapters"]))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r'"Beyond the paper"\s+has ([^.]*)\.', text)
    assert sentence, "README.md no longer says what \"Beyond the paper\" holds"
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
    said = " ".join(sentence.group(1).split())
    assert said.startswith(f"{words.get(len(numbers), len(numbers))} chapter"), said
    assert all(re.search(rf"\b{n} \(", said) for n in numbers), f"chapters {list(numbers)} not all named: {said}"
