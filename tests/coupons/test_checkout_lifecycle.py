"""A coupon follows its order: locked when the order is placed, used when it is paid, released when it
is cancelled or times out, returned by a full refund before the goods are handed over."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import requests

from coupons.checkout.lifecycle import consume_for_order, release_for_order
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order
from tests.coupons import checkout_fixtures as fixtures
from tests.coupons.checkout_fixtures import (
    coupon_state,
    expire_coupon,
    give_coupon,
    orders_and_stock,
)
from tests.orders.conftest import eventually, pickup_basket, place, prepay_id_of, stub_pay

pytestmark = pytest.mark.pgbouncer  # CI runs it through PgBouncer too (tests/test_transaction_pooling.py)

shop, alice, alice_id, clerk = fixtures.shop, fixtures.alice, fixtures.alice_id, fixtures.clerk


def placed_with(client, headers, shop, coupon_id: int, **extra) -> dict:
    response = place(client, headers, pickup_basket(shop, coupon_id=coupon_id, **extra))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def paid_with_a_coupon(app, client, stub, shop, headers, member_id: int) -> tuple[int, dict]:
    """A coupon, an order that uses it, paid in WeChat: (coupon id, the placed order's body)."""
    coupon_id = give_coupon(app, member_id)
    placed = placed_with(client, headers, shop, coupon_id)
    stub_pay(stub, prepay_id_of(placed))
    return coupon_id, placed


def order_of(client, headers, order_id: int) -> dict:
    return client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()


def refunded(client, headers, order_id: int, **body) -> dict:
    """Ask for a refund and wait until WeChat Pay has paid it back."""
    response = client.post(f"/api/v1/orders/{order_id}/refund", headers=headers, json={"reason": "changed my mind",
                                                                                      **body})
    assert response.status_code == 202, response.get_json()

    def settled() -> dict | None:
        order = order_of(client, headers, order_id)
        return order if all(refund["status"] == "succeeded" for refund in order["refunds"]) else None

    done = eventually(settled)
    assert done, order_of(client, headers, order_id)
    return done


def test_placing_an_order_locks_its_coupon_and_paying_uses_it(app, client, stub, shop, alice, alice_id, live_server):
    coupon_id = give_coupon(app, alice_id)
    placed = placed_with(client, alice, shop, coupon_id)
    order = placed["order"]
    assert order["amount_payable"] == 6200 and order["discount_total"] == 1000
    locked = coupon_state(app, coupon_id)
    assert (locked["status"], locked["order_id"], locked["discount_amount"]) == ("locked", order["id"], 1000)
    assert locked["locked_at"] is not None and locked["used_at"] is None

    stub_pay(stub, prepay_id_of(placed))
    paid = order_of(client, alice, order["id"])
    assert paid["status"] == "ready_for_pickup" and paid["amount_paid"] == 6200
    used = coupon_state(app, coupon_id)
    assert (used["status"], used["used_in"], used["order_id"], used["discount_amount"]) == (
        "used", "online", order["id"], 1000)
    with app.app_context():
        assert used["used_at"] == db.session.get(Order, order["id"]).paid_at
        # The signals again (a redelivery): nothing moves twice, and a paid order's coupon is not released.
        assert consume_for_order(order["id"], at=utcnow()) == 0
        assert release_for_order(order["id"], at=utcnow()) == 0
        db.session.commit()
    assert coupon_state(app, coupon_id) == used
    wallet = client.get("/api/v1/me/coupons?status=used", headers=alice).get_json()
    assert [(c["id"], c["used_in"]) for c in wallet["items"]] == [(coupon_id, "online")]


def test_cancelling_the_unpaid_order_releases_its_coupon_for_another_order(app, client, shop, alice, alice_id):
    coupon_id = give_coupon(app, alice_id)
    first = placed_with(client, alice, shop, coupon_id)["order"]
    assert client.post(f"/api/v1/orders/{first['id']}/cancel", headers=alice).status_code == 200
    released = coupon_state(app, coupon_id)
    assert (released["status"], released["order_id"], released["discount_amount"]) == ("available", None, None)
    second = placed_with(client, alice, shop, coupon_id)["order"]
    assert coupon_state(app, coupon_id)["order_id"] == second["id"]


def test_a_payment_timeout_releases_the_coupon(app, client, shop, alice, alice_id):
    on_read, in_sweep = give_coupon(app, alice_id), give_coupon(app, alice_id)
    first = placed_with(client, alice, shop, on_read)["order"]
    second = placed_with(client, alice, shop, in_sweep, items=[{"sku_id": shop.croissant, "quantity": 1}])["order"]
    with app.app_context():
        for order in db.session.query(Order):
            order.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert order_of(client, alice, first["id"])["status"] == "cancelled"
    assert coupon_state(app, on_read)["status"] == "available"
    assert coupon_state(app, in_sweep)["status"] == "locked"
    result = app.test_cli_runner().invoke(args=["orders", "cancel-expired"])
    assert "cancelled 1" in result.output
    assert order_of(client, alice, second["id"])["cancel_reason"] == "payment_timeout"
    assert coupon_state(app, in_sweep)["status"] == "available"


def test_a_coupon_that_expired_while_its_order_waited_is_expired_when_the_order_is_cancelled(app, client, shop,
                                                                                             alice, alice_id):
    coupon_id = give_coupon(app, alice_id)
    order = placed_with(client, alice, shop, coupon_id)["order"]
    expire_coupon(app, coupon_id)
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=alice)
    assert coupon_state(app, coupon_id)["status"] == "expired"
    listed = client.get("/api/v1/me/coupons?status=expired", headers=alice).get_json()["items"]
    assert [c["id"] for c in listed] == [coupon_id]


