"""Reconciliation asks WeChat Pay about each pending order and unconfirmed refund on its own: one it cannot
answer is counted and asked again later and later, and never holds up the rest."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order, PaymentCheck, Refund
from shop.orders.payment import reconcile
from tests.conftest import bearer
from tests.orders.conftest import (
    eventually,
    past_window,
    pickup_basket,
    place,
    prepay_id_of,
    query_path,
    stub_control,
    stub_pay,
    wechat_pay_fails,
    wechat_pay_is_back,
)

REFUNDS = "v3/refund/domestic/refunds"


def reconciled(app, at):
    with app.app_context():
        return reconcile(at)


def statuses(app, orders: list[dict]) -> list[str]:
    with app.app_context():
        return [db.session.get(Order, order["id"]).status for order in orders]


def checks(app) -> list[tuple[str, int, int]]:
    with app.app_context():
        return [(c.subject, c.subject_id, c.attempts) for c in db.session.scalars(select(PaymentCheck))]


def asked(stub, order: dict) -> int:
    return len(stub.received_on(query_path(order["number"])))


@pytest.fixture
def paid_notifies_lost(app, client, stub, shop, login):
    """`count` orders shoppers paid minutes ago, whose notifies never arrived, oldest first (each by
    another shopper: one may hold only a few unpaid orders)."""

    def make(count: int) -> list[dict]:
        orders = []
        for number in range(count):
            shopper = bearer(login(f"notify-lost-{number}:1")["token"])
            placed = place(client, shopper, {**pickup_basket(shop), "items": [{"sku_id": shop.croissant, "quantity": 1}]})
            stub_pay(stub, prepay_id_of(placed.get_json()), deliver="never")
            orders.append(placed.get_json()["order"])
        with app.app_context():
            for order in orders:
                db.session.get(Order, order["id"]).created_at = utcnow() - timedelta(minutes=5)
            db.session.commit()
        return orders

    return make


def test_an_order_wechat_pay_keeps_failing_on_does_not_hold_up_the_others(app, stub, paid_notifies_lost):
    orders = paid_notifies_lost(3)
    wechat_pay_fails(stub, path=query_path(orders[0]["number"]), method="GET")
    summary = reconciled(app, utcnow())
    assert summary["orders"] == {"paid": 2, "cancelled": 0, "unchanged": 0, "errors": 1, "skipped": 0,
                                 "wechat_pay_unreachable": False}
    assert statuses(app, orders) == ["pending_payment", "ready_for_pickup", "ready_for_pickup"]
    queried = [entry["path"] for entry in stub.received if entry["path"].startswith("v3/pay/transactions/out")]
    assert queried == [query_path(order["number"]) for order in orders]  # oldest first


def test_an_order_the_code_chokes_on_does_not_hold_up_the_others(app, stub, paid_notifies_lost):
    orders = paid_notifies_lost(2)
    with app.app_context():  # a number WeChat Pay would refuse: the gateway raises before asking
        db.session.get(Order, orders[0]["id"]).number = "not a number"
        db.session.commit()
    summary = reconciled(app, utcnow())
    assert (summary["orders"]["errors"], summary["orders"]["paid"]) == (1, 1)
    assert statuses(app, orders) == ["pending_payment", "ready_for_pickup"]
    with app.app_context():
        assert db.session.scalar(select(PaymentCheck.last_error)).startswith("ValueError: out_trade_no")


def test_an_order_that_keeps_failing_is_asked_again_later_and_later_until_wechat_pay_answers(
        app, stub, paid_notifies_lost):
    [order] = paid_notifies_lost(1)
    wechat_pay_fails(stub, path=query_path(order["number"]), method="GET")
    start = utcnow()
    reconciled(app, start)
    assert asked(stub, order) == 1 and checks(app) == [("order", order["id"], 1)]
    reconciled(app, start + timedelta(seconds=30))
    assert asked(stub, order) == 1  # backed off for a minute
    reconciled(app, start + timedelta(seconds=61))
    assert asked(stub, order) == 2 and checks(app) == [("order", order["id"], 2)]
    reconciled(app, start + timedelta(seconds=61 + 100))
    assert asked(stub, order) == 2  # now for two minutes

    wechat_pay_is_back(stub)
    summary = reconciled(app, start + timedelta(seconds=61 + 121))
    assert summary["orders"]["paid"] == 1 and statuses(app, [order]) == ["ready_for_pickup"]
    assert checks(app) == []  # forgotten once answered


def test_a_pass_stops_when_wechat_pay_is_unreachable_and_leaves_the_rest_for_the_next(app, stub, paid_notifies_lost):
    orders = paid_notifies_lost(5)
    wechat_pay_fails(stub, path="/v3/pay/transactions/out-trade-no/", method="GET")
    summary = reconciled(app, utcnow())
    assert summary["orders"] == {"paid": 0, "cancelled": 0, "unchanged": 0, "errors": 3, "skipped": 2,
                                 "wechat_pay_unreachable": True}
    assert [asked(stub, order) for order in orders] == [1, 1, 1, 0, 0]
    wechat_pay_is_back(stub)
    reconciled(app, utcnow())  # the three that failed wait out their back-off; the other two are settled
    assert statuses(app, orders) == ["pending_payment"] * 3 + ["ready_for_pickup"] * 2


@pytest.mark.parametrize(("command", "left"), [("reconcile", "1 orders and 0 refunds"), ("cancel-expired", "1 orders")])
def test_a_pass_from_the_shell_with_wechat_pay_unreachable_prints_one_line_and_fails(
        command, left, app, make_app, paid_notifies_lost):
    [order] = paid_notifies_lost(1)
    past_window(app, order["id"])  # so that both passes ask WeChat Pay about it
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    result = make_app(WECHATPAY_API_BASE=nowhere).test_cli_runner().invoke(args=["orders", command])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [f"Error: WeChat Pay unreachable: {left} left for the next pass"]
    assert "Traceback" not in result.output
    assert statuses(app, [order]) == ["pending_payment"]


def test_reconcile_from_the_shell_prints_what_it_did(app, paid_notifies_lost):
    paid_notifies_lost(1)
    result = app.test_cli_runner().invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0
    assert result.stdout == ("orders: paid 1, cancelled 0, unchanged 0, errors 0, skipped 0; refunds: succeeded 0, "
                             "failed 0, resent 0, processing 0, errors 0, skipped 0\n")


# -- refunds WeChat Pay has not confirmed ----------------------------------------------------------


@pytest.fixture
def refund_requested(app, client, stub, shop, alice, live_server):
    """A paid order whose shopper asked for a whole refund minutes ago, still processing (WeChat Pay holds it)."""

    def request(**stub_settings) -> dict:
        placed = place(client, alice, pickup_basket(shop)).get_json()
        stub_pay(stub, prepay_id_of(placed))
        stub_control(stub, "POST", "settings", refunds="manual")
        response = client.post(f"/api/v1/orders/{placed['order']['id']}/refund", headers=alice,
                               json={"reason": "changed my mind"})
        assert response.status_code == 202, response.get_json()
        with app.app_context():
            refund = db.session.scalar(select(Refund).where(Refund.order_id == placed["order"]["id"]))
            refund.created_at = utcnow() - timedelta(minutes=5)
            db.session.commit()
            return {"order_id": placed["order"]["id"], "number": refund.number}

    return request


def refund_status(app, number: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Refund.status).where(Refund.number == number))


def test_a_refund_whose_notify_was_lost_is_settled_by_reconcile(app, stub, shop, refund_requested):
    refund = refund_requested()
    stub_control(stub, "POST", f"refunds/{refund['number']}/succeed", deliver="never")
    summary = reconciled(app, utcnow())
    assert summary["refunds"]["succeeded"] == 1
    assert refund_status(app, refund["number"]) == "succeeded"
    assert statuses(app, [{"id": refund["order_id"]}]) == ["refunded"]


def test_a_refund_wechat_pay_gave_up_on_is_marked_failed_for_an_admin(app, stub, refund_requested):
    refund = refund_requested()
    stub_control(stub, "POST", f"refunds/{refund['number']}/abnormal", deliver="never")
    assert reconciled(app, utcnow())["refunds"]["failed"] == 1
    assert refund_status(app, refund["number"]) == "failed"


def test_a_refund_still_processing_at_wechat_pay_is_left_processing(app, refund_requested):
    refund = refund_requested()
    assert reconciled(app, utcnow())["refunds"]["processing"] == 1
    assert refund_status(app, refund["number"]) == "processing"


def test_a_refund_wechat_pay_never_received_is_sent_again(app, client, stub, shop, alice, live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    wechat_pay_fails(stub, path=f"/{REFUNDS}", method="POST", times=1)  # the first send fails
    assert client.post(f"/api/v1/orders/{placed['order']['id']}/refund", headers=alice,
                       json={"reason": "changed my mind"}).status_code == 202
    with app.app_context():
        refund = db.session.scalar(select(Refund))
        number = refund.number
        refund.created_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
    assert refund_status(app, number) == "processing"
    assert reconciled(app, utcnow())["refunds"]["resent"] == 1
    assert len([entry for entry in stub.received_on(REFUNDS) if entry["method"] == "POST"]) == 2
    assert eventually(lambda: refund_status(app, number) == "succeeded")
