"""Shipping information reaches WeChat whatever Redis does: the carrier list is only a cache, and the
upload lives in the outbox, not in the queue."""

from __future__ import annotations

import uuid

import requests
from sqlalchemy import select

from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.shipping.models import ShippingUpload
from tests.orders import conftest as orders
from tests.orders.conftest import eventually, prepay_id_of, stub_pay
from tests.orders.test_shipping import ADDRESS, DELIVERY_LIST, UPLOAD
from tests.outbox.conftest import sweep

shop = orders.shop  # the orders' fixture: a store with croissants to buy


def _paid_delivery(target, stub, shop) -> int:
    login = requests.post(f"{target.base_url}/api/v1/auth/wechat-login", json={"code": "alice:1"}, timeout=10)
    shopper = {"Authorization": f"Bearer {login.json()['token']}"}
    placed = requests.post(f"{target.base_url}/api/v1/orders", timeout=10,
                           headers={**shopper, "Idempotency-Key": uuid.uuid4().hex},
                           json={"items": [{"sku_id": shop.croissant, "quantity": 7}], "fulfilment": "delivery",
                                 "address": ADDRESS})
    assert placed.status_code == 201, placed.text
    stub_pay(stub, prepay_id_of(placed.json()))
    url = f"{target.base_url}/api/v1/orders/{placed.json()['order']['id']}"
    assert eventually(lambda: requests.get(url, headers=shopper, timeout=10).json()["status"] == "paid")
    return placed.json()["order"]["id"]


def _ship(target, admin: dict, order_id: int) -> requests.Response:
    return requests.post(f"{target.base_url}/api/v1/admin/orders/{order_id}/ship", headers=admin, timeout=30,
                         json={"carrier": "SF", "tracking_no": "SF1234567890"})


def _upload_status(app, order_id: int) -> str | None:
    with app.app_context():
        return db.session.scalar(select(ShippingUpload.status).where(ShippingUpload.order_id == order_id))


def test_an_order_shipped_while_redis_is_down_is_refused_whole_and_shipped_when_it_is_back(
        target, stub, shop, staff_token, live_server):
    order_id, admin = _paid_delivery(target, stub, shop), staff_token(Role.ADMIN)
    target.redis.kill()  # WeChat's access token and the carrier list live there
    refused = _ship(target, admin, order_id)
    assert refused.status_code == 503 and "Retry-After" in refused.headers, refused.text
    assert _upload_status(target.app, order_id) is None and stub.received_on(UPLOAD) == []

    target.redis.restart_empty()
    shipped = _ship(target, admin, order_id)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["shipping_upload"]["status"] == "uploaded"
    assert len(stub.received_on(DELIVERY_LIST)) == 1 and len(stub.received_on(UPLOAD)) == 1


def test_a_carrier_list_lost_with_redis_is_fetched_again(target, stub, staff_token):
    admin = staff_token(Role.ADMIN)
    url = f"{target.base_url}/api/v1/admin/shipping/carriers"
    first = requests.get(url, headers=admin, timeout=10).json()
    assert requests.get(url, headers=admin, timeout=10).json() == first
    assert len(stub.received_on(DELIVERY_LIST)) == 1
    target.redis.restart_empty()
    assert requests.get(url, headers=admin, timeout=10).json() == first
    assert len(stub.received_on(DELIVERY_LIST)) == 2


def test_an_upload_whose_queued_job_was_lost_in_a_redis_restart_is_sent_by_the_sweep(queued_target, stub, shop,
                                                                                   staff_token, live_server):
    target = queued_target
    order_id, admin = _paid_delivery(target, stub, shop), staff_token(Role.ADMIN)
    target.extra["run_worker"]()  # whatever the payment queued
    shipped = _ship(target, admin, order_id)
    assert shipped.status_code == 200 and shipped.json()["shipping_upload"]["status"] == "pending"

    target.redis.restart_empty()  # the queued upload is gone
    target.extra["run_worker"]()
    assert stub.received_on(UPLOAD) == [] and _upload_status(target.app, order_id) == "pending"

    assert sweep(target.app, utcnow())["dispatched"] >= 1
    target.extra["run_worker"]()
    assert len(stub.received_on(UPLOAD)) == 1 and _upload_status(target.app, order_id) == "uploaded"
