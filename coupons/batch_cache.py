"""The claim path's read of a batch: a per-process copy, checked against a version token in Redis.

A flash claim reads the same batch row thousands of times a second; the copy saves a database
round trip per claim for one Redis GET. Every committed change of a batch through the ORM sets a
new random token (``coupons:{b<id>}:version``, beside the gate's keys) right after the commit, so
every process reloads its copy on its next claim. A claim that reads the token in the instant
between a change's commit and its new token still sees the batch as it was, like a claim that
started a moment earlier. A flushed Redis loses the tokens: copies are then reloaded, and a new
token is set only if none appeared meanwhile (SET NX), so a change is never hidden by it. A copy is
also reloaded after MAX_AGE_S whatever its token says: the bound on staleness if a change's token
could not be written (Redis down at that moment).

Changes made with Core UPDATEs, outside the ORM, must call ``changed(batch_id)`` after their commit.
"""

from __future__ import annotations

import secrets
import threading
import time
from types import SimpleNamespace
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from coupons.errors import CouponError
from coupons.models import CouponBatch, storable_id
from shop.errors import AppError
from shop.extensions import db, redis_client

_CHANGED = "coupons_changed_batches"
MAX_AGE_S = 30.0
# (Redis URL, batch id) -> (token, loaded at (monotonic s), batch)
_copies: dict[tuple[str, int], tuple[bytes, float, SimpleNamespace]] = {}
_lock = threading.Lock()


def version_key(batch_id: int) -> str:
    return f"coupons:{{b{batch_id}}}:version"


def cached_batch(batch_id: int) -> SimpleNamespace:
    """Every column of the batch, as attributes (a copy, not a row of the session); 404 if unknown."""
    if not storable_id(batch_id):  # no row can have it: not found, without asking the database
        raise AppError(CouponError.COUPON_BATCH_NOT_FOUND, "No such coupon batch.")
    client = redis_client()
    token = client.get(version_key(batch_id))
    slot = (current_app.extensions["redis"].url, batch_id)
    copy = _copies.get(slot)
    now = time.monotonic()
    if token is not None and copy is not None and copy[0] == token and now - copy[1] < MAX_AGE_S:
        return copy[2]
    batch = _load(batch_id)
    if token is None:
        token = secrets.token_hex(8).encode()
        if not client.set(version_key(batch_id), token, nx=True):
            return batch  # a change set its token meanwhile: the next claim loads again
    with _lock:
        _copies[slot] = (token, now, batch)
    return batch


def _load(batch_id: int) -> SimpleNamespace:
    table = CouponBatch.__table__
    with db.engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == batch_id)).mappings().first()
    if row is None:
        raise AppError(CouponError.COUPON_BATCH_NOT_FOUND, "No such coupon batch.")
    return SimpleNamespace(**row)


def changed(*batch_ids: int) -> None:
    """Make every process reload these batches on their next claim (call after the change's commit)."""
    client = redis_client()
    for batch_id in batch_ids:
        client.set(version_key(batch_id), secrets.token_hex(8))


@event.listens_for(Session, "after_flush")
def _note_changed_batches(session: Session, flush_context: Any) -> None:
    ids = {obj.id for obj in (*session.dirty, *session.deleted) if isinstance(obj, CouponBatch)}
    if ids:
        session.info.setdefault(_CHANGED, set()).update(ids)


@event.listens_for(Session, "after_commit")
def _announce_changed_batches(session: Session) -> None:
    ids = session.info.pop(_CHANGED, None)
    if ids and has_app_context():
        changed(*ids)


@event.listens_for(Session, "after_rollback")
def _forget_changed_batches(session: Session) -> None:
    session.info.pop(_CHANGED, None)
