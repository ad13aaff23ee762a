"""One shopper cannot hold a product's stock: lines of a SKU are merged before the caps on units per SKU and
per order are checked, and a member holds a few unpaid orders at most, also when placing them at once."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from shop.catalog.models import Sku, StockMovement
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order, OrderLine
from tests.factories import make_category, make_product
from tests.orders.conftest import pickup_basket, place, prepay_id_of, stub_pay


def stock_of(app, *sku_ids: int) -> list[int]:
    with app.app_context():
        return [db.session.scalar(select(Sku.stock).where(Sku.id == sku_id)) for sku_id in sku_ids]


def orders_held(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order))


def reservations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StockMovement).where(StockMovement.reason == "reserved"))


def basket(shop, *items: tuple[int, int]) -> dict:
    return {"items": [{"sku_id": sku, "quantity": quantity} for sku, quantity in items], "fulfilment": "pickup",
            "store_id": shop.store_id}


@pytest.fixture
def beans(app, shop) -> list[int]:
    """Three SKUs of coffee beans with plenty of stock, sold at the shop's store."""
    from shop.catalog.service import set_store_availability

    with app.app_context():
        product = make_product(make_category().id, title="Beans", skus=[
            {"spec": {"roast": roast}, "price": 9800, "stock": 500} for roast in ("light", "medium", "dark")])
        for sku in product.skus:
            set_store_availability(sku.id, actor_staff_id=None, stores=[{"store_id": shop.store_id, "available": True}])
        db.session.commit()
        return [sku.id for sku in product.skus]


def test_repeating_a_sku_on_many_lines_does_not_pass_the_cap_per_sku(app, client, shop, alice):
    # 10 croissants on each of three lines: 30 of one SKU, over the 20 an order may hold.
    body = basket(shop, (shop.croissant, 10), (shop.croissant, 10), (shop.croissant, 10))
    for answer in (client.post("/api/v1/orders/preview", json=body, headers=alice), place(client, alice, body)):
        assert answer.status_code == 422, answer.get_json()
        error = answer.get_json()
        assert error["code"] == "quantity_limit"
        assert error["errors"]["items"] == [f"SKU {shop.croissant}: 30 asked, at most 20."]
    assert stock_of(app, shop.croissant) == [50] and orders_held(app) == 0 and reservations(app) == 0


def test_lines_of_one_sku_become_one_line_priced_and_reserved_together(app, client, shop, alice):
    body = basket(shop, (shop.croissant, 3), (shop.latte, 1), (shop.croissant, 4))
    preview = client.post("/api/v1/orders/preview", json=body, headers=alice).get_json()
    assert [(line["sku_id"], line["quantity"]) for line in preview["items"]] == [(shop.latte, 1), (shop.croissant, 7)]
    placed = place(client, alice, body)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()["order"]
    assert [(line["sku_id"], line["quantity"]) for line in order["lines"]] == [(shop.latte, 1), (shop.croissant, 7)]
    assert order["items_total"] == preview["items_total"] == 2800 + 7 * 1600
    assert stock_of(app, shop.latte, shop.croissant) == [4, 43]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrderLine)) == 2


def test_an_order_holds_at_most_fifty_units_in_all(app, client, shop, alice, beans):
    body = basket(shop, *((sku, 20) for sku in beans))  # 20 of each is allowed; 60 in all is not
    answer = place(client, alice, body)
    assert answer.status_code == 422 and answer.get_json()["code"] == "quantity_limit"
    assert answer.get_json()["errors"]["items"] == ["60 asked, at most 50."]
    assert stock_of(app, *beans) == [500] * 3 and orders_held(app) == 0
    assert place(client, alice, basket(shop, (beans[0], 20), (beans[1], 20), (beans[2], 10))).status_code == 201


def test_the_caps_are_settings(app, client, shop, alice, monkeypatch):
    monkeypatch.setitem(app.config, "ORDER_MAX_UNITS_PER_SKU", 2)
    answer = client.post("/api/v1/orders/preview", json=basket(shop, (shop.croissant, 2), (shop.croissant, 1)),
                         headers=alice)
    assert answer.status_code == 422 and answer.get_json()["errors"]["items"] == [f"SKU {shop.croissant}: 3 asked, at most 2."]
    monkeypatch.setitem(app.config, "ORDER_MAX_UNITS_PER_SKU", 20)
    monkeypatch.setitem(app.config, "ORDER_MAX_UNITS", 3)
    answer = client.post("/api/v1/orders/preview", json=basket(shop, (shop.croissant, 2), (shop.latte, 2)),
                         headers=alice)
    assert answer.status_code == 422 and answer.get_json()["errors"]["items"] == ["4 asked, at most 3."]


