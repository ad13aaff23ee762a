"""A shopper picks a coupon at checkout: preview shows what it takes off, suggests the best one, and
refuses a coupon that cannot be used with its own code; the wallet shows each coupon's state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coupons.checkout.provider import lock
from shop.catalog.service import set_store_availability
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.points.service import adjust_points
from tests.conftest import bearer
from tests.coupons import checkout_fixtures as fixtures
from tests.coupons.checkout_fixtures import (
    ADDRESS,
    coupon_state,
    give_coupon,
    orders_and_stock,
    product_and_category,
)
from tests.factories import make_category, make_product
from tests.orders.conftest import pickup_basket, place

shop, alice, alice_id = fixtures.shop, fixtures.alice, fixtures.alice_id


def preview(client, headers, body):
    return client.post("/api/v1/orders/preview", json=body, headers=headers)


def coupon_discount(body: dict) -> list[tuple[str, int]]:
    return [(d["source"], d["amount"]) for d in body["discounts"]]


def test_preview_shows_the_chosen_coupons_discount_and_changes_nothing(app, client, shop, alice, alice_id):
    coupon_id = give_coupon(app, alice_id, name="10 yuan off anything")
    response = preview(client, alice, pickup_basket(shop, coupon_id=coupon_id))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["items_total"] == 7200 and coupon_discount(body) == [("coupons", 1000)]
    assert body["discounts"][0]["label"] == "10 yuan off anything"
    assert body["discounts"][0]["details"]["coupon_id"] == coupon_id
    assert body["amount_payable"] == 6200
    assert coupon_state(app, coupon_id)["status"] == "available"
    assert orders_and_stock(app, shop) == (0, 5, 50)


def test_without_a_choice_preview_suggests_the_coupon_that_takes_off_most(app, client, shop, alice, alice_id):
    give_coupon(app, alice_id, amount_off=500)
    best = give_coupon(app, alice_id, name="10% off", kind="percent_off", amount_off=None, percent=10, max_off=5000)
    give_coupon(app, alice_id, name="spend 100 save 30", kind="threshold", amount_off=3000, min_spend=10000)
    give_coupon(app, alice_id, name="50 off in store", amount_off=5000, usage="in_store")
    give_coupon(app, alice_id, amount_off=6000, expires_in=-timedelta(minutes=1))  # expired
    give_coupon(app, alice_id, amount_off=6000, status="used")
    body = preview(client, alice, pickup_basket(shop)).get_json()
    assert body["discounts"] == [] and body["amount_payable"] == 7200  # suggested, not applied
    assert body["suggestions"]["coupons"]["best"] == {
        "coupon_id": best, "amount": 720, "label": "10% off",
        "expires_at": body["suggestions"]["coupons"]["best"]["expires_at"]}
    assert body["suggestions"]["coupons"]["usable_count"] == 2


def test_of_two_equally_good_coupons_the_one_expiring_first_is_suggested(app, client, shop, alice, alice_id):
    give_coupon(app, alice_id, expires_in=timedelta(days=5))
    sooner = give_coupon(app, alice_id, expires_in=timedelta(days=2))
    give_coupon(app, alice_id, expires_in=timedelta(days=9))
    suggestion = preview(client, alice, pickup_basket(shop)).get_json()["suggestions"]["coupons"]
    assert suggestion["best"]["coupon_id"] == sooner and suggestion["usable_count"] == 3


def test_with_no_usable_coupon_nothing_is_suggested(app, client, shop, alice, alice_id):
    give_coupon(app, alice_id, kind="threshold", amount_off=3000, min_spend=10000)
    suggestion = preview(client, alice, pickup_basket(shop)).get_json()["suggestions"]["coupons"]
    assert suggestion == {"best": None, "usable_count": 0}


UNUSABLE = {
    "used": ({"status": "used"}, 409, "coupon_used"),
    "locked": ({"status": "locked"}, 409, "coupon_locked"),
    "expired": ({"expires_in": -timedelta(seconds=1)}, 409, "coupon_expired"),
    "expired_stored": ({"status": "expired"}, 409, "coupon_expired"),
    "not_yet_valid": ({"starts_in": timedelta(days=1)}, 409, "coupon_not_yet_valid"),
    "in_store_only": ({"usage": "in_store"}, 422, "coupon_not_usable_online"),
    "min_spend": ({"kind": "threshold", "amount_off": 1000, "min_spend": 7201}, 422, "coupon_min_spend_not_met"),
    "nothing_in_scope": ({"scope_product_ids": [10**9]}, 422, "coupon_not_applicable"),
}


@pytest.mark.parametrize(("at", "code"), [(-timedelta(hours=2), "coupon_not_yet_valid"),
                                         (timedelta(days=8), "coupon_expired")])
def test_the_lock_checks_the_coupons_validity_at_its_own_moment(app, alice_id, at, code):
    """Time passes between the quote and the lock: the lock's conditional UPDATE must not take a coupon
    outside its validity at that moment (the coupon is valid from an hour ago for seven days)."""
    coupon_id = give_coupon(app, alice_id)
    before = coupon_state(app, coupon_id)
    with app.app_context():
        with pytest.raises(AppError) as refused:
            lock(coupon_id, member_id=alice_id, order_id=10**9, amount=1000, now=utcnow() + at)
        db.session.rollback()
    assert refused.value.code.value == code
    assert coupon_state(app, coupon_id) == before


@pytest.mark.parametrize("case", UNUSABLE)
def test_a_coupon_that_cannot_be_used_gets_its_own_error_and_nothing_changes(case, app, client, shop, alice,
                                                                              alice_id):
    overrides, status, code = UNUSABLE[case]
    coupon_id = give_coupon(app, alice_id, **overrides)
    before = coupon_state(app, coupon_id)
    for response in (preview(client, alice, pickup_basket(shop, coupon_id=coupon_id)),
                     place(client, alice, pickup_basket(shop, coupon_id=coupon_id))):
        assert response.status_code == status, response.get_json()
        assert response.get_json()["code"] == code
        assert "coupon_id" in response.get_json()["errors"]
    assert coupon_state(app, coupon_id) == before
    assert orders_and_stock(app, shop) == (0, 5, 50)


def test_the_minimum_spend_counts_only_the_items_the_coupon_covers(app, client, shop, alice, alice_id):
    croissant_product, _ = product_and_category(app, shop.croissant)
    # The basket costs 72 yuan, but only the croissant (16 yuan) is covered: 20 yuan is not reached.
    coupon_id = give_coupon(app, alice_id, kind="threshold", amount_off=500, min_spend=2000,
                            scope_product_ids=[croissant_product])
    response = preview(client, alice, pickup_basket(shop, coupon_id=coupon_id))
    assert response.status_code == 422 and response.get_json()["code"] == "coupon_min_spend_not_met"
    two = {**pickup_basket(shop, coupon_id=coupon_id), "items": [{"sku_id": shop.croissant, "quantity": 2}]}
    assert coupon_discount(preview(client, alice, two).get_json()) == [("coupons", 500)]


def test_a_category_coupon_takes_its_percent_off_the_covered_items_only(app, client, shop, alice, alice_id):
    _, croissant_category = product_and_category(app, shop.croissant)
    coupon_id = give_coupon(app, alice_id, kind="percent_off", amount_off=None, percent=15, max_off=None,
                            scope_category_ids=[croissant_category])
    body = preview(client, alice, pickup_basket(shop, coupon_id=coupon_id)).get_json()
    assert coupon_discount(body) == [("coupons", 240)]  # 15% of the croissant's 1600, not of 7200
    assert body["amount_payable"] == 7200 - 240


def test_a_percent_discount_is_rounded_up_and_capped(app, client, shop, alice, alice_id):
    rounded = give_coupon(app, alice_id, kind="percent_off", amount_off=None, percent=33, max_off=None)
    capped = give_coupon(app, alice_id, kind="percent_off", amount_off=None, percent=50, max_off=1500)
    one_latte_one_croissant = {"items": [{"sku_id": shop.latte, "quantity": 1}, {"sku_id": shop.croissant,
                                                                                 "quantity": 1}],
                               "fulfilment": "pickup", "store_id": shop.store_id}
    body = preview(client, alice, {**one_latte_one_croissant, "coupon_id": rounded}).get_json()
    assert coupon_discount(body) == [("coupons", 1452)]  # 33% of 4400 is 1452 exactly
    body = preview(client, alice, {**one_latte_one_croissant, "items": [{"sku_id": shop.croissant, "quantity": 1}],
                                   "coupon_id": rounded}).get_json()
    assert coupon_discount(body) == [("coupons", 528)]  # 33% of 1600 is 528 exactly
    body = preview(client, alice, {**one_latte_one_croissant, "coupon_id": capped}).get_json()
    assert coupon_discount(body) == [("coupons", 1500)]


def test_an_odd_percent_rounds_in_the_shoppers_favour(app, client, shop, alice, alice_id):
    with app.app_context():
        cookie = make_product(make_category().id, title="Cookie", skus=[{"spec": {}, "price": 999, "stock": 9}])
        sku_id = cookie.skus[0].id
        set_store_availability(sku_id, actor_staff_id=None, stores=[{"store_id": shop.store_id, "available": True}])
        db.session.commit()
    coupon_id = give_coupon(app, alice_id, kind="percent_off", amount_off=None, percent=15, max_off=None)
    body = preview(client, alice, {"items": [{"sku_id": sku_id, "quantity": 1}], "fulfilment": "pickup",
                                   "store_id": shop.store_id, "coupon_id": coupon_id}).get_json()
    assert coupon_discount(body) == [("coupons", 150)]  # 15% of 999 is 149.85: 150 off, not 149
    assert body["amount_payable"] == 849


def test_a_coupon_worth_more_than_the_covered_items_takes_off_only_what_they_cost(app, client, shop, alice,
                                                                                  alice_id):
    croissant_product, _ = product_and_category(app, shop.croissant)
    coupon_id = give_coupon(app, alice_id, amount_off=50000, scope_product_ids=[croissant_product])
    body = preview(client, alice, pickup_basket(shop, coupon_id=coupon_id)).get_json()
    assert coupon_discount(body) == [("coupons", 1600)] and body["amount_payable"] == 5600
    everything = give_coupon(app, alice_id, amount_off=50000)
    body = preview(client, alice, pickup_basket(shop, coupon_id=everything)).get_json()
    assert coupon_discount(body) == [("coupons", 7200)] and body["amount_payable"] == 0


def test_the_store_scope_binds_pickup_orders_but_not_delivery(app, client, shop, alice, alice_id):
    coupon_id = give_coupon(app, alice_id, scope_store_ids=[shop.other_store_id])
    here = preview(client, alice, pickup_basket(shop, coupon_id=coupon_id))
    assert here.status_code == 422 and here.get_json()["code"] == "coupon_store_not_in_scope"
    there = preview(client, alice, pickup_basket(shop, coupon_id=coupon_id, store_id=shop.other_store_id))
    assert coupon_discount(there.get_json()) == [("coupons", 1000)]
    delivered = preview(client, alice, {"items": [{"sku_id": shop.latte, "quantity": 1}], "fulfilment": "delivery",
                                        "address": ADDRESS, "coupon_id": coupon_id})
    assert delivered.status_code == 200 and coupon_discount(delivered.get_json()) == [("coupons", 1000)]


def test_another_members_coupon_an_unknown_id_or_a_string_is_refused_and_nothing_changes(app, client, shop, alice,
                                                                                         login):
    bob_id = login("bob:1")["member"]["id"]
    bobs = give_coupon(app, bob_id)
    for coupon_id, status, code in ((bobs, 404, "coupon_not_found"), (10**12, 404, "coupon_not_found"),
                                    ("abc", 422, "validation_error"), (0, 422, "validation_error"),
                                    (-5, 422, "validation_error"), (2**63, 422, "validation_error"),
                                    ([bobs], 422, "validation_error")):
        for response in (preview(client, alice, pickup_basket(shop, coupon_id=coupon_id)),
                         place(client, alice, pickup_basket(shop, coupon_id=coupon_id))):
            assert response.status_code == status, (coupon_id, response.get_json())
            assert response.get_json()["code"] == code
            assert "coupon_id" in response.get_json()["errors"]
    assert coupon_state(app, bobs)["status"] == "available"
    assert orders_and_stock(app, shop) == (0, 5, 50)


def test_the_wallet_filters_by_state_and_shows_a_coupons_detail(app, client, shop, alice, alice_id, login):
    held = give_coupon(app, alice_id, name="held")
    spare = give_coupon(app, alice_id, name="spare")
    used = give_coupon(app, alice_id, name="spent", status="used")
    old = give_coupon(app, alice_id, name="old", expires_in=-timedelta(days=1))
    order = place(client, alice, pickup_basket(shop, coupon_id=held)).get_json()["order"]

    def ids(status: str) -> list[int]:
        response = client.get(f"/api/v1/me/coupons?status={status}", headers=alice)
        assert response.status_code == 200, response.get_json()
        return [coupon["id"] for coupon in response.get_json()["items"]]

    assert ids("available") == [spare] and ids("locked") == [held]
    assert ids("used") == [used] and ids("expired") == [old]
    detail = client.get(f"/api/v1/me/coupons/{held}", headers=alice)
    assert detail.status_code == 200
    body = detail.get_json()
    assert (body["status"], body["order_id"], body["discount_amount"]) == ("locked", order["id"], 1000)
    assert body["batch"]["name"] == "held"
    bob = bearer(login("bob:1")["token"])
    for url in (f"/api/v1/me/coupons/{held}", "/api/v1/me/coupons/999999999"):
        response = client.get(url, headers=bob)
        assert response.status_code == 404 and response.get_json()["code"] == "coupon_not_found"
    assert client.get("/api/v1/me/coupons?status=lost", headers=alice).status_code == 422


def test_points_take_off_what_the_coupon_leaves(app, client, shop, alice, alice_id):
    coupon_id = give_coupon(app, alice_id)
    with app.app_context():
        adjust_points(member_id=alice_id, delta=100_000, reason="welcome", actor_staff_id=None)
        db.session.commit()
    body = preview(client, alice, pickup_basket(shop, coupon_id=coupon_id, points=100_000)).get_json()
    # The coupon first (1000 off 7200), then points on the 6200 left, at most half of it (the default rule).
    assert coupon_discount(body) == [("coupons", 1000), ("points", 3100)]
    assert body["amount_payable"] == 3100


def test_a_scoped_coupon_comes_off_the_lines_it_covers_only(app, client, shop, alice, alice_id):
    # so that refunding the uncovered latte gives back none of the croissant's discount
    _, croissant_category = product_and_category(app, shop.croissant)
    coupon_id = give_coupon(app, alice_id, kind="percent_off", amount_off=None, percent=15, max_off=None,
                            scope_category_ids=[croissant_category])
    placed = place(client, alice, pickup_basket(shop, coupon_id=coupon_id)).get_json()
    order = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()
    discounts = {line["sku_id"]: line["discount"] for line in order["lines"]}
    assert discounts == {shop.latte: 0, shop.croissant: 240}
    assert sum(line["amount_payable"] for line in order["lines"]) == order["amount_payable"] == 7200 - 240
