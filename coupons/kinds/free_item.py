"""free_item: one covered unit free, up to ``max_off`` fen ("A free item up to ¥25"). A coupon in the
wallet, not to be confused with the exchange-code channel. The unit is the most expensive covered
one, which takes the most off (a shopper expects a ¥30 latte to cost ¥5 with a ¥25 free drink, not
the ¥20 americano beside it to be free); its line bears the discount.

At the counter: yes. The clerk hands over one covered item worth up to ``max_off`` (or takes that
much off a dearer one); what it took off is the till's to know (at most ``max_off``).
"""

from collections.abc import Sequence

from coupons.kinds.kind import Kind, Offer, fen_field
from coupons.kinds.lines import CoveredLine, Shares, yuan


def discount(offer: Offer, lines: Sequence[CoveredLine]) -> Shares:
    dearest = max(range(len(lines)), key=lambda i: (lines[i].unit_price, -i))
    return tuple(min(offer.max_off, line.unit_price) if i == dearest else 0 for i, line in enumerate(lines))


def describe(offer: Offer) -> str:
    spend = f" with {yuan(offer.min_spend)} or more" if offer.min_spend else ""
    return f"A free item up to {yuan(offer.max_off)}{spend}"


KIND = Kind(name="free_item", summary="one covered unit free (the dearest), up to `max_off` fen",
            fields={"max_off": fen_field("The most fen the free unit takes off.")},
            discount=discount, describe=describe, redeemable_without_items=True)
