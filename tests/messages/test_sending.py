"""Sending through the outbox to WeChat (the stub, over HTTP): one acceptance is one message, a
refusal is recorded and not retried, our own mistakes are logged loudly, a busy WeChat is retried."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from shop.database import utcnow
from shop.extensions import db
from shop.jobs import sweep_outbox
from shop.members.models import Member
from shop.messages.service import queue_message
from shop.messages.templates import Purpose
from shop.orders.models import Order
from shop.stores.models import Store
from tests.conftest import bearer
from tests.messages.conftest import (
    accept,
    send_jobs,
    sends,
    sent,
    stub_answers,
    subscriptions,
    template_id,
)
from tests.orders.conftest import eventually, pickup_basket, place, prepay_id_of, stub_pay


def paid_pickup(client, stub, shop, headers) -> dict:
    placed = place(client, headers, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    return client.get(f"/api/v1/orders/{placed['order']['id']}", headers=headers).get_json()


def test_a_paid_pickup_order_tells_the_shopper_it_is_ready_with_the_store_and_pickup_code(
        app, client, stub, shop, alice, live_server):
    accept(client, alice, Purpose.ORDER_READY)
    order = paid_pickup(client, stub, shop, alice)
    assert eventually(lambda: sent(stub))
    [message] = sent(stub)
    with app.app_context():
        openid = db.session.scalar(select(Member.openid).join(Order, Order.member_id == Member.id)
                                   .where(Order.id == order["id"]))
        store = db.session.get(Store, shop.store_id).name
    assert message["touser"] == openid and message["template_id"] == template_id(Purpose.ORDER_READY)
    assert message["page"] == f"pages/orders/detail?id={order['id']}"
    assert (message["miniprogram_state"], message["lang"]) == ("formal", "zh_CN")
    data = {key: item["value"] for key, item in message["data"].items()}
    assert data["character_string1"] == order["number"] and data["thing2"] == store
    assert data["character_string3"] == order["pickup_code"] and data["phrase4"] == "待取餐"
    assert data["time5"].endswith(tuple(f"{h:02d}" for h in range(60)))  # 2026年12月7日 15:01
    [row] = sends(app)
    assert row["status"] == "sent" and row["msgid"] and row["errcode"] == 0
    assert subscriptions(client, alice)["order_ready_for_pickup"] == 0


def test_without_an_acceptance_nothing_is_sent_and_the_order_is_paid_all_the_same(
        app, client, stub, shop, alice, live_server):
    order = paid_pickup(client, stub, shop, alice)
    assert order["status"] == "ready_for_pickup"
    assert sent(stub) == [] and send_jobs(app) == []
    assert [r["status"] for r in sends(app)] == ["no_subscription"]


def test_one_acceptance_sends_one_message_of_two(app, client, stub, shop, alice, live_server):
    accept(client, alice, Purpose.ORDER_READY)
    paid_pickup(client, stub, shop, alice)
    paid_pickup(client, stub, shop, alice)
    assert eventually(lambda: len(sent(stub)) == 1)
    # The stub answers before the job records its answer: wait for the row too.
    assert eventually(lambda: [r["status"] for r in sends(app)] == ["sent", "no_subscription"])
    assert len(sent(stub)) == 1


def _member_with_one_send(app, client, login) -> int:
    body = login("bob:1")
    accept(client, bearer(body["token"]), Purpose.WITHDRAWAL_PAID)
    return body["member"]["id"]


def test_two_messages_queued_at_once_with_one_send_left_send_one(app, client, login):
    member_id = _member_with_one_send(app, client, login)
    start, outcomes = threading.Barrier(4), []

    def queue(subject_id: int) -> None:
        with app.app_context():
            start.wait()
            outcomes.append(queue_message(Purpose.WITHDRAWAL_PAID, member_id=member_id, subject_id=subject_id,
                                          values={"amount1": 100, "time2": utcnow(), "thing3": "到账"}))
            db.session.commit()

    threads = [threading.Thread(target=queue, args=(subject,)) for subject in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["no_subscription"] * 3 + ["queued"]
    assert sorted(r["status"] for r in sends(app)) == ["no_subscription"] * 3 + ["sent"]


def test_the_same_event_twice_queues_one_message(app, client, login, committed):
    member_id = _member_with_one_send(app, client, login)
    values = {"amount1": 100, "time2": utcnow(), "thing3": "到账"}
    first = committed(lambda: queue_message(Purpose.WITHDRAWAL_PAID, member_id=member_id, subject_id=7,
                                            values=values))
    again = committed(lambda: queue_message(Purpose.WITHDRAWAL_PAID, member_id=member_id, subject_id=7,
                                            values=values))
    assert (first, again) == ("queued", None) and len(sends(app)) == 1


def test_a_shopper_who_turned_messages_off_is_recorded_and_not_retried(app, client, stub, shop, alice, live_server):
    accept(client, alice, Purpose.ORDER_READY)
    accept(client, alice, Purpose.ORDER_READY)
    stub_answers(stub, 43101)
    paid_pickup(client, stub, shop, alice)
    assert eventually(lambda: send_jobs(app) == [("done", 1)])
    [row] = sends(app)
    assert (row["status"], row["errcode"]) == ("refused", 43101)
    assert subscriptions(client, alice)["order_ready_for_pickup"] == 0  # WeChat says none are left
    with app.app_context():
        assert sweep_outbox(utcnow() + timedelta(hours=1)) == {"done": 0, "retrying": 0, "failed": 0}
    assert len(stub.received_on("cgi-bin/message/subscribe/send")) == 1


def test_a_person_without_a_subscription_at_wechat_gets_43101_from_the_stub(app, client, stub, shop, login,
                                                                             live_server):
    refuser = bearer(login("refuse-rita:1")["token"])
    accept(client, refuser, Purpose.ORDER_READY)
    paid_pickup(client, stub, shop, refuser)
    assert eventually(lambda: [r["status"] for r in sends(app)] == ["refused"])


@pytest.mark.parametrize("errcode", [47003, 41030])
def test_a_message_wechat_calls_malformed_is_our_bug_logged_as_an_error_and_not_retried(
        app, client, stub, shop, alice, live_server, caplog, errcode):
    accept(client, alice, Purpose.ORDER_READY)
    stub_answers(stub, errcode)
    with caplog.at_level(logging.ERROR, logger="shop.messages.service"):
        paid_pickup(client, stub, shop, alice)
        assert eventually(lambda: send_jobs(app) == [("done", 1)])
    [row] = sends(app)
    assert (row["status"], row["errcode"]) == ("failed", errcode)
    assert [r for r in caplog.records if r.levelno == logging.ERROR and str(errcode) in r.getMessage()]
    assert subscriptions(client, alice)["order_ready_for_pickup"] == 1  # not used: WeChat sent nothing
    with app.app_context():
        sweep_outbox(utcnow() + timedelta(hours=1))
    assert len(sent(stub)) == 1


def test_a_busy_wechat_is_tried_again_by_the_outbox_until_the_message_goes(app, client, stub, shop, alice,
                                                                          live_server):
    accept(client, alice, Purpose.ORDER_READY)
    stub_answers(stub, -1, 45011)
    paid_pickup(client, stub, shop, alice)
    assert eventually(lambda: send_jobs(app) == [("pending", 1)])
    assert sends(app)[0]["status"] == "queued"
    with app.app_context():
        assert sweep_outbox(utcnow() + timedelta(minutes=1))["retrying"] == 1
        assert sweep_outbox(utcnow() + timedelta(minutes=2))["done"] == 1
    assert sends(app)[0]["status"] == "sent" and len(sent(stub)) == 3
    assert subscriptions(client, alice)["order_ready_for_pickup"] == 0


def test_values_that_do_not_fit_are_recorded_failed_and_logged_without_undoing_the_change(
        app, client, login, committed, caplog):
    member_id = _member_with_one_send(app, client, login)
    with caplog.at_level(logging.ERROR, logger="shop.messages.service"):
        outcome = committed(lambda: queue_message(Purpose.WITHDRAWAL_PAID, member_id=member_id, subject_id=1,
                                                  values={"amount1": "lots", "time2": utcnow(), "thing3": "x"}))
    assert outcome == "failed" and "do not fit" in caplog.text
    assert [r["status"] for r in sends(app)] == ["failed"]
    assert subscriptions(client, bearer(login("bob:2")["token"]))["withdrawal_paid"] == 1
