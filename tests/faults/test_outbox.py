"""Work handed on after a commit survives Redis: a queue lost in a restart, a Redis out of memory, a
retry that waits on an RQ scheduler nobody runs. The outbox in the database keeps the work and the
sweep hands it on again; each scenario ends with the invariants read from the database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import requests
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from shop.database import utcnow
from shop.extensions import db
from shop.jobs import QUEUE, rq_job_id
from shop.orders.models import Refund
from shop.outbox.models import OutboxEntry
from tests.orders import conftest as orders
from tests.orders.conftest import eventually, prepay_id_of, stub_pay
from tests.outbox.conftest import (
    at_wechat_pay,
    croissant,
    entry_for,
    refund_calls,
    sweep,
    wechat_pay_fails,
)

shop = orders.shop  # the orders' fixture: a store with croissants to buy


def _shopper(target, name: str) -> dict:
    answer = requests.post(f"{target.base_url}/api/v1/auth/wechat-login", json={"code": f"{name}:1"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _paid_order(target, stub, shop, shopper: dict) -> dict:
    placed = requests.post(f"{target.base_url}/api/v1/orders", json=croissant(shop), timeout=10,
                           headers={**shopper, "Idempotency-Key": uuid.uuid4().hex})
    assert placed.status_code == 201, placed.text
    stub_pay(stub, prepay_id_of(placed.json()))  # the notify reaches the suite's live server, on the same database
    url = f"{target.base_url}/api/v1/orders/{placed.json()['order']['id']}"
    return eventually(lambda: (o := requests.get(url, headers=shopper, timeout=10).json())["status"]
                      == "ready_for_pickup" and o)


def _ask_refund(target, shopper: dict, order: dict) -> str:
    answer = requests.post(f"{target.base_url}/api/v1/orders/{order['id']}/refund", headers=shopper,
                           json={"reason": "changed my mind"}, timeout=10)
    assert answer.status_code == 202, answer.text
    return answer.json()["refunds"][-1]["number"]


def _queued(target) -> int:
    return Queue(QUEUE, connection=target.redis.client()).count


def _assert_every_refund_reached_the_shopper(app) -> None:
    """The end state: every refund succeeded (WeChat Pay confirmed it), every outbox entry is done."""
    def settled() -> bool:
        with app.app_context():
            return set(db.session.scalars(select(Refund.status))) == {"succeeded"}

    assert eventually(settled)
    with app.app_context():
        assert set(db.session.scalars(select(OutboxEntry.status))) == {"done"}


def test_a_refund_whose_queued_job_was_lost_in_a_redis_restart_is_sent_by_the_sweep(queued_target, stub, shop,
                                                                                    live_server):
    target = queued_target
    alice = _shopper(target, "alice")
    number = _ask_refund(target, alice, _paid_order(target, stub, shop, alice))
    assert entry_for(target.app, number)["status"] == "pending" and _queued(target) == 1

    target.redis.restart_empty()  # Redis without persistence comes back: the queued job is gone
    target.extra["run_worker"]()
    assert at_wechat_pay(stub, number) is None and entry_for(target.app, number)["status"] == "pending"

    assert sweep(target.app, utcnow()) == {"dispatched": 1}
    assert sweep(target.app, utcnow()) == {"dispatched": 0}  # queued once: a second sweep adds nothing
    target.extra["run_worker"]()
    assert at_wechat_pay(stub, number)["out_refund_no"] == number and refund_calls(stub, number) == 1
    _assert_every_refund_reached_the_shopper(target.app)


def test_a_refund_redis_had_no_memory_to_queue_stays_pending_and_is_sent_later(queued_target, stub, shop,
                                                                               live_server):
    target = queued_target
    alice = _shopper(target, "alice")
    order = _paid_order(target, stub, shop, alice)
    target.redis.limit_memory(1)  # every write refused: OOM command not allowed
    number = _ask_refund(target, alice, order)  # the refund is written all the same
    assert entry_for(target.app, number)["status"] == "pending" and _queued(target) == 0
    assert sweep(target.app, utcnow()) == {"dispatched": 0}  # still full: it stays pending

    target.redis.limit_memory(0)  # room again
    assert sweep(target.app, utcnow()) == {"dispatched": 1}
    target.extra["run_worker"]()
    assert refund_calls(stub, number) == 1
    _assert_every_refund_reached_the_shopper(target.app)


def test_a_refund_that_failed_on_a_worker_is_sent_when_due_even_with_no_rq_scheduler(queued_target, stub, shop,
                                                                                   live_server):
    target = queued_target
    alice = _shopper(target, "alice")
    order = _paid_order(target, stub, shop, alice)
    wechat_pay_fails(stub, times=1)
    number = _ask_refund(target, alice, order)
    target.extra["run_worker"]()  # WeChat Pay answers 500: the retry is scheduled with RQ
    entry = entry_for(target.app, number)
    assert (entry["status"], entry["attempts"]) == ("pending", 1)
    scheduled = ScheduledJobRegistry(QUEUE, connection=target.redis.client()).get_job_ids()
    assert scheduled == [rq_job_id(entry["id"], 1)]

    assert sweep(target.app, utcnow()) == {"dispatched": 0}  # not due yet
    with target.app.app_context():  # its backoff passes
        db.session.get(OutboxEntry, entry["id"]).next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    # Due, and nothing queued it (no worker runs RQ's scheduler here): the sweep does.
    assert sweep(target.app, utcnow()) == {"dispatched": 1}
    target.extra["run_worker"]()
    assert refund_calls(stub, number) == 2 and at_wechat_pay(stub, number)["out_refund_no"] == number
    _assert_every_refund_reached_the_shopper(target.app)
