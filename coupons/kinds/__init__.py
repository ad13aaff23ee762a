"""The coupon kinds, by name: what batches, checkout, redemption, stats and the API read.

A kind is one module of this package holding a ``Kind`` (coupons/kinds/kind.py), registered below;
its fields are columns of ``coupon_batches`` (a new field comes with its migration). Everything
else reads this registry: the batch schemas take their kind and term fields from it, checkout its
arithmetic, redemption whether a clerk can redeem it without the items, and the API its descriptions.

``min_spend`` is common to every kind and measured on the covered items only; below it a coupon
takes nothing off. Whatever a kind computes, no line loses more than it costs and none gains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import marshmallow as ma
from marshmallow.utils import get_value

from coupons.kinds import (
    amount_off,
    buy_n_get_m,
    free_item,
    nth_item_percent,
    percent_off,
    threshold,
    unit_price,
)
from coupons.kinds.kind import FEN, Kind, Offer
from coupons.kinds.lines import CoveredLine, Shares, covered_total
from coupons.models import BatchUsage, CouponBatch

__all__ = ["KINDS", "CoveredLine", "Kind", "Offer", "discount", "discount_fen", "kind_of", "register"]

KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    """Name a kind (again: replaces it). Its name must fit the kind column, its fields be batch columns."""
    if len(kind.name) > CouponBatch.__table__.c.kind.type.length:
        raise ValueError(f"kind {kind.name}: a longer name than coupon_batches.kind holds")
    missing = [name for name in kind.fields if name not in CouponBatch.__table__.c]
    if missing:
        raise ValueError(f"kind {kind.name}: no coupon_batches column for {', '.join(missing)} (add a migration)")
    KINDS[kind.name] = kind


for _module in (amount_off, percent_off, threshold, nth_item_percent, buy_n_get_m, free_item, unit_price):
    register(_module.KIND)


def kind_of(name: str) -> Kind:
    return KINDS[name]


def term_names() -> tuple[str, ...]:
    """Every kind's fields, once each (the batch columns holding terms)."""
    return tuple(dict.fromkeys(name for kind in KINDS.values() for name in kind.fields))


def fen_terms() -> tuple[str, ...]:
    """The terms that are amounts of money (fen), as opposed to counts and percents."""
    return tuple(name for name in term_names()
                 if any(getattr(kind.fields.get(name), "validators", None) and FEN in kind.fields[name].validators
                        for kind in KINDS.values()))


def offer_of(batch: Any) -> Offer:
    """A batch's terms (a row, a model or a dict with the batch's columns) as its kind reads them."""
    kind = kind_of(get_value(batch, "kind"))
    return Offer(kind.name, get_value(batch, "min_spend") or 0,
                 **{name: get_value(batch, name) for name in kind.fields})


def describe(batch: Any) -> str:
    """What the batch's coupons give, for the shopper ("Buy 2 get 1 free")."""
    offer = offer_of(batch)
    return kind_of(offer.kind).describe(offer)


def reaches_min_spend(offer: Offer, scoped_total: int) -> bool:
    """Whether the covered items cost enough for the coupon to apply (and cost anything at all)."""
    return scoped_total > 0 and scoped_total >= (offer.min_spend or 0)


def discount(offer: Offer, lines: Sequence[CoveredLine]) -> Shares:
    """Fen off each covered line: 0 everywhere below the minimum spend."""
    if not reaches_min_spend(offer, covered_total(lines)):
        return (0,) * len(lines)
    shares = kind_of(offer.kind).discount(offer, lines)
    return tuple(max(0, min(share, line.subtotal)) for share, line in zip(shares, lines, strict=True))


def discount_fen(offer: Offer, scoped_total: int) -> int:
    """Fen off covered items costing ``scoped_total`` together, for a kind priced on that total alone."""
    on_total = kind_of(offer.kind).discount_on_total
    if on_total is None:
        raise ValueError(f"kind {offer.kind} needs the covered lines, not only their total")
    if not reaches_min_spend(offer, scoped_total):
        return 0
    return max(0, min(on_total(offer, scoped_total), scoped_total))


def default_usage(kind_name: str | None) -> str:
    """Where a batch's coupons are spent when marketing does not say: in stores too, if a clerk can."""
    kind = KINDS.get(kind_name or "")
    return BatchUsage.ONLINE.value if kind is not None and not kind.redeemable_without_items else BatchUsage.BOTH.value


def term_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """What is wrong with a whole batch's kind terms: its fields present and in range, no other kind's
    fields, its own rules. A kind that needs the items may be used in stores too: a till sale with its
    items (shop.till) honours it, where a clerk's redemption of the code alone cannot."""
    kind = KINDS.get(data.get("kind") or "")
    if kind is None:
        return {}  # the kind field says so
    errors: dict[str, list[str]] = {}
    for name in term_names():
        value, own = data.get(name), kind.fields.get(name)
        if own is None:
            if value is not None:
                errors[name] = [f"Not used by kind {kind.name}; leave it out."]
        elif value is None:
            if own.required:
                errors[name] = [f"Required for kind {kind.name}."]
        else:
            try:
                own.deserialize(value)
            except ma.ValidationError as wrong:
                errors[name] = wrong.messages if isinstance(wrong.messages, list) else [str(wrong.messages)]
    if not errors:
        errors = kind.check(data)
    return errors


def known_kind(name: str) -> None:
    """Marshmallow validator: a registered kind."""
    if name not in KINDS:
        raise ma.ValidationError(f"Must be one of: {', '.join(KINDS)}.")


def kinds_description() -> str:
    """The kinds for the OpenAPI description of a batch's ``kind``."""
    return "; ".join(f"{kind.name}: {kind.summary}" + ("" if kind.redeemable_without_items else " (online, or in a store with a till sale's items)")
                     for kind in KINDS.values()) + "."


def term_fields(*, for_input: bool) -> dict[str, ma.fields.Field]:
    """The batch schema's term fields: whole numbers, each described by the kinds that use it; the
    kind's own range and rules are checked with the whole batch (``term_errors``)."""
    fields = {}
    for name in term_names():
        uses = "; ".join(f"{kind.name}: {kind.fields[name].metadata.get('description', '')}"
                         for kind in KINDS.values() if name in kind.fields)
        options = {"load_default": None, "strict": True} if for_input else {}
        fields[name] = ma.fields.Integer(allow_none=True, metadata={"description": f"{uses} Null for other kinds."},
                                         **options)
    return fields
