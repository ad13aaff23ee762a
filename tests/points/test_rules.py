"""The points settings: tiers parsed and checked, and the rounding of earning and deduction."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shop.config import ConfigError
from shop.points.rules import PointsRules, Tier, load_rules, parse_tiers

DEFAULTS = {"POINTS_PER_YUAN_EARNED": 1, "POINTS_PER_YUAN_DEDUCTED": 100, "POINTS_MAX_DEDUCTION_PERCENT": 50,
            "POINTS_EXPIRE_MONTHS": 12, "POINTS_TIERS": "member:0:1.0,silver:1000:1.2,gold:5000:1.5"}


def _rules(**changes) -> PointsRules:
    return load_rules({**DEFAULTS, **changes})


def test_the_default_tiers_parse_exactly():
    assert parse_tiers(DEFAULTS["POINTS_TIERS"]) == (
        Tier("member", 0, Decimal("1.0")), Tier("silver", 1000, Decimal("1.2")), Tier("gold", 5000, Decimal("1.5")))


@pytest.mark.parametrize("text", ["", "gold", "member:0", "member:0:1,silver:0:1.2", "member:10:1",
                                  "member:0:0", "member:0:-1", "member:0:x", "member:0:nan", "member:-5:1",
                                  "Member:0:1", "member:0:1.5,silver:100:1.2", "member:0:1,member:10:2",
                                  "member:0:1,silver:1.5:2"])
def test_nonsense_tiers_are_refused_at_startup_naming_the_variable(text, make_app):
    with pytest.raises(ValueError):
        parse_tiers(text)
    with pytest.raises(ConfigError, match="POINTS_TIERS"):
        make_app(POINTS_TIERS=text)


@pytest.mark.parametrize(("name", "value"), [("POINTS_PER_YUAN_DEDUCTED", 0), ("POINTS_MAX_DEDUCTION_PERCENT", 101),
                                             ("POINTS_EXPIRE_MONTHS", 0), ("POINTS_PER_YUAN_EARNED", -1)])
def test_numbers_out_of_range_are_refused_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        _rules(**{name: value})


def test_earning_multiplies_exactly_and_rounds_down():
    rules = _rules(POINTS_PER_YUAN_EARNED=3)
    assert rules.earned_points(2850, Decimal("1.2")) == 102  # 28.5 x 3 x 1.2 = 102.6
    assert rules.earned_points(1000, Decimal("1.1")) == 33  # exactly 33.0: a float would give 33.000000000000004
    assert rules.earned_points(99, Decimal("1.0")) == 2  # 0.99 x 3 = 2.97


def test_deduction_spends_only_the_points_that_buy_whole_fen():
    rules = _rules(POINTS_PER_YUAN_DEDUCTED=150)  # 1.5 points a fen
    assert rules.fit(10, 100_000) == (9, 6)  # 10 points buy 6 fen; the 10th point buys nothing
    assert rules.fit(1, 100_000) == (0, 0)
    assert _rules().fit(300, 100_000) == (300, 300)


def test_the_cap_is_a_share_of_what_is_left_rounded_down_even_when_a_point_is_worth_more_than_a_fen():
    assert _rules().fit(10_000, 2801) == (1400, 1400)  # 50 % of 28.01 yuan, rounded down
    rules = _rules(POINTS_PER_YUAN_DEDUCTED=50, POINTS_MAX_DEDUCTION_PERCENT=50)  # a point is 2 fen
    assert rules.fit(10, 7) == (1, 2)  # the cap is 3 fen: 2 points (4 fen) would exceed it
    assert _rules(POINTS_MAX_DEDUCTION_PERCENT=0).fit(10_000, 10_000) == (0, 0)


def test_expiry_counts_calendar_months():
    assert _rules(POINTS_EXPIRE_MONTHS=1).expires_at(datetime(2026, 1, 31, 8, tzinfo=UTC)) == \
        datetime(2026, 2, 28, 8, tzinfo=UTC)
    assert _rules().expires_at(datetime(2024, 2, 29, tzinfo=UTC)) == datetime(2025, 2, 28, tzinfo=UTC)
