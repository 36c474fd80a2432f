# shoplake: the two commands of the README are `make demo` and `make test`.
# Both set everything up from nothing first (scripts/setup.sh is idempotent: ~1 s when done).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast lint bench lock down clean help compose-test

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

setup:  ## create .venv, .venv-emulator and the Spark S3 jars (idempotent)
	@bash scripts/setup.sh

demo: setup  ## run the demo on the embedded profile (no Docker)
	$(BIN)/shoplake demo

test: setup  ## lint, then the whole test suite (real emulator, Spark, DuckDB, dbt)
	$(BIN)/ruff check .
	$(BIN)/pytest

test-fast: setup  ## the suite without the slow end-to-end tests
	$(BIN)/pytest -m "not slow"

lint: setup  ## ruff, and vulture for dead code (80% confidence)
	$(BIN)/ruff check .
	$(BIN)/vulture src dags services lambdas jobs --min-confidence 80

bench: setup  ## run every benchmark (prints figures and ratios)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

compose-test:  ## the compose profile end to end in a private Docker engine (root, ~12 min cold)
	@bash scripts/compose-test.sh

lock:  ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11

down:  ## stop the local stack
	$(BIN)/shoplake down

clean: down  ## remove runtime state (keeps the venvs and jars)
	rm -rf .shoplake
