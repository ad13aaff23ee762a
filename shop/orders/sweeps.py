"""Passes over orders or refunds that ask WeChat Pay about each one on its own.

A failure (WeChat Pay unreachable or refusing, an answer we cannot apply, even a bug) is rolled
back, logged and counted; the pass goes on with the next, oldest first. What keeps failing is asked
again later and later (``payment_checks``), so it cannot hold up the rest. Failures in a row
because WeChat Pay cannot be reached end the pass early: the rest waits for the next pass rather
than for a timeout each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from shop.errors import AppError
from shop.extensions import db
from shop.orders.models import PaymentCheck
from shop.wechat.errors import WeChatPayError

log = logging.getLogger(__name__)
BATCH = 200
FIRST_WAIT = timedelta(minutes=1)  # after the first failure; doubled after each further one
LONGEST_WAIT = timedelta(minutes=15)
UNREACHABLE_IN_A_ROW = 3  # this many "cannot reach WeChat Pay" in a row end the pass

_checks = PaymentCheck.__table__


def sweep(subject: str, ids: Select, check: Callable[[int], str], outcomes: Iterable[str],
          at: datetime) -> dict[str, Any]:
    """Run ``check(id)`` for every id ``ids`` selects (one id column), oldest first, each committed on its own.

    The summary counts each outcome ``check`` returned, ``errors`` (rolled back, asked again later)
    and ``skipped`` (left for the next pass when WeChat Pay could not be reached);
    ``wechat_pay_unreachable`` says whether every question this pass asked failed that way.
    """
    summary: dict[str, Any] = dict.fromkeys([*outcomes, "errors", "skipped"], 0)
    id_column = ids.selected_columns[0]
    due = (ids.add_columns(_checks.c.attempts)
           .outerjoin(_checks, and_(_checks.c.subject == subject, _checks.c.subject_id == id_column))
           .where(or_(_checks.c.retry_after.is_(None), _checks.c.retry_after <= at)))
    answered = unreachable = in_a_row = 0
    last = 0
    while True:
        rows = db.session.execute(due.where(id_column > last).order_by(id_column).limit(BATCH)).all()
        for item_id, attempts in rows:
            last = item_id
            try:
                outcome = check(item_id)
            except Exception as error:  # noqa: BLE001 - one item's failure, even a bug's, must not stop the pass
                db.session.rollback()  # nothing half-done stands
                _back_off(subject, item_id, attempts or 0, error, at)
                db.session.commit()
                summary["errors"] += 1
                down = isinstance(error, AppError) and error.code == WeChatPayError.UNAVAILABLE
                unreachable += down
                in_a_row = in_a_row + 1 if down else 0
                if in_a_row >= UNREACHABLE_IN_A_ROW:
                    summary["skipped"] = _count(due.where(id_column > last))
                    log.warning("WeChat Pay unreachable: %s pass stopped, %d left for the next", subject,
                                summary["skipped"])
                    return {**summary, "wechat_pay_unreachable": True}
                continue
            if attempts:
                db.session.execute(delete(_checks).where(_checks.c.subject == subject,
                                                         _checks.c.subject_id == item_id))
            db.session.commit()
            summary[outcome] += 1
            answered += 1
            in_a_row = 0
        if len(rows) < BATCH:
            return {**summary, "wechat_pay_unreachable": bool(unreachable) and not answered}


def _back_off(subject: str, item_id: int, attempts: int, error: Exception, at: datetime) -> None:
    """Count one more failure in a row and set when to ask again (doubling, up to LONGEST_WAIT)."""
    attempts += 1
    retry_after = at + min(FIRST_WAIT * 2 ** min(attempts - 1, 10), LONGEST_WAIT)
    reason = f"{error.code}: {error.message}" if isinstance(error, AppError) else f"{type(error).__name__}: {error}"
    values = {"attempts": attempts, "retry_after": retry_after, "updated_at": at, "last_error": reason[:200]}
    # An AppError is an answer we expect (WeChat Pay down, refusing, not settled): one line. Anything
    # else is a bug or the database: its traceback, once per attempt.
    log.warning("%s %s not settled with WeChat Pay (%s; failure %d in a row, asked again after %s)", subject,
                item_id, reason[:200], attempts, retry_after.isoformat(timespec="seconds"),
                exc_info=not isinstance(error, AppError))
    where = (_checks.c.subject == subject, _checks.c.subject_id == item_id)
    if attempts > 1 and db.session.execute(update(_checks).where(*where).values(**values)).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(_checks).values(subject=subject, subject_id=item_id, **values))
    except IntegrityError:  # another pass recorded it first
        db.session.execute(update(_checks).where(*where).values(**values))


def _count(statement: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.subquery()))
