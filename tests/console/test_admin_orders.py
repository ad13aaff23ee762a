"""Orders at /console/orders: the list with its filters, an order's WeChat Pay and shipping-upload state, and an
admin's refund as the admin API allows it (marketing reads; clerks see nothing)."""

from __future__ import annotations

import pytest

from shop.auth import Role
from shop.extensions import db
from shop.orders.models import Order, Refund
from tests.console.conftest import text_of
from tests.orders.conftest import alice, eventually, manual_refunds, pickup_basket, shop  # noqa: F401
from tests.orders.test_refund_rules import paid_order
from tests.orders.test_shipping import paid_delivery, shipped_by_sf


@pytest.fixture
def paid(client, stub, shop, alice, live_server) -> dict:  # noqa: F811
    return paid_order(client, stub, alice, pickup_basket(shop))


def refunds_of(app, order_id: int) -> list[tuple[str, int]]:
    with app.app_context():
        return [(made.status, made.amount) for made in
                db.session.scalars(db.select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))]


def test_the_list_filters_by_state_store_and_number(client, stub, shop, alice, paid, admin):  # noqa: F811
    pending = client.post("/api/v1/orders", json=pickup_basket(shop), headers={**alice, "Idempotency-Key": "second-order"})
    assert pending.status_code == 201, pending.get_json()
    pending_number = pending.get_json()["order"]["number"]
    everything = text_of(admin.get("/console/orders?lang=en"))
    assert paid["number"] in everything and pending_number in everything and "¥72.00" in everything
    only_paid = text_of(admin.get("/console/orders?status=ready_for_pickup&lang=en"))
    assert paid["number"] in only_paid and pending_number not in only_paid
    by_number = text_of(admin.get(f"/console/orders?number={pending_number[:-1]}&lang=en"))
    assert pending_number in by_number and (paid["number"] not in by_number or paid["number"][:-1] == pending_number[:-1])
    other_store = text_of(admin.get(f"/console/orders?store_id={shop.other_store_id}&lang=en"))
    assert paid["number"] not in other_store and "No order here." in other_store
    assert admin.get("/console/orders?status=nonsense&page=-3&store_id=x").status_code == 200


