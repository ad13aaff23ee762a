"""The whole share journey through HTTP and the WeChat stub: Alice shares, Bob arrives through the
share and buys, Alice's reward appears frozen and becomes points after the refund window, and the
friend-purchase coupon batch rewards her with a coupon too."""

from __future__ import annotations

from datetime import timedelta

from referral.rewards.service import release_sweep
from shop.auth import Role
from shop.catalog.models import Sku
from shop.database import utcnow
from shop.extensions import db
from tests.conftest import bearer
from tests.orders.conftest import place, prepay_id_of, shop, stub_pay  # noqa: F401  (the shop fixture)

BATCHES = "/api/v1/admin/coupon-batches"


def _friend_purchase_batch(client, marketing: dict) -> int:
    body = {"name": "Thanks for bringing a friend", "kind": "amount_off", "amount_off": 500, "min_spend": 0,
            "valid_days": 30, "total": 100, "per_member_limit": 5, "channel": "friend_purchase"}
    created = client.post(BATCHES, json=body, headers=marketing)
    assert created.status_code == 201, created.get_json()
    batch_id = created.get_json()["id"]
    assert client.post(f"{BATCHES}/{batch_id}/activate", headers=marketing).status_code == 200
    return batch_id


def test_friend_who_buys_through_a_share_rewards_the_sharer(app, client, login, stub, shop, live_server,  # noqa: F811
                                                             staff_token, committed):
    batch_id = _friend_purchase_batch(client, staff_token(Role.MARKETING))
    alice = bearer(login("alice:1")["token"])
    with app.app_context():
        latte_product = db.session.get(Sku, shop.latte).product_id

    shared = client.post("/api/v1/shares", json={"product_id": latte_product, "campaign": "spring"}, headers=alice)
    assert shared.status_code == 201, shared.get_json()
    scene = shared.get_json()["scene"]
    assert len(scene) <= 32 and scene in shared.get_json()["path"]
    poster = client.get(f"/api/v1/shares/{shared.get_json()['share_id']}/poster", headers=alice)
    assert poster.status_code == 200 and poster.data.startswith(b"\x89PNG")

    # Bob opens the poster: his first login carries the scene and binds him under Alice.
    bob_login = login("bob:1", scene=scene)
    assert bob_login["is_new"]
    bob = bearer(bob_login["token"])
    downline = client.get("/api/v1/me/referrals", headers=alice).get_json()
    assert [m["member_id"] for m in downline["members"]["items"]] == [bob_login["member"]["id"]]

    # Bob buys a latte and a croissant for pickup and pays in WeChat.
    body = {"items": [{"sku_id": shop.latte, "quantity": 1}, {"sku_id": shop.croissant, "quantity": 1}],
            "fulfilment": "pickup", "store_id": shop.store_id}
    placed = place(client, bob, body)
    assert placed.status_code == 201, placed.get_json()
    stub_pay(stub, prepay_id_of(placed.get_json()))
    order_id = placed.get_json()["order"]["id"]
    assert client.get(f"/api/v1/orders/{order_id}", headers=bob).get_json()["status"] == "ready_for_pickup"

    # Alice's reward appears at once, frozen for the refund window; her thank-you coupon too.
    rewards = client.get("/api/v1/me/rewards", headers=alice).get_json()
    assert rewards["totals"]["points"]["frozen"] == (2800 + 1600) * 5 // 100  # 5% by default, per line
    assert {item["order"]["id"] for item in rewards["rewards"]["items"]} == {order_id}
    assert client.get("/api/v1/me/points", headers=alice).get_json()["balance"] == 0
    coupons = client.get("/api/v1/me/coupons", headers=alice).get_json()["items"]
    assert [c["batch"]["id"] for c in coupons] == [batch_id]
    shares = client.get("/api/v1/me/referrals/shares", headers=alice).get_json()["items"]
    assert (shares[0]["opens"], shares[0]["binds"], shares[0]["orders"]) == (1, 1, 1)

    # After the refund window the job makes it available: points Alice can spend.
    released = committed(lambda: release_sweep(utcnow() + timedelta(days=7, minutes=1)))
    assert released["released"] == 2
    assert client.get("/api/v1/me/points", headers=alice).get_json()["balance"] == 220
    # Bob's own order earned him nothing from the referral; he sees no rewards of his own.
    assert client.get("/api/v1/me/rewards", headers=bob).get_json()["rewards"]["total"] == 0
