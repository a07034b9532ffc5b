# The README's two commands: `make book` and `make test`. Each sets itself up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: book pdf test unit bench clean browser-deps

# (Re)install whenever the dependency list or the tested versions change; torch/torchvision come
# from the local wheel cache. pyproject.toml has ranges; constraints.txt the exact tested versions.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]" -c constraints.txt
	touch $(STAMP)

# Build the book, executing every chapter at its parameters-cell defaults (offline, CPU), then print the
# whole book to the PDF the landing page links to (without it, a plain `make book` left a dead link).
book: $(STAMP) browser-deps
	@start=$$(date +%s); \
	$(VENV)/bin/jupyter-book build . -W -n --keep-going --path-output . ; rc=$$?; \
	echo "book: executed and built in $$(( $$(date +%s) - start )) s"; \
	[ $$rc -ne 0 ] || PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) book/print_pdf.py; rc2=$$?; \
	echo "book: html and pdf done in $$(( $$(date +%s) - start )) s"; [ $$rc -ne 0 ] && exit $$rc; exit $$rc2

# The whole book as one PDF (_build/html/label-granularity.pdf, linked from the landing page) on its own: the
# single-page HTML, printed by headless Chromium (`make book` ends with it; no chapter runs again).
pdf: $(STAMP) browser-deps
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) book/print_pdf.py

# Headless Chromium for the browser test and the PDF (Debian package); installed only when missing.
browser-deps:
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }; }

# Every test: unit tests, notebooks through nbval, the book build and the browser test.
test: $(STAMP) browser-deps
	@start=$$(date +%s); \
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest -q; rc=$$?; \
	echo "tests: finished in $$(( $$(date +%s) - start )) s"; exit $$rc

# Unit tests only (fast inner loop while developing).
unit: $(STAMP)
	$(PY) -m pytest -q tests -o addopts="-p no:cacheprovider"

bench: $(STAMP)
	$(PY) -m lgtools.bench

clean:
	rm -rf _build
