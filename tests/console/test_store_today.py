"""The clerk's store today: redemptions with revert within its window, pickups handed over, till sales with
void within its window, and the store's hours; each for the clerk's own stores only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from coupons.models import Coupon, CouponRedemption
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order
from shop.stores.service import set_exception
from shop.till import member_code
from shop.till.models import TillSale
from tests.console.conftest import text_of
from tests.console.test_counter import confirm, coupon_shown
from tests.orders.test_pickup import paid_order


def redeemed(app, shop, in_store_coupon, clerk) -> tuple[int, int]:
    """(coupon id, redemption id): a coupon redeemed at the counter by this clerk."""
    held = in_store_coupon(shopper="bob:1", scope_store_ids=[shop.store_id])
    assert confirm(clerk, kind="coupon", code=coupon_shown(app, held.id), store_id=shop.store_id).status_code == 201
    with app.app_context():
        return held.id, db.session.scalar(select(CouponRedemption.id).where(CouponRedemption.coupon_id == held.id))


def sold(app, alice_id, clerk, receipt: str = "R-2001") -> int:
    with app.app_context():
        shown = member_code.shown_code(alice_id, utcnow()).code
    assert confirm(clerk, kind="member", code=shown, receipt_no=receipt, amount="12.50").status_code == 201
    with app.app_context():
        return db.session.scalar(select(TillSale.id).where(TillSale.receipt_no == receipt))


def backdate(app, model, row_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(**values))
        db.session.commit()


def test_todays_redemptions_are_listed_and_one_is_reverted_within_its_window(
        app, shop, in_store_coupon, clerk_at_counter):
    coupon_id, redemption_id = redeemed(app, shop, in_store_coupon, clerk_at_counter)
    page = text_of(clerk_at_counter.get("/console/store/today?lang=en"))
    assert "10 yuan off" in page and "Revert (until" in page
    reverted = clerk_at_counter.post(f"/console/store/redemptions/{redemption_id}/revert?lang=en")
    assert reverted.status_code == 200 and "Redemption reverted" in text_of(reverted)
    assert "Reverted" in text_of(reverted) and "Revert (until" not in text_of(reverted)
    with app.app_context():
        assert db.session.get(Coupon, coupon_id).status == "available"


def test_a_redemption_past_its_window_shows_no_revert_and_a_late_revert_is_refused(
        app, shop, in_store_coupon, clerk_at_counter):
    coupon_id, redemption_id = redeemed(app, shop, in_store_coupon, clerk_at_counter)
    backdate(app, CouponRedemption, redemption_id, redeemed_at=utcnow() - timedelta(minutes=11))
    assert "Revert (until" not in text_of(clerk_at_counter.get("/console/store/today?lang=en"))
    refused = clerk_at_counter.post(f"/console/store/redemptions/{redemption_id}/revert?lang=en")
    assert refused.status_code == 409 and "Too late to revert" in text_of(refused)
    with app.app_context():
        assert db.session.get(Coupon, coupon_id).status == "used"


def test_yesterdays_redemptions_and_sales_are_not_todays(app, shop, alice_id, in_store_coupon, clerk_at_counter):
    _coupon_id, redemption_id = redeemed(app, shop, in_store_coupon, clerk_at_counter)
    sale_id = sold(app, alice_id, clerk_at_counter)
    backdate(app, CouponRedemption, redemption_id, redeemed_at=utcnow() - timedelta(days=1))
    backdate(app, TillSale, sale_id, created_at=utcnow() - timedelta(days=1))
    assert "No coupon redeemed today" in text_of(clerk_at_counter.get("/console/store/today?lang=en"))
    assert "No till sale recorded today" in text_of(clerk_at_counter.get("/console/store/sales?lang=en"))


def test_pickups_handed_over_today_are_listed_with_their_lines(client, stub, shop, alice, clerk_at_counter,
                                                               live_server):
    order = paid_order(client, stub, shop, alice)
    assert "No pickup handed over today" in text_of(clerk_at_counter.get("/console/store/today?lang=en"))
    confirm(clerk_at_counter, kind="pickup", code=order["pickup_code"])
    page = text_of(clerk_at_counter.get("/console/store/today?lang=en"))
    assert order["number"] in page and "2 × Latte" in page and "Handed over" in page


def test_todays_till_sales_are_listed_and_one_is_voided_within_its_window(app, alice_id, clerk_at_counter):
    sale_id = sold(app, alice_id, clerk_at_counter)
    page = text_of(clerk_at_counter.get("/console/store/sales?lang=en"))
    assert "Receipt R-2001" in page and "¥12.50" in page and "Void (until" in page
    voided = clerk_at_counter.post(f"/console/store/sales/{sale_id}/void?lang=en")
    assert voided.status_code == 200 and "Sale voided" in text_of(voided) and "Void (until" not in text_of(voided)
    with app.app_context():
        sale = db.session.get(TillSale, sale_id)
        assert sale.voided_at is not None and db.session.get(Order, sale.order_id).refunded_total == 1250


def test_a_sale_past_its_void_window_shows_no_void_and_a_late_void_is_refused(app, alice_id, clerk_at_counter):
    sale_id = sold(app, alice_id, clerk_at_counter)
    backdate(app, TillSale, sale_id, created_at=utcnow() - timedelta(hours=3))
    with app.app_context():
        late = utcnow() - timedelta(hours=3) > utcnow() - timedelta(seconds=app.config["TILL_VOID_WINDOW_SECONDS"])
    assert not late, "the test needs a void window shorter than three hours"
    assert "Void (until" not in text_of(clerk_at_counter.get("/console/store/sales?lang=en"))
    refused = clerk_at_counter.post(f"/console/store/sales/{sale_id}/void?lang=en")
    assert refused.status_code == 409 and "Too late to void" in text_of(refused)
    with app.app_context():
        assert db.session.get(TillSale, sale_id).voided_at is None


def test_revert_and_void_need_the_forms_csrf_token(app, shop, alice_id, in_store_coupon, clerk_at_counter):
    _coupon_id, redemption_id = redeemed(app, shop, in_store_coupon, clerk_at_counter)
    sale_id = sold(app, alice_id, clerk_at_counter)
    assert clerk_at_counter.post(f"/console/store/redemptions/{redemption_id}/revert", csrf=False).status_code == 400
    assert clerk_at_counter.post(f"/console/store/sales/{sale_id}/void", csrf=False).status_code == 400
    with app.app_context():
        assert db.session.get(CouponRedemption, redemption_id).reverted_at is None
        assert db.session.get(TillSale, sale_id).voided_at is None


def test_a_clerk_of_another_store_neither_sees_nor_reverts_nor_voids(
        app, shop, alice_id, in_store_coupon, clerk_at_counter, browser, account):
    _coupon_id, redemption_id = redeemed(app, shop, in_store_coupon, clerk_at_counter)
    sale_id = sold(app, alice_id, clerk_at_counter)
    other = browser()
    other.login(account(Role.STAFF, [shop.other_store_id]))
    for page in ("today", "sales", "hours"):
        assert other.get(f"/console/store/{page}?store_id={shop.store_id}").status_code == 403
    assert "10 yuan off" not in text_of(other.get("/console/store/today?lang=en"))
    assert "R-2001" not in text_of(other.get("/console/store/sales?lang=en"))
    refused = other.post(f"/console/store/redemptions/{redemption_id}/revert?lang=en")
    assert refused.status_code == 404 and "No such redemption" in text_of(refused)
    refused = other.post(f"/console/store/sales/{sale_id}/void?lang=en")
    assert refused.status_code == 404 and "No such sale" in text_of(refused)
    with app.app_context():
        assert db.session.get(CouponRedemption, redemption_id).reverted_at is None
        assert db.session.get(TillSale, sale_id).voided_at is None


@pytest.mark.parametrize("role", [Role.MARKETING, Role.ADMIN])
def test_marketing_and_admins_do_not_open_the_stores_day(browser, account, role):
    user = browser()
    user.login(account(role))
    for page in ("today", "sales", "hours"):
        assert user.get(f"/console/store/{page}").status_code == 403
    user.get("/console/")  # a page of theirs, for a valid CSRF token
    assert user.post("/console/store/redemptions/1/revert").status_code == 403
    assert user.post("/console/store/sales/1/void").status_code == 403


def test_the_hours_page_shows_the_week_and_the_dated_exceptions(app, shop, clerk_at_counter):
    with app.app_context():
        tomorrow = (utcnow() + timedelta(days=1)).date()
        set_exception(shop.store_id, tomorrow, [], "Staff training")
        db.session.commit()
    page = text_of(clerk_at_counter.get("/console/store/hours?lang=en"))
    assert "Opening hours" in page and "Monday" in page and "Staff training" in page
    assert tomorrow.isoformat() in page and "Closed all day" in page


def test_the_counter_links_to_the_stores_day(clerk_at_counter):
    page = text_of(clerk_at_counter.get("/console/counter?lang=en"))
    for path in ("/console/store/pickups", "/console/store/today", "/console/store/sales", "/console/store/hours"):
        assert f'href="{path}"' in page
