"""Batch stats: every figure checked against a scenario built row by row."""

import itertools
from datetime import UTC, datetime, timedelta

from coupons.models import Coupon, CouponRedemption
from shop.auth import Role
from shop.extensions import db
from shop.members.models import Member
from shop.orders.models import Order
from shop.staff.service import create_staff
from tests.conftest import bearer
from tests.factories import make_store

NOW = datetime.now(UTC)
_orders = itertools.count(1)
_issue_numbers = itertools.count(1)  # unique within a batch (and beyond: simpler)


def _member(name: str) -> int:
    member = Member(openid=f"openid-{name}", nickname=name)
    db.session.add(member)
    db.session.flush()
    return member.id


def _order(member_id: int, *, status: str, paid: int) -> int:
    n = next(_orders)
    order = Order(number=f"STATS{n:010d}", member_id=member_id, idempotency_key=f"stats-{n}",
                  request_fingerprint="x" * 64, status=status, fulfilment="pickup", items_total=paid + 1000,
                  discount_total=1000, amount_payable=paid, amount_paid=paid, expires_at=NOW + timedelta(minutes=15))
    db.session.add(order)
    db.session.flush()
    return order.id


def _coupon(batch_id: int, member_id: int, *, source: str = "public", status: str = "available",
            expires_at: datetime | None = None, **fields) -> int:
    coupon = Coupon(batch_id=batch_id, member_id=member_id, sequence=1, issue_number=next(_issue_numbers),
                    claim_day=NOW.date(), source=source, status=status,
                    valid_from=NOW - timedelta(days=1), expires_at=expires_at or NOW + timedelta(days=6),
                    claimed_at=NOW - timedelta(days=1), **fields)
    db.session.add(coupon)
    db.session.flush()
    return coupon.id


def _redeem(coupon_id: int, store_id: int, staff_id: int, *, reverted: bool = False) -> None:
    db.session.add(CouponRedemption(coupon_id=coupon_id, store_id=store_id, staff_id=staff_id, redeemed_at=NOW,
                                    reverted_at=NOW + timedelta(minutes=2) if reverted else None,
                                    reverted_by_staff_id=staff_id if reverted else None))


def _scenario(batch_id: int, other_batch_id: int) -> dict[str, int]:
    """Ten coupons of the batch in every state, and an eleventh of another batch that must not count."""
    square, xintiandi = make_store(name="People's Square"), make_store(name="Xintiandi")
    clerk = create_staff(username="stats-clerk", password="counter-password-1", role=Role.STAFF,
                         store_ids=[square.id, xintiandi.id])
    db.session.flush()
    m = [_member(f"m{n}") for n in range(10)]
    in_store = {"status": "used", "used_in": "in_store", "used_at": NOW}
    # available; its refunded order (a full refund before use returns the coupon) is not GMV
    _coupon(batch_id, m[0], order_id=_order(m[0], status="refunded", paid=7000))
    _coupon(batch_id, m[1], expires_at=NOW - timedelta(minutes=1))  # available past its expiry: expired
    _coupon(batch_id, m[2], source="new_member", status="expired", expires_at=NOW - timedelta(days=1))
    _coupon(batch_id, m[3], status="locked", order_id=_order(m[3], status="pending_payment", paid=0),
            locked_at=NOW, discount_amount=1000)  # not used yet: no cost
    _coupon(batch_id, m[4], status="used", used_in="online", used_at=NOW, discount_amount=1000,
            order_id=_order(m[4], status="paid", paid=5000))
    _coupon(batch_id, m[5], source="targeted", status="used", used_in="online", used_at=NOW, discount_amount=800,
            order_id=_order(m[5], status="completed", paid=3000))
    _redeem(_coupon(batch_id, m[6], discount_amount=1000, **in_store), square.id, clerk.id)
    _redeem(_coupon(batch_id, m[7], source="follower", discount_amount=1000, **in_store), xintiandi.id, clerk.id)
    _redeem(_coupon(batch_id, m[8], discount_amount=1000, **in_store), square.id, clerk.id)
    _redeem(_coupon(batch_id, m[9]), xintiandi.id, clerk.id, reverted=True)  # scanned by mistake: available again
    other = _coupon(other_batch_id, m[0], status="used", used_in="online", used_at=NOW, discount_amount=500,
                    order_id=_order(m[0], status="paid", paid=99_000))
    _redeem(other, square.id, clerk.id, reverted=True)
    return {"square": square.id, "xintiandi": xintiandi.id}


