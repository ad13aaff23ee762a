"""WeChat is told when an order's goods leave (发货信息管理): at the counter's hand-over and at the admin's
ship action, through the outbox, retried while WeChat can still take it, failed when it never will."""

from __future__ import annotations

import functools
import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from shop import events, pricing
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db, redis_client
from shop.outbox.models import OutboxEntry
from shop.shipping.carriers import CACHE_KEY
from tests.orders.conftest import at_once, pickup_basket, place, prepay_id_of, stub_pay
from tests.outbox.conftest import sweep

UPLOAD = "wxa/sec/order/upload_shipping_info"
DELIVERY_LIST = "cgi-bin/express/delivery/open_msg/get_delivery_list"
ADDRESS = {"name": "Li Lei", "phone": "13800138000", "region": "Shanghai Huangpu", "detail": "1 Nanjing Rd"}


@pytest.fixture
def admin(staff_token) -> dict:
    return staff_token(Role.ADMIN)


def uploads(stub) -> list[dict]:
    return [entry["json"] for entry in stub.received_on(UPLOAD)]


def wechat_answers_next_uploads(stub, errcode: int, times: int = 1) -> None:
    response = requests.post(f"{stub.url}stub/shipping/faults", json={"errcode": errcode, "times": times}, timeout=5)
    assert response.ok, response.text


def paid_delivery(client, stub, shop, headers) -> dict:
    placed = place(client, headers, {"items": [{"sku_id": shop.latte, "quantity": 2}, {"sku_id": shop.croissant,
                                                                                       "quantity": 1}],
                                     "fulfilment": "delivery", "address": ADDRESS}).get_json()
    stub_pay(stub, prepay_id_of(placed))
    return placed["order"]


def ship(client, order_id: int, headers, **body):
    return client.post(f"/api/v1/admin/orders/{order_id}/ship", json=body, headers=headers)


def shipped_by_sf(client, order_id: int, admin) -> dict:
    response = ship(client, order_id, admin, carrier="SF", tracking_no="SF1234567890")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def admin_view(client, admin, order_id: int) -> dict:
    listed = client.get("/api/v1/admin/orders?page_size=100", headers=admin).get_json()["items"]
    return next(order for order in listed if order["id"] == order_id)


def outbox_status(app, order_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(OutboxEntry.status).where(OutboxEntry.dedupe_key == f"shipping:{order_id}"))


