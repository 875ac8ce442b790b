# Dashboards and alerts as code for Grafana, with the websocket chat service they watch.
# `make help` lists the targets. Everything runs from the project's virtualenv (.venv).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
RENDER_OUT ?= provisioning/grafana

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(PY)

.PHONY: install
install: $(PY) ## Create .venv with the pinned runtime and dev requirements

.PHONY: app
app: $(PY) ## Serve the chat on $(HOST):$(PORT) (gevent, one process)
	$(PY) -m app --host $(HOST) --port $(PORT)

.PHONY: test
test: $(PY) ## Run the whole test suite
	$(PY) -m pytest

.PHONY: bench
bench: $(PY) ## Run the benchmarks in bench/ (each prints a ratio to a baseline from the same run)
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) -m bench.$$(basename $$b .py); done

.PHONY: fmt
fmt: $(PY) ## Format and auto-fix with ruff
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

.PHONY: check
check: $(PY) ## Lint Python with ruff (no changes)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
