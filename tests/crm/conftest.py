"""Rows for CRM tests: members with orders, follows, shares, tree places and points, made directly; and the
other packages' fixtures, reused by tests that buy, claim and share through the API."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from referral.sharing.models import Share
from referral.tree.models import ReferralNode
from shop.auth import Role
from shop.extensions import db
from shop.members.models import Member, OfficialAccountFollower
from shop.orders.models import Order
from shop.points.models import PointsAccount
from tests.coupons.conftest import active_batch  # noqa: F401
from tests.orders.conftest import alice, shop  # noqa: F401

NOW = datetime.now(UTC)
_n = itertools.count(1)


def make_member(name: str, *, joined: datetime | None = None, **fields) -> int:
    member = Member(openid=f"crm-{name}-{next(_n)}", nickname=name, created_at=joined or NOW - timedelta(days=400),
                    **fields)
    db.session.add(member)
    db.session.flush()
    return member.id


def paid_order(member_id: int, amount: int, *, paid_at: datetime, store_id: int | None = None,
               status: str = "completed", refunded: int = 0, fulfilment: str = "pickup") -> int:
    n = next(_n)
    order = Order(number=f"CRM{n:010d}", member_id=member_id, idempotency_key=f"crm-{n}", request_fingerprint="x" * 64,
                  status=status, fulfilment=fulfilment, store_id=store_id, items_total=amount, amount_payable=amount,
                  amount_paid=amount, refunded_total=refunded, paid_at=paid_at, created_at=paid_at,
                  expires_at=paid_at + timedelta(minutes=15))
    db.session.add(order)
    db.session.flush()
    return order.id


def follow(member_id: int, *, subscribed: bool = True) -> None:
    db.session.add(OfficialAccountFollower(oa_openid=f"oa-{next(_n)}", member_id=member_id, subscribed=subscribed,
                                           subscribed_at=NOW - timedelta(days=3)))
    db.session.flush()


def share(member_id: int) -> int:
    row = Share(scene=f"crm{next(_n)}", sharer_id=member_id)
    db.session.add(row)
    db.session.flush()
    return row.id


def place(member_id: int, parent_id: int | None, *, depth: int = 0, descendants: int = 0,
          first_paid_at: datetime | None = None) -> None:
    db.session.add(ReferralNode(member_id=member_id, parent_id=parent_id, depth=depth, descendants=descendants,
                                first_paid_at=first_paid_at, bound_at=NOW - timedelta(days=5)))
    db.session.flush()


def points(member_id: int, balance: int) -> None:
    db.session.add(PointsAccount(member_id=member_id, balance=balance, owed=0, earned=balance))
    db.session.flush()


@pytest.fixture
def marketing(staff_token) -> dict:
    return staff_token(Role.MARKETING)


@pytest.fixture
def admin(staff_token) -> dict:
    return staff_token(Role.ADMIN)
