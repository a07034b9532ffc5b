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


def existing_folder(path: str | Path, parameter: str = "results_dir") -> Path:
    """``resolve_path(path)`` when it is a folder; ValueError naming ``parameter`` and the path otherwise.

    A chapter's folder parameter (``results_dir``, ``benchmarks_dir``) that names no folder is a typo, not "nothing
    stored yet": read as empty, the chapter would print its tables without a single stored run and exit 0.
    """
    if not isinstance(path, (str, Path)) or not str(path):
        raise ValueError(f"{parameter} must name a folder, got {path!r}")
    folder = resolve_path(path)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ValueError(f"{parameter} {str(path)!r} {what} (looked for {str(folder)!r}); give the folder of stored "
                         f"results, e.g. 'results' (relative paths are read from the repository root)")
    return folder
