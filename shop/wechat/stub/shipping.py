"""Shipping information (发货信息管理): upload_shipping_info and get_delivery_list, as WeChat answers them.

An upload is checked as WeChat checks it (the order key, the modes, one entry in unified mode, the
item description, the carrier and tracking number of an express shipment, a masked contact where
the carrier wants one, an RFC 3339 upload time, the payer) against the stub's WeChat Pay: a payment
it does not know, or one not paid, is 10060001; fully refunded, 10060004. The first upload ships the
payment; WeChat allows one more (a re-ship, or a changed mode); after that 10060003.

Controls under /stub/shipping/: ``POST faults {errcode, times, endpoint?}`` makes the next uploads
(or delivery-list calls) answer ``errcode`` (-1 busy, 10060001 right after payment, ...);
``DELETE faults`` clears them; ``GET uploads`` lists what each payment was sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, request

from .pay import PayError
from .protocol import ErrCode, WeChatError, current_stub, json_body, requires_token

bp = Blueprint("wechat_stub_shipping", __name__)

# A part of WeChat's list (get_delivery_list answers some 1,500 carriers).
DELIVERY_LIST = (
    ("SF", "顺丰速运"), ("YTO", "圆通速递"), ("ZTO", "中通快递"), ("STO", "申通快递"), ("YD", "韵达速递"),
    ("JTSD", "极兔速递"), ("EMS", "中国邮政速递物流"), ("JD", "京东物流"), ("DBL", "德邦快递"),
)
CONTACT_REQUIRED = {"SF"}  # carriers whose shipments must name a (masked) contact
LOGISTICS_TYPES = {1, 2, 3, 4}  # express, same-city, virtual, self-pickup
MAX_ITEM_DESC = 120
MAX_TRACKING_NO = 128
MAX_SPLIT = 15
ENDPOINTS = ("upload", "delivery_list")


@dataclass
class Shipment:
    """What WeChat holds of one payment's shipping: every accepted upload, oldest first."""

    uploads: list[dict[str, Any]] = field(default_factory=list)


class ShippingState:
    """Shipments per payment (keyed by out_trade_no) and the faults to answer with."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shipments: dict[str, Shipment] = {}
        self._faults: dict[str, list[int]] = {name: [] for name in ENDPOINTS}

    def reset(self) -> None:
        with self._lock:
            self._shipments.clear()
            for queued in self._faults.values():
                queued.clear()

    def add_fault(self, endpoint: str, errcode: int, times: int) -> None:
        with self._lock:
            self._faults[endpoint].extend([errcode] * times)

    def clear_faults(self) -> None:
        with self._lock:
            for queued in self._faults.values():
                queued.clear()

    def take_fault(self, endpoint: str) -> int | None:
        with self._lock:
            queued = self._faults[endpoint]
            return queued.pop(0) if queued else None

    def ship(self, out_trade_no: str, body: dict[str, Any]) -> None:
        """Accept an upload: the first ships, a second is the one re-ship; then 10060003."""
        with self._lock:
            shipment = self._shipments.setdefault(out_trade_no, Shipment())
            if len(shipment.uploads) >= 2:
                raise WeChatError(ErrCode.RESHIP_USED)
            shipment.uploads.append(body)

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {key: list(s.uploads) for key, s in self._shipments.items()}


def shipping_state() -> ShippingState:
    """The shipping state of the stub serving this request."""
    return current_stub().shipping


def _fault_answer(endpoint: str) -> dict[str, Any] | None:
    errcode = shipping_state().take_fault(endpoint)
    if errcode is None:
        return None
    return {"errcode": errcode, "errmsg": {-1: "system error", 10060001: "支付单不存在"}.get(errcode, "injected")}


@bp.post("/cgi-bin/express/delivery/open_msg/get_delivery_list")
@requires_token
def get_delivery_list() -> dict:
    """WeChat's carriers and their codes (delivery_id), for express_company."""
    json_body()  # WeChat wants a JSON object, even an empty one
    if (fault := _fault_answer("delivery_list")) is not None:
        return fault
    items = [{"delivery_id": code, "delivery_name": name} for code, name in DELIVERY_LIST]
    return {"errcode": 0, "errmsg": "ok", "delivery_list": items, "count": len(items)}


@bp.post("/wxa/sec/order/upload_shipping_info")
@requires_token
def upload_shipping_info() -> dict:
    """Record the shipping information of one payment."""
    body = json_body()
    if (fault := _fault_answer("upload")) is not None:
        return fault
    logistics_type = _check_modes(body)
    for entry in body["shipping_list"]:
        _check_entry(entry, logistics_type)
    _check_upload_time(body.get("upload_time"))
    out_trade_no = _paid_payment(body.get("order_key"), body.get("payer"))
    shipping_state().ship(out_trade_no, body)
    return {"errcode": 0, "errmsg": "ok"}


