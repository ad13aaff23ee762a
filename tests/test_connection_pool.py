"""Pooled database connections: one that went stale while idle is replaced before a request uses it."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shop.extensions import db
from shop.wiring import POOL_PING_AFTER_IDLE_S


def _lend_and_return():
    """The pool's only connection, lent and given back: its DBAPI connection and its pool record."""
    db.engine.dispose()  # an empty pool: the next checkout lends the connection made here
    with db.engine.connect() as connection:
        fairy = connection.connection
        return fairy.dbapi_connection, fairy._connection_record


def test_a_connection_that_died_while_idle_is_replaced_before_it_is_lent(app):
    with app.app_context():
        dead, record = _lend_and_return()
        dead.close()  # as a database restart or a firewall's idle timeout leaves it
        record.info["idle_since"] -= POOL_PING_AFTER_IDLE_S + 1
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
            assert connection.connection.dbapi_connection is not dead


def test_a_connection_used_a_moment_ago_is_lent_without_a_ping(app):
    """No round trip per request: a connection that died since its last use fails once, then the pool heals."""
    with app.app_context():
        dead, _ = _lend_and_return()
        dead.close()
        with pytest.raises(DBAPIError) as failed, db.engine.connect() as connection:
            assert connection.connection.dbapi_connection is dead  # lent as it was: nobody pinged it
            connection.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
