"""What checkout accepts, and how points work with orders: earned on payment, spent, returned, reversed."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from shop.auth import Role
from shop.extensions import db
from shop.orders.models import Payment
from tests.orders.conftest import eventually, pickup_basket, place, prepay_id_of, stub_pay


def balance(client, headers) -> int:
    return client.get("/api/v1/me/points", headers=headers).get_json()["balance"]


def give_points(client, staff_token, member_id: int, points: int) -> None:
    response = client.post(f"/api/v1/admin/members/{member_id}/points", headers=staff_token(Role.ADMIN),
                           json={"delta": points, "reason": "welcome gift"})
    assert response.status_code in (200, 201), response.get_json()


def test_paying_earns_points_and_a_full_refund_takes_them_back(client, stub, shop, alice, live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    assert balance(client, alice) == 72  # 72 yuan paid, 1 point a yuan
    client.post(f"/api/v1/orders/{placed['order']['id']}/refund", headers=alice, json={"reason": "changed my mind"})
    assert eventually(lambda: balance(client, alice) == 0)


def test_points_deduct_at_checkout_and_return_when_the_order_is_cancelled(client, shop, login, staff_token):
    shopper = login("carol:1")
    headers = {"Authorization": f"Bearer {shopper['token']}"}
    give_points(client, staff_token, shopper["member"]["id"], 1000)
    preview = client.post("/api/v1/orders/preview", headers=headers, json=pickup_basket(shop, points=1000)).get_json()
    [points] = [d for d in preview["discounts"] if d["source"] == "points"]
    assert points["amount"] == 1000 and preview["amount_payable"] == 7200 - 1000
    assert balance(client, headers) == 1000  # a preview spends nothing

    order = place(client, headers, pickup_basket(shop, points=1000)).get_json()["order"]
    assert order["amount_payable"] == 6200 and balance(client, headers) == 0
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert balance(client, headers) == 1000


def test_points_never_take_more_than_half_of_the_order(client, shop, login, staff_token):
    shopper = login("dave:1")
    headers = {"Authorization": f"Bearer {shopper['token']}"}
    give_points(client, staff_token, shopper["member"]["id"], 100_000)
    preview = client.post("/api/v1/orders/preview", headers=headers, json=pickup_basket(shop, points=100_000)).get_json()
    assert preview["amount_payable"] == 3600


@pytest.mark.parametrize("change, status, field", [
    ({"items": []}, 422, "items"),
    ({"items": [{"sku_id": 1, "quantity": 0}]}, 422, "items"),
    ({"items": [{"sku_id": 1, "quantity": 100}]}, 422, "items"),
    ({"items": [{"sku_id": "latte", "quantity": 1}]}, 422, "items"),
    ({"items": [{"sku_id": 999999, "quantity": 1}]}, 404, "sku_ids"),
    ({"fulfilment": "drone"}, 422, "fulfilment"),
    ({"store_id": None}, 422, "store_id"),
    ({"points": -5}, 422, "points"),
    ({"fulfilment": "delivery", "store_id": None}, 422, "address"),
    ({"fulfilment": "delivery", "store_id": None,
      "address": {"name": "Li", "phone": "12345", "region": "Shanghai", "detail": "1 Road"}}, 422, "address"),
])
def test_bad_checkout_input_is_refused_and_reserves_nothing(app, client, shop, alice, change, status, field):
    body = {**pickup_basket(shop), **change}
    response = place(client, alice, body)
    assert response.status_code == status, response.get_json()
    assert field in response.get_json().get("errors", {}), response.get_json()
    assert client.get("/api/v1/orders", headers=alice).get_json()["total"] == 0


def test_a_closed_store_takes_no_pickup_orders(client, shop, alice, staff_token):
    client.post(f"/api/v1/admin/stores/{shop.store_id}/close", headers=staff_token(Role.MARKETING))
    response = place(client, alice, pickup_basket(shop))
    assert response.status_code == 409 and response.get_json()["code"] == "store_unavailable"


def test_delivery_adds_the_fee_below_the_free_delivery_threshold(client, shop, alice):
    address = {"name": "Li Lei", "phone": "13800138000", "region": "Shanghai Huangpu", "detail": "1 Nanjing Rd"}
    small = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "delivery", "address": address}
    big = {**small, "items": [{"sku_id": shop.croissant, "quantity": 7}]}
    assert client.post("/api/v1/orders/preview", json=small, headers=alice).get_json()["shipping_fee"] == 800
    assert client.post("/api/v1/orders/preview", json=big, headers=alice).get_json()["shipping_fee"] == 0


def test_a_delivery_order_is_shipped_then_completed_by_an_admin(client, stub, shop, alice, staff_token, live_server):
    address = {"name": "Li Lei", "phone": "13800138000", "region": "Shanghai Huangpu", "detail": "1 Nanjing Rd"}
    placed = place(client, alice, {"items": [{"sku_id": shop.croissant, "quantity": 7}], "fulfilment": "delivery",
                                   "address": address}).get_json()
    stub_pay(stub, prepay_id_of(placed))
    order_id, admin = placed["order"]["id"], staff_token(Role.ADMIN)
    assert client.get(f"/api/v1/orders/{order_id}", headers=alice).get_json()["status"] == "paid"
    assert client.post(f"/api/v1/admin/orders/{order_id}/complete", headers=admin).status_code == 409
    assert client.post(f"/api/v1/admin/orders/{order_id}/ship", headers=admin,
                       json={"carrier": "SF", "tracking_no": "SF1234567890"}).get_json()["status"] == "shipped"
    assert client.post(f"/api/v1/orders/{order_id}/refund", headers=alice, json={"reason": "late"}).status_code == 409
    assert client.post(f"/api/v1/admin/orders/{order_id}/complete", headers=admin).get_json()["status"] == "completed"
    listed = client.get("/api/v1/admin/orders?status=completed", headers=admin).get_json()
    assert [o["id"] for o in listed["items"]] == [order_id]
    assert client.get("/api/v1/admin/orders", headers=alice).status_code == 403


def test_a_partial_refund_takes_back_points_in_proportion(client, stub, shop, alice, live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    assert balance(client, alice) == 72
    order = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()
    croissant = next(line for line in order["lines"] if line["sku_id"] == shop.croissant)
    client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice,
                json={"reason": "no croissant", "lines": [{"line_id": croissant["id"], "quantity": 1}]})
    # 16 of 72 yuan refunded: floor(72 * 16 / 72) = 16 points taken back.
    assert eventually(lambda: balance(client, alice) == 56), balance(client, alice)


def test_a_replayed_notify_changes_nothing(app, client, stub, shop, alice, live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    replay = requests.post(f"{stub.url}stub/pay/notify/resend", timeout=10,
                           json={"out_trade_no": placed["order"]["number"], "same_headers": True}).json()
    assert replay["notify"]["deliveries"][-1]["status"] == 204  # acknowledged, so WeChat Pay stops
    assert balance(client, alice) == 72  # earned once
    order = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()
    # Taken as a second payment, it would have been recorded and refunded automatically.
    assert order["status"] == "ready_for_pickup" and order["refunds"] == [] and order["refunded_total"] == 0
    with app.app_context():
        assert [p.outcome for p in db.session.scalars(select(Payment))] == ["applied"]
