# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint screenshots venv venv-test migrate demo clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

run: venv
	$(PY) main.py

migrate: venv
	$(VENV)/bin/logger-app migrate

demo: venv
	$(VENV)/bin/logger-app demo

# Lint and types first (seconds), then the suite.
test: venv-test lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Refresh the README's screenshots (docs/screenshots/) from the browser tests.
screenshots: venv-test
	LOGGER_REQUIRE_BROWSER=1 LOGGER_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PY) -m pytest -q tests/test_browser_e2e.py tests/test_browser_triage.py

lint: venv-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
