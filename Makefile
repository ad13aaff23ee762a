# Ripple: `make run` serves the API on the embedded defaults, `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run run-prod-local test test-redis-cluster pgbouncer faults browser screenshots fuzz audit prod-local-check lint deploy-check check install bench load load-faults backup restore clean

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

## The production shape on one machine (deploy/run-prod-local): nginx on http://127.0.0.1:$${PORT:-8080},
## two gunicorn instances, an RQ worker, the scheduler, the WeChat stub, PostgreSQL and Redis; Ctrl-C stops it.
run-prod-local: install
	PY=$(BIN)/python bash deploy/run-prod-local

## The test suite (TEST_DATABASE_URL / TEST_REDIS_URL select PostgreSQL and a Redis server).
test: install
	$(BIN)/python -m pytest -m "not faults and not browser and not prod_local and not fuzz"

## The console in a real browser (Selenium + Debian's chromium/chromium-driver); screenshots in tests/browser/screens/.
browser: install
	SE_OFFLINE=true $(BIN)/python -m pytest -m browser tests/browser

## The README's three screenshots (docs/screens/): the browser tests that take them, then the chosen ones copied.
SCREENS := tests/browser/screens
screenshots: install
	rm -rf $(SCREENS)
	SE_OFFLINE=true $(BIN)/python -m pytest -m browser tests/browser/test_counter_camera_in_browser.py \
		tests/browser/test_batches_in_browser.py tests/browser/test_store_in_browser.py
	mkdir -p docs/screens
	cp $(SCREENS)/counter_camera_in_browser-1-sale-with-items.png docs/screens/counter.png
	cp $(SCREENS)/batches_in_browser-5-issue.png docs/screens/batch.png
	cp $(SCREENS)/store_in_browser-3-ready-announced.png docs/screens/store-day.png

## The tests marked redis_cluster, one process (a Cluster has db 0 only): with TEST_REDIS_URL=redis+cluster://...
## and TEST_RQ_REDIS_URL (`source .ci/services.sh && start_services && start_redis_cluster` sets both).
test-redis-cluster: install
	$(BIN)/python -m pytest -m redis_cluster -p no:xdist

## The fault scenarios (tests/faults): Redis restarted, emptied or full, jobs lost, WeChat Pay down.
faults: install
	$(BIN)/python -m pytest -m faults tests/faults

## `make run-prod-local` started, used through nginx and stopped with Ctrl-C (tests/prod_local).
prod-local-check: install
	$(BIN)/python -m pytest -m prod_local tests/prod_local

## Hostile input: schemathesis over every operation of /openapi.json, in-process on SQLite + embedded
## Redis, with no token, a shopper's and an admin's (FUZZ_EXAMPLES per operation and mode; FUZZ_SEED).
fuzz: install
	$(BIN)/python -m pytest -m fuzz tests/fuzz

## pip-audit of the installed (pinned) dependencies; exit 1 a finding, 3 the service could not be asked.
audit: install
	BIN=$(BIN) bash .ci/audit-dependencies

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

## The load proof: the whole journey under locust against run-prod-local, then the invariants from its database
## (tests/bench/load_run; LOAD_USERS, LOAD_SECONDS); one JSON line per figure, a report in deploy/reports/.
load: install
	$(BIN)/python -m pip install --quiet -e '.[load]'
	PY=$(BIN)/python bash tests/bench/load_run

## The faults proof: the same load with the reliability faults injected one after another (an API worker and
## instance killed, Redis restarted empty, the RQ worker killed, WeChat Pay failing), then the invariants
## (tests/bench/load_faults.py); a report in deploy/reports/load-faults-*.json.
load-faults: install
	$(BIN)/python -m pip install --quiet -e '.[load]'
	LOAD_FAULTS=1 PY=$(BIN)/python bash tests/bench/load_run

check: test lint deploy-check

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
