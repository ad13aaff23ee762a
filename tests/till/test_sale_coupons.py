"""A coupon shown with a till sale: priced by its kind (item kinds need the sale's items), used by the sale
in its transaction, given back by a void."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from coupons.models import Coupon
from coupons.redemption import code
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.till.models import TillSale
from tests.coupons.checkout_fixtures import coupon_state, give_coupon
from tests.till.conftest import code_of, points_of, sell

HALF_PRICE = {"kind": "nth_item_percent", "amount_off": None, "nth": 2, "percent": 50}


def coupon_code(app, coupon_id: int, at: datetime | None = None) -> str:
    with app.app_context():
        return code.shown_code(coupon_id, db.session.get(Coupon, coupon_id).secret, at or utcnow()).code


def receipt(shop) -> tuple[int, list[dict]]:
    """Two lattes at 28 and a croissant at 16, as the till rang them up: (amount, items)."""
    return 7200, [{"sku_id": shop.latte, "quantity": 2, "unit_price": 2800},
                  {"sku_id": shop.croissant, "quantity": 1, "unit_price": 1600}]


def test_an_amount_coupon_comes_off_the_sales_amount_and_is_used_by_the_sale(app, client, clerk, alice, alice_id):
    coupon_id = give_coupon(app, alice_id, amount_off=1000)
    recorded = sell(client, clerk, code_of(app, alice_id), amount=5000, coupon_code=coupon_code(app, coupon_id))
    assert recorded.status_code == 201, recorded.get_json()
    sale, order = recorded.get_json(), recorded.get_json()["order"]
    assert (order["discount_total"], order["amount_paid"], sale["coupon_id"]) == (1000, 4000, coupon_id)
    assert [d["source"] for d in order["discounts"]] == ["till_coupon"]
    state = coupon_state(app, coupon_id)
    assert (state["status"], state["used_in"], state["order_id"], state["discount_amount"]) == (
        "used", "in_store", order["id"], 1000)
    assert points_of(client, alice) == 40  # on what was paid
    again = sell(client, clerk, code_of(app, alice_id), amount=5000, coupon_code=coupon_code(app, coupon_id))
    assert again.status_code == 409 and again.get_json()["code"] == "coupon_used"


@pytest.mark.parametrize(("terms", "off"), [
    (HALF_PRICE, 800),  # of three units, the cheapest at half price
    ({"kind": "buy_n_get_m", "amount_off": None, "buy": 2, "get": 1}, 1600),  # the croissant free
    ({"kind": "free_item", "amount_off": None, "max_off": 2500}, 2500),  # the dearest unit, up to 25 yuan
    ({"kind": "unit_price", "amount_off": None, "unit_price": 990}, 2 * (2800 - 990) + (1600 - 990)),
])
def test_a_coupon_priced_on_the_items_needs_the_sales_items(app, client, clerk, alice_id, shop, terms, off):
    coupon_id = give_coupon(app, alice_id, **terms)
    amount, items = receipt(shop)
    without = sell(client, clerk, code_of(app, alice_id), amount=amount, coupon_code=coupon_code(app, coupon_id))
    assert without.status_code == 422 and without.get_json()["code"] == "coupon_needs_items"
    assert coupon_state(app, coupon_id)["status"] == "available"
    recorded = sell(client, clerk, code_of(app, alice_id), amount=amount, items=items,
                    coupon_code=coupon_code(app, coupon_id))
    assert recorded.status_code == 201, recorded.get_json()
    order = recorded.get_json()["order"]
    assert (order["discount_total"], order["amount_paid"]) == (off, amount - off)
    assert sum(line["discount"] for line in order["lines"]) == off
    assert coupon_state(app, coupon_id)["status"] == "used"


@pytest.mark.parametrize(("terms", "off"), [
    ({"kind": "percent_off", "amount_off": None, "percent": 20, "max_off": 800}, 800),
    ({"kind": "threshold", "amount_off": 1000, "min_spend": 5000}, 1000),
])
def test_kinds_priced_on_the_total_work_on_the_amount_alone(app, client, clerk, alice_id, terms, off):
    coupon_id = give_coupon(app, alice_id, **terms)
    recorded = sell(client, clerk, code_of(app, alice_id), amount=6000, coupon_code=coupon_code(app, coupon_id))
    assert recorded.status_code == 201, recorded.get_json()
    assert recorded.get_json()["order"]["amount_paid"] == 6000 - off


def test_coupons_that_cannot_be_used_at_this_till_are_refused_and_nothing_is_recorded(
        app, client, clerk, alice_id, login, shop):
    bob_id = login("bob:1")["member"]["id"]
    cases = {
        "coupon_online_only": give_coupon(app, alice_id, usage="online"),
        "coupon_store_not_in_scope": give_coupon(app, alice_id, scope_store_ids=[shop.other_store_id]),
        "coupon_not_found": give_coupon(app, bob_id),  # Bob's coupon with Alice's member code
        "coupon_expired": give_coupon(app, alice_id, expires_in=-timedelta(minutes=1)),
        "coupon_min_spend_not_met": give_coupon(app, alice_id, kind="threshold", min_spend=9000),
    }
    for expected, coupon_id in cases.items():
        refused = sell(client, clerk, code_of(app, alice_id), amount=5000, coupon_code=coupon_code(app, coupon_id))
        assert refused.get_json()["code"] == expected, (expected, refused.get_json())
        assert coupon_state(app, coupon_id)["status"] == "available"
    coupon_id = give_coupon(app, alice_id)
    stale = sell(client, clerk, code_of(app, alice_id), amount=5000,
                 coupon_code=coupon_code(app, coupon_id, at=utcnow() - timedelta(minutes=3)))
    assert stale.status_code == 409 and stale.get_json()["code"] == "coupon_code_stale"
    forged = sell(client, clerk, code_of(app, alice_id), amount=5000, coupon_code=f"{coupon_id}00000000")
    assert forged.status_code == 404 and forged.get_json()["code"] == "coupon_code_invalid"


def test_a_void_gives_the_coupon_back_an_admin_refund_after_the_window_keeps_it_used(
        app, client, clerk, alice_id, staff_token):
    first, second = give_coupon(app, alice_id), give_coupon(app, alice_id)
    voided = sell(client, clerk, code_of(app, alice_id), amount=5000, coupon_code=coupon_code(app, first)).get_json()
    assert client.post(f"/api/v1/staff/sales/{voided['id']}/void", headers=clerk).status_code == 200
    state = coupon_state(app, first)
    assert (state["status"], state["order_id"], state["used_in"]) == ("available", None, None)
    kept = sell(client, clerk, code_of(app, alice_id), amount=5000, coupon_code=coupon_code(app, second)).get_json()
    with app.app_context():
        db.session.execute(update(TillSale).where(TillSale.id == kept["id"])
                           .values(created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    refunded = client.post(f"/api/v1/admin/orders/{kept['order']['id']}/refund", headers=staff_token(Role.ADMIN),
                           json={"reason": "returned"})
    assert refunded.status_code == 202 and refunded.get_json()["status"] == "refunded"
    assert coupon_state(app, second)["status"] == "used"  # the goods were kept a while: as after a pickup
