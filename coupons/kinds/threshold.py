"""threshold: spend ``min_spend`` on the covered items, save ``amount_off`` ("Spend ¥50 save ¥10").

At the counter: yes (the clerk sees the receipt reach the spend), and what it took off is known.
"""

from collections.abc import Mapping
from typing import Any

from coupons.kinds.kind import Kind, Offer, fen_field
from coupons.kinds.lines import priced_on_total, yuan


def discount_on_total(offer: Offer, covered: int) -> int:
    return min(offer.amount_off, covered)


def describe(offer: Offer) -> str:
    return f"Spend {yuan(offer.min_spend)} save {yuan(offer.amount_off)}"


def check(data: Mapping[str, Any]) -> dict[str, list[str]]:
    min_spend, amount_off = data.get("min_spend") or 0, data.get("amount_off")
    if min_spend <= 0:
        return {"min_spend": ["A threshold coupon needs the spend it applies from (fen, above 0)."]}
    if isinstance(amount_off, int) and amount_off > min_spend:
        return {"amount_off": ["A threshold coupon cannot save more than the spend it needs."]}
    return {}


KIND = Kind(name="threshold", summary="spend `min_spend` on the covered items, save `amount_off` fen",
            fields={"amount_off": fen_field("Fen saved once min_spend is reached (at most min_spend).")},
            discount=priced_on_total(discount_on_total), discount_on_total=discount_on_total, describe=describe,
            redeemable_without_items=True, counter_discount=lambda offer: offer.amount_off, check=check)
