"""unit_price: every covered unit at ``unit_price`` fen, never more than its own price ("Any item
¥9.90"); a unit already cheaper keeps its price.

At the counter: no. What it takes off depends on which covered items are bought and how many: online only.
"""

from collections.abc import Sequence

from coupons.kinds.kind import Kind, Offer, fen_field
from coupons.kinds.lines import CoveredLine, Shares, yuan


def discount(offer: Offer, lines: Sequence[CoveredLine]) -> Shares:
    return tuple(max(0, line.unit_price - offer.unit_price) * line.quantity for line in lines)


def describe(offer: Offer) -> str:
    spend = f" on {yuan(offer.min_spend)} or more" if offer.min_spend else ""
    return f"Any item {yuan(offer.unit_price)}{spend}"


KIND = Kind(name="unit_price", summary="every covered unit at `unit_price` fen (never more than its price)",
            fields={"unit_price": fen_field("Fen each covered unit costs.")},
            discount=discount, describe=describe, redeemable_without_items=False)
