"""An admin sees work that gave up, with its last error, and sends it again: over the API and the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.jobs import job_kind
from shop.orders.refunds import send_refund
from shop.outbox import service as outbox
from shop.outbox.service import backlog
from tests.orders.conftest import eventually
from tests.outbox.conftest import (
    at_wechat_pay,
    entry_for,
    refund_calls,
    refund_status,
    wechat_pay_fails,
    wechat_pay_recovers,
)

LIST = "/api/v1/admin/outbox"


@pytest.fixture
def failed_refund(app, stub, paid_order, ask_refund):
    """An order whose refund WeChat Pay refused: (order, refund number, outbox entry id)."""
    order = paid_order()
    wechat_pay_fails(stub, times=1, status=400, code="INVALID_REQUEST")
    number = ask_refund(order)
    return order, number, entry_for(app, number)["id"]


def test_an_admin_sees_failed_work_of_every_kind_with_its_last_error_and_sends_it_again(
        app, client, stub, admin, failed_refund, paid_order, ask_refund):
    order, number, entry_id = failed_refund
    ask_refund(paid_order())  # another refund, sent fine: not listed as failed
    listed = client.get(f"{LIST}?status=failed", headers=admin)
    assert listed.status_code == 200, listed.get_json()
    page = listed.get_json()
    assert (page["total"], page["page"], page["page_size"]) == (1, 1, 20)
    (item,) = page["items"]
    assert (item["id"], item["kind"], item["args"], item["status"], item["attempts"]) == (
        entry_id, job_kind(send_refund), [number], "failed", 1)
    assert "INVALID_REQUEST" in item["last_error"] and item["created_at"] and item["updated_at"]
    assert client.get(f"{LIST}?page_size=1", headers=admin).get_json()["total"] == 2
    assert client.get(f"{LIST}?kind=shop.orders.lifecycle:close_wechat_transaction", headers=admin
                      ).get_json()["total"] == 0

    retried = client.post(f"{LIST}/{entry_id}/retry", headers=admin)
    assert retried.status_code == 200, retried.get_json()
    assert (retried.get_json()["status"], retried.get_json()["attempts"]) == ("done", 1)  # run at once, embedded
    assert at_wechat_pay(stub, number)["out_refund_no"] == number
    assert eventually(lambda: refund_status(app, order["id"]) == ["succeeded"])
    again = client.post(f"{LIST}/{entry_id}/retry", headers=admin)
    assert again.status_code == 409 and again.get_json()["code"] == "outbox_entry_not_failed"


def test_retrying_unknown_work_is_404_and_only_an_admin_may_look(client, admin, staff_token, login, failed_refund):
    _, _, entry_id = failed_refund
    response = client.post(f"{LIST}/999999/retry", headers=admin)
    assert response.status_code == 404 and response.get_json()["code"] == "outbox_entry_not_found"
    response = client.post(f"{LIST}/{2**63}/retry", headers=admin)  # beyond any row: no route takes it
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    shopper = {"Authorization": f"Bearer {login('mallory:1')['token']}"}
    for headers in (shopper, staff_token(Role.MARKETING), staff_token(Role.STAFF)):
        assert client.get(LIST, headers=headers).status_code == 403
        assert client.post(f"{LIST}/{entry_id}/retry", headers=headers).status_code == 403
    assert client.get(LIST).status_code == 401


@pytest.mark.parametrize("query", ["status=lost", "page_size=101", "page=0", "kind="])
def test_a_bad_filter_is_422(client, admin, query):
    response = client.get(f"{LIST}?{query}", headers=admin)
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"


def test_the_shell_lists_failed_work_and_sends_it_again(app, stub, failed_refund):
    order, number, entry_id = failed_refund
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["outbox", "list", "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    assert f"{entry_id}\tfailed\t1\t{job_kind(send_refund)}('{number}',)" in listed.output
    assert "INVALID_REQUEST" in listed.output and "1 entry" in listed.output

    retried = runner.invoke(args=["outbox", "retry", str(entry_id)])
    assert retried.exit_code == 0, retried.output
    assert f"outbox entry {entry_id} ({job_kind(send_refund)}) is done" in retried.output
    assert refund_calls(stub, number) == 2 and at_wechat_pay(stub, number)
    assert eventually(lambda: refund_status(app, order["id"]) == ["succeeded"])
    refused = runner.invoke(args=["outbox", "retry", str(entry_id)])
    assert refused.exit_code == 1 and "only failed work is sent again" in refused.output
    assert runner.invoke(args=["outbox", "retry", "424242"]).exit_code == 1


def test_the_backlog_counts_work_overdue_and_work_that_gave_up(app, stub, paid_order, ask_refund, failed_refund):
    wechat_pay_fails(stub)
    ask_refund(paid_order())  # failed once, due again in seconds
    now = utcnow()
    with app.app_context():
        assert backlog(now) == {"overdue": 0, "oldest_overdue_at": None, "failed": 1}
        later = backlog(now + timedelta(minutes=3))
        db.session.rollback()
    assert later["overdue"] == 1 and later["oldest_overdue_at"] < now + timedelta(seconds=10)
    wechat_pay_recovers(stub)


def test_readiness_fails_when_work_is_overdue_beyond_the_tolerated_backlog(app, make_app):
    with app.app_context():
        for number in range(3):  # written long ago and never handed on: no runner, no sweep
            outbox.write("shop.orders.refunds:send_refund", [f"R-{number}"], key=f"R-{number}",
                         now=utcnow() - timedelta(minutes=10))
        db.session.commit()
    tolerant = make_app(OUTBOX_READY_MAX_OVERDUE=3).test_client().get("/readyz")
    assert tolerant.status_code == 200 and tolerant.get_json()["checks"]["outbox"] == "ok"
    strict = make_app(OUTBOX_READY_MAX_OVERDUE=2).test_client().get("/readyz")
    assert strict.status_code == 503 and strict.get_json()["checks"]["outbox"] == "backing_up"
