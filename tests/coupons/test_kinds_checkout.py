"""The coffee chain's coupons through the API: marketing issues them, checkout takes them off the
lines they came from, refunds give back what each line paid, and the counter redeems only the kinds
a clerk can honour without the items."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from coupons.models import CouponBatch
from shop.auth import Role
from shop.extensions import db
from tests.coupons import checkout_fixtures as fixtures
from tests.coupons.checkout_fixtures import coupon_state, give_coupon, product_and_category
from tests.coupons.conftest import batch_body
from tests.orders.conftest import (
    manual_refunds,
    pickup_basket,
    place,
    prepay_id_of,
    settle_refund,
    stub_pay,
)

shop, alice, alice_id, clerk = fixtures.shop, fixtures.alice, fixtures.alice_id, fixtures.clerk

BATCHES = "/api/v1/admin/coupon-batches"
HALF_PRICE = {"kind": "nth_item_percent", "amount_off": None, "nth": 2, "percent": 50, "usage": "online"}


def line_of(order: dict, sku_id: int) -> dict:
    return next(line for line in order["lines"] if line["sku_id"] == sku_id)


def paid_with(client, stub, headers, body: dict) -> dict:
    placed = place(client, headers, body)
    assert placed.status_code == 201, placed.get_json()
    stub_pay(stub, prepay_id_of(placed.get_json()))
    return client.get(f"/api/v1/orders/{placed.get_json()['order']['id']}", headers=headers).get_json()


def refund(client, stub, headers, order: dict, lines: list[dict] | None) -> dict:
    response = client.post(f"/api/v1/orders/{order['id']}/refund", headers=headers,
                           json={"reason": "changed my mind", **({"lines": lines} if lines else {})})
    assert response.status_code == 202, response.get_json()
    after = client.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json()
    [number] = [r["number"] for r in after["refunds"] if r["status"] == "processing"]
    settle_refund(stub, number)
    return client.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json()


def test_a_second_item_half_price_comes_off_the_cheapest_unit_and_refunds_return_each_lines_own_share(
        app, client, stub, shop, alice, alice_id, live_server):
    manual_refunds(stub)
    coupon_id = give_coupon(app, alice_id, name="Second item half price", **HALF_PRICE)
    order = paid_with(client, stub, alice, pickup_basket(shop, coupon_id=coupon_id))  # 2 lattes 28, a croissant 16
    latte, croissant = line_of(order, shop.latte), line_of(order, shop.croissant)
    assert order["discount_total"] == 800 and order["amount_paid"] == 7200 - 800
    assert (latte["discount"], croissant["discount"]) == (0, 800)  # of 3 units, the cheapest one, on its line
    assert [d["details"]["description"] for d in order["discounts"]] == ["Second item half price"]
    one_latte = refund(client, stub, alice, order, [{"line_id": latte["id"], "quantity": 1}])
    assert one_latte["refunded_total"] == 2800  # a latte bore none of the discount: its full price back
    rest = refund(client, stub, alice, one_latte, None)
    assert rest["status"] == "refunded" and rest["refunded_total"] == order["amount_paid"]


def test_a_scoped_half_price_applies_to_the_second_latte_only(app, client, shop, alice, alice_id):
    latte_product, _ = product_and_category(app, shop.latte)
    coupon_id = give_coupon(app, alice_id, name="Second latte half price", scope_product_ids=[latte_product],
                            **HALF_PRICE)
    body = client.post("/api/v1/orders/preview", headers=alice, json=pickup_basket(shop, coupon_id=coupon_id)).get_json()
    assert [(d["amount"], d["label"]) for d in body["discounts"]] == [(1400, "Second latte half price")]
    alone = pickup_basket(shop, coupon_id=coupon_id)
    alone["items"][0]["quantity"] = 1
    refused = client.post("/api/v1/orders/preview", headers=alice, json=alone)
    assert refused.status_code == 422 and refused.get_json()["code"] == "coupon_not_applicable"
    assert "Second item half price" in refused.get_json()["message"]


@pytest.mark.parametrize(("terms", "lattes_off", "croissant_off"), [
    ({"kind": "buy_n_get_m", "buy": 2, "get": 1}, 0, 1600),  # 3 units: the croissant is free
    ({"kind": "free_item", "max_off": 2500}, 2500, 0),  # the dearest unit (a latte), up to 25 yuan
    ({"kind": "unit_price", "unit_price": 990}, 2 * (2800 - 990), 1600 - 990),  # every unit at 9.90
])
def test_each_new_kind_discounts_a_basket_at_checkout_off_the_lines_it_came_from(
        app, client, shop, alice, alice_id, terms, lattes_off, croissant_off):
    off = lattes_off + croissant_off
    coupon_id = give_coupon(app, alice_id, amount_off=None, usage="online", **terms)
    placed = place(client, alice, pickup_basket(shop, coupon_id=coupon_id))
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()["order"]
    assert order["discount_total"] == off and order["amount_payable"] == 7200 - off
    assert (line_of(order, shop.latte)["discount"], line_of(order, shop.croissant)["discount"]) == (
        lattes_off, croissant_off)  # not spread by what the lines cost: a refund gives back each line's own
    assert coupon_state(app, coupon_id)["discount_amount"] == off


def test_marketing_issues_the_new_kinds_with_their_own_fields(client, marketing):
    created = client.post(BATCHES, headers=marketing, json=batch_body(name="Second latte half price", kind="nth_item_percent",
                                                                    amount_off=None, nth=2, percent=50))
    assert created.status_code == 201, created.get_json()
    batch = created.get_json()
    assert (batch["nth"], batch["percent"], batch["usage"]) == (2, 50, "online")  # online: it needs the items
    assert batch["description"] == "Second item half price"
    free = client.post(BATCHES, headers=marketing, json=batch_body(kind="free_item", amount_off=None, max_off=2500))
    assert free.status_code == 201 and free.get_json()["usage"] == "both"  # a clerk can hand a drink over
    assert free.get_json()["description"] == "A free item up to ¥25"


@pytest.mark.parametrize(("body", "fields"), [
    ({"kind": "nth_item_percent", "amount_off": None, "percent": 50}, {"nth"}),
    ({"kind": "nth_item_percent", "amount_off": None, "nth": 1, "percent": 50}, {"nth"}),
    ({"kind": "nth_item_percent", "amount_off": None, "nth": 2, "percent": 101}, {"percent"}),
    ({"kind": "nth_item_percent", "nth": 2, "percent": 50}, {"amount_off"}),
    ({"kind": "buy_n_get_m", "amount_off": None, "buy": 2, "get": 0}, {"get"}),
    ({"kind": "unit_price", "amount_off": None, "unit_price": "9.90"}, {"unit_price"}),
    ({"kind": "free_item", "amount_off": None}, {"max_off"}),
])
def test_a_new_kinds_wrong_terms_are_422_naming_them(client, marketing, body, fields):
    response = client.post(BATCHES, headers=marketing, json=batch_body(**body))
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["errors"]) == fields


def test_the_database_refuses_terms_out_of_range(app):
    with app.app_context():
        for terms in ({"nth": 1}, {"buy": 0}, {"get": 0}, {"unit_price": 0}):
            db.session.add(CouponBatch(name="bad", kind="nth_item_percent", total=1, min_spend=0, **terms))
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()


def test_a_clerk_redeems_a_kind_that_needs_the_items_only_with_a_till_sale(app, client, shop, alice, alice_id,
                                                                          clerk):
    coupon_id = give_coupon(app, alice_id, **HALF_PRICE | {"usage": "both"})
    shown = client.get(f"/api/v1/me/coupons/{coupon_id}/code", headers=alice)
    assert shown.status_code == 200  # shown at the counter, for a till sale with its items (tests/till)
    redeemed = client.post("/api/v1/staff/redemptions", json={"code": shown.get_json()["code"]}, headers=clerk)
    assert redeemed.status_code == 422 and redeemed.get_json()["code"] == "coupon_needs_items"
    assert coupon_state(app, coupon_id)["status"] == "available"


def test_marketing_may_offer_a_kind_that_needs_the_items_in_stores(client, marketing):
    created = client.post(BATCHES, headers=marketing, json=batch_body(
        kind="buy_n_get_m", amount_off=None, buy=2, get=1, usage="both"))
    assert created.status_code == 201 and created.get_json()["usage"] == "both"


def test_a_fixed_amount_redeemed_at_the_counter_counts_in_the_batchs_cost_until_reverted(
        app, client, shop, alice, alice_id, staff_token, marketing):
    coupon_id = give_coupon(app, alice_id, amount_off=500, usage="in_store")
    clerk = staff_token(Role.STAFF, store_ids=[shop.store_id])
    code = client.get(f"/api/v1/me/coupons/{coupon_id}/code", headers=alice).get_json()["code"]
    redeemed = client.post("/api/v1/staff/redemptions", json={"code": code}, headers=clerk)
    assert redeemed.status_code == 201, redeemed.get_json()
    assert redeemed.get_json()["batch"]["description"] == "¥5 off"  # what the clerk applies at the till
    batch_id = redeemed.get_json()["batch"]["id"]
    assert coupon_state(app, coupon_id)["discount_amount"] == 500
    assert client.get(f"{BATCHES}/{batch_id}/stats", headers=marketing).get_json()["discount_cost"] == 500
    reverted = client.post(f"/api/v1/staff/redemptions/{redeemed.get_json()['id']}/revert", headers=clerk)
    assert reverted.status_code == 200, reverted.get_json()
    assert coupon_state(app, coupon_id)["discount_amount"] is None
    assert client.get(f"{BATCHES}/{batch_id}/stats", headers=marketing).get_json()["discount_cost"] == 0
