"""amount_off: a fixed amount off the covered items ("¥5 off"), once they reach ``min_spend``.

At the counter: yes, and what it took off is known (its amount, or the receipt if less).
"""

from coupons.kinds.kind import Kind, Offer, fen_field
from coupons.kinds.lines import priced_on_total, yuan


def discount_on_total(offer: Offer, covered: int) -> int:
    return min(offer.amount_off, covered)


def describe(offer: Offer) -> str:
    spend = f" on {yuan(offer.min_spend)} or more" if offer.min_spend else ""
    return f"{yuan(offer.amount_off)} off{spend}"


KIND = Kind(name="amount_off", summary="`amount_off` fen off the covered items",
            fields={"amount_off": fen_field("Fen off.")},
            discount=priced_on_total(discount_on_total), discount_on_total=discount_on_total, describe=describe,
            redeemable_without_items=True, counter_discount=lambda offer: offer.amount_off)
