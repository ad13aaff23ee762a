"""Points fixtures: members, committed work, and the order signals sent as orders will send them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from shop import events
from shop.database import utcnow
from shop.extensions import db
from shop.orders.refunds import refunded_share
from shop.points.models import PointsAccount, PointsEntry, PointsLot
from shop.points.service import verify_ledger


def months_ago(months: int, **extra: int) -> datetime:
    return utcnow() - relativedelta(months=months) - timedelta(**extra)



@pytest.fixture
def member(login) -> Callable[[str], int]:
    """A new shopper (logged in through the stub); answers the member id."""

    def make(name: str = "alice") -> int:
        return login(f"{name}:1")["member"]["id"]

    return make


class Orders:
    """Sends the order signals the way the orders capability does, each in its own transaction."""

    def __init__(self, app) -> None:
        self.app = app

    def _send(self, signal, **kwargs: Any) -> None:
        with self.app.app_context():
            signal.send(**kwargs)
            db.session.commit()

    def paid(self, order_id: int, member_id: int, amount_paid: int, paid_at: datetime | None = None) -> None:
        extra = {"paid_at": paid_at} if paid_at else {}
        self._send(events.order_paid, order_id=order_id, member_id=member_id, amount_paid=amount_paid,
                   first_paid_order=False, store_id=None, **extra)

    def cancelled(self, order_id: int, member_id: int) -> None:
        self._send(events.order_cancelled, order_id=order_id, member_id=member_id, reason="shopper")

    def refunded(self, order_id: int, member_id: int, refund_id: int, amount: int, refunded_total: int,
                 amount_paid: int) -> None:
        self._send(events.order_refunded, order_id=order_id, member_id=member_id, refund_id=refund_id,
                   amount=amount, refunded_total=refunded_total, amount_paid=amount_paid,
                   full=refunded_total == amount_paid,
                   refunded_share=refunded_share(refunded_total, amount_paid, full=refunded_total == amount_paid),
                   line_shares={})  # these orders are the signal's only: no lines


@pytest.fixture
def orders(app) -> Orders:
    return Orders(app)


class Book:
    """Reads a member's points back (each call in its own app context)."""

    def __init__(self, app) -> None:
        self.app = app

    def entries(self, member_id: int) -> list[tuple]:
        """(reason, delta, owed_delta, order_id) oldest first."""
        with self.app.app_context():
            rows = db.session.scalars(select(PointsEntry).where(PointsEntry.member_id == member_id)
                                      .order_by(PointsEntry.id)).all()
            return [(r.reason, r.delta, r.owed_delta, r.order_id) for r in rows]

    def account(self, member_id: int) -> tuple[int, int]:
        """(balance, owed) of the balance row."""
        with self.app.app_context():
            account = db.session.get(PointsAccount, member_id)
            return (account.balance, account.owed) if account else (0, 0)

    def lots(self, member_id: int) -> list[tuple[int, int, datetime]]:
        """(amount, remaining, expires_at) in the order they were credited."""
        with self.app.app_context():
            rows = db.session.scalars(select(PointsLot).where(PointsLot.member_id == member_id)
                                      .order_by(PointsLot.id)).all()
            return [(r.amount, r.remaining, r.expires_at) for r in rows]

    def consistent(self) -> bool:
        """Every balance row equals its ledger sum and its lots' remaining points."""
        with self.app.app_context():
            return verify_ledger() == []


@pytest.fixture
def book(app) -> Book:
    return Book(app)
