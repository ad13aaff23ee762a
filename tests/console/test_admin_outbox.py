"""An admin sees the outbox's failed work at /console/outbox with its last error and sends it again."""

from __future__ import annotations

import pytest

from shop.auth import Role
from tests.console.conftest import text_of
from tests.orders.conftest import eventually
from tests.outbox.conftest import (  # noqa: F401 (fixtures)
    ask_refund,
    croissant,
    entry_for,
    paid_order,
    refund_status,
    wechat_pay_fails,
)


@pytest.fixture
def failed_refund(app, stub, paid_order, ask_refund):  # noqa: F811
    """An order whose refund WeChat Pay refused for good: (order, refund number, outbox entry id)."""
    order = paid_order()
    wechat_pay_fails(stub, times=1, status=400, code="INVALID_REQUEST")
    number = ask_refund(order)
    return order, number, entry_for(app, number)["id"]


def test_an_admin_sees_failed_work_with_its_last_error_and_sends_it_again(app, admin, failed_refund):
    order, number, entry_id = failed_refund
    page = admin.get("/console/outbox?lang=en")
    assert page.status_code == 200
    assert f"#{entry_id}" in text_of(page) and "INVALID_REQUEST" in text_of(page) and number in text_of(page)
    sent = admin.post(f"/console/outbox/{entry_id}/retry?lang=en")
    assert sent.status_code == 200 and f"Entry {entry_id} sent again: now done" in text_of(sent)
    assert eventually(lambda: refund_status(app, order["id"]) == ["succeeded"])
    assert f"#{entry_id}" not in text_of(admin.get("/console/outbox?lang=en"))  # no longer failed
    assert f"#{entry_id}" in text_of(admin.get("/console/outbox?status=done&lang=en"))
    again = admin.post(f"/console/outbox/{entry_id}/retry?lang=en")
    assert again.status_code == 409 and "not failed any more" in text_of(again)


def test_unknown_work_is_a_404(admin):
    admin.get("/console/outbox")
    refused = admin.post("/console/outbox/999999/retry?lang=en")
    assert refused.status_code == 404 and "No such outbox entry" in text_of(refused)


@pytest.mark.parametrize("role", [Role.STAFF, Role.MARKETING])
def test_clerks_and_marketing_may_neither_see_nor_retry_the_outbox(app, browser, account, shop, failed_refund, role):
    _, _, entry_id = failed_refund
    user = browser()
    user.login(account(role, [shop.store_id] if role is Role.STAFF else None))
    user.get("/console/", follow_redirects=True)
    assert user.get("/console/outbox").status_code == 403
    assert user.post(f"/console/outbox/{entry_id}/retry").status_code == 403
    assert entry_for(app, failed_refund[1])["status"] == "failed"


def test_a_retry_without_its_csrf_token_is_refused(app, admin, failed_refund):
    _, number, entry_id = failed_refund
    admin.get("/console/outbox")
    assert admin.post(f"/console/outbox/{entry_id}/retry", csrf=False).status_code == 400
    assert entry_for(app, number)["status"] == "failed"
