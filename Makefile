# Two commands for a fresh machine (see README.md): `make demo` and `make test`.
# Everything else here is what those two need.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-long bench clean

$(STAMP): pyproject.toml harness/system.py
	$(PYTHON) -m harness.system
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(PY) -m harness.demo

# `make test` is what CI runs; the full crash and size matrices are marked `long`.
test: setup
	$(PY) -m pytest -m "not long"

test-long: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/archive.py
	$(PY) bench/db.py
	$(PY) bench/replace.py
	$(PY) bench/site.py

clean:
	rm -rf $(VENV) build .pytest_cache demo-out