def test_a_coupon_that_expired_while_its_order_waited_is_still_used_when_the_order_is_paid(
        app, client, stub, shop, alice, alice_id, live_server):
    coupon_id = give_coupon(app, alice_id)
    placed = placed_with(client, alice, shop, coupon_id)
    expire_coupon(app, coupon_id)
    stub_pay(stub, prepay_id_of(placed))
    assert order_of(client, alice, placed["order"]["id"])["amount_paid"] == 6200  # the price agreed at ordering
    assert coupon_state(app, coupon_id)["status"] == "used"


def test_a_full_refund_before_pickup_returns_the_coupon(app, client, stub, shop, alice, alice_id, live_server):
    coupon_id, placed = paid_with_a_coupon(app, client, stub, shop, alice, alice_id)
    done = refunded(client, alice, placed["order"]["id"])
    assert done["status"] == "refunded" and done["refunded_total"] == 6200
    returned = coupon_state(app, coupon_id)
    assert (returned["status"], returned["order_id"], returned["used_at"], returned["used_in"]) == (
        "available", None, None, None)
    assert placed_with(client, alice, shop, coupon_id)["order"]["discount_total"] == 1000  # usable again


def test_a_full_refund_of_a_coupon_past_its_expiry_leaves_it_expired(app, client, stub, shop, alice, alice_id,
                                                                     live_server):
    coupon_id, placed = paid_with_a_coupon(app, client, stub, shop, alice, alice_id)
    expire_coupon(app, coupon_id)
    refunded(client, alice, placed["order"]["id"])
    assert coupon_state(app, coupon_id)["status"] == "expired"


def test_a_partial_refund_keeps_the_coupon_used(app, client, stub, shop, alice, alice_id, live_server):
    coupon_id, placed = paid_with_a_coupon(app, client, stub, shop, alice, alice_id)
    order = order_of(client, alice, placed["order"]["id"])
    latte = next(line for line in order["lines"] if line["sku_id"] == shop.latte)
    done = refunded(client, alice, order["id"], lines=[{"line_id": latte["id"], "quantity": 1}])
    assert done["status"] == "ready_for_pickup" and done["refunded_total"] > 0
    assert coupon_state(app, coupon_id)["status"] == "used"


