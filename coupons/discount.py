"""What a coupon takes off: the arithmetic of each kind, on the items it covers (all in fen).

- ``amount_off``: ``amount_off`` off once the covered items reach ``min_spend``;
- ``percent_off``: ``percent``% of the covered items, at most ``max_off``, rounded up to the fen
  (in the shopper's favour: 15% of 333 fen is 50 fen off, not 49);
- ``threshold``: spend ``min_spend`` on the covered items, save ``amount_off``.

``min_spend`` is measured on the covered items only, and a discount never exceeds what they cost,
so the amount to pay never goes below zero. Pure functions: property tests pin them down.
"""

from __future__ import annotations

from dataclasses import dataclass

from coupons.models import BatchKind


@dataclass(frozen=True)
class Offer:
    """A batch's terms, as the arithmetic needs them."""

    kind: str
    amount_off: int | None = None
    percent: int | None = None
    max_off: int | None = None
    min_spend: int = 0


def reaches_min_spend(offer: Offer, scoped_total: int) -> bool:
    """Whether the covered items cost enough for the coupon to apply (and cost anything at all)."""
    return scoped_total > 0 and scoped_total >= (offer.min_spend or 0)


def discount_fen(offer: Offer, scoped_total: int) -> int:
    """Fen off ``scoped_total`` (what the covered items cost); 0 below the minimum spend."""
    if not reaches_min_spend(offer, scoped_total):
        return 0
    if offer.kind == BatchKind.PERCENT_OFF:
        off = -(-scoped_total * (offer.percent or 0) // 100)  # ceiling: rounded up, for the shopper
        if offer.max_off is not None:
            off = min(off, offer.max_off)
    else:  # amount_off and threshold take a fixed amount once the spend is reached
        off = offer.amount_off or 0
    return max(0, min(off, scoped_total))
