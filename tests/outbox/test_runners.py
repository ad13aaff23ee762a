"""Who runs outbox work, and when: written once per key, only if the change commits; a runner that died
leaves its work to the next after its lease; each periodic job runs on one scheduler at a time."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from shop.catalog.models import Sku
from shop.database import utcnow
from shop.extensions import db
from shop.jobs import PERIODIC, SKIPPED, enqueue, run_job, run_periodic
from shop.orders.lifecycle import close_wechat_transaction
from shop.orders.models import Order
from shop.orders.refunds import send_refund
from shop.outbox import service as outbox
from tests.orders.conftest import eventually, place, prepay_id_of
from tests.outbox.conftest import (
    REFUNDS,
    at_wechat_pay,
    croissant,
    entries,
    entry_for,
    refund_calls,
    refund_status,
    sweep,
    wechat_pay_fails,
    wechat_pay_recovers,
)

pytestmark = pytest.mark.pgbouncer  # CI runs it through PgBouncer too (tests/test_transaction_pooling.py)

CLOSE = "/close"


def shop_croissants(shop) -> int:
    return 50  # the shop fixture's stock


def test_the_same_work_is_written_once_and_work_of_a_rolled_back_change_never_runs(app, stub):
    with app.app_context():
        enqueue(send_refund, "R-NOPE-1", key="R-NOPE-1")
        enqueue(send_refund, "R-NOPE-1", key="R-NOPE-1")
        enqueue(send_refund, "R-NOPE-2", key="R-NOPE-2")
        db.session.rollback()
    assert entries(app) == []
    with app.app_context():
        enqueue(send_refund, "R-NOPE-1", key="R-NOPE-1")
        enqueue(send_refund, "R-NOPE-1", key="R-NOPE-1")
        db.session.commit()
    with app.app_context():
        enqueue(send_refund, "R-NOPE-1", key="R-NOPE-1")  # a later transaction: still the same work
        db.session.commit()
    assert [(e["args"], e["status"]) for e in entries(app)] == [(["R-NOPE-1"], "done")]  # no such refund: nothing to send
    assert stub.received_on(REFUNDS) == []


def test_work_whose_runner_died_is_run_again_once_its_lease_runs_out(app, stub, paid_order, ask_refund):
    order = paid_order()
    wechat_pay_fails(stub, times=1)
    number = ask_refund(order)
    wechat_pay_recovers(stub)
    due_at = entry_for(app, number)["next_attempt_at"]
    with app.app_context():  # a runner claims it and dies before it sends anything
        claimed = outbox.claim(entry_for(app, number)["id"], now=due_at, lease=timedelta(minutes=5))
        db.session.commit()
    assert claimed is not None and entry_for(app, number)["status"] == "running"
    assert sweep(app, due_at + timedelta(minutes=4))["done"] == 0  # its lease still holds
    assert refund_calls(stub, number) == 1
    assert sweep(app, due_at + timedelta(minutes=6))["done"] == 1
    assert entry_for(app, number)["attempts"] == 3 and at_wechat_pay(stub, number)
    assert eventually(lambda: refund_status(app, order["id"]) == ["succeeded"])


def test_closing_a_transaction_is_outbox_work_retried_until_wechat_pay_answers(app, client, stub, shop, alice):
    """Cancels close at once now; closes handed on by earlier releases still run through the outbox."""
    placed = place(client, alice, croissant(shop)).get_json()
    number = placed["order"]["number"]
    wechat_pay_fails(stub, path=CLOSE)
    with app.app_context():
        enqueue(close_wechat_transaction, number, key=number)
        db.session.commit()
    (close,) = entries(app)
    assert (close["kind"], close["args"], close["status"]) == (
        "shop.orders.lifecycle:close_wechat_transaction", [number], "pending")
    wechat_pay_recovers(stub)
    assert sweep(app, utcnow() + timedelta(minutes=1))["done"] == 1
    closed = requests.get(f"{stub.url}stub/pay/transactions/{number}", timeout=5).json()
    assert (closed["trade_state"], closed["prepay_id"]) == ("CLOSED", prepay_id_of(placed))


def test_a_periodic_job_runs_on_one_scheduler_at_a_time(app, monkeypatch):
    running, most, lock = [0], [0], threading.Lock()

    def slow_job(now):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.5)  # long enough for the other scheduler to try
        with lock:
            running[0] -= 1
        return "ran"

    monkeypatch.setattr("shop.jobs.PERIODIC", {"a slow job": slow_job})
    start, summaries = threading.Barrier(2), []

    def scheduler() -> None:
        start.wait()
        with app.app_context():
            summaries.append(run_periodic(utcnow())["a slow job"])

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most[0] == 1 and sorted(summaries) == ["ran", SKIPPED]
    with app.app_context():  # the lease was given back: the next run runs it
        assert run_periodic(utcnow()) == {"a slow job": "ran"}


def test_two_schedulers_at_once_cancel_an_expired_order_and_send_a_due_refund_once(
        app, client, stub, shop, alice, paid_order, ask_refund):
    expired = place(client, alice, croissant(shop)).get_json()["order"]
    with app.app_context():
        db.session.get(Order, expired["id"]).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    order = paid_order()
    wechat_pay_fails(stub, times=1)
    number = ask_refund(order)
    wechat_pay_recovers(stub)
    later, start = utcnow() + timedelta(minutes=1), threading.Barrier(2)
    assert set(PERIODIC) >= {"orders past their payment window", "work handed on after a commit (outbox)"}

    def scheduler() -> None:
        start.wait()
        with app.app_context():
            run_periodic(later)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(stub.received_on(f"v3/pay/transactions/out-trade-no/{expired['number']}/close")) == 1
    assert refund_calls(stub, number) == 2  # the failed send, then one more
    assert eventually(lambda: refund_status(app, order["id"]) == ["succeeded"])
    with app.app_context():
        assert db.session.get(Order, expired["id"]).status == "cancelled"
        # Both orders' croissants came back, each once.
        assert db.session.scalar(select(Sku.stock).where(Sku.id == shop.croissant)) == shop_croissants(shop)


def test_the_sweep_of_an_empty_outbox_does_nothing(app):
    assert sweep(app, utcnow()) == {"done": 0, "retrying": 0, "failed": 0}



def test_a_job_queued_by_the_release_before_the_outbox_moves_into_it_when_a_worker_runs_it(app, stub):
    with app.app_context():
        run_job("shop.orders.refunds:send_refund", ("R-BEFORE-1",))  # what old RQ jobs call
    assert [(e["kind"], e["args"], e["status"]) for e in entries(app)] == [
        ("shop.orders.refunds:send_refund", ["R-BEFORE-1"], "done")]
