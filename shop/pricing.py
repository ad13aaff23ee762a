"""The checkout price and the discount-provider hook.

An order's price is its lines, less what each registered discount provider takes off, plus
shipping. Providers run in a fixed order (coupons before points, by ``priority``), each on what is
left to pay after the ones before it, so a discount never exceeds what remains and the amount to pay
never goes below zero. ``shop`` defines the hook; other packages register providers from
``app.py`` (coupons), and ``shop.points`` registers the points deduction.

A provider has three steps:
- ``quote``: what it would take off, without changing anything (preview and create both call it);
- ``commit``: at order creation, inside its transaction, make the discount binding (lock the
  coupon, spend the points); it must be idempotent per order;
- releasing what it committed is done by reacting to the order signals (cancelled, refunded).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol


@dataclass(frozen=True)
class PricedLine:
    """One order line as pricing sees it (all money in fen)."""

    sku_id: int
    product_id: int
    category_ids: tuple[int, ...]
    quantity: int
    unit_price: int

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class PricingRequest:
    """What the shopper asked for: who, which lines, where, and the discounts they chose."""

    member_id: int
    lines: tuple[PricedLine, ...]
    fulfilment: str
    store_id: int | None
    shipping_fee: int
    # Choices for providers, by provider name: {"coupons": {"coupon_id": 5}, "points": {"points": 300}}.
    choices: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def items_total(self) -> int:
        return sum(line.subtotal for line in self.lines)


@dataclass(frozen=True)
class Discount:
    """What one provider takes off, and what it needs to remember to commit it."""

    source: str
    amount: int  # fen, > 0
    label: str
    details: dict[str, Any] = field(default_factory=dict)
    # Which of the request's lines (by position) it takes off: a coupon scoped to some products
    # comes off those lines only, so a refund of another line gives none of it back. None: all.
    lines: tuple[int, ...] | None = None
    # Fen off each of the request's lines (by position, summing to ``amount``) when the provider knows
    # which lines it came from (the second latte of a "second cup half price"); None: spread over
    # ``lines`` in proportion to what they cost.
    allocation: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Quote:
    request: PricingRequest
    discounts: tuple[Discount, ...]
    suggestions: dict[str, Any]

    @property
    def items_total(self) -> int:
        return self.request.items_total

    @property
    def discount_total(self) -> int:
        return sum(d.amount for d in self.discounts)

    @property
    def amount_payable(self) -> int:
        return self.items_total - self.discount_total + self.request.shipping_fee


class DiscountProvider(Protocol):
    name: str
    priority: int  # lower runs first

    def quote(self, request: PricingRequest, remaining: int) -> tuple[Discount | None, dict[str, Any]]:
        """What this provider takes off ``remaining`` (fen), and any suggestion for the shopper."""

    def commit(self, request: PricingRequest, discount: Discount, *, order_id: int) -> None:
        """Make the discount binding for the order being created (same transaction)."""


_providers: list[DiscountProvider] = []


def register_discount_provider(provider: DiscountProvider) -> None:
    """Add a provider (idempotent by name: re-registering replaces it)."""
    _providers[:] = sorted([p for p in _providers if p.name != provider.name] + [provider],
                           key=lambda p: p.priority)


def quote(request: PricingRequest) -> Quote:
    """The price, with each provider's discount on what is left after the ones before it."""
    discounts, suggestions = [], {}
    remaining = request.items_total
    for provider in _providers:
        discount, suggestion = provider.quote(request, remaining)
        if suggestion:
            suggestions[provider.name] = suggestion
        if discount is not None and discount.amount > 0:
            if discount.amount > remaining:  # its own allocation no longer adds up: spread what is left
                discount = replace(discount, amount=remaining, allocation=None)
            discounts.append(discount)
            remaining -= discount.amount
    return Quote(request=request, discounts=tuple(discounts), suggestions=suggestions)


def commit(quote_: Quote, *, order_id: int) -> None:
    """Make every discount of the quote binding for the order."""
    by_name = {p.name: p for p in _providers}
    for discount in quote_.discounts:
        by_name[discount.source].commit(quote_.request, discount, order_id=order_id)


def allocate_in_proportion(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` fen across lines in proportion to ``weights``, exactly (largest remainder)."""
    whole = sum(weights)
    if total == 0 or whole == 0:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (total * weights[i]) % whole, reverse=True)
    for i in by_remainder[:total - sum(shares)]:
        shares[i] += 1
    return shares
