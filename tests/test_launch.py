"""Launching chapters outside a checkout: one repository URL, install cells that agree with it, a Binder setup."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lgtools.report.launch import INSTALL_TAG, install_cell_source, install_cell_url, repository_url, set_install_cell

ROOT = Path(__file__).resolve().parents[1]


def _toc_notebooks() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            names.append(entry["file"]) if "file" in entry else None
            walk(entry.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return [ROOT / f"{n}.ipynb" for n in names if (ROOT / f"{n}.ipynb").exists()]


def test_every_chapter_installs_lgtools_from_the_configured_repository():
    url = repository_url(ROOT)
    notebooks = _toc_notebooks()
    assert len(notebooks) >= 10
    wrong = {nb.name: install_cell_url(nb) for nb in notebooks if install_cell_url(nb) != url}
    assert not wrong, f"install cells disagree with _config.yml's {url}: {wrong}; run book/set_repository.py"
    for nb in notebooks:
        first = json.loads(nb.read_text())["cells"][0]
        assert "remove-cell" in first["metadata"]["tags"] and first["outputs"] == []


def test_set_install_cell_replaces_the_old_cell_and_is_idempotent(tmp_path):
    nb = tmp_path / "chapter.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                              "cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# T"]}]}))
    assert set_install_cell(nb, "https://example.org/one") and install_cell_url(nb) == "https://example.org/one"
    assert set_install_cell(nb, "https://example.org/two") and not set_install_cell(nb, "https://example.org/two")
    cells = json.loads(nb.read_text())["cells"]
    assert len(cells) == 2 and INSTALL_TAG in cells[0]["metadata"]["tags"] and cells[1]["source"] == ["# T"]


def test_install_cell_does_nothing_inside_a_checkout(tmp_path):
    # lgtools is importable here, so the cell must neither clone nor change directory.
    code = install_cell_source("https://invalid.example/none") + "\nimport os; print(os.getcwd())"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(tmp_path) and not any(tmp_path.iterdir())


def test_repository_url_must_be_https(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: git@github.com:x/y\n")
    with pytest.raises(ValueError, match="repository.url"):
        repository_url(tmp_path)


def test_binder_installs_the_package_with_a_cpu_torch():
    post = (ROOT / "binder" / "postBuild").read_text()
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    assert "download.pytorch.org/whl/cpu" in post and '.[book]' in post
    assert any(str(d).startswith("python=") for d in env["dependencies"])
