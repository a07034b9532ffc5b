"""Entry point for ``python -m lgtools`` (train, sweep, …)."""

from lgtools.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
