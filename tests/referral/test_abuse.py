"""Abuse: rate limits on shares and opens; a bind from the sharer's own device or address is flagged for review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from referral.rewards.models import Reward
from referral.sharing.models import Share
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import OrderLine
from tests.conftest import bearer
from tests.orders.conftest import pickup_basket, place, shop  # noqa: F401 - the shop fixture
from tests.referral.share_steps import history, node, open_share, parent, share

SHARER_PHONE = {"REMOTE_ADDR": "198.51.100.7"}
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.20"}


@pytest.fixture
def alice(login) -> tuple[int, dict]:
    body = login("alice:1")
    return body["member"]["id"], bearer(body["token"])


@pytest.fixture
def bob(login) -> tuple[int, dict]:
    body = login("bob:1")
    return body["member"]["id"], bearer(body["token"])


def _flag_of(app, member_id: int) -> tuple[bool, str | None]:
    found = node(app, member_id)
    return found.flagged_at is not None, found.flag_reason


def test_share_creation_is_rate_limited_per_member(client, alice, bob):
    answers = [client.post("/api/v1/shares", json={}, headers=alice[1]).status_code for _ in range(31)]

    assert answers[:30] == [201] * 30
    assert answers[30] == 429
    limited = client.post("/api/v1/shares", json={}, headers=alice[1])
    assert limited.get_json()["code"] == "rate_limited" and "Retry-After" in limited.headers
    assert client.post("/api/v1/shares", json={}, headers=bob[1]).status_code == 201  # others share on


def test_opens_are_rate_limited_per_member_even_when_the_scenes_are_unknown(client, alice, bob):
    answers = [open_share(client, bob[1], f"r.guess{i:05d}").status_code for i in range(21)]

    assert answers == [404] * 20 + [429]
    assert open_share(client, alice[1], "r.guess99999").status_code == 404


def test_a_crowd_behind_one_address_opens_shares_beyond_what_one_address_used_to_get(client, login):
    shoppers = [bearer(login(f"crowd{i}:1")["token"]) for i in range(5)]
    answers = [open_share(client, headers, f"r.addr{n:05d}", environ=SHARER_PHONE).status_code
               for headers in shoppers for n in range(15)]

    assert answers == [404] * 75  # once 60 a minute per address


def test_opens_from_one_address_meet_the_per_address_ceiling(make_app, login):
    client = make_app(RATE_LIMIT_SHOPPER_PER_ADDRESS="60 per minute").test_client()
    shoppers = [bearer(login(f"crowd{i}:1")["token"]) for i in range(4)]
    answers = [open_share(client, headers, f"r.addr{n:05d}", environ=SHARER_PHONE).status_code
               for headers in shoppers for n in range(15)]

    assert answers == [404] * 60
    newcomer = bearer(login("crowd9:1")["token"])
    assert open_share(client, newcomer, "r.addr99999", environ=SHARER_PHONE).status_code == 429
    assert open_share(client, newcomer, "r.addr99999", environ=ELSEWHERE).status_code == 404


def test_a_bind_from_the_sharers_own_device_is_flagged_for_review(app, client, alice, bob, staff_token):
    scene = share(client, {**alice[1], "X-Device-Id": "device-of-alice"})["scene"]

    response = open_share(client, {**bob[1], "X-Device-Id": "device-of-alice"}, scene)

    assert response.get_json()["outcome"] == "bound" and parent(app, bob[0]) == alice[0]
    assert _flag_of(app, bob[0]) == (True, "same_device")
    assert history(app, bob[0]) == [("bind", None, alice[0], True)]
    flags = client.get("/api/v1/admin/referral/flags", headers=staff_token(Role.MARKETING)).get_json()
    assert flags["total"] == 1
    assert (flags["items"][0]["member_id"], flags["items"][0]["parent_id"], flags["items"][0]["flag_reason"]) == (
        bob[0], alice[0], "same_device")


def test_a_new_member_registering_from_the_sharers_address_is_flagged(app, client, alice, login):
    scene = share(client, alice[1], environ=SHARER_PHONE)["scene"]
    response = client.post("/api/v1/auth/wechat-login", json={"code": "eve:1", "scene": scene},
                           environ_base=SHARER_PHONE)

    eve_id = response.get_json()["member"]["id"]
    assert parent(app, eve_id) == alice[0] and _flag_of(app, eve_id) == (True, "same_ip")


def test_binds_from_elsewhere_later_or_through_local_tools_are_not_flagged(app, client, alice, bob, login):
    scene = share(client, {**alice[1], "X-Device-Id": "device-of-alice"}, environ=SHARER_PHONE)["scene"]
    open_share(client, {**bob[1], "X-Device-Id": "device-of-bob"}, scene, environ=ELSEWHERE)
    with app.app_context():
        db.session.execute(update(Share).values(created_at=utcnow() - timedelta(minutes=31)))
        db.session.commit()
    carol = bearer(login("carol:1")["token"])
    open_share(client, {**carol, "X-Device-Id": "device-of-alice"}, scene, environ=SHARER_PHONE)
    local_scene = share(client, alice[1])["scene"]  # both from 127.0.0.1: the address says nothing
    dave = bearer(login("dave:1")["token"])
    open_share(client, dave, local_scene)

    for headers in (bob[1], carol, dave):
        member_id = client.get("/api/v1/me", headers=headers).get_json()["id"]
        assert parent(app, member_id) == alice[0] and _flag_of(app, member_id) == (False, None)


@pytest.fixture
def flagged_bob(app, client, alice, bob, shop):  # noqa: F811 - the shop fixture
    """Bob bound under Alice from Alice's device, with a flagged frozen reward on one of his orders."""
    scene = share(client, {**alice[1], "X-Device-Id": "device-of-alice"})["scene"]
    open_share(client, {**bob[1], "X-Device-Id": "device-of-alice"}, scene)
    order = place(client, bob[1], pickup_basket(shop)).get_json()["order"]
    with app.app_context():
        line_id = db.session.scalars(select(OrderLine.id).where(OrderLine.order_id == order["id"])).first()
        db.session.add(Reward(order_id=order["id"], order_line_id=line_id, beneficiary_id=alice[0], buyer_id=bob[0],
                              level=1, kind="points", amount=250, flagged=True, available_at=utcnow()))
        db.session.commit()
    return bob[0]


