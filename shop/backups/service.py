"""Back up with pg_dump, restore with pg_restore, and check a restore against what was backed up.

A backup is two files: ``ripple-<UTC time>.dump`` (pg_dump's custom format) and ``.json`` beside it, the
row count of every table and the sums of the money and points ledgers, read in the very snapshot pg_dump
dumps (``pg_export_snapshot``), so a busy database still gives counts that the restore must equal. The
check thus needs only the backup, not the source: it works on a fresh cluster after the source is lost.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from shop.database import utcnow

# The ledgers whose sums a restore must keep: table -> (the column the sums are grouped by, summed columns).
LEDGERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "points_ledger": ("reason", ("points", "delta", "owed_delta")),
    "points_accounts": ("'all'", ("balance", "owed")),
    "referral_rewards": ("kind", ("amount", "reversed_amount")),
    "payments": ("outcome", ("amount",)),
    "refunds": ("status", ("amount",)),
}


class BackupError(Exception):
    """A backup or restore that cannot be done, said in words for the operator."""


def summarize(connection: Connection) -> dict[str, int]:
    """Row counts of every table and the ledgers' sums: ``rows:<table>`` and ``sum:<table>.<column>[<group>]``."""
    preparer = connection.dialect.identifier_preparer
    tables = sorted(inspect(connection).get_table_names())
    # Names from the database's own catalogue, quoted: no input reaches these statements.
    summary = {f"rows:{table}": connection.scalar(text(f"SELECT count(*) FROM {preparer.quote(table)}"))  # noqa: S608
               for table in tables}
    for table, (group, columns) in LEDGERS.items():
        if table not in tables:
            continue
        sums = ", ".join(f"coalesce(sum({column}), 0)" for column in columns)
        ledger = text(f"SELECT {group}, {sums} FROM {table} GROUP BY 1 ORDER BY 1")  # noqa: S608 - LEDGERS' constants
        for row in connection.execute(ledger):
            for column, total in zip(columns, row[1:], strict=True):
                summary[f"sum:{table}.{column}[{row[0]}]"] = int(total)
    return summary


def differences(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    """What a restore lacks or has otherwise than the backup, one line each; empty when they agree."""
    return [f"{key}: backup {expected.get(key, 'none')}, restored {actual.get(key, 'none')}"
            for key in sorted(expected.keys() | actual.keys()) if expected.get(key) != actual.get(key)]


def back_up(database_url: str, directory: Path) -> Path:
    """Dump ``database_url`` into ``directory``; the dump's path (its summary sits beside it as .json)."""
    directory.mkdir(parents=True, exist_ok=True)
    dump = directory / f"ripple-{utcnow().strftime('%Y%m%dT%H%M%S%fZ')}.dump"
    engine = _engine(database_url)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                # pg_dump reads the snapshot this transaction reads: the summary describes the dump exactly.
                snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
                summary = summarize(connection)
                _run("pg_dump", database_url, "--format=custom", f"--snapshot={snapshot}", f"--file={dump}")
    finally:
        engine.dispose()
    summary_of(dump).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return dump


def restore(dump: Path, database_url: str) -> list[str]:
    """Restore ``dump`` into ``database_url`` (a new database, made if missing) and check it; the differences."""
    if not dump.is_file() or not summary_of(dump).is_file():
        raise BackupError(f"{dump} is not a backup of `flask backup create` (the .dump and its .json)")
    _create_database(database_url)
    engine = _engine(database_url)
    try:
        with engine.connect() as connection:
            if inspect(connection).get_table_names():
                raise BackupError(f"{_shown(database_url)} already has tables: restore into a new database")
        _run("pg_restore", database_url, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
             str(dump))
    finally:
        engine.dispose()
    return check(dump, database_url)


def check(dump: Path, database_url: str) -> list[str]:
    """How the database at ``database_url`` differs from the backup ``dump`` in row counts and ledger sums."""
    engine = _engine(database_url)
    try:
        with engine.connect() as connection:
            actual = summarize(connection)
    finally:
        engine.dispose()
    return differences(json.loads(summary_of(dump).read_text()), actual)


def summary_of(dump: Path) -> Path:
    """Where the row counts and ledger sums of ``dump`` are kept."""
    return dump.with_suffix(".json")


def _engine(database_url: str):
    if make_url(database_url).get_backend_name() != "postgresql":
        raise BackupError(f"backups are PostgreSQL's (pg_dump): {_shown(database_url)} is not PostgreSQL")
    return create_engine(database_url, poolclass=NullPool)


def _create_database(database_url: str) -> None:
    url = make_url(database_url)
    engine = _engine(url.set(database="postgres").render_as_string(hide_password=False))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": url.database})
            if not exists:
                connection.execute(text(f"CREATE DATABASE {connection.dialect.identifier_preparer.quote(url.database)}"))
    finally:
        engine.dispose()


def _run(program: str, database_url: str, *arguments: str) -> None:
    """Run pg_dump or pg_restore on ``database_url``; its password goes by the environment, not the command line."""
    path = shutil.which(program)
    if path is None:
        raise BackupError(f"{program} is not installed (Debian: apt-get install postgresql-client)")
    libpq_url, environment = _libpq(make_url(database_url))
    finished = subprocess.run([path, f"--dbname={libpq_url}", *arguments], env=environment,  # noqa: S603
                              capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise BackupError(f"{program} failed: {finished.stderr.strip()}")


def _libpq(url: URL) -> tuple[str, dict[str, Any]]:
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), environment


def _shown(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)
