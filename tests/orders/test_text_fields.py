"""What a shopper sends with an order is what they meant: control characters and non-integers are a 422."""

import pytest
from sqlalchemy import func, select

from shop.extensions import db
from shop.orders.models import Order, Refund
from tests.orders.conftest import pickup_basket, place, prepay_id_of, stub_pay

ADDRESS = {"name": "Li Lei", "phone": "13800138000", "region": "Shanghai Huangpu", "detail": "1 Nanjing Road"}


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("typed", ["\x00", "a\x00b", "bell\x07"])
def test_a_note_or_address_with_a_control_character_is_422_and_places_nothing(app, client, shop, alice, typed):
    delivery = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "delivery"}
    bodies = {"note": pickup_basket(shop, note=typed)}
    for field in ("name", "region", "detail"):
        bodies[f"address.{field}"] = {**delivery, "address": {**ADDRESS, field: f"xx{typed}"}}
    for field, body in bodies.items():
        for path in ("/api/v1/orders/preview", "/api/v1/orders"):
            response = place(client, alice, body) if path == "/api/v1/orders" else client.post(path, json=body,
                                                                                                  headers=alice)
            assert response.status_code == 422, (path, field, response.get_json())
            assert field.partition(".")[0] in response.get_json()["errors"]
    assert _count(app, Order) == 0


def test_a_note_keeps_its_line_breaks(client, shop, alice):
    placed = place(client, alice, pickup_basket(shop, note="no sugar\nextra hot\tplease"))
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["order"]["note"] == "no sugar\nextra hot\tplease"


def test_a_note_typed_in_a_browser_form_keeps_its_crlf_and_a_one_line_field_refuses_cr(client, shop, alice):
    placed = place(client, alice, pickup_basket(shop, note="no sugar\r\nextra hot"))
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["order"]["note"] == "no sugar\r\nextra hot"
    delivery = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "delivery",
                "address": {**ADDRESS, "detail": "1 Nanjing Road\rFloor 2"}}
    refused = client.post("/api/v1/orders/preview", json=delivery, headers=alice)
    assert refused.status_code == 422 and "address" in refused.get_json()["errors"]


def test_a_refund_reason_with_a_control_character_is_422_and_refunds_nothing(
        app, client, stub, shop, alice, live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    response = client.post(f"/api/v1/orders/{placed['order']['id']}/refund", headers=alice,
                           json={"reason": "wrong\x00order"})
    assert response.status_code == 422, response.get_json()
    assert "reason" in response.get_json()["errors"]
    assert _count(app, Refund) == 0


@pytest.mark.parametrize(("field", "value"), [("quantity", 1.5), ("quantity", "2"), ("sku_id", 1.0), ("store_id", "1"),
                                              ("points", 0.5), ("coupon_id", "7")])
def test_a_number_that_is_not_a_json_integer_is_422_not_rounded(app, client, shop, alice, field, value):
    body = pickup_basket(shop)
    if field in ("quantity", "sku_id"):
        body["items"][0][field] = value if field == "quantity" else shop.latte + value
    else:
        body[field] = value if field != "store_id" else str(shop.store_id)
    for response in (client.post("/api/v1/orders/preview", json=body, headers=alice), place(client, alice, body)):
        assert response.status_code == 422, response.get_json()
        assert ("items" if field in ("quantity", "sku_id") else field) in response.get_json()["errors"]
    assert _count(app, Order) == 0