def test_batch_stats_count_every_state_channel_store_and_fen(client, committed, marketing, active_batch):
    batch_id, other_batch_id = active_batch(total=20, per_member_limit=3), active_batch()
    stores = committed(lambda: _scenario(batch_id, other_batch_id))
    response = client.get(f"/api/v1/admin/coupon-batches/{batch_id}/stats", headers=marketing)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "issued": 10,
        "claimed": 7,
        "issued_by_other_channels": {"new_member": 1, "targeted": 1, "follower": 1},
        "available": 2,
        "locked": 1,
        "used": 5,
        "used_online": 2,
        "redeemed_in_store": 3,
        "redeemed_in_store_by_store": [{"store_id": stores["square"], "redeemed": 2},
                                       {"store_id": stores["xintiandi"], "redeemed": 1}],
        "expired": 2,
        "reverted": 1,
        "gmv": 8000,
        "discount_cost": 4800,
    }
    detail = client.get(f"/api/v1/admin/coupon-batches/{batch_id}", headers=marketing).get_json()
    assert detail["stats"] == response.get_json() and (detail["issued"], detail["remaining"]) == (10, 10)


def test_a_new_batch_has_zero_stats(client, marketing, active_batch):
    batch_id = active_batch()
    stats = client.get(f"/api/v1/admin/coupon-batches/{batch_id}/stats", headers=marketing).get_json()
    assert stats == {"issued": 0, "claimed": 0, "issued_by_other_channels": {}, "available": 0, "locked": 0,
                     "used": 0, "used_online": 0, "redeemed_in_store": 0, "redeemed_in_store_by_store": [],
                     "expired": 0, "reverted": 0, "gmv": 0, "discount_cost": 0}


def test_stats_are_for_marketing_and_admin_only(client, login, staff_token, marketing, active_batch):
    batch_id = active_batch()
    path = f"/api/v1/admin/coupon-batches/{batch_id}/stats"
    assert client.get(path, headers=staff_token(Role.ADMIN)).status_code == 200
    assert client.get(path, headers=staff_token(Role.STAFF)).status_code == 403
    assert client.get(path, headers=bearer(login("alice:1")["token"])).status_code == 403
    assert client.get(path).status_code == 401
    missing = client.get("/api/v1/admin/coupon-batches/999999/stats", headers=marketing)
    assert missing.status_code == 404 and missing.get_json()["code"] == "coupon_batch_not_found"


def test_batch_days_count_claims_and_uses_online_and_in_store_on_the_business_day_they_happened(
        app, committed, active_batch):
    from coupons.batches.stats import batch_days
    from shop.config import BUSINESS_ZONE

    batch_id = active_batch(total=20, per_member_limit=3)
    # 23:30 in Shanghai is 15:30 UTC: the same day there; 00:30 the next day there is still the day before in UTC.
    today = NOW.astimezone(BUSINESS_ZONE).date()
    late = datetime.combine(today - timedelta(days=2), datetime.min.time(), BUSINESS_ZONE) + timedelta(hours=23, minutes=30)
    early = late + timedelta(hours=1)

    def scenario():
        m = [_member(f"d{n}") for n in range(4)]
        _coupon(batch_id, m[0], status="used", used_in="online", used_at=late, discount_amount=100)
        _coupon(batch_id, m[1], status="used", used_in="in_store", used_at=early, discount_amount=100)
        _coupon(batch_id, m[2], status="used", used_in="in_store", used_at=early, discount_amount=100)
        _coupon(batch_id, m[3], status="available", used_at=None)  # claimed (on NOW's day), never used

    committed(scenario)
    with app.app_context():
        days = {row["day"]: row for row in batch_days(batch_id, now=NOW)}
    assert len(days) == 30 and max(days) == today
    assert days[today - timedelta(days=2)] == {"day": today - timedelta(days=2), "claimed": 0, "used_online": 1,
                                               "used_in_store": 0}
    assert days[today - timedelta(days=1)]["used_in_store"] == 2
    assert sum(row["claimed"] for row in days.values()) == 4  # _coupon's claim_day is NOW's UTC date
