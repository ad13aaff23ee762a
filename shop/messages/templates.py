"""The templates Ripple sends: one per purpose, its keywords and their kinds, and where it opens.

The template id of each purpose is a setting (``MESSAGE_TEMPLATE_*``): the brand picks, in the
mini-program's admin console, a template of WeChat's library with these keywords. The development
profile has ids of its own, which the stub knows, so the demo sends end to end. In production an id
left at its development default is no template at all: that purpose is not offered and sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shop.config import PRODUCTION, test_doubles_acknowledged


class Purpose(StrEnum):
    ORDER_READY = "order_ready_for_pickup"
    ORDER_SHIPPED = "order_shipped"
    REFUND_COMPLETED = "refund_completed"
    COUPON_EXPIRING = "coupon_expiring"
    REWARD_RELEASED = "reward_released"
    WITHDRAWAL_PAID = "withdrawal_paid"


@dataclass(frozen=True)
class Layout:
    """What a purpose's template looks like: its setting, development id, keywords (name -> kind) and page."""

    purpose: Purpose
    setting: str
    dev_template_id: str
    keywords: Mapping[str, str]
    page: str  # a mini-program page; ``{subject_id}`` is replaced by the message's subject


LAYOUTS: dict[Purpose, Layout] = {layout.purpose: layout for layout in (
    Layout(Purpose.ORDER_READY, "MESSAGE_TEMPLATE_ORDER_READY", "ripple-dev-order-ready",
           {"character_string1": "character_string",  # order number
            "thing2": "thing",  # store
            "character_string3": "character_string",  # pickup code
            "phrase4": "phrase",  # status
            "time5": "time"},  # ready at
           "pages/orders/detail?id={subject_id}"),
    Layout(Purpose.ORDER_SHIPPED, "MESSAGE_TEMPLATE_ORDER_SHIPPED", "ripple-dev-order-shipped",
           {"character_string1": "character_string",  # order number
            "thing2": "thing",  # carrier
            "character_string3": "character_string",  # tracking number
            "time4": "time"},  # shipped at
           "pages/orders/detail?id={subject_id}"),
    Layout(Purpose.REFUND_COMPLETED, "MESSAGE_TEMPLATE_REFUND_COMPLETED", "ripple-dev-refund-completed",
           {"character_string1": "character_string",  # order number
            "amount2": "amount",  # refunded
            "time3": "time",  # refunded at
            "thing4": "thing"},  # note
           "pages/orders/list"),
    Layout(Purpose.COUPON_EXPIRING, "MESSAGE_TEMPLATE_COUPON_EXPIRING", "ripple-dev-coupon-expiring",
           {"thing1": "thing",  # coupon
            "time2": "time",  # expires at
            "thing3": "thing"},  # note
           "pages/coupons/index"),
    Layout(Purpose.REWARD_RELEASED, "MESSAGE_TEMPLATE_REWARD_RELEASED", "ripple-dev-reward-released",
           {"thing1": "thing",  # what was released: commission or points
            "time2": "time",  # released at
            "thing3": "thing"},  # note
           "pages/rewards/index"),
    Layout(Purpose.WITHDRAWAL_PAID, "MESSAGE_TEMPLATE_WITHDRAWAL_PAID", "ripple-dev-withdrawal-paid",
           {"amount1": "amount",  # paid
            "time2": "time",  # paid at
            "thing3": "thing"},  # note
           "pages/withdrawals/index"),
)}


@dataclass(frozen=True)
class Template:
    """A template this deployment sends."""

    template_id: str
    layout: Layout

    @property
    def purpose(self) -> Purpose:
        return self.layout.purpose


def configured_templates(config: Mapping[str, Any]) -> list[Template]:
    """The templates this deployment sends, in the order of ``LAYOUTS``."""
    return [Template(config[layout.setting], layout) for layout in LAYOUTS.values() if _configured(config, layout)]


def _configured(config: Mapping[str, Any], layout: Layout) -> bool:
    template_id = config.get(layout.setting)
    if not template_id:
        return False
    in_production = config.get("RIPPLE_ENV") == PRODUCTION and not test_doubles_acknowledged(config)
    return not (in_production and template_id == layout.dev_template_id)


def template_for(config: Mapping[str, Any], purpose: Purpose) -> Template | None:
    """The template of a purpose, or None when this deployment sends none for it."""
    return next((t for t in configured_templates(config) if t.purpose == purpose), None)
