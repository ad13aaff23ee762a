"""An order WeChat Pay may have been paid for is never cancelled without asking it first, and the shopper
who reads the order right after paying sees it paid, even when WeChat Pay's notify was lost."""

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
from shop.orders.lifecycle import close_wechat_transaction, expire_if_due
from shop.orders.models import Order, OrderStatus, Payment, Refund
from shop.orders.states import move
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

pytestmark = pytest.mark.pgbouncer  # CI runs it through PgBouncer too (tests/test_transaction_pooling.py)


def status_of(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(Order, order_id).status


def latte_stock(app, shop) -> int:
    with app.app_context():
        return db.session.scalar(select(Sku.stock).where(Sku.id == shop.latte))


def payments(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(Payment.outcome, Payment.source).order_by(Payment.id))]


def refunds_of(app, order_id: int) -> list[tuple[str, int, str]]:
    with app.app_context():
        return [(r.status, r.amount, r.reason) for r in db.session.scalars(
            select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))]


def transaction_state(stub, number: str) -> str:
    return requests.get(f"{stub.url}stub/pay/transactions/{number}", timeout=5).json()["trade_state"]


@pytest.fixture
def placed(client, shop, alice) -> dict:
    """An order placed for pickup (two lattes, a croissant: 72.00 yuan) with its prepay id; unpaid."""
    return place(client, alice, pickup_basket(shop)).get_json()


@pytest.fixture
def paid_notify_lost(stub, placed) -> dict:
    """The shopper paid in WeChat, and WeChat Pay's notify never arrived."""
    stub_pay(stub, prepay_id_of(placed), deliver="never")
    return placed["order"]


# -- reading the order right after wx.requestPayment ---------------------------------------------


def test_the_shopper_reading_the_order_right_after_paying_sees_it_paid_though_the_notify_was_lost(
        app, client, alice, paid_notify_lost):
    body = client.get(f"/api/v1/orders/{paid_notify_lost['id']}", headers=alice).get_json()
    assert body["status"] == "ready_for_pickup" and body["amount_paid"] == 7200 and len(body["pickup_code"]) == 8
    assert payments(app) == [("applied", "query")]


def test_reading_a_paid_order_never_asks_wechat_pay(client, stub, alice, placed, live_server):
    stub_pay(stub, prepay_id_of(placed))  # the notify arrives and pays the order
    for _ in range(3):
        assert client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()["status"] == \
            "ready_for_pickup"
    assert stub.received_on(query_path(placed["order"]["number"])) == []


def test_reads_of_an_unpaid_order_ask_wechat_pay_once_every_few_seconds(client, stub, alice, placed):
    for _ in range(3):
        assert client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()["status"] == \
            "pending_payment"
    assert len(stub.received_on(query_path(placed["order"]["number"]))) == 1
    time.sleep(3.1)
    client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice)
    assert len(stub.received_on(query_path(placed["order"]["number"]))) == 2


def test_a_read_while_wechat_pay_fails_shows_the_order_as_it_is_and_a_later_read_shows_it_paid(
        client, stub, alice, paid_notify_lost):
    wechat_pay_fails(stub, path=query_path(paid_notify_lost["number"]), method="GET")
    response = client.get(f"/api/v1/orders/{paid_notify_lost['id']}", headers=alice)
    assert response.status_code == 200 and response.get_json()["status"] == "pending_payment"
    wechat_pay_is_back(stub)
    time.sleep(3.1)
    assert client.get(f"/api/v1/orders/{paid_notify_lost['id']}", headers=alice).get_json()["status"] == \
        "ready_for_pickup"


# -- no paid order is cancelled ------------------------------------------------------------------


