"""A refund is work handed on after a commit: written to the outbox with the refund, sent after the
commit, sent again with a capped backoff while WeChat Pay fails, and shown to an admin when it gives up."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shop.database import utcnow
from shop.jobs import job_kind
from shop.orders.refunds import send_refund
from tests.orders.conftest import eventually
from tests.outbox.conftest import (
    at_wechat_pay,
    entry_for,
    refund_calls,
    refund_status,
    sweep,
    wechat_pay_fails,
    wechat_pay_recovers,
)

pytestmark = pytest.mark.pgbouncer  # CI runs it through PgBouncer too (tests/test_transaction_pooling.py)


def test_a_refund_is_written_with_its_request_and_sent_once_after_the_commit(app, stub, paid_order, ask_refund):
    order = paid_order()
    number = ask_refund(order)
    entry = entry_for(app, number)
    assert (entry["kind"], entry["status"], entry["attempts"]) == (job_kind(send_refund), "done", 1)
    assert refund_calls(stub, number) == 1
    assert eventually(lambda: refund_status(app, order["id"]) == ["succeeded"])
    assert sweep(app, utcnow() + timedelta(hours=1)) == {"done": 0, "retrying": 0, "failed": 0}
    assert refund_calls(stub, number) == 1


def test_a_refund_that_failed_at_first_reaches_the_shopper_when_wechat_pay_accepts_again(
        app, stub, paid_order, ask_refund):
    order = paid_order()
    wechat_pay_fails(stub)
    number = ask_refund(order)
    entry = entry_for(app, number)
    assert (entry["status"], entry["attempts"]) == ("pending", 1)
    assert "wechatpay_unavailable" in entry["last_error"]

    # WeChat Pay stays down for a while: every sweep sends it again once it is due, never waiting
    # more than a minute between two sends however long the outage lasts.
    now = utcnow()
    for attempt in range(2, 10):
        waited = entry["next_attempt_at"] - entry["updated_at"]
        assert timedelta(0) < waited <= timedelta(seconds=60)
        assert sweep(app, now) == {"done": 0, "retrying": 0, "failed": 0}  # not due yet: not sent
        now = entry["next_attempt_at"]
        assert sweep(app, now) == {"done": 0, "retrying": 1, "failed": 0}
        entry = entry_for(app, number)
        assert (entry["status"], entry["attempts"]) == ("pending", attempt)
    assert refund_calls(stub, number) == 9 and at_wechat_pay(stub, number) is None
    assert refund_status(app, order["id"]) == ["processing"]

    wechat_pay_recovers(stub)
    assert sweep(app, now + timedelta(seconds=60)) == {"done": 1, "retrying": 0, "failed": 0}
    assert at_wechat_pay(stub, number)["out_refund_no"] == number  # the same out_refund_no every time
    assert eventually(lambda: refund_status(app, order["id"]) == ["succeeded"])
    assert entry_for(app, number)["status"] == "done"


def test_a_refund_that_keeps_failing_ends_failed_after_the_set_number_of_attempts(
        app, stub, paid_order, ask_refund, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    order = paid_order()
    wechat_pay_fails(stub)
    number = ask_refund(order)
    now = utcnow()
    for expected in ("pending", "failed"):
        now += timedelta(minutes=2)
        sweep(app, now)
        assert entry_for(app, number)["status"] == expected
    assert sweep(app, now + timedelta(hours=1))["failed"] == 0  # given up: no more sends
    assert refund_calls(stub, number) == 3
    assert refund_status(app, order["id"]) == ["processing"]  # still owed, and the admin sees why


def test_a_refund_wechat_pay_refuses_fails_at_once_and_is_not_sent_again(app, stub, paid_order, ask_refund):
    order = paid_order()
    wechat_pay_fails(stub, times=1, status=403, code="NOT_ENOUGH")
    number = ask_refund(order)
    entry = entry_for(app, number)
    assert (entry["status"], entry["attempts"]) == ("failed", 1)
    assert "NOT_ENOUGH" in entry["last_error"]
    sweep(app, utcnow() + timedelta(hours=1))
    assert refund_calls(stub, number) == 1


def test_two_sweeps_at_once_never_send_the_same_refund_twice(app, stub, paid_order, ask_refund):
    orders = [paid_order() for _ in range(12)]
    wechat_pay_fails(stub)
    numbers = [ask_refund(order) for order in orders]
    assert all(refund_calls(stub, number) == 1 for number in numbers)
    wechat_pay_recovers(stub)

    later, start = utcnow() + timedelta(minutes=2), threading.Barrier(2)
    summaries = []

    def scheduler() -> None:
        start.wait()
        summaries.append(sweep(app, later))

    schedulers = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in schedulers:
        thread.start()
    for thread in schedulers:
        thread.join(60)
    assert sum(summary["done"] for summary in summaries) == 12
    assert {number: refund_calls(stub, number) for number in numbers} == {number: 2 for number in numbers}
    assert all(at_wechat_pay(stub, number) for number in numbers)
    assert eventually(lambda: all(refund_status(app, order["id"]) == ["succeeded"] for order in orders))
