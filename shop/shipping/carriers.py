"""WeChat's carriers (get_delivery_list), kept in Redis for a day.

Only a cache: Redis empty, unreachable or holding something unreadable means asking WeChat again.
"""

from __future__ import annotations

import json
import logging

from flask import current_app

from shop.errors import AppError
from shop.extensions import redis_client
from shop.redis_connections import REDIS_ERRORS
from shop.shipping.errors import ShippingError
from shop.wechat.shipping import shipping_gateway

log = logging.getLogger(__name__)
CACHE_KEY = "shipping:delivery_list"


def delivery_list() -> list[dict[str, str]]:
    """WeChat's carriers, from the cache or from WeChat (503 ``wechat_unavailable`` when neither can say)."""
    cached = _cached()
    if cached:
        return cached
    carriers = shipping_gateway().delivery_list()
    if carriers:
        _keep(carriers)
    return carriers


def require_carrier(code: str) -> None:
    """422 ``shipping_carrier_unknown`` unless ``code`` is one of WeChat's carriers."""
    if code not in {carrier["delivery_id"] for carrier in delivery_list()}:
        raise AppError(ShippingError.CARRIER_UNKNOWN, f"{code!r} is not a carrier code WeChat knows; see "
                       "GET /api/v1/admin/shipping/carriers.", errors={"carrier": ["Unknown carrier."]})


def _cached() -> list[dict[str, str]] | None:
    try:
        raw = redis_client().get(CACHE_KEY)
        return json.loads(raw) if raw else None
    except (*REDIS_ERRORS, ValueError) as error:
        log.info("carrier list not read from Redis (%s); asking WeChat", type(error).__name__)
        return None


def _keep(carriers: list[dict[str, str]]) -> None:
    try:
        redis_client().set(CACHE_KEY, json.dumps(carriers, ensure_ascii=False),
                           ex=current_app.config["SHIPPING_DELIVERY_LIST_CACHE_SECONDS"])
    except REDIS_ERRORS as error:
        log.info("carrier list not kept in Redis (%s)", type(error).__name__)
