"""The claim path's read of a batch: a per-process copy, checked against a version token in Redis.

A flash claim reads the same batch row thousands of times a second; the copy saves a database
round trip per claim, and the gate checks the copy's token in the same script that takes a coupon
(``gate.take(version=...)``), so the check costs no round trip of its own. Every committed change
of a batch through the ORM sets a new random token (``coupons:{b<id>}:version``, beside the gate's
keys) right after the commit, so every process reloads its copy on its next claim. A claim that reads the token in the instant
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

from coupons.claiming.gate import version_key
from coupons.errors import CouponError
from coupons.models import CouponBatch
from shop.database import storable_id
from shop.errors import AppError
from shop.extensions import db, redis_client

_CHANGED = "coupons_changed_batches"
MAX_AGE_S = 30.0
# (Redis URL, batch id) -> (token, loaded at (monotonic s), batch)
_copies: dict[tuple[str, int], tuple[bytes, float, SimpleNamespace]] = {}
_lock = threading.Lock()
_NO_TOKEN = b"-"  # matches no token: the gate answers STALE_COPY and the caller asks again


def batch_copy(batch_id: int) -> tuple[bytes, SimpleNamespace]:
    """The process's copy of the batch and the version token it was loaded under, without asking Redis
    while the copy is younger than MAX_AGE_S; 404 if unknown.

    The caller hands the token to the gate (``gate.take(version=...)``), which takes nothing when it is
    not the current one: a stale copy is never acted on, and a flash claim costs one Redis round trip.
    """
    copy = _copies.get(_slot(batch_id))
    if copy is not None and time.monotonic() - copy[1] < MAX_AGE_S:
        return copy[0], copy[2]
    return current_batch(batch_id)


def current_batch(batch_id: int) -> tuple[bytes, SimpleNamespace]:
    """The batch checked against its version token now (reloaded if the copy is another or old), and the token.

    Every column of the batch, as attributes (a copy, not a row of the session); 404 if unknown.
    """
    if not storable_id(batch_id):  # no row can have it: not found, without asking the database
        raise AppError(CouponError.COUPON_BATCH_NOT_FOUND, "No such coupon batch.")
    client = redis_client()
    token = client.get(version_key(batch_id))
    slot = _slot(batch_id)
    copy = _copies.get(slot)
    now = time.monotonic()
    if token is not None and copy is not None and copy[0] == token and now - copy[1] < MAX_AGE_S:
        return token, copy[2]
    batch = _load(batch_id)
    if token is None:
        token = secrets.token_hex(8).encode()
        if not client.set(version_key(batch_id), token, nx=True):
            return _NO_TOKEN, batch  # a change set its token meanwhile: the gate refuses this copy
    with _lock:
        _copies[slot] = (token, now, batch)
    return token, batch


def _slot(batch_id: int) -> tuple[str, int]:
    """Where the copy of this app's batch is kept (apps on other Redis servers keep their own)."""
    return current_app.extensions["redis"].url, batch_id


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
