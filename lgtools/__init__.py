"""lgtools: the package behind the *Label Granularity* replication book.

``import lgtools as lg`` gives what a user needs (imported on first use, so ``import lgtools``
stays cheap)::

    lg.Hierarchy, lg.get_hierarchy                     labels
    lg.load_dataset                                    data
    lg.build_model                                     nets
    lg.coarse_accuracy, lg.confusion_matrix, lg.acr    metrics
    lg.TrainConfig, lg.train, lg.RunResult             training
    lg.save_result, lg.load_results, lg.run_sweep      runs

The package is built in layers, each importing only from the layers below it (checked by
import-linter in the test suite): ``labels`` → ``data``, ``nets``, ``metrics`` → ``training``
→ ``runs`` → ``report`` (what several chapters share) → ``chapters`` (one module per notebook) → ``cli`` and ``bench`` (the commands).
Each subpackage's docstring lists its modules; CONTRIBUTING.md has the layer map.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Public name → the module that defines it.
_PUBLIC = {
    "Hierarchy": "lgtools.labels.hierarchy",
    "get_hierarchy": "lgtools.labels.builtin",
    "load_dataset": "lgtools.data.datasets",
    "build_model": "lgtools.nets.models",
    "coarse_accuracy": "lgtools.metrics",
    "confusion_matrix": "lgtools.metrics",
    "acr": "lgtools.metrics",
    "TrainConfig": "lgtools.training.config",
    "train": "lgtools.training.loop",
    "RunResult": "lgtools.training.loop",
    "save_result": "lgtools.runs.results",
    "load_results": "lgtools.runs.results",
    "run_sweep": "lgtools.runs.sweep",
}
__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    if name == "__version__":
        return import_module("lgtools.training.provenance").package_version()
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'lgtools' has no attribute {name!r}; public names: {', '.join(__all__)}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
