"""PostgreSQL through a pooler in transaction mode (PgBouncer): each transaction may run on another server
connection, so nothing may live on a connection between transactions. CI's PgBouncer stage runs this
file and the files marked ``pgbouncer`` through Debian's pgbouncer (.ci/services.sh start_pgbouncer)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shop.config import load_config
from shop.extensions import db

pytestmark = pytest.mark.pgbouncer

POSTGRESQL = "postgresql+psycopg://ripple@pgbouncer:6432/ripple"


def test_through_a_transaction_pooler_psycopg_prepares_nothing_and_sends_no_startup_options():
    config = load_config(environ={"DATABASE_URL": POSTGRESQL, "DATABASE_TRANSACTION_POOLING": "true"})
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 2, "prepare_threshold": None}


def test_straight_to_postgresql_the_connection_turns_jit_off_itself():
    config = load_config(environ={"DATABASE_URL": POSTGRESQL})
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 2, "options": "-c jit=off"}


@pytest.fixture
def pooled_app(app):
    if not app.config["DATABASE_TRANSACTION_POOLING"]:
        pytest.skip("needs PostgreSQL through a transaction pooler (CI's PgBouncer stage: "
                    "DATABASE_TRANSACTION_POOLING=true)")
    return app


def test_a_statement_run_often_still_runs_when_the_pooler_moves_its_connection_to_another_server(pooled_app):
    """psycopg prepares a statement on its sixth run; PgBouncer hands the most recently used server
    connection to the next transaction, here another client's, so the seventh run lands elsewhere."""
    statement = text("SELECT CAST(:n AS integer) + 1")
    with pooled_app.app_context(), db.engine.connect() as first, db.engine.connect() as second:
        for n in range(8):
            assert first.scalar(statement, {"n": n}) == n + 1
            first.commit()
        second.scalar(text("SELECT 1"))  # holds the server connection `first` last used until it commits
        assert first.scalar(statement, {"n": 41}) == 42
        first.commit()
        second.commit()

