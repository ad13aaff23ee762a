"""A shop to buy from: a pickup store with a clerk, a product with stock, a shopper, and WeChat Pay."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import requests

from shop.auth import Role
from shop.catalog.service import set_store_availability
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order
from tests.conftest import bearer
from tests.factories import make_category, make_product, make_store


@dataclass
class Shop:
    store_id: int
    other_store_id: int
    latte: int  # SKU ids
    croissant: int
    stock: int


@pytest.fixture
def shop(app) -> Shop:
    with app.app_context():
        store, other = make_store(name="People's Square"), make_store(name="Xintiandi")
        latte = make_product(make_category().id, title="Latte", skus=[{"spec": {"size": "M"}, "price": 2800, "stock": 5}])
        croissant = make_product(make_category().id, title="Croissant", skus=[{"spec": {}, "price": 1600, "stock": 50}])
        for product in (latte, croissant):
            set_store_availability(product.skus[0].id, actor_staff_id=None, stores=[
                {"store_id": store.id, "available": True}, {"store_id": other.id, "available": True}])
        db.session.commit()
        return Shop(store.id, other.id, latte.skus[0].id, croissant.skus[0].id, 5)


@pytest.fixture
def alice(login) -> dict:
    return bearer(login("alice:1")["token"])


@pytest.fixture
def clerk(staff_token, shop) -> dict:
    return staff_token(Role.STAFF, store_ids=[shop.store_id])


def pickup_basket(shop: Shop, **extra) -> dict:
    return {"items": [{"sku_id": shop.latte, "quantity": 2}, {"sku_id": shop.croissant, "quantity": 1}],
            "fulfilment": "pickup", "store_id": shop.store_id, **extra}


def place(client, headers, body, key: str | None = None):
    return client.post("/api/v1/orders", json=body,
                       headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex})


def stub_pay(stub, prepay_id: str, **options) -> dict:
    """The shopper pays in WeChat: the stub marks the transaction paid and sends the notify."""
    response = requests.post(f"{stub.url}stub/pay/{prepay_id}/confirm", json=options, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def prepay_id_of(placed: dict) -> str:
    return placed["payment"]["package"].removeprefix("prepay_id=")


def eventually(check, timeout: float = 10.0):
    """Poll ``check()`` until it returns something truthy (WeChat Pay's refund notify comes later)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def stub_control(stub, verb: str, control: str, **body) -> dict:
    """Call a WeChat Pay control of the stub (under /stub/pay/) over HTTP."""
    response = requests.request(verb, f"{stub.url}stub/pay/{control}", json=body, timeout=10)
    assert response.ok, response.text
    return response.json()


def wechat_pay_fails(stub, *, path: str = "/v3/", method: str = "", times: int = 1000, status: int = 500,
                     code: str = "SYSTEM_ERROR") -> None:
    """WeChat Pay answers the matching calls with an error until `wechat_pay_is_back`."""
    stub_control(stub, "POST", "faults", path=path, method=method, times=times, status=status, code=code)


def wechat_pay_is_back(stub) -> None:
    stub_control(stub, "DELETE", "faults")


def query_path(number: str) -> str:
    """Where the gateway asks WeChat Pay about an order's transaction (as the stub records it)."""
    return f"v3/pay/transactions/out-trade-no/{number}"


def past_window(app, *order_ids: int) -> None:
    """Time passes: the orders were placed 20 minutes ago and their payment window closed 5 minutes ago."""
    with app.app_context():
        for order_id in order_ids:
            order = db.session.get(Order, order_id)
            order.created_at, order.expires_at = utcnow() - timedelta(minutes=20), utcnow() - timedelta(minutes=5)
        db.session.commit()
def manual_refunds(stub) -> None:
    """WeChat Pay keeps each refund PROCESSING until it is settled (the stub is reset after each test)."""
    requests.post(f"{stub.url}stub/pay/settings", json={"refunds": "manual"}, timeout=5).raise_for_status()


def settle_refund(stub, out_refund_no: str, outcome: str = "succeed") -> None:
    """WeChat Pay settles a refund it was sent (``succeed`` or ``abnormal``); its notify is answered 204."""
    known = eventually(lambda: requests.get(f"{stub.url}stub/pay/refunds/{out_refund_no}", timeout=5).ok)
    assert known, f"WeChat Pay was never sent refund {out_refund_no}"
    response = requests.post(f"{stub.url}stub/pay/refunds/{out_refund_no}/{outcome}", json={}, timeout=30)
    assert response.status_code == 200, response.text
    assert [d["status"] for d in response.json()["notify"]["deliveries"]] == [204], response.json()["notify"]


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run every call at the same moment, each in its own thread; what each returned, in order."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def race_refunds(live_server: str, order_id: int, asks: list[tuple[dict, dict, bool]]) -> list[requests.Response]:
    """Send every (headers, body, by_admin) refund request of the order at once, over real HTTP."""
    return at_once(*(functools.partial(requests.post, f"{live_server}/api/v1/{'admin/' if by_admin else ''}"
                                       f"orders/{order_id}/refund", headers=headers, json=body, timeout=60)
                     for headers, body, by_admin in asks))