def test_an_admin_refunds_one_line_then_the_rest_and_reads_wechat_pays_answers(app, client, stub, paid, admin):
    page = text_of(admin.get(f"/console/orders/{paid['id']}?lang=en"))
    assert "WeChat Pay" in page and "Latte" in page and paid["number"] in page
    latte = paid["lines"][0]
    part = admin.post(f"/console/orders/{paid['id']}/refund?lang=en", {"reason": "cold coffee", f"quantity-{latte['id']}": "1"})
    assert part.status_code == 200 and "of ¥28.00 asked: now" in text_of(part)
    # WeChat Pay accepts it, then notifies its success
    assert eventually(lambda: refunds_of(app, paid["id"]) == [("succeeded", latte["amount_payable"] // 2)])
    rest = admin.post(f"/console/orders/{paid['id']}/refund?lang=en", {"reason": "closing early"})
    assert rest.status_code == 200
    assert eventually(lambda: [status for status, _ in refunds_of(app, paid["id"])] == ["succeeded"] * 2)
    with app.app_context():
        assert db.session.get(Order, paid["id"]).status == "refunded"
    after = text_of(admin.get(f"/console/orders/{paid['id']}?lang=en"))
    assert "cold coffee" in after and "closing early" in after and 'id="refund"' not in after  # nothing left


def test_a_refund_still_with_wechat_pay_blocks_another_and_the_page_says_processing(app, client, stub, paid, admin):
    manual_refunds(stub)
    first = admin.post(f"/console/orders/{paid['id']}/refund?lang=en", {"reason": "wrong size"})
    assert first.status_code == 200 and "now processing" in text_of(first)
    second = admin.post(f"/console/orders/{paid['id']}/refund?lang=en", {"reason": "again"})
    assert second.status_code == 409 and "still with WeChat Pay" in text_of(second)
    assert [status for status, _ in refunds_of(app, paid["id"])] == ["processing"]


def test_a_refund_without_a_reason_or_with_a_wrong_quantity_is_refused_beside_the_field(app, paid, admin):
    latte = paid["lines"][0]
    no_reason = admin.post(f"/console/orders/{paid['id']}/refund?lang=en", {"reason": " "})
    assert no_reason.status_code == 422 and 'id="reason-error"' in text_of(no_reason)
    too_many = admin.post(f"/console/orders/{paid['id']}/refund?lang=en", {"reason": "x", f"quantity-{latte['id']}": "9"})
    assert too_many.status_code in (409, 422), text_of(too_many)
    letters = admin.post(f"/console/orders/{paid['id']}/refund?lang=en", {"reason": "x", f"quantity-{latte['id']}": "two"})
    assert letters.status_code == 422 and "Check the quantities" in text_of(letters)
    assert refunds_of(app, paid["id"]) == []
    assert admin.post("/console/orders/999999/refund?lang=en", {"reason": "x"}).status_code == 404


def test_a_shipped_orders_page_shows_its_shipping_upload(  # noqa: F811
        client, stub, shop, alice, admin, staff_token, live_server):  # noqa: F811
    order = paid_delivery(client, stub, shop, alice)
    shipped_by_sf(client, order["id"], staff_token(Role.ADMIN))
    page = text_of(admin.get(f"/console/orders/{order['id']}?lang=en"))
    assert "Shipping information upload" in page and "SF SF1234567890" in page and "uploaded" in page


def test_marketing_reads_orders_but_may_not_refund(app, browser, account, paid):
    user = browser()
    user.login(account(Role.MARKETING))
    assert user.get("/console/orders").status_code == 200
    page = user.get(f"/console/orders/{paid['id']}?lang=en")
    assert page.status_code == 200 and 'id="refund"' not in text_of(page)
    assert user.post(f"/console/orders/{paid['id']}/refund", {"reason": "x"}).status_code == 403
    assert refunds_of(app, paid["id"]) == []


def test_a_clerk_sees_no_orders_pages(app, browser, account, shop, paid):  # noqa: F811
    user = browser()
    user.login(account(Role.STAFF, [shop.store_id]))
    user.get("/console/counter")
    assert user.get("/console/orders").status_code == 403
    assert user.get(f"/console/orders/{paid['id']}").status_code == 403
    assert user.post(f"/console/orders/{paid['id']}/refund", {"reason": "x"}).status_code == 403
    assert refunds_of(app, paid["id"]) == []


def test_a_refund_without_its_csrf_token_is_refused(app, paid, admin):
    assert admin.post(f"/console/orders/{paid['id']}/refund", {"reason": "x"}, csrf=False).status_code == 400
    assert refunds_of(app, paid["id"]) == []


def status_of(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(Order, order_id).status


def test_an_admin_ships_a_delivery_order_by_express_sees_the_upload_then_marks_it_delivered(
        app, client, stub, shop, alice, admin, live_server):  # noqa: F811
    order = paid_delivery(client, stub, shop, alice)
    page = text_of(admin.get(f"/console/orders/{order['id']}?lang=en"))
    assert 'id="ship"' in page and 'id="complete"' not in page and '<option value="SF">' in page
    shipped = admin.post(f"/console/orders/{order['id']}/ship?lang=en",
                         {"logistics_type": "1", "carrier": "SF", "tracking_no": "SF1234567890"})
    assert shipped.status_code == 200 and "Shipped. Upload to WeChat:" in text_of(shipped)
    assert "SF SF1234567890" in text_of(shipped) and 'id="ship"' not in text_of(shipped)
    assert status_of(app, order["id"]) == "shipped"
    assert eventually(lambda: "uploaded" in text_of(admin.get(f"/console/orders/{order['id']}?lang=en")))
    delivered = admin.post(f"/console/orders/{order['id']}/complete?lang=en", {})
    assert delivered.status_code == 200 and "Delivered: the order is completed." in text_of(delivered)
    assert status_of(app, order["id"]) == "completed"
    again = admin.post(f"/console/orders/{order['id']}/complete?lang=en", {})
    assert again.status_code == 409 and "cannot take that step" in text_of(again)


def test_a_same_city_delivery_needs_no_carrier(app, client, stub, shop, alice, admin, live_server):  # noqa: F811
    order = paid_delivery(client, stub, shop, alice)
    shipped = admin.post(f"/console/orders/{order['id']}/ship?lang=en", {"logistics_type": "2"})
    assert shipped.status_code == 200 and status_of(app, order["id"]) == "shipped"


def test_a_shipment_without_its_details_is_refused_beside_the_fields_and_changes_nothing(
        app, client, stub, shop, alice, admin, live_server):  # noqa: F811
    order = paid_delivery(client, stub, shop, alice)
    missing = admin.post(f"/console/orders/{order['id']}/ship?lang=en", {"logistics_type": "1", "carrier": "SF"})
    assert missing.status_code == 422 and 'id="tracking_no-error"' in text_of(missing)
    assert "Required for express" in text_of(missing)
    unknown = admin.post(f"/console/orders/{order['id']}/ship?lang=en",
                         {"logistics_type": "1", "carrier": "NOPE", "tracking_no": "1"})
    assert unknown.status_code == 422 and 'id="carrier-error"' in text_of(unknown)
    wrong_kind = admin.post(f"/console/orders/{order['id']}/ship?lang=en", {"logistics_type": "9"})
    assert wrong_kind.status_code == 422 and "field-error" in text_of(wrong_kind)
    assert status_of(app, order["id"]) == "paid"


def test_a_pickup_order_is_not_shipped(app, paid, admin):
    assert 'id="ship"' not in text_of(admin.get(f"/console/orders/{paid['id']}?lang=en"))
    refused = admin.post(f"/console/orders/{paid['id']}/ship?lang=en", {"logistics_type": "2"})
    assert refused.status_code == 409 and status_of(app, paid["id"]) == "ready_for_pickup"


def test_only_an_admin_ships_and_completes_and_only_with_the_csrf_token(
        app, client, stub, shop, alice, admin, browser, account, live_server):  # noqa: F811
    order = paid_delivery(client, stub, shop, alice)
    body = {"logistics_type": "1", "carrier": "SF", "tracking_no": "SF1"}
    marketer = browser()
    marketer.login(account(Role.MARKETING))
    assert 'id="ship"' not in text_of(marketer.get(f"/console/orders/{order['id']}?lang=en"))
    assert marketer.post(f"/console/orders/{order['id']}/ship", body).status_code == 403
    clerk = browser()
    clerk.login(account(Role.STAFF, [shop.store_id]))
    clerk.get("/console/counter")
    assert clerk.post(f"/console/orders/{order['id']}/ship", body).status_code == 403
    assert admin.post(f"/console/orders/{order['id']}/ship", body, csrf=False).status_code == 400
    assert status_of(app, order["id"]) == "paid"
    assert admin.post(f"/console/orders/{order['id']}/ship", body).status_code == 200
    assert marketer.post(f"/console/orders/{order['id']}/complete", {}).status_code == 403
    assert admin.post(f"/console/orders/{order['id']}/complete", {}, csrf=False).status_code == 400
    assert status_of(app, order["id"]) == "shipped"