def settle_by(path: str, app, client, alice, order_id: int):
    """Let one of the places that cancel unpaid orders past their window look at the order."""
    if path == "read":
        return client.get(f"/api/v1/orders/{order_id}", headers=alice)
    if path == "sweep":
        return app.test_cli_runner().invoke(args=["orders", "cancel-expired"])
    if path == "reconcile":
        return app.test_cli_runner().invoke(args=["orders", "reconcile"])
    return client.post(f"/api/v1/orders/{order_id}/cancel", headers=alice)


@pytest.mark.parametrize("path", ["read", "sweep", "reconcile"])
def test_a_paid_order_whose_notify_was_lost_is_paid_not_cancelled_when_its_window_passes(
        path, app, client, stub, shop, alice, paid_notify_lost):
    past_window(app, paid_notify_lost["id"])
    settle_by(path, app, client, alice, paid_notify_lost["id"])
    assert status_of(app, paid_notify_lost["id"]) == "ready_for_pickup"
    assert payments(app) == [("applied", "query")]
    assert latte_stock(app, shop) == 3  # still sold
    assert transaction_state(stub, paid_notify_lost["number"]) == "SUCCESS"


def test_the_read_check_cancels_nothing_wechat_pay_says_was_paid(app, paid_notify_lost):
    """expire_if_due itself (any read of an order past its window), without the read's rate limit."""
    past_window(app, paid_notify_lost["id"])
    with app.app_context():
        order = expire_if_due(db.session.get(Order, paid_notify_lost["id"]), utcnow())
        db.session.commit()
        assert order.status == "ready_for_pickup"


def test_the_shopper_cannot_cancel_an_order_wechat_pay_says_was_paid(app, client, alice, paid_notify_lost):
    response = settle_by("shopper", app, client, alice, paid_notify_lost["id"])
    assert response.status_code == 409 and response.get_json()["code"] == "order_not_cancellable"
    assert client.get(f"/api/v1/orders/{paid_notify_lost['id']}", headers=alice).get_json()["status"] == \
        "ready_for_pickup"
    assert payments(app) == [("applied", "query")]


@pytest.mark.parametrize("path", ["read", "sweep", "reconcile", "shopper"])
def test_an_unpaid_order_is_closed_at_wechat_pay_and_cancelled(path, app, client, stub, shop, alice, placed):
    past_window(app, placed["order"]["id"])
    settle_by(path, app, client, alice, placed["order"]["id"])
    assert status_of(app, placed["order"]["id"]) == "cancelled"
    assert transaction_state(stub, placed["order"]["number"]) == "CLOSED"
    assert latte_stock(app, shop) == 5 and payments(app) == []


@pytest.mark.parametrize("failing", [{"method": "GET"}, {"path": "/close"}], ids=["query", "close"])
@pytest.mark.parametrize("path", ["read", "sweep", "reconcile", "shopper"])
def test_an_order_is_not_cancelled_while_wechat_pay_cannot_answer(path, failing, app, client, stub, shop, alice,
                                                                   placed):
    past_window(app, placed["order"]["id"])
    wechat_pay_fails(stub, **failing)
    answer = settle_by(path, app, client, alice, placed["order"]["id"])
    if path == "read":
        assert answer.status_code == 200 and answer.get_json()["status"] == "pending_payment"
    elif path == "shopper":
        assert answer.status_code == 503 and answer.get_json()["code"] == "wechatpay_unavailable"
        assert answer.headers["Retry-After"].isdigit()
    else:
        assert answer.exit_code == 1, answer.output
        assert answer.output.startswith("Error: WeChat Pay unreachable: 1 orders"), answer.output
    assert status_of(app, placed["order"]["id"]) == "pending_payment" and latte_stock(app, shop) == 3

    wechat_pay_is_back(stub)  # the sweep settles it once WeChat Pay answers (and its back-off has passed)
    with app.app_context():
        from shop.orders.lifecycle import cancel_expired_orders  # noqa: PLC0415

        assert cancel_expired_orders(utcnow() + timedelta(hours=1))["cancelled"] == 1
    assert status_of(app, placed["order"]["id"]) == "cancelled" and latte_stock(app, shop) == 5


