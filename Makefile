PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where `make run` keeps its SQLite database, secret key and uploads.
REGDESK_DATA ?= $(CURDIR)/data
REGDESK_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/regdesk_test

.PHONY: run test test-postgres lint bench bench-desk clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	REGDESK_DATA=$(REGDESK_DATA) $(BIN)/regdesk serve --demo service-desk

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# The same suite on PostgreSQL: pytest-django creates test_regdesk_test there and drops it.
test-postgres: $(STAMP)
	REGDESK_TEST_DATABASE_URL=$(REGDESK_TEST_DATABASE_URL) $(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/calendar_add.py
	$(BIN)/python benchmarks/replay.py

# Service-layer creation rate and the agents' queue at 100k/1M tickets, on PostgreSQL.
bench-desk: $(STAMP)
	$(BIN)/python benchmarks/desk.py

clean:
	rm -rf $(VENV)
