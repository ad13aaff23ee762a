"""A batch's daily limit: at most N coupons per business day (Asia/Shanghai), exact under concurrency,
rebuilt from the coupon rows, the same for every channel."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from coupons.claiming import gate
from coupons.claiming.service import claim as claim_coupon
from coupons.models import Coupon
from shop.errors import AppError
from shop.extensions import db, redis_client
from tests.conftest import bearer
from tests.coupons.conftest import batch_body, flash_claim, issued_per_member, new_key

pytestmark = pytest.mark.redis_cluster  # also run on a Redis Cluster (.ci/run)

# 2026-03-01 23:59:59 and 2026-03-02 00:00:00 in Shanghai (UTC+8)
LAST_SECOND = datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC)


def claim_at(app, batch_id, member_id, now):
    """Claim through the service with an explicit clock; the coupon's sequence, or the error code."""
    with app.app_context():
        try:
            return claim_coupon(batch_id=batch_id, member_id=member_id, key=new_key(), now=now).coupon.sequence
        except AppError as error:
            db.session.rollback()
            return error.code
        finally:
            db.session.remove()


def test_the_daily_limit_opens_again_at_midnight_in_shanghai(app, login, active_batch, client, marketing):
    batch_id = active_batch(daily_limit=2, total=10)
    members = [login(f"member{n}:1")["member"]["id"] for n in range(5)]
    assert claim_at(app, batch_id, members[0], LAST_SECOND.replace(hour=1)) == 1  # 09:00 Shanghai
    assert claim_at(app, batch_id, members[1], LAST_SECOND) == 1
    assert claim_at(app, batch_id, members[2], LAST_SECOND) == "coupon_daily_limit_reached"
    assert claim_at(app, batch_id, members[2], MIDNIGHT) == 1
    assert claim_at(app, batch_id, members[3], MIDNIGHT) == 1
    assert claim_at(app, batch_id, members[4], MIDNIGHT) == "coupon_daily_limit_reached"
    detail = client.get(f"/api/v1/admin/coupon-batches/{batch_id}", headers=marketing).get_json()
    assert detail["daily_limit"] == 2 and detail["issued"] == 4


def test_midnight_utc_is_not_midnight_in_shanghai(app, login, active_batch):
    batch_id = active_batch(daily_limit=1)
    alice, bob = (login(f"{name}:1")["member"]["id"] for name in ("alice", "bob"))
    assert claim_at(app, batch_id, alice, datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)) == 1
    # 00:00 UTC is 08:00 the same day in Shanghai: still that day's limit
    assert claim_at(app, batch_id, bob, datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC)) == "coupon_daily_limit_reached"


def test_a_lost_gate_rebuilds_todays_count_from_the_coupon_rows(app, login, active_batch):
    batch_id = active_batch(daily_limit=2, total=10)
    members = [login(f"member{n}:1")["member"]["id"] for n in range(4)]
    assert claim_at(app, batch_id, members[0], LAST_SECOND.replace(hour=10)) == 1  # 18:00 Shanghai
    assert claim_at(app, batch_id, members[1], LAST_SECOND) == 1
    with app.app_context():
        redis_client().flushdb()
    assert claim_at(app, batch_id, members[2], LAST_SECOND) == "coupon_daily_limit_reached"
    with app.app_context():
        redis_client().flushdb()
    assert claim_at(app, batch_id, members[2], MIDNIGHT) == 1  # yesterday's rows do not count today
    with app.app_context():
        assert gate.left(redis_client(), batch_id, 10) == 7


def test_rebuild_gates_counts_todays_coupons(app, login, active_batch):
    batch_id = active_batch(daily_limit=1)
    alice, bob = (login(f"{name}:1")["member"]["id"] for name in ("alice", "bob"))
    assert claim_at(app, batch_id, alice, datetime.now(UTC)) == 1
    with app.app_context():
        redis_client().flushdb()
    assert app.test_cli_runner().invoke(args=["coupons", "rebuild-gates"]).exit_code == 0
    with app.app_context():
        assert gate.taken_on(redis_client(), [batch_id], gate.business_day(datetime.now(UTC))) == [1]
    assert claim_at(app, batch_id, bob, datetime.now(UTC)) == "coupon_daily_limit_reached"


def test_a_gate_that_forgot_a_claim_keeps_the_days_count_exact(app, login, active_batch):
    batch_id = active_batch(daily_limit=5, per_member_limit=2)
    alice = login("alice:1")["member"]["id"]
    assert claim_at(app, batch_id, alice, LAST_SECOND) == 1
    with app.app_context():  # the gate forgets alice's coupon: its next take of hers clashes with the row
        redis_client().hdel(gate.keys(batch_id)[2], alice)
    assert claim_at(app, batch_id, alice, LAST_SECOND) == 2  # refused by the database, repaired, taken again
    with app.app_context():
        assert gate.taken_on(redis_client(), [batch_id], gate.business_day(LAST_SECOND)) == [2]
        day_numbers = db.session.scalars(select(Coupon.day_number).where(Coupon.batch_id == batch_id)).all()
    assert len(set(day_numbers)) == 2 and max(day_numbers) <= 5  # the refused take's day number is free again


def test_the_daily_limit_holds_for_automatic_channels_too(app, login, active_batch):
    batch_id = active_batch(channel="new_member", daily_limit=1, total=10)
    first, second = (login(f"{name}:1")["member"]["id"] for name in ("alice", "bob"))
    with app.app_context():
        owners = list(db.session.scalars(select(Coupon.member_id).where(Coupon.batch_id == batch_id)))
    assert owners == [first] and second not in owners


@pytest.mark.parametrize("daily_limit", [0, -1, "5", 10**12])
def test_a_daily_limit_must_be_a_positive_whole_number(client, marketing, daily_limit):
    response = client.post("/api/v1/admin/coupon-batches", json=batch_body(daily_limit=daily_limit), headers=marketing)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"daily_limit"}


def test_a_flash_claim_with_a_daily_limit_issues_exactly_the_days_share(app, login, active_batch, live_server):
    batch_id = active_batch(total=100, per_member_limit=1, daily_limit=7)
    tokens = [login(f"member{n}:1")["token"] for n in range(24)]
    results = flash_claim(live_server, batch_id, tokens * 2, workers=32)
    assert sum(status == 201 for status, _ in results) == 7
    assert {code for status, code in results if status != 201} <= {"coupon_daily_limit_reached",
                                                                     "coupon_limit_reached"}
    assert all(status in (201, 409) for status, _ in results)
    per_member = issued_per_member(app, batch_id)
    assert sum(per_member.values()) == 7 and max(per_member.values()) == 1


def test_the_claim_center_says_when_todays_share_is_gone(app, client, login, active_batch):
    batch_id = active_batch(daily_limit=1, total=10, per_member_limit=3)
    alice, bob = login("alice:1"), login("bob:1")

    def may_claim(token):
        listed = client.get("/api/v1/coupon-batches", headers=bearer(token)).get_json()
        return [(item["batch"]["id"], item["may_claim"]) for item in listed["items"]]

    assert may_claim(bob["token"]) == [(batch_id, 1)]
    assert claim_at(app, batch_id, alice["member"]["id"], datetime.now(UTC)) == 1
    assert may_claim(bob["token"]) == [(batch_id, 0)]