def _reward_flagged(app) -> bool:
    with app.app_context():
        return db.session.scalars(select(Reward.flagged)).one()


def test_an_admin_clears_a_flag_and_the_bind_stands_with_its_rewards_unflagged(app, client, staff_token, alice,
                                                                                flagged_bob):
    admin = staff_token(Role.ADMIN)

    response = client.post(f"/api/v1/admin/referral/flags/{flagged_bob}/clear",
                           json={"reason": "Alice and Bob share a family phone"}, headers=admin)

    assert response.status_code == 200 and response.get_json()["flagged_at"] is None
    assert parent(app, flagged_bob) == alice[0] and _reward_flagged(app) is False
    assert history(app, flagged_bob)[-1] == ("flag_cleared", alice[0], alice[0], False)
    assert client.get("/api/v1/admin/referral/flags", headers=admin).get_json()["total"] == 0
    again = client.post(f"/api/v1/admin/referral/flags/{flagged_bob}/clear", json={"reason": "x"}, headers=admin)
    assert (again.status_code, again.get_json()["code"]) == (409, "referral_not_flagged")


def test_an_admin_confirms_a_flag_and_the_member_leaves_the_sharer_while_rewards_stay_frozen(
        app, client, staff_token, alice, flagged_bob):
    admin = staff_token(Role.ADMIN)

    response = client.post(f"/api/v1/admin/referral/flags/{flagged_bob}/confirm",
                           json={"reason": "Alice's second account"}, headers=admin)

    assert response.status_code == 200 and response.get_json()["parent_id"] is None
    assert node(app, alice[0]).descendants == 0 and _reward_flagged(app) is True
    assert history(app, flagged_bob)[-1] == ("flag_confirmed", alice[0], None, True)
    assert client.get("/api/v1/admin/referral/flags", headers=admin).get_json()["total"] == 0


def test_only_admins_decide_flags_and_shoppers_do_not_see_them(client, staff_token, bob, flagged_bob):
    body = {"reason": "looks fine"}
    assert client.post(f"/api/v1/admin/referral/flags/{flagged_bob}/clear", json=body,
                       headers=staff_token(Role.MARKETING)).status_code == 403
    assert client.get("/api/v1/admin/referral/flags", headers=bob[1]).status_code == 403
    assert client.post(f"/api/v1/admin/referral/flags/{flagged_bob}/confirm", json={},
                       headers=staff_token(Role.ADMIN)).status_code == 422
