"""percent_off: ``percent``% off the covered items, at most ``max_off`` fen ("10% off up to ¥8").

Rounded up to the fen, in the shopper's favour: 15% of 333 fen is 50 fen off, not 49.
At the counter: yes (a till takes a percent off a receipt), but what it took off is the till's to know.
"""

from coupons.kinds.kind import Kind, Offer, count_field, fen_field
from coupons.kinds.lines import priced_on_total, yuan


def discount_on_total(offer: Offer, covered: int) -> int:
    off = -(-covered * offer.percent // 100)  # ceiling: rounded up, for the shopper
    if offer.max_off is not None:
        off = min(off, offer.max_off)
    return min(off, covered)


def describe(offer: Offer) -> str:
    spend = f" on {yuan(offer.min_spend)} or more" if offer.min_spend else ""
    cap = f" up to {yuan(offer.max_off)}" if offer.max_off else ""
    return f"{offer.percent}% off{cap}{spend}"


KIND = Kind(name="percent_off", summary="`percent`% off the covered items, at most `max_off` fen",
            fields={"percent": count_field("Percent off, 1-99.", most=99),
                    "max_off": fen_field("The most fen it takes off.")},
            discount=priced_on_total(discount_on_total), discount_on_total=discount_on_total, describe=describe,
            redeemable_without_items=True)
