"""Shipping information (发货信息管理): what Ripple tells WeChat when goods leave, and WeChat's carriers.

Neither call is in wechatpy 1.8.18: both go through the mini-program client's generic ``post``, so
the access token is shared and refreshed as for every other call. An upload WeChat refuses raises
``ShippingRefused`` with WeChat's code and message and whether trying again can help: WeChat busy,
WeChat unreachable, and 10060001 "payment not found" (WeChat's own record of a payment lags its
notify by up to a minute) pass later; everything else (already shipped, re-ship used, a body WeChat
calls wrong) never will.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from wechatpy.exceptions import WeChatClientException

from shop.wechat.client import RippleWeChatClient
from shop.wechat.gateway import wechat, wechat_errors

log = logging.getLogger(__name__)

UPLOAD_PATH = "wxa/sec/order/upload_shipping_info"
DELIVERY_LIST_PATH = "express/delivery/open_msg/get_delivery_list"  # under cgi-bin/

SYSTEM_BUSY = -1
PAYMENT_NOT_FOUND = 10060001
ALREADY_SHIPPED = 10060002  # shipped, and the one re-ship WeChat allows is not what this is
RESHIP_USED = 10060003
NOT_SHIPPABLE = 10060004  # refunded, or otherwise closed at WeChat
# What passes by trying again later.
TRANSIENT = frozenset({SYSTEM_BUSY, PAYMENT_NOT_FOUND})
UNREACHABLE = 0  # our code for "no answer from WeChat at all"


class ShippingRefused(Exception):
    """WeChat did not take the shipping information."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat refused the shipping information ({errcode}): {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def retriable(self) -> bool:
        return self.errcode in TRANSIENT or self.errcode == UNREACHABLE


class ShippingGateway:
    """The two shipping calls, over the mini-program's client."""

    def __init__(self, client: RippleWeChatClient) -> None:
        self.client = client

    def upload(self, body: dict[str, Any]) -> None:
        """POST the shipping information of one payment (the body as WeChat documents it)."""
        try:
            self.client.post(UPLOAD_PATH, data=body, api_base_url=self.client.api_base)
        except WeChatClientException as exc:
            if exc.errcode is None:  # HTTP-level: WeChat down or overloaded
                raise ShippingRefused(UNREACHABLE, f"WeChat answered HTTP {exc.errmsg}") from exc
            raise ShippingRefused(int(exc.errcode), str(exc.errmsg or "")) from exc
        except requests.RequestException as exc:
            raise ShippingRefused(UNREACHABLE, f"WeChat cannot be reached: {type(exc).__name__}") from exc

    def delivery_list(self) -> list[dict[str, str]]:
        """WeChat's carriers: ``[{"delivery_id": "SF", "delivery_name": "顺丰速运"}, ...]``."""
        with wechat_errors("delivery_list"):
            data = self.client.post(DELIVERY_LIST_PATH, data={})
        return [{"delivery_id": str(item["delivery_id"]), "delivery_name": str(item.get("delivery_name", ""))}
                for item in (data.get("delivery_list") or []) if isinstance(item, dict) and item.get("delivery_id")]


def shipping_gateway() -> ShippingGateway:
    """The current app's shipping calls (on the mini-program's client and token)."""
    return ShippingGateway(wechat().miniprogram.client)
