"""Monthly partitions of ``journey_events`` on PostgreSQL (range on ``occurred_at``, UTC months).

The migration makes the table partitioned; this module names the partitions and creates the coming
months' ahead (a periodic job). A default partition catches a row no month holds yet; creating that
month later moves such rows out of it first. On SQLite the table is plain and these do nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import Connection, text

PARENT = "journey_events"
DEFAULT_PARTITION = f"{PARENT}_default"
_PARTITION_NAME = re.compile(rf"^{PARENT}_(p\d{{6}}|default)$")


def is_partition(name: str | None) -> bool:
    """Whether a table name is one of the partitions (which the models do not list)."""
    return bool(name) and _PARTITION_NAME.match(name) is not None


def month_of(at: datetime) -> datetime:
    """The first instant of ``at``'s month, in UTC."""
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def months_after(month: datetime, count: int) -> datetime:
    """The month ``count`` months after ``month`` (a first instant)."""
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"{PARENT}_p{month:%Y%m}"


def is_partitioned(connection: Connection) -> bool:
    """PostgreSQL with journey_events partitioned (the migration ran there)."""
    if connection.dialect.name != "postgresql":
        return False
    return connection.scalar(text("SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                                  "WHERE c.relname = :name AND pg_table_is_visible(c.oid)"), {"name": PARENT}) == 1


def create_month(connection: Connection, month: datetime) -> bool:
    """Create ``month``'s partition unless it exists, moving its rows out of the default partition; whether made."""
    name = partition_name(month)
    if connection.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is not None:
        return False
    bounds = {"start": month, "end": months_after(month, 1)}
    connection.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    # Identifiers cannot be bound parameters: these are our constants and a name made from a datetime.
    connection.execute(text(f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE occurred_at >= :start "  # noqa: S608
                            f"AND occurred_at < :end RETURNING *) INSERT INTO {name} SELECT * FROM moved"), bounds)
    connection.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES "
                            f"FROM ('{month.isoformat()}') TO ('{bounds['end'].isoformat()}')"))
    return True


def ensure_months(connection: Connection, first: datetime, last: datetime) -> list[str]:
    """Create the partitions of the months from ``first``'s to ``last``'s; the names made."""
    made, month = [], month_of(first)
    while month <= month_of(last):
        if create_month(connection, month):
            made.append(partition_name(month))
        month = months_after(month, 1)
    return made
