"""The store-set version: what the nearby index in Redis is checked against.

A counter in the database (``StoreSetVersion``) goes up in the same transaction as every change to
what the index holds (``geo.index_after_commit``), so a committed version always includes the
changes it counts. The index carries the version it reflects in a marker key; an index lost with
Redis, or restored from an older snapshot, has no marker or an older one.

A search must not read the database to learn the version (it would double the nearby search's
round trips), so each process keeps the version it last saw (``SeenVersion``): set by its own
commits and rebuilds, and re-read every few seconds for the commits of other processes.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from flask import current_app
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session

from shop.database import dialect_insert
from shop.extensions import db
from shop.stores.models import StoreSetVersion

log = logging.getLogger(__name__)
ROW_ID = 1
# How old this process's idea of the version may get: another process's change to the stores (or a
# Redis restored from before it) is noticed within this long.
REFRESH_SECONDS = 1.0


def database_version(reader: Connection | scoped_session | None = None) -> int:
    """The committed store-set version (0 while no store has ever been written)."""
    statement = select(StoreSetVersion.version).where(StoreSetVersion.id == ROW_ID)
    return (reader or db.session).scalar(statement) or 0


def bump_version() -> int:
    """One more than the version, in the current transaction; its row stays locked until it ends.

    The lock orders concurrent changes: versions are committed in the order they are handed out.
    """
    insert = dialect_insert(db.session)(StoreSetVersion)
    statement = (insert.values(id=ROW_ID, version=1)
                 .on_conflict_do_update(index_elements=[StoreSetVersion.id],
                                        set_={"version": StoreSetVersion.version + 1})
                 .returning(StoreSetVersion.version))
    return db.session.execute(statement).scalar_one()


class SeenVersion:
    """The store-set version this process last saw the database at (one per app)."""

    def __init__(self) -> None:
        self._version = 0
        self._seen_at = -math.inf
        self._reading = threading.Lock()

    def get(self) -> int:
        """The version, re-read from the database when older than ``REFRESH_SECONDS``."""
        if time.monotonic() - self._seen_at >= REFRESH_SECONDS and self._reading.acquire(blocking=False):
            try:
                self._reread()
            finally:
                self._reading.release()
        return self._version

    def saw(self, version: int) -> None:
        """This process just committed or rebuilt ``version``."""
        self._version, self._seen_at = version, time.monotonic()

    def _reread(self) -> None:
        try:
            # Its own connection: the caller's session and transaction stay as they were.
            with db.engine.connect() as connection:
                version = database_version(connection)
        except SQLAlchemyError as exc:  # the database's outage is reported where it is used
            log.debug("store-set version not re-read: %s", exc)
            self._seen_at = time.monotonic() - REFRESH_SECONDS + 1  # try again in a second
            return
        self.saw(version)


def seen_version() -> SeenVersion:
    """The current app's ``SeenVersion``."""
    found = current_app.extensions.get("store_set_version")
    if found is None:
        found = current_app.extensions.setdefault("store_set_version", SeenVersion())
    return found