def _invalid(detail: str) -> WeChatError:
    return WeChatError(ErrCode.ARGUMENT_INVALID, detail)


def _check_modes(body: dict[str, Any]) -> int:
    logistics_type, mode, shipping = body.get("logistics_type"), body.get("delivery_mode"), body.get("shipping_list")
    if logistics_type not in LOGISTICS_TYPES or isinstance(logistics_type, bool):
        raise _invalid("logistics_type")
    if mode not in (1, 2) or isinstance(mode, bool):
        raise _invalid("delivery_mode")
    if not isinstance(shipping, list) or not shipping:
        raise _invalid("shipping_list")
    if mode == 1 and len(shipping) != 1:
        raise _invalid("shipping_list: unified delivery has exactly one entry")
    if mode == 2 and (logistics_type != 1 or len(shipping) > MAX_SPLIT or "is_all_delivered" not in body):
        raise _invalid("split delivery: express only, at most 15 parcels, is_all_delivered")
    return logistics_type


def _check_entry(entry: Any, logistics_type: int) -> None:
    if not isinstance(entry, dict):
        raise _invalid("shipping_list")
    desc = entry.get("item_desc")
    if not isinstance(desc, str) or not desc or len(desc) > MAX_ITEM_DESC:
        raise _invalid("item_desc")
    if logistics_type != 1:
        return
    tracking, company = entry.get("tracking_no"), entry.get("express_company")
    if not isinstance(tracking, str) or not tracking or len(tracking) > MAX_TRACKING_NO:
        raise _invalid("tracking_no")
    if company not in {code for code, _ in DELIVERY_LIST}:
        raise _invalid("express_company")
    if company in CONTACT_REQUIRED:
        contact = entry.get("contact")
        receiver = contact.get("receiver_contact") if isinstance(contact, dict) else None
        if not isinstance(receiver, str) or "*" not in receiver or not receiver[-4:].isdigit():
            raise _invalid("contact.receiver_contact: masked, with its last four digits")


def _check_upload_time(value: Any) -> None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and "T" in value else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise WeChatError(ErrCode.UPLOAD_TIME_INVALID)


def _paid_payment(order_key: Any, payer: Any) -> str:
    """The out_trade_no of the paid payment the order key names; 10060001 / 10060004 otherwise."""
    pay = current_stub().pay
    if not isinstance(order_key, dict) or order_key.get("order_number_type") not in (1, 2):
        raise _invalid("order_key")
    if not isinstance(payer, dict) or not payer.get("openid"):
        raise _invalid("payer.openid")
    if pay is None:
        raise WeChatError(ErrCode.PAYMENT_NOT_FOUND)
    try:
        if order_key["order_number_type"] == 1:
            if order_key.get("mchid") != pay.config.mchid or not order_key.get("out_trade_no"):
                raise WeChatError(ErrCode.PAYMENT_NOT_FOUND)
            transaction = pay.transaction(str(order_key["out_trade_no"]))
        else:
            transaction = pay.transaction(transaction_id=str(order_key.get("transaction_id") or "-"))
    except PayError:
        raise WeChatError(ErrCode.PAYMENT_NOT_FOUND) from None
    if transaction.transaction_id is None or transaction.state not in ("SUCCESS", "REFUND"):
        raise WeChatError(ErrCode.PAYMENT_NOT_FOUND)
    if transaction.refunded >= transaction.total:
        raise WeChatError(ErrCode.NOT_SHIPPABLE)
    if payer["openid"] != transaction.openid:
        raise _invalid("payer.openid is not the payment's payer")
    return transaction.out_trade_no


# -- controls ----------------------------------------------------------------

control_bp = Blueprint("wechat_stub_shipping_control", __name__, url_prefix="/stub/shipping")


@control_bp.post("/faults")
def add_faults() -> tuple[dict, int] | dict:
    """The next ``times`` calls of ``endpoint`` (upload, delivery_list) answer ``errcode``."""
    body = request.get_json(silent=True) or {}
    endpoint, errcode, times = body.get("endpoint", "upload"), body.get("errcode"), body.get("times", 1)
    if endpoint not in ENDPOINTS or not isinstance(errcode, int) or not isinstance(times, int) or times < 1:
        return {"error": "errcode (int), times (>= 1) and endpoint (upload|delivery_list)"}, 400
    shipping_state().add_fault(endpoint, errcode, times)
    return {"ok": True}


@control_bp.delete("/faults")
def clear_faults() -> dict:
    shipping_state().clear_faults()
    return {"ok": True}


@control_bp.get("/uploads")
def uploads() -> dict:
    """Every accepted upload, by out_trade_no."""
    return {"uploads": shipping_state().snapshot()}

