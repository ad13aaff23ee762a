"""The stub checks shipping information as WeChat does, through the real client over HTTP."""

from __future__ import annotations

import copy

import pytest

from shop.wechat.shipping import ShippingRefused, shipping_gateway
from tests.orders.test_shipping import paid_delivery

UPLOAD_TIME = "2026-12-07T14:50:26.120+08:00"


@pytest.fixture
def valid(app, client, stub, shop, alice, live_server) -> dict:
    """A body WeChat takes: an express shipment of a paid order."""
    order = paid_delivery(client, stub, shop, alice)
    return {"order_key": {"order_number_type": 1, "mchid": app.config["WECHATPAY_MCHID"], "out_trade_no": order["number"]},
            "logistics_type": 1, "delivery_mode": 1,
            "shipping_list": [{"item_desc": "Latte", "tracking_no": "SF1", "express_company": "SF",
                               "contact": {"receiver_contact": "138****8000"}}],
            "upload_time": UPLOAD_TIME, "payer": {"openid": stub.openid_for("alice", app.config["WECHAT_APPID"])}}


def upload(app, body: dict) -> int:
    """WeChat's errcode for the body (0: accepted)."""
    with app.app_context():
        try:
            shipping_gateway().upload(body)
        except ShippingRefused as refused:
            return refused.errcode
    return 0


def changed(body: dict, path: str, value) -> dict:
    """The body with one field (a dotted path; list entries by index) set, or removed when value is ...."""
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return body


def test_a_payment_is_shipped_once_and_shipped_again_once_then_refused(app, stub, valid):
    assert upload(app, valid) == 0
    assert upload(app, changed(valid, "upload_time", "2026-12-07T15:00:00+08:00")) == 0  # the one re-ship
    assert upload(app, changed(valid, "upload_time", "2026-12-07T16:00:00+08:00")) == 10060003


def test_a_payment_named_by_its_transaction_id_is_found(app, stub, valid):
    number = valid["order_key"]["out_trade_no"]
    transaction_id = stub.pay.transaction(number).transaction_id
    assert upload(app, changed(valid, "order_key", {"order_number_type": 2, "transaction_id": transaction_id})) == 0
    assert upload(app, changed(valid, "order_key", {"order_number_type": 2, "transaction_id": "4200000000"})) == 10060001


@pytest.mark.parametrize("path, value, errcode", [
    ("order_key.out_trade_no", "NO-SUCH-ORDER", 10060001),
    ("order_key.mchid", "1900000000", 10060001),
    ("order_key.order_number_type", 3, 47003),
    ("logistics_type", 5, 47003),
    ("delivery_mode", 3, 47003),
    ("shipping_list", [], 47003),
    ("shipping_list.0.item_desc", "x" * 121, 47003),
    ("shipping_list.0.item_desc", "", 47003),
    ("shipping_list.0.tracking_no", ..., 47003),
    ("shipping_list.0.express_company", "ACME", 47003),
    ("shipping_list.0.contact", ..., 47003),
    ("shipping_list.0.contact", {"receiver_contact": "13800138000"}, 47003),
    ("upload_time", "2026-12-07 14:50:26", 268485216),
    ("upload_time", "2026-12-07T14:50:26", 268485216),
    ("payer.openid", "o-someone-else", 47003),
])
def test_a_body_wechat_would_refuse_is_refused_with_its_code(app, stub, valid, path, value, errcode):
    assert upload(app, changed(valid, path, value)) == errcode
    assert stub.shipping.snapshot() == {}


def test_unified_delivery_has_exactly_one_entry_and_item_desc_may_be_120_characters(app, stub, valid):
    entry = valid["shipping_list"][0]
    assert upload(app, changed(valid, "shipping_list", [entry, entry])) == 47003
    assert upload(app, changed(valid, "shipping_list.0.item_desc", "x" * 120)) == 0


def test_a_self_pickup_needs_only_its_item_description(app, stub, valid):
    assert upload(app, changed(valid, "logistics_type", 4) | {"shipping_list": [{"item_desc": "Latte"}]}) == 0


def test_an_upload_with_an_expired_token_fetches_a_new_one(app, stub, valid):
    assert upload(app, valid) == 0  # a token is kept now
    stub.expire_tokens()
    assert upload(app, changed(valid, "upload_time", "2026-12-07T15:00:00+08:00")) == 0
