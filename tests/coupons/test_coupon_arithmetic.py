"""Each kind's arithmetic, for any amounts: never negative, never above the covered items, percent
discounts rounded in the shopper's favour, the amount to pay never below zero."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from coupons.checkout.scope import covered_lines, covers, store_allows, usable_online
from coupons.kinds import Offer, discount_fen
from coupons.kinds.lines import covered_total
from shop.pricing import PricedLine

FEN = st.integers(min_value=0, max_value=100_000_000)
POSITIVE_FEN = st.integers(min_value=1, max_value=100_000_000)
IDS = st.integers(min_value=1, max_value=8)

amount_offers = st.builds(Offer, kind=st.just("amount_off"), amount_off=POSITIVE_FEN, min_spend=FEN)
percent_offers = st.builds(Offer, kind=st.just("percent_off"), percent=st.integers(min_value=1, max_value=99),
                           max_off=st.none() | POSITIVE_FEN, min_spend=FEN)
threshold_offers = st.builds(lambda min_spend, share: Offer(kind="threshold", amount_off=max(1, min_spend * share // 100),
                                                            min_spend=min_spend),
                             POSITIVE_FEN, st.integers(min_value=1, max_value=100))
any_offer = amount_offers | percent_offers | threshold_offers
lines = st.lists(st.builds(PricedLine, sku_id=IDS, product_id=IDS, category_ids=st.tuples(IDS) | st.tuples(IDS, IDS),
                           quantity=st.integers(min_value=1, max_value=99),
                           unit_price=st.integers(min_value=0, max_value=1_000_000)), min_size=1, max_size=6)
scopes = st.none() | st.lists(IDS, max_size=3)


@given(any_offer, FEN)
def test_no_kind_ever_takes_off_a_negative_amount_or_more_than_the_covered_items(offer, covered):
    off = discount_fen(offer, covered)
    assert 0 <= off <= covered
    assert covered - off >= 0


@given(any_offer, FEN)
def test_below_the_minimum_spend_no_kind_takes_anything_off(offer, covered):
    if covered < offer.min_spend or covered == 0:
        assert discount_fen(offer, covered) == 0


@given(amount_offers, FEN)
def test_an_amount_off_takes_its_amount_or_what_the_items_cost_if_less(offer, covered):
    expected = min(offer.amount_off, covered) if covered >= offer.min_spend and covered > 0 else 0
    assert discount_fen(offer, covered) == expected


@given(threshold_offers, FEN)
def test_a_threshold_saves_its_amount_exactly_once_the_spend_is_reached(offer, covered):
    expected = offer.amount_off if covered >= offer.min_spend else 0
    assert discount_fen(offer, covered) == expected


@given(percent_offers, FEN)
def test_a_percent_off_rounds_up_to_the_fen_and_holds_its_cap(offer, covered):
    off = discount_fen(offer, covered)
    if covered < offer.min_spend or covered == 0:
        assert off == 0
        return
    exact = Fraction(covered * offer.percent, 100)
    if offer.max_off is not None and offer.max_off < exact:
        assert off == offer.max_off  # the cap binds
    else:
        assert exact <= off < exact + 1  # never less than the exact share: rounded in the shopper's favour
    assert off <= covered


def test_a_percent_off_examples_round_up():
    fifteen = Offer(kind="percent_off", percent=15)
    assert discount_fen(fifteen, 999) == 150  # 149.85
    assert discount_fen(fifteen, 1000) == 150  # exact stays exact
    assert discount_fen(Offer(kind="percent_off", percent=1), 1) == 1  # a cent's 1% is still a cent off
    assert discount_fen(Offer(kind="percent_off", percent=99, max_off=500), 10_000) == 500


@given(lines, scopes, scopes, any_offer)
def test_the_discount_never_exceeds_the_covered_lines_and_the_order_never_goes_negative(order, products, categories,
                                                                                       offer):
    covered = covered_total(covered_lines(tuple(order), products, categories))
    items_total = sum(line.subtotal for line in order)
    off = discount_fen(offer, covered)
    assert 0 <= covered <= items_total
    assert 0 <= off <= covered
    assert items_total - off >= 0


@given(lines, scopes, scopes)
def test_the_covered_lines_are_those_whose_product_or_any_category_is_listed(order, products, categories):
    for line in order:
        listed = (line.product_id in (products or ())) or any(c in (categories or ()) for c in line.category_ids)
        assert covers(line, products, categories) == (listed or (not products and not categories))


def test_usage_and_the_store_scope():
    assert usable_online("online") and usable_online("both") and not usable_online("in_store")
    assert store_allows([1, 2], "pickup", 2) and not store_allows([1, 2], "pickup", 3)
    assert store_allows([1, 2], "delivery", None)  # delivery is bound to no store
    assert store_allows(None, "pickup", 3) and store_allows([], "pickup", 3)