def test_a_refund_after_pickup_keeps_the_coupon_used(app, client, stub, shop, alice, alice_id, clerk, staff_token,
                                                     live_server):
    coupon_id, placed = paid_with_a_coupon(app, client, stub, shop, alice, alice_id)
    code = order_of(client, alice, placed["order"]["id"])["pickup_code"]
    handed = client.post("/api/v1/staff/pickups", json={"pickup_code": code, "confirm": True}, headers=clerk)
    assert handed.get_json()["order"]["status"] == "completed"
    admin = staff_token(Role.ADMIN)
    response = client.post(f"/api/v1/admin/orders/{placed['order']['id']}/refund", headers=admin,
                           json={"reason": "after-sales"})
    assert response.status_code == 202, response.get_json()
    assert eventually(lambda: order_of(client, alice, placed["order"]["id"])["status"] == "refunded")
    assert coupon_state(app, coupon_id)["status"] == "used"


def test_an_order_paid_entirely_by_its_coupon_is_paid_at_once_and_a_refund_returns_the_coupon(app, client, stub,
                                                                                              shop, alice, alice_id):
    coupon_id = give_coupon(app, alice_id, amount_off=50000)
    placed = placed_with(client, alice, shop, coupon_id)
    assert placed["order"]["amount_payable"] == 0 and placed["order"]["status"] == "ready_for_pickup"
    assert placed["payment"] is None and stub.received_on("v3/pay/transactions/jsapi") == []
    assert coupon_state(app, coupon_id)["status"] == "used"
    response = client.post(f"/api/v1/orders/{placed['order']['id']}/refund", headers=alice,
                           json={"reason": "changed my mind"})
    assert response.status_code == 202 and response.get_json()["status"] == "refunded"
    assert coupon_state(app, coupon_id)["status"] == "available"


def test_a_coupon_held_by_one_order_cannot_be_used_by_another(app, client, shop, alice, alice_id):
    coupon_id = give_coupon(app, alice_id)
    first = placed_with(client, alice, shop, coupon_id)["order"]
    second = place(client, alice, pickup_basket(shop, coupon_id=coupon_id))
    assert second.status_code == 409 and second.get_json()["code"] == "coupon_locked"
    assert orders_and_stock(app, shop) == (1, 3, 49)  # the second order took no stock
    assert coupon_state(app, coupon_id)["order_id"] == first["id"]


def test_a_retried_create_keeps_the_one_lock_of_the_first_order(app, client, shop, alice, alice_id):
    coupon_id = give_coupon(app, alice_id)
    key = uuid.uuid4().hex
    first = place(client, alice, pickup_basket(shop, coupon_id=coupon_id), key=key)
    again = place(client, alice, pickup_basket(shop, coupon_id=coupon_id), key=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["order"]["id"] == first.get_json()["order"]["id"]
    assert coupon_state(app, coupon_id)["order_id"] == first.get_json()["order"]["id"]


def test_concurrent_orders_with_one_coupon_lock_it_once_and_the_losers_take_nothing(app, shop, alice, alice_id,
                                                                                    live_server):
    coupon_id = give_coupon(app, alice_id)
    attempts = 8  # the same shopper tapping "pay" on several phones at once
    results: list[tuple[int, str | None]] = []
    start = threading.Barrier(attempts)

    def buy() -> None:
        start.wait()
        response = requests.post(f"{live_server}/api/v1/orders", timeout=60, json={
            "items": [{"sku_id": shop.croissant, "quantity": 2}], "fulfilment": "pickup", "store_id": shop.store_id,
            "coupon_id": coupon_id}, headers={**alice, "Idempotency-Key": uuid.uuid4().hex})
        results.append((response.status_code, response.json().get("code")))

    threads = [threading.Thread(target=buy) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [(201, None)] + [(409, "coupon_locked")] * 7, results
    assert orders_and_stock(app, shop) == (1, 5, 48)  # one order's two croissants; the losers' stock came back
    with app.app_context():
        order_id = db.session.query(Order.id).scalar()
    assert coupon_state(app, coupon_id)["order_id"] == order_id
