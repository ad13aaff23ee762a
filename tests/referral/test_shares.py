"""Shares and posters: a compact scene per share, and the poster made by WeChat once, then cached."""

from __future__ import annotations

import re

from referral.sharing.models import Share
from shop.auth import Role
from shop.extensions import db, redis_client
from tests.conftest import bearer
from tests.factories import make_category, make_product
from tests.referral.share_steps import share

SCENE_RE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@._~-]{1,32}")
PNG = b"\x89PNG\r\n\x1a\n"
WXA_CODE = "wxa/getwxacodeunlimit"


def _product(app, **fields) -> int:
    with app.app_context():
        product = make_product(make_category().id, **fields)
        db.session.commit()
        return product.id


def test_a_shopper_shares_a_product_and_gets_a_compact_scene_and_the_page_to_open(app, client, login):
    alice = login("alice:1")
    product_id = _product(app)
    body = share(client, bearer(alice["token"]), product_id=product_id, campaign="spring-2026", channel="chat")

    assert SCENE_RE.fullmatch(body["scene"]) and len(body["scene"]) <= 32
    assert body["path"] == f"pages/product/index?id={product_id}&scene={body['scene']}"
    assert body["earns_rewards"] is True
    with app.app_context():
        stored = db.session.get(Share, body["share_id"])
        assert (stored.sharer_id, stored.product_id, stored.campaign, stored.channel, stored.scene) == (
            alice["member"]["id"], product_id, "spring-2026", "chat", body["scene"])


def test_a_share_of_the_home_page_opens_the_home_page_and_scenes_are_never_reused(client, login):
    alice = bearer(login("alice:1")["token"])
    bodies = [share(client, alice) for _ in range(25)]

    assert all(body["path"] == f"pages/index/index?scene={body['scene']}" for body in bodies)
    assert len({body["scene"] for body in bodies}) == 25


def test_a_product_that_is_not_on_sale_or_does_not_exist_cannot_be_shared(app, client, login):
    alice = bearer(login("alice:1")["token"])
    hidden = _product(app, status="off_sale")

    for product_id in (hidden, 987654321):
        assert share(client, alice, expect=404, product_id=product_id)["code"] == "product_not_found"
    with app.app_context():
        assert db.session.query(Share).count() == 0


def test_campaign_and_channel_are_short_labels(client, login):
    alice = bearer(login("alice:1")["token"])

    assert "campaign" in share(client, alice, expect=422, campaign="x" * 65)["errors"]
    assert "channel" in share(client, alice, expect=422, channel="group chat")["errors"]
    assert "product_id" in share(client, alice, expect=422, product_id="1")["errors"]


def test_only_shoppers_share(client, staff_token):
    assert client.post("/api/v1/shares", json={}).status_code == 401
    response = client.post("/api/v1/shares", json={}, headers=staff_token(Role.ADMIN))
    assert response.status_code == 403


def test_the_poster_is_the_mini_program_code_of_the_scene_and_a_second_view_does_not_call_wechat(
        app, client, login, stub):
    alice = bearer(login("alice:1")["token"])
    product_id = _product(app)
    body = share(client, alice, product_id=product_id)
    stub.reset()

    first = client.get(f"/api/v1/shares/{body['share_id']}/poster", headers=alice)
    second = client.get(f"/api/v1/shares/{body['share_id']}/poster", headers=alice)

    assert first.status_code == 200 and first.mimetype == "image/png" and first.data.startswith(PNG)
    assert second.status_code == 200 and second.data == first.data
    calls = stub.received_on(WXA_CODE)
    assert [(call["json"]["scene"], call["json"]["page"]) for call in calls] == [
        (body["scene"], "pages/product/index")]


def test_a_lost_cache_only_costs_one_more_call_to_wechat(app, client, login, stub):
    alice = bearer(login("alice:1")["token"])
    share_id = share(client, alice)["share_id"]
    client.get(f"/api/v1/shares/{share_id}/poster", headers=alice)
    with app.app_context():
        redis_client().flushdb()

    again = client.get(f"/api/v1/shares/{share_id}/poster", headers=alice)

    assert again.status_code == 200 and again.data.startswith(PNG)
    assert len(stub.received_on(WXA_CODE)) == 2


def test_only_the_sharer_fetches_the_poster(client, login, stub):
    alice = bearer(login("alice:1")["token"])
    bob = bearer(login("bob:1")["token"])
    share_id = share(client, alice)["share_id"]

    for path in (f"/api/v1/shares/{share_id}/poster", "/api/v1/shares/999999/poster"):
        response = client.get(path, headers=bob)
        assert response.status_code == 404 and response.get_json()["code"] == "share_not_found"
    assert stub.received_on(WXA_CODE) == []


def test_wechat_out_of_reach_while_making_a_poster_is_a_503_and_nothing_is_cached(make_app, client, login):
    alice = bearer(login("alice:1")["token"])
    share_id = share(client, alice)["share_id"]
    wechat_down = make_app(WECHAT_API_BASE="http://127.0.0.1:9/", WECHAT_TIMEOUT_SECONDS=1).test_client()

    response = wechat_down.get(f"/api/v1/shares/{share_id}/poster", headers=alice)

    assert response.status_code == 503 and response.get_json()["code"] == "wechat_unavailable"
    assert client.get(f"/api/v1/shares/{share_id}/poster", headers=alice).data.startswith(PNG)
