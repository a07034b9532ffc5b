"""The publishing workflow: valid GitHub Actions that pass a kept linter, and that build and deploy the book to Pages.

zizmor (pyproject's dev extra) checks each workflow against GitHub's workflow schema and audits it (permissions,
credentials, template injection, pinning; policy in .github/zizmor.yml). It runs offline.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _zizmor(*args: str | Path) -> subprocess.CompletedProcess:
    found = Path(sys.executable).with_name("zizmor")
    binary = str(found) if found.is_file() else shutil.which("zizmor")
    if not binary:
        pytest.fail("zizmor is not installed: pip install -e '.[dev]' -c constraints.txt")
    return subprocess.run([binary, "--offline", "--no-progress", "--config", str(ROOT / ".github" / "zizmor.yml"),
                           *map(str, args)], capture_output=True, text=True, timeout=120)


def test_every_workflow_passes_the_linter():
    assert WORKFLOWS, "no workflow under .github/workflows"
    done = _zizmor(*WORKFLOWS)
    assert done.returncode == 0, f"zizmor found problems:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"


def test_the_linter_rejects_a_broken_workflow(tmp_path):
    """The check above means something: a misspelt key and an injectable expression both fail."""
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    misspelt = folder / "misspelt.yml"
    misspelt.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz:\n      - run: echo hi\n")
    assert _zizmor(misspelt).returncode != 0
    injectable = folder / "injectable.yml"
    injectable.write_text("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                          "      - run: echo ${{ github.event.head_commit.message }}\n")
    done = _zizmor(injectable)
    assert done.returncode != 0 and "template-injection" in done.stdout + done.stderr


def test_book_workflow_builds_and_deploys_to_pages():
    """`make book` on a push to main, _build/html uploaded as the Pages artifact, deployed by its own job."""
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    uses = [step.get("uses", "").split("@")[0] for step in build["steps"]]
    runs = [step.get("run", "") for step in build["steps"]]
    assert "make book" in runs
    upload = next(step for step in build["steps"] if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert uses.index("actions/upload-pages-artifact") > runs.index("make book")
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]
    assert flow["permissions"] == {"contents": "read"}, "write permissions belong to the deploy job only"
