"""An admin reads the day's WeChat Pay reconciliation at /console/reconciliation: the run and its differences."""

from __future__ import annotations

import pytest

from shop.auth import Role
from tests.console.conftest import text_of
from tests.orders.test_bill_reconciliation import (  # noqa: F401
    bills_of,
    buying,
    paid_order,
    reconciled,
    shopper,
    today,
)


def test_a_day_with_a_payment_missing_from_the_bill_shows_it_to_look_at_with_its_amount(
        app, client, stub, login, buying, admin):  # noqa: F811
    order = paid_order(client, stub, buying, shopper(login, "alice"))
    bills_of(stub, today(), ready=True, drop=[order["number"]])
    reconciled(app, today())
    page = admin.get(f"/console/reconciliation?date={today().isoformat()}&lang=en")
    shown = text_of(page)
    assert page.status_code == 200 and "Differences to look at: 1." in shown
    assert f"trade:{order['number']}" in shown and "Here, not in WeChat Pay's bill" in shown
    assert f"Order #{order['id']}" in shown
    yuan = f"¥{order['amount_payable'] // 100}.{order['amount_payable'] % 100:02d}"
    assert yuan in shown
    assert "对账" in text_of(admin.get(f"/console/reconciliation?date={today().isoformat()}&lang=zh_CN"))


def test_a_day_that_matches_says_so(app, client, stub, login, buying, admin):  # noqa: F811
    paid_order(client, stub, buying, shopper(login, "bob"))
    bills_of(stub, today(), ready=True)
    reconciled(app, today())
    shown = text_of(admin.get(f"/console/reconciliation?date={today().isoformat()}&lang=en"))
    assert "nothing for a person to look at" in shown and "To look at" not in shown


def test_a_day_not_reconciled_yet_or_a_bad_day_is_said_plainly(admin):
    shown = text_of(admin.get("/console/reconciliation?date=2020-01-01&lang=en"))
    assert "has not been reconciled yet" in shown
    bad = admin.get("/console/reconciliation?date=2026-13-01&lang=en")
    assert bad.status_code == 400 and "Choose a day" in text_of(bad)
    assert admin.get("/console/reconciliation?lang=en").status_code == 200  # the latest day by default


@pytest.mark.parametrize("role", [Role.STAFF, Role.MARKETING])
def test_clerks_and_marketing_may_not_read_the_reconciliation(browser, account, shop, role):
    user = browser()
    user.login(account(role, [shop.store_id] if role is Role.STAFF else None))
    assert user.get("/console/reconciliation").status_code == 403
