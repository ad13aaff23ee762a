# Ripple: `make run` serves the API on the embedded defaults, `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run test faults browser fuzz audit lint deploy-check check install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Serve the API on http://$${HOST:-127.0.0.1}:$${PORT:-5000} (SQLite, embedded Redis, WeChat stub, demo data).
run: install
	$(BIN)/python app.py

## The test suite (TEST_DATABASE_URL / TEST_REDIS_URL select PostgreSQL and a Redis server).
test: install
	$(BIN)/python -m pytest -m "not faults and not browser and not fuzz"

## The console in a real browser (Selenium + Debian's chromium/chromium-driver); screenshots in tests/browser/screens/.
browser: install
	SE_OFFLINE=true $(BIN)/python -m pytest -m browser tests/browser

## The fault scenarios (tests/faults): Redis restarted, emptied or full, jobs lost, WeChat Pay down.
faults: install
	$(BIN)/python -m pytest -m faults tests/faults

## Hostile input: schemathesis over every operation of /openapi.json, in-process on SQLite + embedded
## Redis, with no token, a shopper's and an admin's (FUZZ_EXAMPLES per operation and mode; FUZZ_SEED).
fuzz: install
	$(BIN)/python -m pytest -m fuzz tests/fuzz

## pip-audit of the installed (pinned) dependencies; exit 1 a finding, 3 the service could not be asked.
audit: install
	BIN=$(BIN) bash .ci/audit-dependencies

## Static checks: ruff and the import-linter contracts (migrations = models is a test).
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

## deploy/ validated offline: YAML, docker-compose config, Kubernetes schemas, nginx -t (.ci/check-deploy).
deploy-check: install
	BIN=$(BIN) bash .ci/check-deploy

## The benchmarks (tests/bench/run: starts PostgreSQL + Redis, prints one JSON line per figure);
## `make bench BENCH=claims` (or nearby, checkout, referral) runs only those.
bench: install
	@bash tests/bench/run $(BENCH)

check: test lint deploy-check

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
