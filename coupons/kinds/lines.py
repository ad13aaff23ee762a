"""What a kind's arithmetic works on: the order lines a coupon covers, and the shared ways of
turning a discount into whole fen per line (so that refunds of a line give back its own share)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from shop.pricing import allocate_in_proportion


@dataclass(frozen=True)
class CoveredLine:
    """One order line a coupon covers (money in fen); ``position`` is the line's place in the order."""

    position: int
    sku_id: int
    product_id: int
    category_ids: tuple[int, ...]
    unit_price: int
    quantity: int

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity


Shares = tuple[int, ...]  # fen off each covered line, in the order of the lines given


def covered_total(lines: Sequence[CoveredLine]) -> int:
    return sum(line.subtotal for line in lines)


def spread(amount: int, lines: Sequence[CoveredLine]) -> Shares:
    """``amount`` fen over the lines in proportion to what they cost, exactly (largest remainder)."""
    return tuple(allocate_in_proportion(amount, [line.subtotal for line in lines]))


def priced_on_total(discount: Callable[[object, int], int]) -> Callable[[object, Sequence[CoveredLine]], Shares]:
    """The line arithmetic of a kind that reads only what the covered items cost together."""

    def on_lines(offer: object, lines: Sequence[CoveredLine]) -> Shares:
        return spread(discount(offer, covered_total(lines)), lines)

    return on_lines


def rounded_up(exact: Sequence[Fraction]) -> Shares:
    """Whole fen for exact shares: their sum rounded up (in the shopper's favour), each line within a
    fen of its share (largest fraction first), so no line takes more than its share rounded up."""
    floors = [share.numerator // share.denominator for share in exact]
    extra = -(-sum(exact, Fraction(0)) // 1) - sum(floors)
    by_fraction = sorted(range(len(exact)), key=lambda i: (floors[i] - exact[i], i))
    for i in by_fraction[:extra]:
        floors[i] += 1
    return tuple(floors)


def cheapest_units(lines: Sequence[CoveredLine], count: int) -> tuple[int, ...]:
    """How many of each line's units are among the ``count`` cheapest covered units (ties: earlier line)."""
    taken = [0] * len(lines)
    for i in sorted(range(len(lines)), key=lambda i: (lines[i].unit_price, i)):
        taken[i] = min(count, lines[i].quantity)
        count -= taken[i]
    return tuple(taken)


def units(lines: Sequence[CoveredLine]) -> int:
    return sum(line.quantity for line in lines)


def yuan(fen: int) -> str:
    """Fen as a shopper reads a price: ¥5, ¥9.90."""
    return f"¥{fen // 100}" if fen % 100 == 0 else f"¥{fen // 100}.{fen % 100:02d}"
