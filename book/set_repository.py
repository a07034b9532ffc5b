"""Write the repository URL of _config.yml into every chapter's hidden install cell.

Run after changing ``repository.url`` in _config.yml (the one place the URL is set):
``.venv/bin/python book/set_repository.py``. tests/test_launch.py fails while they disagree.
"""

from pathlib import Path

from lgtools.report.launch import repository_url, set_install_cell

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    url = repository_url(ROOT)
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        if set_install_cell(notebook, url):
            print(f"{notebook.relative_to(ROOT)}: install cell now clones {url}")
