# IOC Case Flow — `make demo` and `make test` do the whole set-up on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench translations clean services

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d webapp/translations -f >/dev/null

# The embedded demo: SQLite under instance/, eager Celery, the timer sweep in the server.
demo: install
	$(BIN)/ioc demo

# The whole suite: unit, integration (SQLite and PostgreSQL), Celery worker, crash tests.
test: install
	bash .ci/services
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/ioc bench

clean:
	rm -rf $(VENV) instance .pytest_cache
