"""nth_item_percent: every ``nth`` covered unit is ``percent``% off, the cheapest units being the
discounted ones ("Second item half price": ``{nth: 2, percent: 50}``, repeated per pair: of 4 units
the 2 cheapest are half price). Each line's share is rounded up to the fen, their sum at most a fen
above the exact discount: in the shopper's favour.

At the counter: no. Which units it discounts, and how many, depends on the items bought, which a
clerk's redemption (a code, no basket) does not see: online only.
"""

from collections.abc import Sequence
from fractions import Fraction

from coupons.kinds.kind import Kind, Offer, count_field
from coupons.kinds.lines import CoveredLine, Shares, cheapest_units, rounded_up, units, yuan

ORDINALS = {2: "Second", 3: "Third", 4: "Fourth", 5: "Fifth", 6: "Sixth", 7: "Seventh", 8: "Eighth", 9: "Ninth",
            10: "Tenth"}


def discount(offer: Offer, lines: Sequence[CoveredLine]) -> Shares:
    discounted = cheapest_units(lines, units(lines) // offer.nth)
    return rounded_up([Fraction(count * line.unit_price * offer.percent, 100)
                       for count, line in zip(discounted, lines, strict=True)])


def describe(offer: Offer) -> str:
    which = ORDINALS.get(offer.nth, f"Every {offer.nth}th")
    what = {50: "half price", 100: "free"}.get(offer.percent, f"{offer.percent}% off")
    spend = f" on {yuan(offer.min_spend)} or more" if offer.min_spend else ""
    return f"{which} item {what}{spend}"


KIND = Kind(name="nth_item_percent",
            summary="every `nth` covered unit `percent`% off, the cheapest units first (second cup half price)",
            fields={"nth": count_field("Every nth unit is discounted, 2-100.", least=2),
                    "percent": count_field("Percent off each discounted unit, 1-100.")},
            discount=discount, describe=describe, redeemable_without_items=False)
