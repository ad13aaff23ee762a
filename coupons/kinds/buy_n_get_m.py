"""buy_n_get_m: in every ``buy + get`` covered units the ``get`` cheapest are free ("Buy 2 get 1
free"). Counted over the whole basket, like nth_item_percent: of ``u`` units, ``u // (buy + get) * get``
are free, the cheapest ones (the merchant's usual reading of 买二送一, and the same rule as second
cup half price).

At the counter: no. How many units are free, and which, depends on the items bought: online only.
"""

from collections.abc import Sequence

from coupons.kinds.kind import Kind, Offer, count_field
from coupons.kinds.lines import CoveredLine, Shares, cheapest_units, units, yuan


def discount(offer: Offer, lines: Sequence[CoveredLine]) -> Shares:
    free = cheapest_units(lines, units(lines) // (offer.buy + offer.get) * offer.get)
    return tuple(count * line.unit_price for count, line in zip(free, lines, strict=True))


def describe(offer: Offer) -> str:
    spend = f" on {yuan(offer.min_spend)} or more" if offer.min_spend else ""
    return f"Buy {offer.buy} get {offer.get} free{spend}"


KIND = Kind(name="buy_n_get_m", summary="in every `buy` + `get` covered units the `get` cheapest are free",
            fields={"buy": count_field("Units bought, 1-100."), "get": count_field("Units free with them, 1-100.")},
            discount=discount, describe=describe, redeemable_without_items=False)
