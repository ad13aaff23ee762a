"""The clerk's counter: one input takes any code, shows what it is, confirms once, and refuses in plain words."""

from __future__ import annotations

from sqlalchemy import select

from coupons.models import Coupon
from coupons.redemption import code as coupon_code
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order
from shop.till import member_code
from shop.till.models import TillSale
from tests.console.conftest import text_of
from tests.orders.test_pickup import paid_order


def coupon_shown(app, coupon_id: int) -> str:
    with app.app_context():
        coupon = db.session.get(Coupon, coupon_id)
        return coupon_code.shown_code(coupon.id, coupon.secret, utcnow()).code


def scan(user, code: str, **extra):
    return user.post("/console/counter/scan?lang=en", {"code": code, **extra}, htmx=True)


def confirm(user, **fields):
    return user.post("/console/counter/confirm?lang=en", fields, htmx=True)


def test_a_clerk_scans_a_pickup_code_sees_the_lines_and_hands_the_order_over_once(
        app, client, stub, shop, alice, clerk_at_counter, live_server):
    order = paid_order(client, stub, shop, alice)
    found = scan(clerk_at_counter, order["pickup_code"] + "\n")
    page = text_of(found)
    assert found.status_code == 200 and "Latte" in page and "Croissant" in page and "¥" in page
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()["status"] == "ready_for_pickup"
    handed = confirm(clerk_at_counter, kind="pickup", code=order["pickup_code"])
    assert handed.status_code == 201 and "Handed over" in text_of(handed)
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()["status"] == "completed"
    again = scan(clerk_at_counter, order["pickup_code"])
    assert again.status_code == 409 and "Already used on" in text_of(again) and "People's Square" in text_of(again)


def test_a_pickup_qr_payload_is_read_as_its_code(client, stub, shop, alice, clerk_at_counter, live_server):
    order = paid_order(client, stub, shop, alice)
    found = scan(clerk_at_counter, order["pickup_qr"])
    assert found.status_code == 200 and "Latte" in text_of(found)


def test_another_stores_pickup_code_is_refused_in_words(client, stub, shop, alice, browser, account, live_server):
    order = paid_order(client, stub, shop, alice)
    elsewhere = browser()
    elsewhere.login(account(Role.STAFF, [shop.other_store_id]))
    elsewhere.get("/console/counter")
    refused = scan(elsewhere, order["pickup_code"])
    assert refused.status_code == 403 and "another store" in text_of(refused)
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()["status"] == "ready_for_pickup"