def test_a_member_holds_three_unpaid_orders_at_most(app, client, stub, shop, alice, live_server):
    one_croissant = basket(shop, (shop.croissant, 1))
    held = [place(client, alice, one_croissant, key=f"unpaid-{n}-key").get_json() for n in range(3)]
    assert all(placed["order"]["status"] == "pending_payment" for placed in held)

    refused = place(client, alice, one_croissant)
    assert refused.status_code == 409 and refused.get_json()["code"] == "too_many_unpaid_orders"
    assert orders_held(app) == 3 and stock_of(app, shop.croissant) == [47]

    # A retry of an order already placed is answered as before, at the limit too.
    retried = place(client, alice, one_croissant, key="unpaid-0-key")
    assert retried.status_code == 201 and retried.get_json()["order"]["id"] == held[0]["order"]["id"]

    # Paying one frees a slot; so does cancelling one.
    stub_pay(stub, prepay_id_of(held[0]))
    assert place(client, alice, one_croissant).status_code == 201
    assert place(client, alice, one_croissant).status_code == 409
    client.post(f"/api/v1/orders/{held[1]['order']['id']}/cancel", headers=alice)
    assert place(client, alice, one_croissant).status_code == 201
    assert stock_of(app, shop.croissant) == [46]  # five placed, one cancelled


def test_orders_past_their_payment_window_do_not_count(app, client, shop, alice, monkeypatch):
    monkeypatch.setitem(app.config, "ORDER_MAX_UNPAID", 1)
    assert place(client, alice, basket(shop, (shop.croissant, 1))).status_code == 201
    assert place(client, alice, basket(shop, (shop.croissant, 1))).get_json()["code"] == "too_many_unpaid_orders"
    with app.app_context():  # its window passed; the sweep has not cancelled it yet
        db.session.execute(update(Order).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert place(client, alice, basket(shop, (shop.croissant, 1))).status_code == 201
    assert place(client, alice, basket(shop, (shop.croissant, 1))).get_json()["code"] == "too_many_unpaid_orders"


def test_other_members_are_not_held_back_by_one_members_unpaid_orders(client, shop, alice, login):
    for _ in range(3):
        place(client, alice, pickup_basket(shop, items=[{"sku_id": shop.croissant, "quantity": 1}]))
    bob = {"Authorization": f"Bearer {login('bob:1')['token']}"}
    assert place(client, bob, basket(shop, (shop.croissant, 1))).status_code == 201


def test_one_member_placing_orders_at_once_never_holds_more_than_the_limit(app, shop, alice, live_server):
    # Two unpaid already; eight creates at once race for the last slot: exactly one may take it.
    for _ in range(2):
        assert requests.post(f"{live_server}/api/v1/orders", json=basket(shop, (shop.croissant, 1)), timeout=30,
                             headers={**alice, "Idempotency-Key": uuid.uuid4().hex}).status_code == 201
    start = threading.Barrier(8)
    answers: list[tuple[int, str | None]] = []

    def create() -> None:
        start.wait()
        response = requests.post(f"{live_server}/api/v1/orders", json=basket(shop, (shop.croissant, 1)), timeout=60,
                                 headers={**alice, "Idempotency-Key": uuid.uuid4().hex})
        answers.append((response.status_code, response.json().get("code")))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers, key=str) == sorted([(201, None)] + [(409, "too_many_unpaid_orders")] * 7, key=str), answers
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)
                                 .where(Order.status == "pending_payment")) == 3
    assert stock_of(app, shop.croissant) == [47]


def test_a_create_retried_while_the_first_takes_the_last_slot_returns_that_order(app, shop, alice, live_server):
    for _ in range(2):
        assert requests.post(f"{live_server}/api/v1/orders", json=basket(shop, (shop.croissant, 1)), timeout=30,
                             headers={**alice, "Idempotency-Key": uuid.uuid4().hex}).status_code == 201
    start = threading.Barrier(6)
    answers: list[tuple[int, int | str]] = []

    def create() -> None:  # the same request six times at once (a client retrying on a slow network)
        start.wait()
        response = requests.post(f"{live_server}/api/v1/orders", json=basket(shop, (shop.croissant, 1)), timeout=60,
                                 headers={**alice, "Idempotency-Key": "last-slot-key"})
        body = response.json()
        answers.append((response.status_code, body["order"]["id"] if response.status_code == 201 else body["code"]))

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {201} and len({order for _, order in answers}) == 1, answers
    assert orders_held(app) == 3 and stock_of(app, shop.croissant) == [47]
