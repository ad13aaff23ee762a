"""WeChat Pay failing for a while: no paid order is cancelled, no money is kept for a cancelled order, and
once WeChat Pay answers again every payment and refund is settled; then the invariants, from the database.

Scenarios run against a target (the app over HTTP, its own Redis); the sweeps run as a scheduler runs
them (``run_periodic``) at moments the scenario chooses. WeChat Pay's notifies go nowhere here (no
server listens on the notify URL): they are lost, as in the runs that found these faults.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from shop.database import utcnow
from shop.extensions import db
from shop.jobs import run_periodic
from shop.orders.models import Order, OrderStatus, Payment, Refund, RefundStatus
from tests.orders import conftest as orders_fixtures
from tests.orders.conftest import (
    past_window,
    prepay_id_of,
    stub_control,
    stub_pay,
    wechat_pay_fails,
    wechat_pay_is_back,
)

shop = orders_fixtures.shop  # a store, a croissant with stock: the shop the order tests buy from

PAID = (OrderStatus.PAID, OrderStatus.READY_FOR_PICKUP, OrderStatus.SHIPPED, OrderStatus.COMPLETED,
        OrderStatus.REFUNDED)


class Shopper:
    """A shopper using the mini-program against the target over HTTP."""

    def __init__(self, target, code: str) -> None:
        self.base = target.base_url
        login = requests.post(f"{self.base}/api/v1/auth/wechat-login", json={"code": code}, timeout=10)
        assert login.status_code == 200, login.text
        self.headers = {"Authorization": f"Bearer {login.json()['token']}"}

    def order(self, sku_id: int, store_id: int) -> dict:
        response = requests.post(f"{self.base}/api/v1/orders", timeout=10, json={
            "items": [{"sku_id": sku_id, "quantity": 1}], "fulfilment": "pickup", "store_id": store_id},
            headers={**self.headers, "Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 201, response.text
        return response.json()

    def read(self, order: dict) -> requests.Response:
        return requests.get(f"{self.base}/api/v1/orders/{order['order']['id']}", headers=self.headers, timeout=10)

    def cancel(self, order: dict) -> requests.Response:
        return requests.post(f"{self.base}/api/v1/orders/{order['order']['id']}/cancel", headers=self.headers,
                             timeout=10)

    def refund(self, order: dict) -> requests.Response:
        return requests.post(f"{self.base}/api/v1/orders/{order['order']['id']}/refund", headers=self.headers,
                             json={"reason": "changed my mind"}, timeout=10)


def sweep(target, minutes_from_now: float) -> dict:
    """The scheduler's periodic pass, as it runs at that moment."""
    with target.app.app_context():
        return run_periodic(utcnow() + timedelta(minutes=minutes_from_now))


def statuses(target, orders: list[dict]) -> list[str]:
    with target.app.app_context():
        return [db.session.get(Order, order["order"]["id"]).status for order in orders]


def transaction_state(stub, order: dict) -> str:
    return requests.get(f"{stub.url}stub/pay/transactions/{order['order']['number']}", timeout=5).json()["trade_state"]


def assert_money_invariants(target) -> None:
    """What must hold whatever WeChat Pay did, read from the database."""
    with target.app.app_context():
        session = db.session
        # Each paid order was applied once, by the payment of its own transaction.
        for order in session.scalars(select(Order).where(Order.paid_at.is_not(None))):
            applied = session.scalars(select(Payment).where(Payment.order_id == order.id,
                                                            Payment.outcome == "applied")).all()
            assert [p.transaction_id for p in applied] == [order.transaction_id], order.number
            assert order.status in PAID and applied[0].amount == order.amount_paid
        assert session.scalar(select(func.count(Payment.id))) == session.scalar(
            select(func.count(func.distinct(Payment.transaction_id))))
        # No order cancelled with money kept: every payment that came for it was given back.
        for order in session.scalars(select(Order).where(Order.status == OrderStatus.CANCELLED)):
            assert order.paid_at is None and order.amount_paid == 0, order.number
        for late in session.scalars(select(Payment).where(Payment.outcome == "refunded_late")):
            refunds = session.scalars(select(Refund).where(Refund.order_id == late.order_id,
                                                           Refund.reason == "paid_after_cancel")).all()
            assert [(r.amount, r.status) for r in refunds] == [(late.amount, RefundStatus.SUCCEEDED)], late.order_id
        # Nothing stuck: no refund still waiting, no unpaid order left past its window.
        assert session.scalars(select(Refund.number).where(Refund.status == RefundStatus.PROCESSING)).all() == []
        assert session.scalars(select(Order.number).where(Order.status == OrderStatus.PENDING_PAYMENT,
                                                          Order.expires_at <= utcnow())).all() == []


