"""Coupons that arrive by themselves: on registering, on following the official account, and to a
sharer when a referred friend's first order is paid. Only public batches are claimed by hand."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from coupons.claiming import gate
from coupons.models import Coupon
from shop import events
from shop.extensions import db, redis_client
from shop.members.service import login_with_wechat
from shop.wechat.gateway import wechat
from tests.conftest import bearer
from tests.coupons.conftest import issued_per_member, new_key
from tests.test_official_account import event_xml, oa_openid, post_encrypted


def coupons_of(app, member_id):
    with app.app_context():
        rows = db.session.execute(select(Coupon.batch_id, Coupon.source, Coupon.claim_key)
                                  .where(Coupon.member_id == member_id).order_by(Coupon.id)).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def wallet(client, token):
    return client.get("/api/v1/me/coupons", headers=bearer(token)).get_json()


def test_a_new_member_finds_the_welcome_coupons_in_the_wallet(app, client, login, active_batch, marketing):
    welcome = active_batch(channel="new_member", name="Welcome")
    also = active_batch(channel="new_member", name="Welcome drink")
    paused = active_batch(channel="new_member")
    client.post(f"/api/v1/admin/coupon-batches/{paused}/pause", headers=marketing)
    public = active_batch()
    first = login("alice:1")
    assert first["is_new"]
    assert coupons_of(app, first["member"]["id"]) == [
        (welcome, "new_member", f"new_member:{welcome}"), (also, "new_member", f"new_member:{also}")]
    items = wallet(client, first["token"])["items"]
    assert {item["batch"]["id"] for item in items} == {welcome, also}
    assert all(item["status"] == "available" for item in items)
    login("alice:2")  # logging in again is no registration
    assert len(coupons_of(app, first["member"]["id"])) == 2
    assert public not in {batch for batch, _, _ in coupons_of(app, first["member"]["id"])}


def test_the_registration_signal_delivered_twice_issues_once(app, login, active_batch):
    batch_id = active_batch(channel="new_member", per_member_limit=3)
    member_id = login("alice:1")["member"]["id"]
    with app.app_context():
        events.member_registered.send(member_id=member_id, scene=None)
        db.session.commit()
    assert coupons_of(app, member_id) == [(batch_id, "new_member", f"new_member:{batch_id}")]


def test_new_member_coupons_stop_at_the_total_and_registration_goes_on(app, login, active_batch, marketing, client):
    batch_id = active_batch(channel="new_member", total=2)
    members = [login(f"member{n}:1")["member"]["id"] for n in range(3)]
    assert [len(coupons_of(app, member)) for member in members] == [1, 1, 0]
    detail = client.get(f"/api/v1/admin/coupon-batches/{batch_id}", headers=marketing).get_json()
    assert (detail["issued"], detail["remaining"]) == (2, 0)


def test_a_registration_that_rolls_back_gives_its_coupon_back(app, login, active_batch, stub):
    """The coupon is written inside the login's transaction; if that fails, the gate gets it back."""
    batch_id = active_batch(channel="new_member", total=1)
    with app.app_context():
        login_with_wechat(wechat().miniprogram, code="ghost:1")
        assert db.session.scalar(select(Coupon.id).where(Coupon.batch_id == batch_id)) is not None
        db.session.rollback()
        assert gate.left(redis_client(), batch_id, 1) == 1
    member_id = login("alice:1")["member"]["id"]
    assert coupons_of(app, member_id) == [(batch_id, "new_member", f"new_member:{batch_id}")]


def test_a_registration_that_ends_uncommitted_gives_its_coupon_back(app, active_batch, stub):
    batch_id = active_batch(channel="new_member", total=1)
    with app.app_context():
        login_with_wechat(wechat().miniprogram, code="ghost:1")
        db.session.remove()  # the request ends without a commit (closed, not rolled back explicitly)
        assert gate.left(redis_client(), batch_id, 1) == 1


def test_a_follower_gets_the_follow_coupon_once_even_after_following_again(app, client, login, stub, active_batch):
    batch_id = active_batch(channel="follower", per_member_limit=5)
    alice = login("alice:1")
    member_id, openid = alice["member"]["id"], oa_openid(stub, "alice")
    assert post_encrypted(client, event_xml(openid, "subscribe")).status_code == 200
    assert coupons_of(app, member_id) == [(batch_id, "follower", f"follow:{batch_id}")]
    post_encrypted(client, event_xml(openid, "unsubscribe"))
    post_encrypted(client, event_xml(openid, "subscribe"))
    assert coupons_of(app, member_id) == [(batch_id, "follower", f"follow:{batch_id}")]
    assert wallet(client, alice["token"])["total"] == 1


