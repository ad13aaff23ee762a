"""What a coupon kind is: its own fields (terms), its arithmetic over the covered lines, whether a
clerk can redeem it at the counter without the items, and its description for the shopper.

Each kind is one module of this package holding one ``Kind``; ``coupons.kinds`` registers them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from marshmallow import validate

from coupons.kinds.lines import CoveredLine, Shares
from shop.config import MAX_DISCOUNT_FEN

FEN = validate.Range(min=1, max=MAX_DISCOUNT_FEN)


def fen_field(description: str) -> ma.fields.Integer:
    """A required amount in fen, 1 fen to 1,000,000 yuan."""
    return ma.fields.Integer(strict=True, required=True, validate=FEN, metadata={"description": description})


def count_field(description: str, *, least: int = 1, most: int = 100) -> ma.fields.Integer:
    """A required count (of units) or percent."""
    return ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=least, max=most),
                             metadata={"description": description})


class Offer:
    """A batch's terms as arithmetic reads them: its kind, ``min_spend`` and the kind's own fields,
    which read as attributes (``offer.percent``); a term not given reads None, as its column would."""

    __slots__ = ("kind", "min_spend", "terms")

    def __init__(self, kind: str, min_spend: int = 0, **terms: int | None) -> None:
        self.kind, self.min_spend, self.terms = kind, min_spend or 0, dict(terms)

    def __getattr__(self, name: str) -> int | None:
        if name.startswith("_") or name in Offer.__slots__:  # protocols (copy, pickle), or not set yet
            raise AttributeError(name)
        return self.terms.get(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Offer) and (self.kind, self.min_spend, self.terms) == (
            other.kind, other.min_spend, other.terms)

    def __hash__(self) -> int:
        return hash((self.kind, self.min_spend, tuple(sorted(self.terms.items()))))

    def __repr__(self) -> str:
        terms = "".join(f", {name}={value!r}" for name, value in self.terms.items())
        return f"Offer(kind={self.kind!r}, min_spend={self.min_spend!r}{terms})"


def _no_more_checks(data: Mapping[str, Any]) -> dict[str, list[str]]:
    return {}


def _unknown_at_the_counter(offer: Offer) -> int | None:
    return None


@dataclass(frozen=True)
class Kind:
    name: str
    summary: str  # what it gives, naming its fields (the OpenAPI description of `kind`)
    fields: Mapping[str, ma.fields.Field]  # its own terms: columns of coupon_batches of the same names
    # Fen off each covered line, once the minimum spend is reached (never below 0 nor above a line's cost).
    discount: Callable[[Offer, Sequence[CoveredLine]], Shares]
    describe: Callable[[Offer], str]  # for the shopper: "Second item half price"
    # Whether a clerk can redeem it at the counter, where Ripple sees a code and no basket.
    redeemable_without_items: bool
    # What it takes off at the counter when that is known without the items (a fixed amount), for stats.
    counter_discount: Callable[[Offer], int | None] = _unknown_at_the_counter
    # Rules across its fields and the common ones (min_spend), beyond each field's own range.
    check: Callable[[Mapping[str, Any]], dict[str, list[str]]] = _no_more_checks
    # For a kind priced on the covered items' total alone: fen off that total (min spend reached).
    discount_on_total: Callable[[Offer, int], int] | None = field(default=None)
