"""Work that must wait until the database transaction commits (Redis indexes, background jobs).

Redis and job queues are not part of the database transaction: writing them before the commit
could publish a change that then rolls back. ``after_commit`` defers a callback until the session
commits and drops it if the session rolls back. A callback that needs the database reads it in
``prepare``, which runs just before the commit (SQL cannot be emitted after it).

``on_rollback`` is the other half: it undoes outside work done inside the transaction (a Redis
claim gate taken for a coupon row) when the transaction ends without committing (rolled back,
or closed uncommitted). A savepoint's release is not the commit: both wait for the outermost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from shop.extensions import db

log = logging.getLogger(__name__)
_PENDING = "ripple_after_commit"
_PREPARED = "ripple_after_commit_prepared"
_UNDO = "ripple_on_rollback"


def after_commit(callback: Callable[..., None], *, key: Hashable | None = None,
                 prepare: Callable[[], Any] | None = None) -> None:
    """Run ``callback`` once the current transaction commits (with ``prepare()``'s result if given).

    Work registered twice under the same ``key`` in one transaction runs once.
    """
    pending: dict = db.session().info.setdefault(_PENDING, {})
    pending[key if key is not None else object()] = (prepare, callback)


def on_rollback(callback: Callable[[], None]) -> None:
    """Run ``callback`` if the current (outermost) transaction ends without committing."""
    session = db.session()
    if not session.in_transaction():
        session.begin()  # the transaction this undoes, so that its end is seen
    session.info.setdefault(_UNDO, []).append(callback)


@event.listens_for(Session, "before_commit")
def _prepare(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint's release: the outermost may still roll back
        return
    pending = session.info.pop(_PENDING, {})
    prepared = session.info.setdefault(_PREPARED, [])
    for prepare, callback in pending.values():
        prepared.append((callback, (prepare(),) if prepare else ()))


@event.listens_for(Session, "after_commit")
def _run(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_UNDO, None)  # committed: nothing to undo
    for callback, args in session.info.pop(_PREPARED, []):
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - the commit stands; what failed can be rebuilt from the database
            log.exception("after-commit work failed; rebuild it from the database (see README)")


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction: nothing of it will commit
        session.info.pop(_PENDING, None)
        session.info.pop(_PREPARED, None)


@event.listens_for(Session, "after_transaction_end")
def _undo(session: Session, transaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    for callback in reversed(session.info.pop(_UNDO, [])):  # still here: the transaction did not commit
        try:
            callback()
        except Exception:  # noqa: BLE001 - the rollback stands; rebuild what this failed to undo
            log.exception("undoing outside work after a rollback failed; rebuild it from the database (see README)")