def test_a_follower_who_logs_in_later_gets_the_coupon_then(app, client, login, stub, active_batch):
    batch_id = active_batch(channel="follower")
    post_encrypted(client, event_xml(oa_openid(stub, "bob"), "subscribe"))  # not a member yet
    bob = login("bob:1")  # linked by unionid: the follow is announced now
    assert coupons_of(app, bob["member"]["id"]) == [(batch_id, "follower", f"follow:{batch_id}")]


def friend_bought(app, sharer_id, friend_id, order_id):
    with app.app_context():
        events.friend_first_purchase.send(sharer_member_id=sharer_id, friend_member_id=friend_id, order_id=order_id)
        db.session.commit()


def test_a_friend_who_buys_through_a_share_rewards_the_sharer(app, client, login, active_batch):
    batch_id = active_batch(channel="friend_purchase", per_member_limit=2, total=100)
    sharer = login("alice:1")
    friends = [login(f"friend{n}:1")["member"]["id"] for n in range(3)]
    sharer_id = sharer["member"]["id"]
    friend_bought(app, sharer_id, friends[0], order_id=101)
    friend_bought(app, sharer_id, friends[0], order_id=101)  # the same payment announced again
    assert coupons_of(app, sharer_id) == [(batch_id, "friend_purchase", f"friend:101:{batch_id}")]
    friend_bought(app, sharer_id, friends[1], order_id=102)
    friend_bought(app, sharer_id, friends[2], order_id=103)  # over the per-member limit of 2: skipped
    assert [key for _, _, key in coupons_of(app, sharer_id)] == [f"friend:101:{batch_id}", f"friend:102:{batch_id}"]
    assert all(coupons_of(app, friend) == [] for friend in friends)


def test_an_ended_or_future_batch_issues_nothing(app, client, login, active_batch, marketing):
    ended = active_batch(channel="new_member")
    client.post(f"/api/v1/admin/coupon-batches/{ended}/end", headers=marketing)
    now = datetime.now(UTC)
    active_batch(channel="new_member", valid_days=None, starts_at=(now + timedelta(days=1)).isoformat(),
                 ends_at=(now + timedelta(days=2)).isoformat())
    assert coupons_of(app, login("alice:1")["member"]["id"]) == []


def test_a_fixed_window_coupon_is_valid_for_the_window(app, login, active_batch):
    now = datetime.now(UTC).replace(microsecond=0)
    starts, ends = now - timedelta(hours=1), now + timedelta(days=3)
    active_batch(channel="new_member", valid_days=None, starts_at=starts.isoformat(), ends_at=ends.isoformat())
    member_id = login("alice:1")["member"]["id"]
    with app.app_context():
        coupon = db.session.scalar(select(Coupon).where(Coupon.member_id == member_id))
        assert (coupon.valid_from, coupon.expires_at) == (starts, ends)


@pytest.mark.parametrize("channel", ["new_member", "follower", "targeted", "friend_purchase", "exchange_code"])
def test_only_public_batches_are_listed_and_claimed_by_shoppers(client, login, active_batch, channel):
    hidden = active_batch(channel=channel)
    public = active_batch()
    token = login("zed:1")["token"]
    listed = client.get("/api/v1/coupon-batches", headers=bearer(token)).get_json()
    assert [item["batch"]["id"] for item in listed["items"]] == [public]
    response = client.post(f"/api/v1/coupon-batches/{hidden}/claim",
                           headers={**bearer(token), "Idempotency-Key": new_key()})
    assert response.status_code == 404 and response.get_json()["code"] == "coupon_batch_not_found"


def test_concurrent_registrations_never_over_issue_the_welcome_batch(app, active_batch, live_server):
    batch_id = active_batch(channel="new_member", total=5)

    def register(n):
        response = requests.post(f"{live_server}/api/v1/auth/wechat-login", json={"code": f"newcomer{n}:1"}, timeout=30)
        return response.status_code, response.json().get("is_new")

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(register, range(12)))
    assert results == [(200, True)] * 12  # every registration stands, coupon or not
    per_member = issued_per_member(app, batch_id)
    assert len(per_member) == 5 and set(per_member.values()) == {1}
