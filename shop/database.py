"""Declarative base, column types and time helpers shared by every model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, TypeDecorator, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached

_T = TypeVar("_T")

# Stable constraint names let Alembic alter and drop them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; SQLite only autoincrements a column declared INTEGER.
BigIntegerPK = BigInteger().with_variant(Integer(), "sqlite")
MAX_ID = 2**63 - 1  # a BIGINT id: the database refuses to compare a larger number (a 500, not a 404)


def storable_id(value: int) -> bool:
    """Whether ``value`` can be the id of a row at all; a path id beyond it is simply not found."""
    return 0 < value <= MAX_ID


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC, also on SQLite (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where aware UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def dialect_insert(session: Any) -> Any:
    """The INSERT construct with ON CONFLICT of the session's database (PostgreSQL or SQLite)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def use_real_sqlite_transactions(engine) -> None:
    """Make SQLite savepoints behave as on PostgreSQL.

    pysqlite opens a transaction only at the first write. A SAVEPOINT issued after mere reads
    therefore opens the outermost transaction, and its RELEASE commits it: a failure later in the
    request could no longer roll the savepoint's rows back. So a savepoint first opens a real
    transaction (IMMEDIATE: it is about to write; waiting for the write lock beats failing later).
    Everything else keeps pysqlite's behaviour, where a transaction starts with its first write
    and so concurrent writers queue on the lock instead of deadlocking on an upgrade.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "savepoint")
    def _savepoint(connection, name) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN IMMEDIATE")


def ping_connections_idle_for(engine: Engine, seconds: float) -> None:
    """Check a pooled connection before lending it only if it sat unused longer than ``seconds``.

    ``pool_pre_ping`` pings on every checkout: a round trip and about 0.3 ms of CPU per request on
    a 2-core machine, to catch connections that went stale while idle (a database restart, a
    firewall's idle timeout). A connection used a moment ago is checked by its next statement: if
    the server went away meanwhile, that request fails once, and SQLAlchemy then invalidates every
    connection of the pool opened before the failure, so the next requests reconnect.
    """
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError("stale pooled connection") from error  # the pool connects anew


def as_loaded(obj: _T) -> _T:
    """An object built from a row a Core INSERT just wrote, made as if the ORM had loaded it (no history, so no flush).

    Hot paths write with Core (the unit of work costs several times the INSERT) and then hand the ORM
    the object: ``session.add`` makes it persistent without writing it again.
    """
    make_transient_to_detached(obj)
    return obj


@contextmanager
def keeping_loaded(session: Any, keep: bool = True) -> Iterator[None]:
    """Commits inside the block do not expire what the session holds, so answering does not read it back.

    Only for rows this request wrote and no one else knows yet (a new order, a new till sale): the
    database holds just what the session wrote, so reading it again after a commit would be wasted.
    """
    expire = session.expire_on_commit
    session.expire_on_commit = expire and not keep
    try:
        yield
    finally:
        session.expire_on_commit = expire
