"""Where the book's files are: the repository root and paths relative to it (chapters run in ``book/``).
"""

from __future__ import annotations


from pathlib import Path


def repo_root(start: str | Path | None = None) -> Path:
    """The book's root folder (the first parent holding ``_toc.yml``), else the start folder."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return here


def resolve_path(path: str | Path) -> Path:
    """A relative path as given if it exists, else relative to the book's root.

    Chapters execute with the working directory ``book/`` under Jupyter Book and with the
    caller's directory under papermill; ``results`` means the repository's folder in both.
    """
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return repo_root() / path
