"""Order making at the counter: at a store that prepares orders, a paid pickup order goes
paid -> preparing -> ready_for_pickup as its clerks mark it, first paid first; other stores are unchanged."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from shop import events
from shop.auth import Role
from shop.extensions import db
from shop.orders.models import PickupVerification
from tests.conftest import bearer
from tests.orders.conftest import at_once, eventually, place, prepay_id_of, stub_pay


@pytest.fixture
def making_store(client, shop, staff_token) -> int:
    """The People's Square store prepares its orders (set through the admin store API)."""
    response = client.patch(f"/api/v1/admin/stores/{shop.store_id}", json={"prepares_orders": True},
                            headers=staff_token(Role.ADMIN))
    assert response.status_code == 200 and response.get_json()["prepares_orders"] is True, response.get_json()
    return shop.store_id


@pytest.fixture
def ready_signals():
    """What order_ready_for_pickup carried, each time it fired (the pickup message is sent on it)."""
    fired: list[dict] = []

    def receive(sender, **kw):
        fired.append(kw)

    events.order_ready_for_pickup.connect(receive)
    yield fired
    events.order_ready_for_pickup.disconnect(receive)


def croissant_order(client, stub, shop, headers, store_id: int | None = None) -> dict:
    """A paid pickup order of one croissant; the order as the shopper reads it."""
    basket = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "pickup",
              "store_id": store_id or shop.store_id}
    placed = place(client, headers, basket).get_json()
    stub_pay(stub, prepay_id_of(placed))
    return client.get(f"/api/v1/orders/{placed['order']['id']}", headers=headers).get_json()


def move(client, headers, order_id: int, step: str):
    return client.post(f"/api/v1/staff/orders/{order_id}/{step}", headers=headers)


def read(client, headers, order_id: int) -> dict:
    return client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()


def member_id_of(client, headers) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["id"]


def test_an_order_at_a_store_that_prepares_goes_paid_preparing_ready_and_the_shopper_is_told_at_ready(
        client, stub, shop, alice, clerk, making_store, ready_signals, live_server):
    order = croissant_order(client, stub, shop, alice)
    assert order["status"] == "paid" and order["pickup_code"] and order["orders_ahead"] == 0
    assert ready_signals == []  # paid is not ready: nobody is told yet

    preparing = move(client, clerk, order["id"], "prepare")
    assert preparing.status_code == 200 and preparing.get_json()["status"] == "preparing"
    assert "pickup_code" not in preparing.get_json()  # only the shopper shows the code
    assert read(client, alice, order["id"])["status"] == "preparing"
    assert ready_signals == []

    ready = move(client, clerk, order["id"], "ready")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready_for_pickup"
    assert ready_signals == [{"order_id": order["id"], "member_id": member_id_of(client, alice),
                              "store_id": shop.store_id, "pickup_code": order["pickup_code"]}]
    shown = read(client, alice, order["id"])
    assert shown["status"] == "ready_for_pickup" and shown["orders_ahead"] is None

    handed = client.post("/api/v1/staff/pickups", json={"pickup_code": order["pickup_code"], "confirm": True},
                         headers=clerk)
    assert handed.status_code == 201 and handed.get_json()["order"]["status"] == "completed"


def test_prepare_and_ready_asked_again_answer_the_order_as_it_stands_and_tell_the_shopper_once(
        client, stub, shop, alice, clerk, staff_token, making_store, ready_signals, live_server):
    order = croissant_order(client, stub, shop, alice)
    colleague = staff_token(Role.STAFF, store_ids=[shop.store_id])
    assert [move(client, who, order["id"], "prepare").get_json()["status"] for who in (clerk, colleague)] == [
        "preparing", "preparing"]
    assert [move(client, who, order["id"], "ready").get_json()["status"] for who in (clerk, colleague, clerk)] == [
        "ready_for_pickup"] * 3
    late_prepare = move(client, clerk, order["id"], "prepare")
    assert late_prepare.status_code == 200 and late_prepare.get_json()["status"] == "ready_for_pickup"
    assert len(ready_signals) == 1


