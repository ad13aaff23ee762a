"""The campaign report against a hand-built scenario: shares, opens, new members, bound friends, attributed
orders and GMV net of refunds, coupon and reward cost, return on cost and the daily series, from the rollup
(with as_of) and equal to the raw computation; roles and bad input."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.campaigns.models import CampaignDay
from crm.campaigns.service import ROLLUP, campaign_report, campaign_report_raw
from crm.rollups.service import rebuild
from shop.extensions import db
from shop.orders.models import Order
from tests.conftest import bearer
from tests.crm.campaign_rows import batch, coupon, event, reward
from tests.crm.conftest import make_member, paid_order

D1, D2 = date(2026, 12, 1), date(2026, 12, 2)
MORNING_D1 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai on the 1st
LATE_D1_UTC = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # already 01:00 on the 2nd in Shanghai
BUILT = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
URL = "/api/v1/admin/campaigns/spring?from=2026-12-01&to=2026-12-02"


def scenario() -> dict:
    sharer, friend, other_friend = make_member("sharer"), make_member("friend"), make_member("other")
    event(sharer, "share_created", MORNING_D1, campaign="spring", share_id=1)
    event(sharer, "share_created", MORNING_D1, campaign="spring", share_id=2)
    event(sharer, "share_created", MORNING_D1, campaign="autumn", share_id=3)  # another campaign
    event(friend, "share_opened", MORNING_D1, campaign="spring", new_member=True, outcome="bound")
    event(friend, "bound", MORNING_D1, campaign="spring", sharer_id=sharer, rebound=False)
    event(other_friend, "store_share_opened", LATE_D1_UTC, campaign="spring", new_member=False)
    paid = paid_order(friend, 10_000, paid_at=MORNING_D1, refunded=2_000)
    event(friend, "order_placed", MORNING_D1, campaign="spring", order_id=paid, attributed_to="share_opened")
    unpaid = paid_order(other_friend, 5_000, paid_at=LATE_D1_UTC)
    db.session.get(Order, unpaid).paid_at = None
    event(other_friend, "order_placed", LATE_D1_UTC, campaign="spring", order_id=unpaid)
    unattributed = paid_order(friend, 7_000, paid_at=MORNING_D1)
    event(friend, "order_placed", MORNING_D1, order_id=unattributed)  # no campaign: not counted
    reward(paid, sharer, friend, kind="commission", amount=500, reversed_amount=100)
    reward(paid, sharer, friend, kind="points", amount=300, level=2)
    spring = batch("spring")
    coupon(spring, friend, used_at=MORNING_D1, discount=1_000, order_id=paid)
    coupon(spring, other_friend)  # held, not used: no cost
    coupon(batch(None), friend, used_at=MORNING_D1, discount=900)  # a batch of no campaign
    db.session.flush()
    return {"sharer": sharer}


EXPECTED_TOTALS = {"shares": 2, "opens": 2, "new_members": 1, "bound_friends": 1, "orders": 2, "paid_orders": 1,
                   "gmv": 8_000, "coupons_used": 1, "coupon_cost": 1_000, "reward_cost": 400, "reward_points": 300,
                   "cost": 1_400, "return_on_cost": 5.71}
EXPECTED_D1 = {"day": "2026-12-01", "shares": 2, "opens": 1, "new_members": 1, "bound_friends": 1, "orders": 1,
               "paid_orders": 1, "gmv": 8_000, "coupons_used": 1, "coupon_cost": 1_000, "reward_cost": 400,
               "reward_points": 300}
EXPECTED_D2 = {"day": "2026-12-02", "shares": 0, "opens": 1, "new_members": 0, "bound_friends": 0, "orders": 1,
               "paid_orders": 0, "gmv": 0, "coupons_used": 0, "coupon_cost": 0, "reward_cost": 0, "reward_points": 0}


@pytest.fixture
def built(app, committed):
    committed(scenario)
    with app.app_context():
        rebuild(D1, D2, BUILT, names=(ROLLUP,))


def test_marketing_reads_what_the_campaign_brought_from_the_rollup(client, built, marketing):
    response = client.get(URL, headers=marketing)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["as_of"] == "2026-12-03T01:00:00+00:00"
    assert (report["campaign"], report["from"], report["to"]) == ("spring", "2026-12-01", "2026-12-02")
    assert report["totals"] == EXPECTED_TOTALS
    assert report["series"] == [EXPECTED_D1, EXPECTED_D2]
    assert report["incrementality"] == []


def test_the_rollup_answer_equals_the_raw_computation(app, built):
    with app.app_context():
        from_rollup = campaign_report("spring", D1, D2, now=BUILT)
        raw = campaign_report_raw("spring", D1, D2, now=BUILT)
        assert {**from_rollup, "as_of": None} == {**raw, "as_of": None}
        assert raw["totals"]["gmv"] == 8_000


def test_building_a_day_again_replaces_its_rows(app, built):
    with app.app_context():
        before = db.session.execute(select(CampaignDay.__table__)).all()
        rebuild(D1, D2, BUILT, names=(ROLLUP,))
        assert sorted(db.session.execute(select(CampaignDay.__table__)).all()) == sorted(before)
        assert {row.campaign for row in before} == {"spring", "autumn"}


def test_a_range_with_a_day_not_built_says_so_with_a_null_as_of(client, built, admin):
    report = client.get("/api/v1/admin/campaigns/spring?from=2026-11-30&to=2026-12-02", headers=admin).get_json()
    assert report["as_of"] is None
    assert report["totals"]["gmv"] == 8_000 and report["series"][0]["day"] == "2026-11-30"


def test_shoppers_and_bad_ranges_are_refused(client, login, marketing):
    shopper = bearer(login("shopper:1")["token"])
    assert client.get(URL, headers=shopper).status_code == 403
    backwards = client.get("/api/v1/admin/campaigns/spring?from=2026-12-02&to=2026-12-01", headers=marketing)
    assert (backwards.status_code, backwards.get_json()["code"]) == (422, "campaign_range_invalid")
    too_long = client.get("/api/v1/admin/campaigns/spring?from=2025-01-01&to=2026-12-01", headers=marketing)
    assert too_long.status_code == 422
    assert client.get("/api/v1/admin/campaigns/spring?day=1", headers=marketing).status_code == 422
    assert client.get("/api/v1/admin/campaigns/" + "x" * 65, headers=marketing).status_code == 404
    defaulted = client.get("/api/v1/admin/campaigns/spring", headers=marketing).get_json()
    assert len(defaulted["series"]) == 30


def random_traffic(seed: int) -> None:
    """Steps of three campaigns (and none) at random moments over five days, with paid, unpaid and refunded
    orders, rewards and used coupons."""
    rng = random.Random(seed)
    members = [make_member(f"r{n}") for n in range(12)]
    batches = {name: batch(name) for name in ("spring", "autumn", "winter")}
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    for _ in range(150):
        member, at = rng.choice(members), start + timedelta(minutes=rng.randrange(5 * 24 * 60))
        campaign = rng.choice(["spring", "autumn", "winter", None])
        kind = rng.choice(["share_created", "share_opened", "store_share_opened", "bound", "order_placed"])
        if kind != "order_placed":
            event(member, kind, at, campaign=campaign, new_member=rng.random() < 0.3)
            continue
        amount = rng.randrange(100, 10_000)
        order = paid_order(member, amount, paid_at=at, refunded=rng.choice([0, 0, amount // 3]))
        if rng.random() < 0.3:
            db.session.get(Order, order).paid_at = None
        event(member, "order_placed", at, campaign=campaign, order_id=order)
        if rng.random() < 0.5:
            reward(order, rng.choice(members), member, kind=rng.choice(["commission", "points"]),
                   amount=rng.randrange(1, 500))
        if campaign and rng.random() < 0.5:
            coupon(batches[campaign], member, used_at=at, discount=rng.randrange(1, 300), order_id=order)


@pytest.mark.parametrize("seed", [1, 2])
def test_rollups_equal_the_raw_computation_for_every_campaign_and_range(app, committed, seed):
    committed(lambda: random_traffic(seed))
    with app.app_context():
        rebuild(date(2026, 11, 30), date(2026, 12, 5), BUILT, names=(ROLLUP,))
        for campaign in ("spring", "autumn", "winter", "none"):
            for first, last in ((date(2026, 11, 30), date(2026, 12, 5)), (date(2026, 12, 2), date(2026, 12, 3))):
                from_rollup = campaign_report(campaign, first, last, now=BUILT)
                raw = campaign_report_raw(campaign, first, last, now=BUILT)
                assert from_rollup["as_of"] == BUILT
                assert {**from_rollup, "as_of": None} == {**raw, "as_of": None}, (campaign, first, last)
        assert campaign_report("spring", date(2026, 11, 30), date(2026, 12, 5), now=BUILT)["totals"]["orders"] > 0
