"""The points deduction at checkout: a ``shop.pricing.DiscountProvider`` after coupons.

The shopper's choice is ``{"points": {"points": N}}``: up to N points, of which checkout uses what
the balance and ``POINTS_MAX_DEDUCTION_PERCENT`` of what is left to pay allow, trimmed to the fewest
points that buy the discount. The suggestion says what the shopper could use at most.
"""

from __future__ import annotations

from typing import Any

from shop.errors import AppError, CommonError
from shop.points.rules import rules
from shop.points.service import MAX_POINTS, points_offer, spend_for_order
from shop.pricing import Discount, PricingRequest


class PointsDiscountProvider:
    name = "points"
    priority = 100  # after coupons (50): points take off what the coupon left

    def quote(self, request: PricingRequest, remaining: int) -> tuple[Discount | None, dict[str, Any]]:
        offer = points_offer(member_id=request.member_id, remaining_fen=remaining)
        suggestion = {"balance": offer.balance, "max_usable": offer.max_usable,
                      "discount_for_max": offer.discount_for_max}
        requested = _requested(request)
        if not requested:
            return None, suggestion
        # The offer already read the balance: fit the request to it rather than read it again.
        points, fen = rules().fit(min(requested, offer.balance), remaining) if remaining > 0 else (0, 0)
        if fen <= 0:
            return None, suggestion
        return Discount(source=self.name, amount=fen, label=f"{points} points",
                        details={"points": points}), suggestion

    def commit(self, request: PricingRequest, discount: Discount, *, order_id: int) -> None:
        spend_for_order(member_id=request.member_id, order_id=order_id, points=discount.details["points"])


def _requested(request: PricingRequest) -> int:
    choice = (request.choices or {}).get("points") or {}
    requested = choice.get("points") if isinstance(choice, dict) else None
    if requested is None:
        return 0
    if isinstance(requested, bool) or not isinstance(requested, int) or not 0 <= requested <= MAX_POINTS:
        message = f"points must be a whole number from 0 to {MAX_POINTS}."
        raise AppError(CommonError.VALIDATION_ERROR, message, errors={"points": [message]})
    return requested
