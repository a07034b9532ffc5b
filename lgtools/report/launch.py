"""Launching a chapter outside a checkout: the repository URL (``_config.yml``) and each chapter's install cell.

The URL lives in ``_config.yml`` (``repository.url``); the launch buttons read it there. A chapter opened
in Colab has no checkout beside it, so its first, hidden cell clones the repository and installs
``lgtools`` when the package is missing. That cell is generated from the URL here
(``book/set_repository.py`` rewrites every chapter; a test checks they agree).
"""

from __future__ import annotations

import json
import yaml
from pathlib import Path


INSTALL_TAG = "install-lgtools"  # with "remove-cell": hidden on the page, run by Colab and Binder


CHECKOUT = "label-granularity"  # the folder the install cell clones into


_CLONE = '"git", "clone", "--depth", "1", "'  # what precedes the URL in the cell (install_cell_url reads it)
# One line, hidden: outside a checkout (Colab, a bare Jupyter server) fetch the book, install lgtools and
# work from book/ as in a checkout; inside one, find_spec finds lgtools and the line does nothing.
_TEMPLATE = ('import importlib.util, os, subprocess, sys; importlib.util.find_spec("lgtools") or ('
             'subprocess.run([' + _CLONE + '{url}", "{folder}"], check=True), '
             'subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "./{folder}[book]"], check=True), '
             'importlib.invalidate_caches(), os.chdir(os.path.join("{folder}", "book")))'
             '  # install lgtools outside a checkout (generated from _config.yml by book/set_repository.py)')


def repository_url(root: str | Path) -> str:
    """The book's repository URL, from ``_config.yml`` under ``root`` (its one source)."""
    config = yaml.safe_load((Path(root) / "_config.yml").read_text())
    url = (config.get("repository") or {}).get("url")
    if not url or not str(url).startswith("https://"):
        raise ValueError(f"_config.yml: repository.url must be an https URL, got {url!r}")
    return str(url).rstrip("/")


def install_cell_source(url: str) -> str:
    """The source of the hidden first cell that installs ``lgtools`` from ``url`` when it is missing."""
    return _TEMPLATE.format(url=url, folder=CHECKOUT)


def install_cell(url: str) -> dict:
    """The install cell as a notebook cell (nbformat 4), hidden on the page."""
    return {"cell_type": "code", "execution_count": None, "id": "install-lgtools",
            "metadata": {"tags": ["remove-cell", INSTALL_TAG]}, "outputs": [],
            "source": install_cell_source(url).splitlines(keepends=True)}


def set_install_cell(notebook: str | Path, url: str) -> bool:
    """Make ``notebook``'s first cell the install cell for ``url``; True when the file changed."""
    path = Path(notebook)
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    if cells and INSTALL_TAG in cells[0].get("metadata", {}).get("tags", []):
        cells = cells[1:]
    new = {**nb, "cells": [install_cell(url), *cells]}
    text = json.dumps(new, indent=1, ensure_ascii=False) + "\n"
    if text == path.read_text():
        return False
    path.write_text(text)
    return True


def install_cell_url(notebook: str | Path) -> str | None:
    """The URL a notebook's install cell clones, or None when its first cell is not one."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    if not cells or INSTALL_TAG not in cells[0].get("metadata", {}).get("tags", []):
        return None
    source = "".join(cells[0]["source"])
    start = source.index(_CLONE) + len(_CLONE)
    return source[start:source.index('"', start)]
