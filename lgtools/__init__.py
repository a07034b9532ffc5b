"""lgtools: the package behind the *Label Granularity* replication book.

Modules (one job each): hierarchy, metrics, paper, synthetic, sources, data, models, augment,
config, checkpoint, train, provenance, results, compare, experiments, scorecard, toy, plots, book,
sweep_spec, sweep_store, sweep, memory, reference, bench, cli. Import them directly, e.g.
``from lgtools.hierarchy import get_hierarchy``.
"""

__version__ = "0.1.0"
