"""Every kind's arithmetic over random baskets: never below zero, never above what a covered line
costs, rounded in the shopper's favour, allocated to the lines it came from (the shares add up to
the discount), and line refunds of an order paid with it add up to what was paid."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from coupons.kinds import KINDS, Offer, describe, discount, kind_of
from coupons.kinds.lines import CoveredLine, units
from shop.orders.models import OrderLine
from shop.orders.refunds import _line_amount

PRICE = st.integers(min_value=0, max_value=100_000)
FEN = st.integers(min_value=1, max_value=10_000_000)
PERCENT = st.integers(min_value=1, max_value=100)


@st.composite
def baskets(draw, min_size: int = 1) -> tuple[CoveredLine, ...]:
    prices = draw(st.lists(PRICE, min_size=min_size, max_size=6))
    return tuple(CoveredLine(position=i, sku_id=i + 1, product_id=i + 1, category_ids=(1,), unit_price=price,
                             quantity=draw(st.integers(min_value=1, max_value=12))) for i, price in enumerate(prices))


offers = {
    "amount_off": st.builds(lambda a, s: Offer("amount_off", s, amount_off=a), FEN, st.integers(0, 50_000)),
    "percent_off": st.builds(lambda p, m: Offer("percent_off", percent=p, max_off=m), st.integers(1, 99), FEN),
    "threshold": st.builds(lambda s, a: Offer("threshold", s, amount_off=min(a, s)), FEN, FEN),
    "nth_item_percent": st.builds(lambda n, p: Offer("nth_item_percent", nth=n, percent=p), st.integers(2, 6), PERCENT),
    "buy_n_get_m": st.builds(lambda b, g: Offer("buy_n_get_m", buy=b, get=g), st.integers(1, 4), st.integers(1, 3)),
    "free_item": st.builds(lambda m: Offer("free_item", max_off=m), FEN),
    "unit_price": st.builds(lambda u: Offer("unit_price", unit_price=u), FEN),
}
any_offer = st.one_of(*offers.values())


def test_every_registered_kind_has_a_strategy_here():
    assert set(offers) == set(KINDS)  # a new built-in kind comes with its properties


def unit_prices(lines) -> list[int]:
    return sorted(line.unit_price for line in lines for _ in range(line.quantity))


@given(any_offer, baskets())
def test_no_kind_takes_off_below_zero_or_more_than_a_line_costs_and_the_shares_are_the_discount(offer, lines):
    shares = discount(offer, lines)
    assert len(shares) == len(lines)
    assert all(0 <= share <= line.subtotal for share, line in zip(shares, lines, strict=True))
    assert 0 <= sum(shares) <= sum(line.subtotal for line in lines)


@given(any_offer, baskets())
def test_below_the_minimum_spend_no_kind_takes_anything_off(offer, lines):
    covered = sum(line.subtotal for line in lines)
    if covered < offer.min_spend or covered == 0:
        assert discount(offer, lines) == (0,) * len(lines)


@given(offers["nth_item_percent"], baskets())
def test_every_nth_unit_is_off_counting_the_cheapest_and_rounded_up_for_the_shopper(offer, lines):
    cheapest = unit_prices(lines)[:units(lines) // offer.nth]
    exact = Fraction(sum(cheapest) * offer.percent, 100)
    shares = discount(offer, lines)
    assert exact <= sum(shares) < exact + 1  # never less than the exact discount, at most a fen more
    for share, line in zip(shares, lines, strict=True):  # a line bears at most its percent, rounded up
        assert share <= -(-line.subtotal * offer.percent // 100)


@given(offers["buy_n_get_m"], baskets())
def test_in_every_buy_plus_get_units_the_get_cheapest_are_free(offer, lines):
    free = units(lines) // (offer.buy + offer.get) * offer.get
    assert sum(discount(offer, lines)) == sum(unit_prices(lines)[:free])


@given(offers["free_item"], baskets())
def test_a_free_item_is_the_dearest_covered_unit_up_to_its_cap_on_that_line(offer, lines):
    shares = discount(offer, lines)
    dearest = max(line.unit_price for line in lines)
    assert sum(shares) == min(dearest, offer.max_off)
    assert sum(1 for share in shares if share) <= 1
    assert all(line.unit_price == dearest for share, line in zip(shares, lines, strict=True) if share)


@given(offers["unit_price"], baskets())
def test_covered_units_cost_the_unit_price_and_never_more_than_their_own(offer, lines):
    shares = discount(offer, lines)
    for share, line in zip(shares, lines, strict=True):
        assert line.subtotal - share == line.quantity * min(line.unit_price, offer.unit_price)


@given(offers["percent_off"], baskets())
def test_a_percent_off_on_lines_rounds_up_holds_its_cap_and_spreads_by_what_lines_cost(offer, lines):
    covered = sum(line.subtotal for line in lines)
    exact = Fraction(covered * offer.percent, 100)
    off = sum(discount(offer, lines))
    assert off == (min(offer.max_off, -(-exact // 1)) if covered else 0)


def paid_line(line: CoveredLine, share: int) -> OrderLine:
    return OrderLine(quantity=line.quantity, subtotal=line.subtotal, discount=share,
                     amount_payable=line.subtotal - share, refunded_quantity=0, refunded_amount=0)


@given(any_offer, baskets(), st.data())
def test_refunding_every_line_unit_by_unit_returns_what_was_paid_and_each_part_in_proportion(offer, lines, data):
    shares = discount(offer, lines)
    for line, share in zip(lines, shares, strict=True):
        order_line = paid_line(line, share)
        while order_line.refunded_quantity < order_line.quantity:
            left = order_line.quantity - order_line.refunded_quantity
            quantity = data.draw(st.integers(min_value=1, max_value=left))
            amount = _line_amount(order_line, quantity)
            # a partial refund: the units' share of what the line paid, never more
            assert amount * order_line.quantity <= order_line.amount_payable * quantity or quantity == left
            order_line.refunded_quantity += quantity
            order_line.refunded_amount += amount
        assert order_line.refunded_amount == line.subtotal - share  # the line's whole paid amount, no more


def test_the_examples_of_a_coffee_chain():
    latte, americano = CoveredLine(0, 1, 1, (1,), 3000, 2), CoveredLine(1, 2, 2, (1,), 2000, 2)
    second_half = Offer("nth_item_percent", nth=2, percent=50)
    assert discount(second_half, (latte, americano)) == (0, 2000)  # of 4 cups, the 2 cheapest half price
    assert discount(second_half, (CoveredLine(0, 1, 1, (1,), 2999, 2),)) == (1500,)  # 1499.5, rounded up
    assert discount(Offer("buy_n_get_m", buy=2, get=1), (latte, americano)) == (0, 2000)  # 4 cups: 1 free
    assert discount(Offer("free_item", max_off=2500), (latte, americano)) == (2500, 0)  # the latte, up to ¥25
    assert discount(Offer("unit_price", unit_price=990), (latte, americano)) == (4020, 2020)
    assert discount(Offer("nth_item_percent", nth=2, percent=50), (CoveredLine(0, 1, 1, (1,), 3000, 1),)) == (0,)


def test_each_kind_describes_itself_for_the_shopper():
    def said(kind: str, min_spend: int = 0, **terms) -> str:
        return describe({"kind": kind, "min_spend": min_spend, **{name: terms.get(name) for name in kind_of(kind).fields}})

    assert said("nth_item_percent", nth=2, percent=50) == "Second item half price"
    assert said("nth_item_percent", nth=3, percent=100) == "Third item free"
    assert said("nth_item_percent", nth=12, percent=20) == "Every 12th item 20% off"
    assert said("buy_n_get_m", buy=2, get=1) == "Buy 2 get 1 free"
    assert said("free_item", max_off=2500) == "A free item up to ¥25"
    assert said("unit_price", unit_price=990) == "Any item ¥9.90"
    assert said("amount_off", amount_off=500) == "¥5 off"
    assert said("amount_off", 2000, amount_off=500) == "¥5 off on ¥20 or more"
    assert said("percent_off", percent=10, max_off=800) == "10% off up to ¥8"
    assert said("threshold", 5000, amount_off=1000) == "Spend ¥50 save ¥10"
