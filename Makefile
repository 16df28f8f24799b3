# Watchpost: `make run` and `make test` do everything on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install migrate seed run web worker test test-fast lint format eval bench clean

# How `make run` and `make worker` stop (Ctrl-C, or the web app ending): TERM to every process of the
# recipe, up to five seconds for their warm shutdown, then KILL. A Celery worker interrupted while it
# receives tasks can hang after its warm shutdown; its unacknowledged tasks go back to the queue.
STOP_ALL = trap "" INT TERM; trap - EXIT; kill -TERM 0; \
	for i in 1 2 3 4 5; do [ -z "$$(jobs -pr)" ] && break; sleep 1; done; kill -KILL 0

help:
	@echo "make run    - install, migrate, load the watch list, start the web app and the worker (with its schedule)"
	@echo "make test   - run the test suite"
	@echo "make test-fast - the suite without subprocesses, browser, worker or services (inner loop)"
	@echo "make lint   - ruff"
	@echo "make eval   - matcher quality on the labelled headlines (frozen holdout first), story grouping"
	@echo "make bench  - benchmarks (ratios against baselines measured in the same run)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed

run: seed
	@$(BIN)/python manage.py ensure_admin
	@echo "Watchpost on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/) - Ctrl-C stops the web app, the worker and its schedule."
	@trap '$(STOP_ALL)' EXIT INT TERM; \
	$(BIN)/celery -A config beat --loglevel=INFO & \
	$(BIN)/celery -A config worker -Q celery,enrich --loglevel=INFO --concurrency=2 & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

web: seed
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The worker and its schedule (beat) as two processes: an embedded beat (worker --beat) hangs on Ctrl-C.
worker: seed
	@trap '$(STOP_ALL)' EXIT INT TERM; \
	$(BIN)/celery -A config beat --loglevel=INFO & \
	$(BIN)/celery -A config worker -Q celery,enrich --loglevel=INFO --concurrency=2 & \
	wait

test: install
	$(BIN)/python -m pytest --durations=15 $(PYTEST_ARGS)

# The inner loop: no subprocesses, browser, worker or external services (about a minute).
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not services" $(PYTEST_ARGS)

eval: install
	$(BIN)/python -m indicators.matching.evaluate
	$(BIN)/python -m tracker.pipeline.story_quality

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; echo; done

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var/celery var/test-*.sqlite3 .pytest_cache
