# Chronos: the two commands that matter are `make run` and `make test` (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_TELEMETRY_ENABLED := false

.PHONY: run run-prod setup setup-test bun chromium lint typecheck test test-unit test-integration test-browser test-devmode screenshots bench clean

## run: set up, migrate, seed the demo brokerage on first start, run the app (http://localhost:3000)
# Development only: the demo logins get the README's password (elsewhere a random one).
run: export CHRONOS_DEMO_PASSWORD ?= chronos-demo-2026
run: setup bun
	$(PY) -m chronos.cli seed-demo --if-empty
	$(VENV)/bin/reflex run

## run-prod: the same, as a production build on one port (http://localhost:3000)
run-prod: setup bun
	$(PY) -m chronos.cli seed-demo --if-empty
	$(VENV)/bin/reflex run --env prod --single-port --frontend-port 3000

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(VENV)/bin/activate pyproject.toml requirements.lock
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c requirements.lock -e ".[test]"
	touch $@

# SETUP=skip: use $(VENV) as it is. The devmode test tier runs `make run` in a throw-away clone
# with VENV=<the suite's own venv> SETUP=skip, so the clone never reinstalls into that venv.
ifeq ($(SETUP),skip)
setup:
else
setup: $(VENV)/.installed
endif

bun:
	@command -v bun >/dev/null 2>&1 || npm install -g bun

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)

setup-test: setup bun chromium

LINT_PATHS := $(wildcard chronos tests alembic bench scripts) rxconfig.py

lint: setup
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

typecheck: setup
	$(VENV)/bin/mypy

## test: lint, type-check, then every test tier (unit, integration on SQLite + PostgreSQL, browser,
## devmode: `make run` itself from a clean clone)
test: setup-test lint typecheck
	$(VENV)/bin/pytest tests

test-unit: setup
	$(VENV)/bin/pytest tests/unit

test-integration: setup
	$(VENV)/bin/pytest tests/integration

test-browser: setup-test
	$(VENV)/bin/pytest tests/browser

test-devmode: setup-test
	$(VENV)/bin/pytest tests/devmode

## bench: the whole suite, one report in bench/RESULTS.md (~45 min; needs PostgreSQL and Redis on
## 127.0.0.1, else those parts say "skipped"). The parts, also runnable alone:
##   bench-pageweight  JS/CSS weight and time to usable on throttled 3G vs a blank Reflex app (~10 min)
##   bench-load        simulated browsers over the websocket: one worker vs Redis + PostgreSQL (~20 min)
##   bench-services    service calls behind every page and job at 10,000 files / 200,000 tasks /
##                     300,000 events / 50,000 documents on SQLite + PostgreSQL, a 50-page upload (~15 min)
## bench-backup (not part of `bench`): `chronos backup` + `chronos restore` of that 10,000-file
##   brokerage with every stored object on disk, SQLite + PostgreSQL, into bench/BACKUP.md (~15 min)
.PHONY: bench-pageweight bench-load bench-services bench-backup
bench: bench-pageweight bench-load bench-services

bench-pageweight: setup-test
	$(PY) -m bench.pageweight
	$(PY) -m bench.run --report-only

bench-load: setup bun
	$(PY) -m bench.load
	$(PY) -m bench.run --report-only

bench-services: setup
	$(PY) -m bench.run

bench-backup: setup
	$(PY) -m bench.backup

clean:
	rm -rf .web .states test-artifacts .pytest_cache .mypy_cache .ruff_cache
