"""Paid orders to refund, WeChat Pay failing and recovering (the stub's faults), and the outbox as the
database holds it."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests
from sqlalchemy import select

from shop.auth import Role
from shop.extensions import db
from shop.jobs import sweep_outbox
from shop.orders.models import Order
from shop.outbox.models import OutboxEntry
from tests.orders import conftest as orders
from tests.orders.conftest import place, prepay_id_of, stub_pay

REFUNDS = "v3/refund/domestic/refunds"
shop, alice = orders.shop, orders.alice  # the orders' fixtures: a shop with a clerk, and Alice


def croissant(shop) -> dict:
    """One croissant for pickup (1,600 fen): the shop has 50, enough for many orders."""
    return {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "pickup", "store_id": shop.store_id}


@pytest.fixture
def paid_order(client, stub, shop, alice, live_server):
    """Place and pay an order as Alice (the notify reaches the live server); the order as she sees it."""

    def buy() -> dict:
        placed = place(client, alice, croissant(shop)).get_json()
        stub_pay(stub, prepay_id_of(placed))
        order = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()
        assert order["status"] == "ready_for_pickup", order
        return order

    return buy


@pytest.fixture
def ask_refund(client, alice):
    """Alice asks for the whole order back; the refund's number (its out_refund_no)."""

    def ask(order: dict) -> str:
        response = client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice, json={"reason": "changed my mind"})
        assert response.status_code == 202, response.get_json()
        return response.get_json()["refunds"][-1]["number"]

    return ask


@pytest.fixture
def admin(staff_token) -> dict:
    return staff_token(Role.ADMIN)


def wechat_pay_fails(stub, *, times: int = 1_000_000, status: int = 500, code: str = "SYSTEM_ERROR",
                     path: str = REFUNDS) -> None:
    """WeChat Pay answers the next ``times`` calls on ``path`` with an error (by default: until it recovers)."""
    requests.post(f"{stub.url}stub/pay/faults", json={"status": status, "code": code, "times": times, "path": path},
                  timeout=5).raise_for_status()


def wechat_pay_recovers(stub) -> None:
    requests.delete(f"{stub.url}stub/pay/faults", timeout=5).raise_for_status()


def refund_calls(stub, number: str) -> int:
    """How many times the refund was asked of WeChat Pay (failed calls included)."""
    return sum(1 for call in stub.received_on(REFUNDS) if (call["json"] or {}).get("out_refund_no") == number)


def at_wechat_pay(stub, number: str) -> dict | None:
    """The refund as WeChat Pay holds it; None if it never reached WeChat Pay."""
    found = requests.get(f"{stub.url}stub/pay/refunds/{number}", timeout=5)
    return found.json() if found.status_code == 200 else None


def entries(app) -> list[dict]:
    """Every outbox entry, oldest first, as plain values."""
    with app.app_context():
        return [{column: getattr(entry, column) for column in ("id", "kind", "args", "status", "attempts",
                                                                "next_attempt_at", "updated_at", "last_error")}
                for entry in db.session.scalars(select(OutboxEntry).order_by(OutboxEntry.id))]


def entry_for(app, number: str) -> dict:
    (found,) = [entry for entry in entries(app) if entry["args"] == [number]]
    return found


def sweep(app, at: datetime) -> dict:
    """Run the outbox's sweep as the scheduler would, acting as of ``at``."""
    with app.app_context():
        summary = sweep_outbox(at)
        db.session.commit()
        return summary


def refund_status(app, order_id: int) -> list[str]:
    with app.app_context():
        return [refund.status for refund in db.session.get(Order, order_id).refunds]