def test_wechat_pay_down_around_payment_timeouts_cancels_no_paid_order(target, stub, shop):
    alice, bob = Shopper(target, "alice:1"), Shopper(target, "bob:1")  # one holds at most 3 unpaid orders
    owners = [alice, alice, bob, bob]
    orders = [owner.order(shop.croissant, shop.store_id) for owner in owners]
    for paid in orders[:2]:  # paid in WeChat; the notifies are lost
        stub_pay(stub, prepay_id_of(paid), deliver="never")
    wechat_pay_fails(stub)
    past_window(target.app, *(order["order"]["id"] for order in orders))

    for minutes in (1, 3, 7):  # the sweep keeps running while WeChat Pay is down
        summary = sweep(target, minutes)
        assert summary["orders past their payment window"]["wechat_pay_unreachable"], summary
    assert statuses(target, orders) == ["pending_payment"] * 4
    for owner, order in zip(owners, orders, strict=True):  # the shopper sees them as they are, never an error
        read = owner.read(order)
        assert read.status_code == 200 and read.json()["status"] == "pending_payment"
    refused = bob.cancel(orders[2])
    assert refused.status_code == 503 and refused.json()["code"] == "wechatpay_unavailable"
    assert refused.headers["Retry-After"].isdigit()

    wechat_pay_is_back(stub)
    sweep(target, 60)
    assert statuses(target, orders) == ["ready_for_pickup", "ready_for_pickup", "cancelled", "cancelled"]
    assert [transaction_state(stub, order) for order in orders[2:]] == ["CLOSED", "CLOSED"]
    assert_money_invariants(target)


def test_payments_racing_the_timeout_while_closes_fail_are_refunded_never_kept(target, stub, shop):
    alice = Shopper(target, "alice:1")
    racing, unpaid = (alice.order(shop.croissant, shop.store_id) for _ in range(2))
    # The shopper pays in the instant the close reaches WeChat Pay; that notify is lost too.
    stub_control(stub, "POST", f"{prepay_id_of(racing)}/pay-on-close", deliver="never")
    wechat_pay_fails(stub, path="/close")
    past_window(target.app, racing["order"]["id"], unpaid["order"]["id"])

    sweep(target, 1)
    assert statuses(target, [racing, unpaid]) == ["pending_payment", "pending_payment"]  # not closed: not cancelled

    wechat_pay_is_back(stub)
    sweep(target, 60)  # cancels both; the racing payment is recorded and its refund sent
    assert statuses(target, [racing, unpaid]) == ["cancelled", "cancelled"]
    sweep(target, 120)  # the refund's notify is lost: reconciliation asks WeChat Pay about it
    assert_money_invariants(target)
    with target.app.app_context():
        assert db.session.scalars(select(Payment.outcome)).all() == ["refunded_late"]


def test_refunds_asked_while_wechat_pay_refuses_them_reach_the_shopper_once_it_is_back(target, stub, shop):
    alice = Shopper(target, "alice:1")
    orders = [alice.order(shop.croissant, shop.store_id) for _ in range(3)]
    for order in orders:
        stub_pay(stub, prepay_id_of(order), deliver="never")
        assert alice.read(order).json()["status"] == "ready_for_pickup"  # read after paying: paid at once
    wechat_pay_fails(stub, path="/v3/refund/domestic/refunds", method="POST")
    for order in orders:
        assert alice.refund(order).status_code == 202
    sweep(target, 5)  # WeChat Pay knows none of them yet, and refuses them again
    with target.app.app_context():
        assert set(db.session.scalars(select(Refund.status))) == {RefundStatus.PROCESSING}

    wechat_pay_is_back(stub)
    for minutes in (60, 120):  # sent again, then confirmed by asking (their notifies are lost)
        sweep(target, minutes)
    assert statuses(target, orders) == ["refunded"] * 3
    assert_money_invariants(target)


def test_a_shopper_reading_a_paid_order_while_redis_is_down_sees_it_as_it_is(target, stub, shop):
    alice = Shopper(target, "alice:1")
    order = alice.order(shop.croissant, shop.store_id)
    stub_pay(stub, prepay_id_of(order), deliver="never")
    target.redis.kill()
    read = alice.read(order)
    assert read.status_code == 200 and read.json()["status"] == "pending_payment"
    target.redis.restart_empty()
    assert alice.read(order).json()["status"] == "ready_for_pickup"
    assert_money_invariants(target)


@pytest.fixture(autouse=True)
def _wechat_pay_back(stub):
    yield
    wechat_pay_is_back(stub)