def test_a_wrong_code_says_so_and_guessing_is_stopped(clerk_at_counter):
    statuses = [scan(clerk_at_counter, f"{n:08d}").status_code for n in range(11)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429
    assert "Too many" in text_of(scan(clerk_at_counter, "00000000")) and "Retry-After" in scan(
        clerk_at_counter, "00000000").headers


def test_a_long_code_that_is_neither_a_coupons_nor_a_members_is_a_wrong_code(clerk_at_counter):
    refused = scan(clerk_at_counter, "1234 5678 9012")
    assert refused.status_code == 404 and "Wrong code" in text_of(refused)


def test_a_coupon_code_shows_its_value_and_is_redeemed_once(app, shop, in_store_coupon, clerk_at_counter):
    held = in_store_coupon(scope_store_ids=[shop.store_id])
    shown = coupon_shown(app, held.id)
    found = scan(clerk_at_counter, shown)
    assert found.status_code == 200 and "¥10.00" in text_of(found) and "Redeem" in text_of(found)
    with app.app_context():
        assert db.session.get(Coupon, held.id).status == "available"  # looking changes nothing
    redeemed = confirm(clerk_at_counter, kind="coupon", code=shown, store_id=shop.store_id)
    assert redeemed.status_code == 201 and "Coupon redeemed" in text_of(redeemed)
    with app.app_context():
        assert db.session.get(Coupon, held.id).status == "used"
    again = scan(clerk_at_counter, coupon_code.QR_PREFIX + shown)
    assert again.status_code == 409 and "Already used on" in text_of(again)


def test_a_coupon_not_valid_at_the_clerks_store_is_refused(app, shop, in_store_coupon, clerk_at_counter):
    held = in_store_coupon(scope_store_ids=[shop.other_store_id])
    refused = scan(clerk_at_counter, coupon_shown(app, held.id))
    assert refused.status_code == 422 and "not valid at this store" in text_of(refused)


def test_a_clerk_cannot_act_for_a_store_not_theirs(app, shop, in_store_coupon, clerk_at_counter):
    held = in_store_coupon()
    shown = coupon_shown(app, held.id)
    refused = scan(clerk_at_counter, shown, store_id=shop.other_store_id)
    assert refused.status_code == 403 and "not a clerk of this store" in text_of(refused)
    refused = confirm(clerk_at_counter, kind="coupon", code=shown, store_id=shop.other_store_id)
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(Coupon, held.id).status == "available"


def test_a_member_code_records_a_till_sale_with_an_amount_in_yuan(app, shop, alice_id, clerk_at_counter):
    with app.app_context():
        shown = member_code.shown_code(alice_id, utcnow()).code
    found = scan(clerk_at_counter, shown)
    assert found.status_code == 200 and "Record the sale" in text_of(found)
    recorded = confirm(clerk_at_counter, kind="member", code=shown, receipt_no="R-1001", amount="12.50")
    assert recorded.status_code == 201 and "R-1001" in text_of(recorded)
    with app.app_context():
        sale = db.session.scalar(select(TillSale))
        assert sale.member_id == alice_id and sale.store_id == shop.store_id
        assert db.session.get(Order, sale.order_id).amount_payable == 1250


def test_a_sale_with_a_bad_amount_is_refused_and_records_nothing(app, alice_id, clerk_at_counter):
    with app.app_context():
        shown = member_code.shown_code(alice_id, utcnow()).code
    for amount in ("0", "abc", "1.234"):
        refused = confirm(clerk_at_counter, kind="member", code=shown, receipt_no="R-1", amount=amount)
        assert refused.status_code in (400, 422), amount
    with app.app_context():
        assert db.session.scalar(select(TillSale)) is None


def test_only_clerks_open_the_counter(browser, account, shop):
    anonymous = browser()
    assert anonymous.get("/console/counter").status_code == 302
    for role in (Role.MARKETING, Role.ADMIN):
        user = browser()
        user.login(account(role))
        assert user.get("/console/counter").status_code == 403
        user.get("/console/")
        assert user.post("/console/counter/scan", {"code": "12345678"}).status_code == 403


def test_a_counter_form_without_its_csrf_token_is_refused(clerk_at_counter):
    refused = clerk_at_counter.post("/console/counter/scan", {"code": "12345678"}, csrf=False)
    assert refused.status_code == 400


def test_the_counter_works_without_javascript(client, stub, shop, alice, clerk_at_counter, live_server):
    order = paid_order(client, stub, shop, alice)
    page = clerk_at_counter.post("/console/counter/scan?lang=en", {"code": order["pickup_code"]})
    assert page.status_code == 200 and "<html" in text_of(page) and "Hand over" in text_of(page)
    handed = clerk_at_counter.post("/console/counter/confirm?lang=en", {"kind": "pickup", "code": order["pickup_code"]})
    assert handed.status_code == 201 and "Handed over" in text_of(handed) and 'id="code"' in text_of(handed)


def test_a_clerk_of_several_stores_chooses_the_store_and_acts_for_it(app, shop, in_store_coupon, browser, account):
    held = in_store_coupon(scope_store_ids=[shop.other_store_id])
    user = browser()
    user.login(account(Role.STAFF, [shop.store_id, shop.other_store_id]))
    page = text_of(user.get("/console/counter?lang=en"))
    assert 'id="store_id"' in page and "Xintiandi" in page
    shown = coupon_shown(app, held.id)
    assert scan(user, shown, store_id=shop.store_id).status_code == 422  # not valid at the first store
    assert scan(user, shown, store_id=shop.other_store_id).status_code == 200
    redeemed = confirm(user, kind="coupon", code=shown, store_id=shop.other_store_id)
    assert redeemed.status_code == 201


def test_a_member_code_records_a_till_sale_with_its_items_at_our_price_or_the_tills(
        app, shop, alice_id, clerk_at_counter):
    with app.app_context():
        shown = member_code.shown_code(alice_id, utcnow()).code
    found = text_of(scan(clerk_at_counter, shown))
    assert f'<option value="{shop.latte}">Latte M</option>' in found and 'for="line-0-sku"' in found
    recorded = confirm(clerk_at_counter, kind="member", code=shown, receipt_no="R-2001", amount="71.00",
                       **{"lines-0-sku_id": str(shop.latte), "lines-0-quantity": "2", "lines-0-unit_price": "",
                          "lines-1-sku_id": str(shop.croissant), "lines-1-quantity": "1",
                          "lines-1-unit_price": "15.00", "lines-2-sku_id": "0"})
    assert recorded.status_code == 201 and "R-2001" in text_of(recorded) and "¥71.00" in text_of(recorded)
    with app.app_context():
        order = db.session.get(Order, db.session.scalar(select(TillSale.order_id)))
        assert sorted((line.sku_id, line.quantity, line.unit_price) for line in order.lines) == sorted(
            [(shop.latte, 2, 2800), (shop.croissant, 1, 1500)])


def test_items_that_do_not_add_up_to_the_amount_are_refused_in_words_and_record_nothing(
        app, shop, alice_id, clerk_at_counter):
    with app.app_context():
        shown = member_code.shown_code(alice_id, utcnow()).code
    scan(clerk_at_counter, shown)
    refused = confirm(clerk_at_counter, kind="member", code=shown, receipt_no="R-2002", amount="10.00",
                      **{"lines-0-sku_id": str(shop.latte), "lines-0-quantity": "1"})
    assert refused.status_code == 422 and "do not add up to the amount" in text_of(refused)
    bad = confirm(clerk_at_counter, kind="member", code=shown, receipt_no="R-2002", amount="28.00",
                  **{"lines-0-sku_id": str(shop.latte), "lines-0-quantity": "many"})
    assert bad.status_code == 422 and "Check the amount" in text_of(bad)
    with app.app_context():
        assert db.session.scalar(select(TillSale)) is None


def test_the_camera_button_waits_hidden_for_a_browser_with_a_camera(clerk_at_counter):
    page = text_of(clerk_at_counter.get("/console/counter?lang=en"))
    assert 'id="camera-button"' in page and 'aria-expanded="false" hidden>' in page  # camera.js shows it
    assert "/console/static/jsqr-1.4.0/jsQR.js" in page and "/console/static/counter/camera.js" in page
    assert clerk_at_counter.get("/console/static/jsqr-1.4.0/jsQR.js").status_code == 200
