# Qunke: `make demo` and `make test` are the two commands a fresh machine needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit e2e bench clean

install: $(STAMP)

# Re-run pip only when the dependency list changes; the editable install keeps code changes live.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/qunke demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q

# The fast tests only (no sandbox, no subprocesses): seconds, for the edit-test loop.
unit: install
	$(BIN)/pytest -q tests/unit

# The black-box suite alone (tests/e2e, DESIGN.md §9): the real processes on the real clock, a few minutes.
e2e: install
	$(BIN)/pytest -q -m e2e tests/e2e

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/archive.py
	$(BIN)/python bench/sender.py
	$(BIN)/python bench/churn.py
	$(BIN)/python bench/faq.py
	$(BIN)/python bench/campaigns.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