def test_handing_a_pickup_order_over_tells_wechat_it_was_picked_up(app, client, stub, shop, alice, clerk, admin,
                                                                   live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    order = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()
    assert uploads(stub) == []  # paid is not handed over
    response = client.post("/api/v1/staff/pickups", json={"pickup_code": order["pickup_code"], "confirm": True},
                           headers=clerk)
    assert response.status_code == 201
    (body,) = uploads(stub)
    assert body["order_key"] == {"order_number_type": 1, "mchid": app.config["WECHATPAY_MCHID"],
                                 "out_trade_no": order["number"]}
    assert body["logistics_type"] == 4 and body["delivery_mode"] == 1
    assert body["shipping_list"] == [{"item_desc": "Latte (M) ×2, Croissant"}]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00", body["upload_time"])
    assert body["payer"] == {"openid": stub.openid_for("alice", app.config["WECHAT_APPID"])}
    shipping = admin_view(client, admin, order["id"])["shipping_upload"]
    assert shipping["status"] == "uploaded" and shipping["logistics_type"] == 4 and shipping["error_code"] is None
    assert "shipping_upload" not in client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()


def test_an_express_shipment_tells_wechat_its_carrier_tracking_number_and_masked_contact(
        app, client, stub, shop, alice, admin, live_server):
    order = paid_delivery(client, stub, shop, alice)
    heard = []

    def on_shipped(sender, **kwargs):
        heard.append(kwargs)

    events.order_shipped.connect(on_shipped)
    try:
        shipped = shipped_by_sf(client, order["id"], admin)
    finally:
        events.order_shipped.disconnect(on_shipped)
    assert [(h["order_id"], h["carrier"], h["tracking_no"]) for h in heard] == [(order["id"], "SF", "SF1234567890")]
    (body,) = uploads(stub)
    assert body["logistics_type"] == 1
    assert body["shipping_list"] == [{"item_desc": "Latte (M) ×2, Croissant", "tracking_no": "SF1234567890",
                                      "express_company": "SF", "contact": {"receiver_contact": "138****8000"}}]
    assert shipped["status"] == "shipped"
    assert shipped["shipping_upload"] | {"updated_at": None, "uploaded_at": None} == {
        "logistics_type": 1, "carrier": "SF", "tracking_no": "SF1234567890", "status": "uploaded", "attempts": 1,
        "error_code": None, "error_message": None, "updated_at": None, "uploaded_at": None}


def test_a_carrier_that_wants_no_contact_gets_none(client, stub, shop, alice, admin, live_server):
    order = paid_delivery(client, stub, shop, alice)
    assert ship(client, order["id"], admin, carrier="YTO", tracking_no="YT3750696145732").status_code == 200
    assert "contact" not in uploads(stub)[0]["shipping_list"][0]


def test_same_city_delivery_needs_no_carrier_nor_tracking_number(client, stub, shop, alice, admin, live_server):
    order = paid_delivery(client, stub, shop, alice)
    shipped = ship(client, order["id"], admin, logistics_type=2)
    assert shipped.status_code == 200 and shipped.get_json()["shipping_upload"]["status"] == "uploaded"
    (body,) = uploads(stub)
    assert body["logistics_type"] == 2 and body["shipping_list"] == [{"item_desc": "Latte (M) ×2, Croissant"}]


@pytest.mark.parametrize("body, missing", [
    ({}, {"carrier", "tracking_no"}),
    ({"carrier": "SF"}, {"tracking_no"}),
    ({"logistics_type": 1, "tracking_no": "SF1"}, {"carrier"}),
])
def test_an_express_shipment_without_its_carrier_or_tracking_number_is_refused(
        client, stub, shop, alice, admin, live_server, body, missing):
    order = paid_delivery(client, stub, shop, alice)
    refused = ship(client, order["id"], admin, **body)
    assert refused.status_code == 422 and refused.get_json()["code"] == "shipping_details_required"
    assert set(refused.get_json()["errors"]) == missing
    assert admin_view(client, admin, order["id"])["status"] == "paid"
    assert admin_view(client, admin, order["id"])["shipping_upload"] is None and uploads(stub) == []


@pytest.mark.parametrize("body", [{"logistics_type": 4}, {"logistics_type": 3}, {"logistics_type": "1"},
                                  {"carrier": "SF", "tracking_no": "x" * 129}, {"surprise": 1}])
def test_a_ship_body_that_is_not_a_shipment_is_422(client, stub, shop, alice, admin, live_server, body):
    order = paid_delivery(client, stub, shop, alice)
    assert ship(client, order["id"], admin, **body).status_code == 422
    assert admin_view(client, admin, order["id"])["status"] == "paid" and uploads(stub) == []


def test_a_carrier_not_in_wechats_list_is_refused(app, client, stub, shop, alice, admin, live_server):
    order = paid_delivery(client, stub, shop, alice)
    refused = ship(client, order["id"], admin, carrier="ACME", tracking_no="A1")
    assert refused.status_code == 422 and refused.get_json()["code"] == "shipping_carrier_unknown"
    assert admin_view(client, admin, order["id"])["status"] == "paid" and uploads(stub) == []


def test_wechats_carriers_are_cached_and_fetched_again_when_redis_forgot_them(app, client, stub, admin):
    with app.app_context():
        redis_client().delete(CACHE_KEY)
    first = client.get("/api/v1/admin/shipping/carriers", headers=admin)
    assert first.status_code == 200 and {"delivery_id": "SF", "delivery_name": "顺丰速运"} in first.get_json()
    assert client.get("/api/v1/admin/shipping/carriers", headers=admin).get_json() == first.get_json()
    assert len(stub.received_on(DELIVERY_LIST)) == 1
    with app.app_context():
        redis_client().delete(CACHE_KEY)  # Redis came back empty
    assert client.get("/api/v1/admin/shipping/carriers", headers=admin).get_json() == first.get_json()
    assert len(stub.received_on(DELIVERY_LIST)) == 2


def test_carriers_unknown_to_wechat_unreachable_is_503(app, client, stub, admin):
    with app.app_context():
        redis_client().delete(CACHE_KEY)
    requests.post(f"{stub.url}stub/shipping/faults", json={"errcode": -1, "endpoint": "delivery_list"}, timeout=5)
    response = client.get("/api/v1/admin/shipping/carriers", headers=admin)
    assert response.status_code == 503 and response.get_json()["code"] == "wechat_unavailable"


@pytest.mark.parametrize("errcode", [10060001, -1])
def test_an_upload_wechat_cannot_take_yet_is_retried_until_it_can(app, client, stub, shop, alice, admin, live_server,
                                                                  errcode):
    order = paid_delivery(client, stub, shop, alice)
    wechat_answers_next_uploads(stub, errcode, times=2)
    shipped = shipped_by_sf(client, order["id"], admin)
    assert shipped["status"] == "shipped"
    assert shipped["shipping_upload"]["status"] == "pending" and shipped["shipping_upload"]["error_code"] == errcode
    assert outbox_status(app, order["id"]) == "pending"
    sweep(app, utcnow())  # not due yet: the backoff holds it
    assert len(uploads(stub)) == 1
    sweep(app, utcnow() + timedelta(seconds=10))
    assert admin_view(client, admin, order["id"])["shipping_upload"]["attempts"] == 2
    sweep(app, utcnow() + timedelta(minutes=1))
    shipping = admin_view(client, admin, order["id"])["shipping_upload"]
    assert shipping["status"] == "uploaded" and shipping["attempts"] == 3 and shipping["error_code"] is None
    assert len(uploads(stub)) == 3 and outbox_status(app, order["id"]) == "done"


@pytest.mark.parametrize("errcode", [10060003, 10060004])
def test_an_upload_wechat_will_never_take_is_failed_with_its_code_and_not_retried(
        app, client, stub, shop, alice, admin, live_server, errcode):
    order = paid_delivery(client, stub, shop, alice)
    wechat_answers_next_uploads(stub, errcode)
    shipping = shipped_by_sf(client, order["id"], admin)["shipping_upload"]
    assert shipping["status"] == "failed" and shipping["error_code"] == errcode and shipping["error_message"]
    assert outbox_status(app, order["id"]) == "failed"
    sweep(app, utcnow() + timedelta(hours=1))
    assert len(uploads(stub)) == 1


def test_the_shell_sends_a_failed_upload_again(app, client, stub, shop, alice, admin, live_server):
    order = paid_delivery(client, stub, shop, alice)
    wechat_answers_next_uploads(stub, 10060003)
    assert shipped_by_sf(client, order["id"], admin)["shipping_upload"]["status"] == "failed"
    result = app.test_cli_runner().invoke(args=["orders", "upload-shipping", "--order", str(order["id"])])
    assert result.exit_code == 0, result.output
    assert f"order {order['id']}: uploaded" in result.output
    assert len(uploads(stub)) == 2 and admin_view(client, admin, order["id"])["shipping_upload"]["status"] == "uploaded"


def test_the_shell_sends_every_pending_upload_now(app, client, stub, shop, alice, admin, live_server):
    order = paid_delivery(client, stub, shop, alice)
    wechat_answers_next_uploads(stub, -1)
    assert shipped_by_sf(client, order["id"], admin)["shipping_upload"]["status"] == "pending"
    result = app.test_cli_runner().invoke(args=["orders", "upload-shipping", "--pending"])
    assert result.exit_code == 0, result.output
    assert f"order {order['id']}: uploaded" in result.output and "1 sent" in result.output
    assert admin_view(client, admin, order["id"])["shipping_upload"]["status"] == "uploaded"


def test_the_shell_says_what_it_cannot_send(app, client, stub, shop, alice, live_server):
    order = paid_delivery(client, stub, shop, alice)  # paid, not shipped
    runner = app.test_cli_runner()
    assert runner.invoke(args=["orders", "upload-shipping"]).exit_code == 2
    result = runner.invoke(args=["orders", "upload-shipping", "--order", str(order["id"])])
    assert result.exit_code == 1 and "no shipping information" in result.output
    assert uploads(stub) == []


class EverythingFree:
    """Takes everything off: the order skips WeChat Pay."""

    name, priority = "test_free", 1

    def quote(self, request, remaining):
        return pricing.Discount("test_free", remaining, "All free"), {}

    def commit(self, request, discount, *, order_id):
        pass


def test_an_order_that_skipped_wechat_pay_uploads_nothing(app, client, stub, shop, alice, clerk, admin):
    pricing.register_discount_provider(EverythingFree())
    try:
        order = place(client, alice, pickup_basket(shop)).get_json()["order"]
    finally:
        pricing._providers[:] = [p for p in pricing._providers if p.name != "test_free"]
    handed = client.post("/api/v1/staff/pickups", json={"pickup_code": order["pickup_code"], "confirm": True},
                         headers=clerk)
    assert handed.status_code == 201
    assert uploads(stub) == [] and admin_view(client, admin, order["id"])["shipping_upload"] is None


def test_only_an_admin_ships_and_reads_the_carriers(client, stub, shop, alice, staff_token, login, live_server):
    order = paid_delivery(client, stub, shop, alice)
    for headers in (alice, staff_token(Role.STAFF, store_ids=[shop.store_id]), staff_token(Role.MARKETING)):
        assert ship(client, order["id"], headers, logistics_type=2).status_code == 403
        assert client.get("/api/v1/admin/shipping/carriers", headers=headers).status_code == 403
    assert ship(client, order["id"], {}, logistics_type=2).status_code == 401
    assert uploads(stub) == []


def test_an_uploaded_order_is_not_sent_again_by_the_shell(app, client, stub, shop, alice, admin, live_server):
    order = paid_delivery(client, stub, shop, alice)
    shipped_by_sf(client, order["id"], admin)
    result = app.test_cli_runner().invoke(args=["orders", "upload-shipping", "--order", str(order["id"])])
    assert result.exit_code == 0 and f"order {order['id']}: uploaded" in result.output
    assert len(uploads(stub)) == 1  # a second would spend the payment's one re-ship at WeChat


def test_two_clerks_handing_the_same_order_over_at_once_tell_wechat_once(app, client, stub, shop, alice,
                                                                        staff_token, live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    code = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()["pickup_code"]
    clerks = [staff_token(Role.STAFF, store_ids=[shop.store_id]) for _ in range(3)]
    answers = at_once(*(functools.partial(requests.post, f"{live_server}/api/v1/staff/pickups", headers=headers,
                                          json={"pickup_code": code, "confirm": True}, timeout=30)
                        for headers in clerks))
    assert sorted(a.status_code for a in answers) == [201, 409, 409]
    assert len(uploads(stub)) == 1