def test_an_order_without_a_prepay_id_was_never_payable_and_is_cancelled_without_asking(app, client, stub, shop,
                                                                                      alice):
    wechat_pay_fails(stub, path="/jsapi", times=1)
    body = place(client, alice, pickup_basket(shop)).get_json()
    assert body["payment"] is None and body["payment_error"]["code"] == "wechatpay_unavailable"
    past_window(app, body["order"]["id"])
    assert client.get(f"/api/v1/orders/{body['order']['id']}", headers=alice).get_json()["status"] == "cancelled"
    assert stub.received_on(query_path(body["order"]["number"])) == []


# -- a payment racing the cancel: the close answers "already paid" -------------------------------


@pytest.mark.parametrize("path", ["read", "sweep", "reconcile", "shopper"])
def test_a_payment_made_as_the_order_is_closed_is_refunded_not_kept(path, app, client, stub, shop, alice, placed,
                                                                    live_server):
    # The shopper pays in the instant the close reaches WeChat Pay, and that payment's notify is lost.
    stub_control(stub, "POST", f"{prepay_id_of(placed)}/pay-on-close", deliver="never")
    past_window(app, placed["order"]["id"])
    settle_by(path, app, client, alice, placed["order"]["id"])
    assert status_of(app, placed["order"]["id"]) == "cancelled" and latte_stock(app, shop) == 5
    assert payments(app) == [("refunded_late", "close")]
    assert eventually(lambda: refunds_of(app, placed["order"]["id"]) == [("succeeded", 7200, "paid_after_cancel")]), \
        refunds_of(app, placed["order"]["id"])


def test_the_close_job_of_an_order_cancelled_earlier_refunds_a_payment_it_finds(app, stub, shop, placed,
                                                                                 live_server):
    """Orders cancelled by earlier releases had their transaction closed by a job afterwards."""
    stub_pay(stub, prepay_id_of(placed), deliver="never")
    with app.app_context():
        order = db.session.get(Order, placed["order"]["id"])
        move(order, from_status=OrderStatus.PENDING_PAYMENT, to=OrderStatus.CANCELLED, cancelled_at=utcnow(),
             cancel_reason="shopper")
        db.session.commit()
        close_wechat_transaction(placed["order"]["number"])
        db.session.commit()
    assert payments(app) == [("refunded_late", "close")]
    assert eventually(lambda: refunds_of(app, placed["order"]["id"]) == [("succeeded", 7200, "paid_after_cancel")])


def test_an_order_read_while_its_refund_is_confirmed_shows_the_refund_with_the_totals_it_moved(
        app, client, stub, shop, alice, placed, live_server):
    stub_pay(stub, prepay_id_of(placed))
    stub_control(stub, "POST", "settings", refunds="manual")
    url = f"{live_server}/api/v1/orders/{placed['order']['id']}"
    torn: list[dict] = []
    done = threading.Event()

    def read_while_refunds_settle() -> None:
        with requests.Session() as session:
            while not done.is_set():
                body = session.get(url, headers=alice, timeout=10).json()
                succeeded = sum(r["amount"] for r in body["refunds"] if r["status"] == "succeeded")
                if succeeded != body["refunded_total"]:
                    torn.append(body)

    readers = [threading.Thread(target=read_while_refunds_settle) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for line in client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()["lines"]:
            for _ in range(line["quantity"]):
                response = client.post(f"/api/v1/orders/{placed['order']['id']}/refund", headers=alice,
                                       json={"reason": "one less", "lines": [{"line_id": line["id"], "quantity": 1}]})
                assert response.status_code == 202, response.get_json()
                number = response.get_json()["refunds"][-1]["number"]
                stub_control(stub, "POST", f"refunds/{number}/succeed")  # its notify, delivered now
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert status_of(app, placed["order"]["id"]) == "refunded"
    assert torn == []