def test_two_clerks_marking_ready_at_once_tell_the_shopper_once(client, stub, shop, alice, clerk, staff_token,
                                                               making_store, ready_signals, live_server):
    order = croissant_order(client, stub, shop, alice)
    clerks = [clerk, *(staff_token(Role.STAFF, store_ids=[shop.store_id]) for _ in range(3))]
    answers = at_once(*(lambda h=h: requests.post(f"{live_server}/api/v1/staff/orders/{order['id']}/ready",
                                                  headers=h, timeout=30) for h in clerks))
    assert [a.status_code for a in answers] == [200] * 4
    assert {a.json()["status"] for a in answers} == {"ready_for_pickup"}
    assert len(ready_signals) == 1


def test_a_clerk_may_mark_a_paid_order_ready_without_preparing_it_first(client, stub, shop, alice, clerk,
                                                                        making_store, live_server):
    order = croissant_order(client, stub, shop, alice)
    assert move(client, clerk, order["id"], "ready").get_json()["status"] == "ready_for_pickup"


def test_a_clerk_of_another_store_cannot_move_the_order_and_nothing_changes(client, stub, shop, alice, staff_token,
                                                                            making_store, live_server):
    order = croissant_order(client, stub, shop, alice)
    elsewhere = staff_token(Role.STAFF, store_ids=[shop.other_store_id])
    for step in ("prepare", "ready"):
        response = move(client, elsewhere, order["id"], step)
        assert response.status_code == 403 and response.get_json()["code"] == "order_not_at_your_store"
    assert read(client, alice, order["id"])["status"] == "paid"
    missing = move(client, elsewhere, 987654321, "prepare")
    assert missing.status_code == 404 and missing.get_json()["code"] == "order_not_found"


def test_only_staff_move_orders_and_read_the_queue(client, stub, shop, alice, login, staff_token, making_store,
                                                  live_server):
    order = croissant_order(client, stub, shop, alice)
    for headers in (alice, bearer(login("eve:1")["token"]), staff_token(Role.MARKETING), staff_token(Role.ADMIN)):
        for step in ("prepare", "ready"):
            assert move(client, headers, order["id"], step).status_code == 403
        assert client.get("/api/v1/staff/orders", headers=headers).status_code == 403
    assert client.post(f"/api/v1/staff/orders/{order['id']}/ready").status_code == 401
    assert read(client, alice, order["id"])["status"] == "paid"


def test_an_unpaid_or_refunded_order_cannot_be_made(client, shop, alice, clerk, making_store):
    placed = place(client, alice, {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "pickup",
                                   "store_id": shop.store_id}).get_json()
    for step in ("prepare", "ready"):
        response = move(client, clerk, placed["order"]["id"], step)
        assert response.status_code == 409 and response.get_json()["code"] == "order_state_conflict"
    assert read(client, alice, placed["order"]["id"])["status"] == "pending_payment"


def test_the_queue_lists_the_stores_orders_first_paid_first_and_filters_by_status(
        client, stub, shop, alice, clerk, login, making_store, live_server):
    bob, carol = (bearer(login(code)["token"]) for code in ("bob:1", "carol:1"))
    first, second, third = (croissant_order(client, stub, shop, who) for who in (alice, bob, carol))
    croissant_order(client, stub, shop, alice, store_id=shop.other_store_id)  # another store's: never listed
    move(client, clerk, second["id"], "prepare")
    move(client, clerk, third["id"], "ready")

    every = client.get("/api/v1/staff/orders", headers=clerk).get_json()
    assert [(o["id"], o["status"]) for o in every["items"]] == [
        (first["id"], "paid"), (second["id"], "preparing"), (third["id"], "ready_for_pickup")]
    assert every["total"] == 3 and all("pickup_code" not in o for o in every["items"])
    preparing = client.get("/api/v1/staff/orders?status=preparing", headers=clerk).get_json()
    assert [o["id"] for o in preparing["items"]] == [second["id"]]
    paged = client.get("/api/v1/staff/orders?page_size=2&page=2", headers=clerk).get_json()
    assert [o["id"] for o in paged["items"]] == [third["id"]]
    for bad in ("status=completed", "status=cancelled", f"store_id={shop.other_store_id}", "sort=id"):
        response = client.get(f"/api/v1/staff/orders?{bad}", headers=clerk)
        assert response.status_code in (403, 422), (bad, response.get_json())
    assert client.get(f"/api/v1/staff/orders?store_id={shop.other_store_id}",
                      headers=clerk).get_json()["code"] == "order_not_at_your_store"


