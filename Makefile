# Dashboards and alerts as code for Grafana, with the websocket chat service they watch.
# `make help` lists the targets. Everything runs from the project's virtualenv (.venv).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
RENDER_OUT ?= provisioning/grafana
DEMO_SECONDS ?= 30

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-13s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# A stamp file, not .venv/bin/python itself: that is a symlink, and touching it would touch the system python.
STAMP := $(VENV)/.installed
$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

# Loki's official LogQL grammar (and Prometheus's lezer grammar), run with node by the linter.
NODE_STAMP := scripts/rendered/grammars/node_modules/.package-lock.json
$(NODE_STAMP): scripts/rendered/grammars/package.json scripts/rendered/grammars/package-lock.json
	npm ci --prefix scripts/rendered/grammars --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

# Real Prometheus/promtool (verify, rule tests, config checks), Chromium + chromedriver (browser tests) and
# redis-server (the cluster's tests, bench and verify) come from Debian; installed only when missing (as
# root, like the CI machines). The packages' own services are stopped and disabled: tests start their own.
SYSTEM_TOOLS := prometheus promtool chromium chromedriver redis-server
.PHONY: system-deps
system-deps: ## Install the Debian packages the tests need (prometheus, chromium, chromium-driver, redis-server) if missing
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    prometheus chromium chromium-driver redis-server >/dev/null; \
	  service prometheus stop >/dev/null 2>&1 || true; \
	  service redis-server stop >/dev/null 2>&1 || true; \
	  update-rc.d redis-server disable >/dev/null 2>&1 || true; \
	fi

.PHONY: install
install: $(STAMP) $(NODE_STAMP) ## Create .venv (pinned requirements) and install the LogQL grammar (npm)

.PHONY: app
app: $(STAMP) ## Serve the chat on $(HOST):$(PORT) (gevent, one process)
	$(PY) -m app --host $(HOST) --port $(PORT)

.PHONY: test
test: system-deps $(STAMP) $(NODE_STAMP) check render-check lint verify ## The whole suite: ruff, render freshness, lint, live verify, pytest
	$(PY) -m pytest

.PHONY: render
render: $(STAMP) ## Render dashboards/ and alert rules into $(RENDER_OUT) (commit the result)
	$(PY) -m scripts.render --out $(RENDER_OUT)

.PHONY: render-check
render-check: $(STAMP) ## Fail if the committed files in $(RENDER_OUT) are stale
	$(PY) -m scripts.render --check --out $(RENDER_OUT)

.PHONY: lint
lint: $(STAMP) $(NODE_STAMP) ## Lint rendered dashboards + alerts: structure, best practice, PromQL/LogQL syntax, app metrics; ARGS="--foreign" for other services' dashboards
	$(PY) -m scripts.lint --dir $(RENDER_OUT) $(ARGS)

.PHONY: verify
verify: $(STAMP) $(NODE_STAMP) ## Run every panel/alert query against the live app + a real Prometheus; promtool alert tests
	$(PY) -m scripts.verify --dir $(RENDER_OUT)

# GNU make exits 2 whenever a recipe fails, whatever the command's own code was; so these targets name
# that code on stderr (0 ok, 1 failed, 2 configuration, 3 refused), and CI calls `python -m` for it.
EXIT_NOTE = || { code=$$?; echo "make: $(1) exited $$code (python -m $(1) gives that code)" >&2; exit $$code; }

.PHONY: alert-tests
alert-tests: $(STAMP) ## Just the promtool alert tests (rendered rules + dashboards/alerts.cases.yaml), no app: seconds
	@$(PY) -m scripts.verify --alerts-only --dir $(RENDER_OUT) $(call EXIT_NOTE,scripts.verify)

.PHONY: diff
PUBLISH = $(PY) -m scripts.publish --dir $(RENDER_OUT)

diff: $(STAMP) ## Plan only: what `make publish` would change in Grafana, with diffs (writes nothing)
	@$(PUBLISH) --plan --diff $(ARGS) $(call EXIT_NOTE,scripts.publish)

.PHONY: publish
publish: $(STAMP) ## Publish $(RENDER_OUT) to GRAFANA_URL; e.g. ARGS="--env staging --prune --force --wait 60"
	@$(PUBLISH) $(ARGS) $(call EXIT_NOTE,scripts.publish)

.PHONY: import
import: $(STAMP) ## Dashboards into Python: ARGS="exported.json" (or a directory), or ARGS="--uid UID --into dashboards/x.py"
	@$(PY) -m scripts.import $(ARGS) $(call EXIT_NOTE,scripts.import)

.PHONY: watch
watch: $(STAMP) ## Publish every save of dashboards/ to your preview folder (preview-<user>); ARGS="--env staging --cleanup"
	@$(PY) -m scripts.watch $(ARGS) $(call EXIT_NOTE,scripts.watch)

.PHONY: demo
demo: $(STAMP) $(NODE_STAMP) ## Docker: stack + publish + traffic. No Docker: local app, Prometheus, load, render, lint, verify
	$(PY) -m scripts.demo --seconds $(DEMO_SECONDS)

.PHONY: down
down: ## Stop the compose stack (volumes kept; `docker compose down -v` wipes them)
	docker compose down

.PHONY: bench
bench: $(STAMP) ## Run the benchmarks in bench/ (each a ratio to a baseline from the same run; Go builds the load generator)
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) -m bench.$$(basename $$b .py); done

.PHONY: fmt
fmt: $(STAMP) ## Format and auto-fix with ruff
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

.PHONY: check
check: $(STAMP) ## Lint Python with ruff (no changes)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
