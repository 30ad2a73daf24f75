# Two commands for a fresh Linux machine with Python 3.11 and make:
#   make run   set everything up and open the app on the demo dataset
#   make test  set everything up and run the whole suite
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PORT ?= 8501
# Test processes: 2 fit a 2-core machine (a test file stays in one process: its fixtures are shared).
# --no-loadscope-reorder keeps tests/conftest.py's longest-first order of the files.
TEST_WORKERS ?= 2

.PHONY: run test venv deps dev-deps demo-data browser lint clean

run: deps demo-data
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

test: dev-deps browser
	$(PY) -m ruff check vidcore tests app_pages webapp scripts app.py benchmarks
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=30 $(PYTEST_ARGS)

venv: $(PY)
$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 (or run: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamps make re-runs instant; they are redone whenever a requirements file changes.
deps: $(VENV)/.stamp-deps
$(VENV)/.stamp-deps: requirements.txt pyproject.toml | $(PY)
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

dev-deps: $(VENV)/.stamp-dev
$(VENV)/.stamp-dev: requirements-dev.txt requirements-ray.txt $(VENV)/.stamp-deps
	$(PIP) install --quiet -r requirements-dev.txt -r requirements-ray.txt
	touch $@

demo-data: deps
	$(PY) -m vidcore demo-data --size demo

# Debian's chromium for the browser tests (never a browser download of Playwright's own).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "warning: /usr/bin/chromium missing and cannot apt-get install it: browser tests will fail"; fi

lint: dev-deps
	$(PY) -m ruff check vidcore tests app_pages webapp scripts app.py benchmarks

clean:
	rm -rf $(VENV) .pytest_cache test-output