def test_the_shopper_sees_how_many_orders_are_ahead_in_payment_order(client, stub, shop, alice, clerk, login,
                                                                    making_store, live_server):
    bob, carol = (bearer(login(code)["token"]) for code in ("bob:1", "carol:1"))
    first, second, third = (croissant_order(client, stub, shop, who) for who in (alice, bob, carol))
    assert [read(client, who, o["id"])["orders_ahead"] for who, o in ((alice, first), (bob, second), (carol, third))] \
        == [0, 1, 2]
    move(client, clerk, second["id"], "prepare")  # still being made: still ahead of carol
    assert read(client, carol, third["id"])["orders_ahead"] == 2
    move(client, clerk, first["id"], "ready")  # made: no longer ahead of anyone
    assert read(client, carol, third["id"])["orders_ahead"] == 1
    assert read(client, bob, second["id"])["orders_ahead"] == 0
    assert read(client, alice, first["id"])["orders_ahead"] is None


def test_a_preparing_order_is_refundable_like_a_paid_one_and_not_cancellable(client, stub, shop, alice, clerk,
                                                                              making_store, live_server):
    order = croissant_order(client, stub, shop, alice)
    move(client, clerk, order["id"], "prepare")
    cancel = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=alice)
    assert cancel.status_code == 409 and cancel.get_json()["code"] == "order_not_cancellable"

    refund = client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice, json={"reason": "too long a wait"})
    assert refund.status_code == 202, refund.get_json()
    refunded = eventually(lambda: read(client, alice, order["id"])["status"] == "refunded")
    assert refunded
    gone = move(client, clerk, order["id"], "ready")
    assert gone.status_code == 409 and gone.get_json()["code"] == "order_state_conflict"
    assert client.get("/api/v1/staff/orders", headers=clerk).get_json()["total"] == 0


def test_a_code_scanned_while_the_order_is_made_is_not_ready_yet_and_not_a_wrong_code(app, client, stub, shop, alice,
                                                                                     clerk, making_store, live_server):
    order = croissant_order(client, stub, shop, alice)
    for _ in range(12):  # more than the wrong-code limit: a shopper showing their code early is no guess
        early = client.post("/api/v1/staff/pickups", json={"pickup_code": order["pickup_code"], "confirm": True},
                            headers=clerk)
        assert early.status_code == 409 and early.get_json()["code"] == "pickup_not_ready"
    with app.app_context():
        assert set(db.session.scalars(select(PickupVerification.action))) == {"not_ready"}
    move(client, clerk, order["id"], "ready")
    handed = client.post("/api/v1/staff/pickups", json={"pickup_code": order["pickup_code"], "confirm": True},
                         headers=clerk)
    assert handed.status_code == 201


def test_a_store_that_does_not_prepare_orders_hands_them_over_as_soon_as_paid(client, stub, shop, alice, clerk,
                                                                              ready_signals, live_server):
    store = client.get(f"/api/v1/stores/{shop.store_id}").get_json()
    assert store["prepares_orders"] is False  # the default
    order = croissant_order(client, stub, shop, alice)
    assert order["status"] == "ready_for_pickup" and order["orders_ahead"] is None
    assert [s["order_id"] for s in ready_signals] == [order["id"]]  # told at payment
    assert client.get("/api/v1/staff/orders?status=paid", headers=clerk).get_json()["total"] == 0
    assert move(client, clerk, order["id"], "ready").get_json()["status"] == "ready_for_pickup"
    assert len(ready_signals) == 1


def test_the_store_setting_is_a_boolean_and_only_admins_and_marketing_set_it(client, shop, clerk):
    response = client.patch(f"/api/v1/admin/stores/{shop.store_id}", json={"prepares_orders": True}, headers=clerk)
    assert response.status_code == 403
    assert client.get(f"/api/v1/stores/{shop.store_id}").get_json()["prepares_orders"] is False
