"""Every step of a member's journey is recorded where it happens, with what it is attributed to, and
only if the change it describes commits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coupons.claiming.issuing import issue
from coupons.models import CouponBatch
from referral.rewards.models import Reward
from referral.rewards.service import release, release_sweep
from referral.sharing.binding import Client, open_share
from referral.sharing.service import create_share
from shop.auth import Role
from shop.catalog.models import Sku
from shop.database import utcnow
from shop.extensions import db
from shop.members.service import log_in
from shop.wechat.gateway import SessionInfo
from tests.conftest import bearer
from tests.crm.journey_steps import event_count, steps
from tests.orders.conftest import place, prepay_id_of, shop, stub_pay  # noqa: F401  (the shop fixture)

BATCHES = "/api/v1/admin/coupon-batches"


def _batch(client, marketing: dict, **fields) -> int:
    body = {"name": "Spring", "kind": "amount_off", "amount_off": 500, "min_spend": 0, "valid_days": 30,
            "total": 100, "per_member_limit": 5, **fields}
    created = client.post(BATCHES, json=body, headers=marketing)
    assert created.status_code == 201, created.get_json()
    assert client.post(f"{BATCHES}/{created.get_json()['id']}/activate", headers=marketing).status_code == 200
    return created.get_json()["id"]


@pytest.fixture
def journey(app, client, login, stub, shop, live_server, staff_token):  # noqa: F811
    """Alice shares (campaign spring); Bob arrives through it, buys a latte and pays; Alice is thanked with a coupon."""
    marketing = staff_token(Role.MARKETING)
    thanks = _batch(client, marketing, channel="friend_purchase", campaign="thanks")
    autumn = _batch(client, marketing, campaign="autumn")
    alice_login = login("alice:1")
    alice = bearer(alice_login["token"])
    with app.app_context():
        latte_product = db.session.get(Sku, shop.latte).product_id
    shared = client.post("/api/v1/shares", json={"product_id": latte_product, "campaign": "spring"}, headers=alice)
    assert shared.status_code == 201, shared.get_json()
    bob_login = login("bob:1", scene=shared.get_json()["scene"])
    bob = bearer(bob_login["token"])
    body = {"items": [{"sku_id": shop.latte, "quantity": 1}], "fulfilment": "pickup", "store_id": shop.store_id}
    placed = place(client, bob, body)
    assert placed.status_code == 201, placed.get_json()
    stub_pay(stub, prepay_id_of(placed.get_json()))
    return {"alice": alice_login["member"]["id"], "bob": bob_login["member"]["id"], "bob_headers": bob,
            "share_id": shared.get_json()["share_id"], "order_id": placed.get_json()["order"]["id"],
            "thanks": thanks, "autumn": autumn, "body": body}


def test_a_friend_arriving_through_a_campaign_share_leaves_each_step_attributed_to_it(app, journey, shop):  # noqa: F811
    share_id = journey["share_id"]
    bob = steps(app, journey["bob"])
    # Registering opens the share Bob arrived with, which binds him, all in his first login.
    assert [step["kind"] for step in bob] == ["registered", "share_opened", "bound", "logged_in", "order_placed",
                                              "order_paid"]
    opened, bound, placed = bob[1], bob[2], bob[4]
    assert (opened["share_id"], opened["campaign"], opened["outcome"]) == (share_id, "spring", "bound")
    assert (bound["share_id"], bound["campaign"], bound["sharer_id"], bound["rebound"]) == (
        share_id, "spring", journey["alice"], False)
    # The order is attributed to the share Bob opened just before, and to its campaign.
    assert (placed["share_id"], placed["campaign"], placed["attributed_to"]) == (share_id, "spring", "share_opened")
    assert (placed["order_id"], placed["store_id"]) == (journey["order_id"], shop.store_id)
    alice = steps(app, journey["alice"], "share_created", "coupon_claimed")
    assert [(s["kind"], s["share_id"], s["campaign"]) for s in alice] == [
        ("share_created", share_id, "spring"), ("coupon_claimed", None, "thanks")]
    assert (alice[1]["channel"], alice[1]["batch_id"]) == ("friend_purchase", journey["thanks"])


def test_a_claim_of_a_campaign_coupon_is_recorded_with_its_channel_and_wins_the_next_order(app, client, journey):
    bob = journey["bob_headers"]
    claimed = client.post(f"/api/v1/coupon-batches/{journey['autumn']}/claim", headers={**bob, "Idempotency-Key": "claim-autumn-1"})
    assert claimed.status_code in (200, 201), claimed.get_json()
    again = client.post(f"/api/v1/coupon-batches/{journey['autumn']}/claim", headers={**bob, "Idempotency-Key": "claim-autumn-1"})
    assert again.get_json()["id"] == claimed.get_json()["id"]
    [claim] = steps(app, journey["bob"], "coupon_claimed")  # the retried claim recorded nothing more
    assert (claim["campaign"], claim["channel"], claim["coupon_id"]) == ("autumn", "public", claimed.get_json()["id"])
    placed = place(client, bob, journey["body"])
    assert placed.status_code == 201, placed.get_json()
    latest = steps(app, journey["bob"], "order_placed")[-1]
    assert (latest["campaign"], latest["share_id"], latest["attributed_to"]) == ("autumn", None, "coupon_claimed")


def test_a_released_reward_is_a_step_of_the_sharer(app, journey, committed):
    assert steps(app, journey["alice"], "reward_released") == []
    committed(lambda: release_sweep(utcnow() + timedelta(days=7, minutes=1)))
    [released] = steps(app, journey["alice"], "reward_released")
    assert (released["order_id"], released["reward_kind"], released["amount"]) == (journey["order_id"], "points",
                                                                                   2800 * 5 // 100)


def _recorded_then_rolled_back(app, work) -> None:
    """``work`` records events in its transaction; rolled back, none of them remains."""
    with app.app_context():
        before = event_count()
        work()
        db.session.flush()
        assert event_count() > before
        db.session.rollback()
        assert event_count() == before


def test_no_step_remains_of_changes_that_rolled_back(app, journey):
    now = utcnow()
    _recorded_then_rolled_back(app, lambda: log_in(SessionInfo("carol-openid", "key", None), scene=None))
    _recorded_then_rolled_back(app, lambda: create_share(journey["bob"], product_id=None, campaign="x", channel=None,
                                                         ip=None, device_id=None, now=now))

    def carol_opens():
        carol = log_in(SessionInfo("carol-openid", "key", None), scene=None).member.id
        scene = create_share(journey["alice"], product_id=None, campaign="x", channel=None, ip=None,
                             device_id=None, now=now).scene
        open_share(carol, scene, client=Client(None, None), now=now, new_member=True)

    _recorded_then_rolled_back(app, carol_opens)
    _recorded_then_rolled_back(app, lambda: issue(db.session.get(CouponBatch, journey["autumn"]), journey["bob"],
                                                  key="rolled-back", now=now))
    _recorded_then_rolled_back(app, lambda: [release(reward, now + timedelta(days=8))
                                             for reward in db.session.query(Reward).all()])
    with app.app_context():
        kinds = {step["kind"] for member in (journey["alice"], journey["bob"]) for step in steps(app, member)}
    assert not kinds & {"reward_released"}
