# Ripple: `make run` serves the API on the embedded defaults, `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run test faults browser pgbouncer lint deploy-check check install bench backup restore clean

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
	$(BIN)/python -m pytest -m "not faults and not browser"

## The console in a real browser (Selenium + Debian's chromium/chromium-driver); screenshots in tests/browser/screens/.
browser: install
	SE_OFFLINE=true $(BIN)/python -m pytest -m browser tests/browser

## The fault scenarios (tests/faults): Redis restarted, emptied or full, jobs lost, WeChat Pay down.
faults: install
	$(BIN)/python -m pytest -m faults tests/faults

## The tests marked pgbouncer, through PgBouncer in transaction pooling (TEST_DATABASE_URL on its port:
## .ci/services.sh start_pgbouncer).
pgbouncer: install
	DATABASE_TRANSACTION_POOLING=true $(BIN)/python -m pytest -m pgbouncer

## Back up DATABASE_URL (PostgreSQL): backups/ripple-<time>.dump (pg_dump) and its row counts and ledger sums.
backup: install
	$(BIN)/flask backup create --directory backups

## Restore BACKUP=backups/ripple-....dump into RESTORE_URL (a new database, made if missing), then check
## every table's row count and the ledgers' sums against the backup's (docs/database.md).
restore: install
	@test -n "$(BACKUP)" -a -n "$(RESTORE_URL)" || { echo "usage: make restore BACKUP=backups/ripple-....dump RESTORE_URL=postgresql+psycopg://..."; exit 2; }
	$(BIN)/flask backup restore "$(BACKUP)" --into "$(RESTORE_URL)"

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
