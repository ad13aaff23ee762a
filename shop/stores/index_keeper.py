"""Heals the nearby index without a command: a search that finds it missing or stale starts a rebuild.

The rebuild runs in a background thread of the process that noticed (the embedded profile has no
separate worker, and a queued job would wait behind the very Redis that was lost). One thread per
process, trying at most once a second; across processes the Redis lock in ``geo.rebuild_if_stale``
lets one rebuild run while the others wait for it and then find the index current. A process that
dies mid-rebuild leaves its lock to expire, and a waiting one takes over.
Until then searches answer from the database (``shop.stores.nearby``); this module also says so
in the log, once when it starts and once when the index serves again.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app

from shop.extensions import db, redis_client
from shop.stores.geo import rebuild_if_stale
from shop.stores.versions import seen_version

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0  # between attempts of one process while another process holds the lock
MAX_BACKOFF_SECONDS = 60.0  # after failed rebuilds the pause doubles up to this: no rebuild storm


class IndexKeeper:
    """One app's watch over the nearby index: rebuilds it when told it is not ready, logs outages once."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        with app.app_context():
            self.seen = seen_version()  # the version searches check the marker against
        self._mutex = threading.Lock()
        self._thread: threading.Thread | None = None
        self._next_attempt = 0.0
        self._failures = 0  # rebuilds failed in a row
        self._outage: str | None = None  # why searches answer from the database, while they do

    @property
    def rebuilding(self) -> bool:
        """Whether this process's rebuild thread is running."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def index_not_ready(self) -> None:
        """A search found the index missing or older than the database: rebuild it soon."""
        self._begin_outage("missing or older than the database; rebuilding it")
        self.rebuild_soon()

    def redis_unreachable(self, error: Exception) -> None:
        """A search could not reach Redis."""
        self._begin_outage(f"Redis unreachable ({error})")

    def index_ready(self) -> None:
        """A search was answered from the index."""
        if self._outage is not None:
            self._outage = None
            log.info("nearby index: searching Redis again")

    def rebuild_soon(self) -> None:
        """Start the rebuild thread unless it runs already."""
        with self._mutex:
            if not self.rebuilding:
                self._thread = threading.Thread(target=self._rebuild, name="ripple-nearby-index", daemon=True)
                self._thread.start()

    def _rebuild(self) -> None:
        """Until the index reflects the database: rebuild it, or wait for the process that holds the lock."""
        with self._app.app_context():
            try:
                while True:
                    self._pause()
                    try:
                        version = rebuild_if_stale(redis_client())
                    finally:
                        db.session.remove()  # the next attempt reads the database afresh
                    if version is not None:
                        self.seen.saw(version)
                        self._failures = 0
                        return
            except Exception:  # noqa: BLE001 - a thread's failure is only logged; a later search retries
                self._failures += 1
                backoff = min(MAX_BACKOFF_SECONDS, RETRY_SECONDS * 2 ** self._failures)
                self._next_attempt = time.monotonic() + backoff
                log.exception("rebuilding the nearby index failed; trying again in %.0f s at the next search", backoff)

    def _pause(self) -> None:
        """Space attempts by ``RETRY_SECONDS`` (more after failures), also across the threads started one after another."""
        delay = self._next_attempt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_attempt = time.monotonic() + RETRY_SECONDS

    def _begin_outage(self, reason: str) -> None:
        if self._outage is None:
            self._outage = reason
            log.warning("nearby index %s: answering from the database meanwhile", reason)


def index_keeper() -> IndexKeeper:
    """The current app's ``IndexKeeper``."""
    found = current_app.extensions.get("store_index_keeper")
    if found is None:
        app = current_app._get_current_object()
        found = current_app.extensions.setdefault("store_index_keeper", IndexKeeper(app))
    return found
