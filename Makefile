PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where `make run` keeps its SQLite database, secret key and uploads.
REGDESK_DATA ?= $(CURDIR)/data
REGDESK_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/regdesk_test

.PHONY: run test test-postgres lint bench bench-desk bench-api bench-escalation bench-email clean

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

# The monitor's due query over 1M open tickets and 10,000 due steps on two workers (RQ and the
# database backend), on PostgreSQL and the Redis on 127.0.0.1:6379.
bench-escalation: $(STAMP)
	$(BIN)/python benchmarks/escalation.py

# The REST API over HTTP on PostgreSQL: creations/s and list latency, 8 clients, gunicorn and
# `regdesk serve`.
bench-api: $(STAMP)
	$(BIN)/python benchmarks/api.py

# Email intake: 5,000 messages from a Maildir and from a private Dovecot over IMAP on PostgreSQL,
# threading checked, against django-helpdesk's get_email (its own venv in .bench/, made once).
bench-email: $(STAMP)
	$(BIN)/python benchmarks/email_ingest.py

clean:
	rm -rf $(VENV)
