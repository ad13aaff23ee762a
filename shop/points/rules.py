"""The points arithmetic and its settings: earning, deduction, expiry dates and tiers.

Money is integer fen and points are integers; every rounding here is floor or ceil on exact
integers or fractions, never floats:

- earning: ``floor(amount_paid_fen * POINTS_PER_YUAN_EARNED * multiplier / 100)`` per order;
- deduction: P points take ``floor(P * 100 / POINTS_PER_YUAN_DEDUCTED)`` fen off, and only the
  fewest points that buy that many fen are spent (points that would buy nothing are never spent);
- the deduction's cap is ``floor(remaining_fen * POINTS_MAX_DEDUCTION_PERCENT / 100)`` fen;
- a lot expires ``POINTS_EXPIRE_MONTHS`` calendar months after it was credited (the 31st of a
  month plus one month is the last day of the next month).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import current_app

from shop.config import ConfigError

TIER_WINDOW = relativedelta(months=12)  # tiers count the points earned in the trailing 12 months
MAX_MULTIPLIER = Decimal(100)
_TIER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Tier:
    name: str
    threshold: int  # points earned in the trailing 12 months that reach this tier
    multiplier: Decimal  # exact, from the setting's text


@dataclass(frozen=True)
class PointsRules:
    per_yuan_earned: int
    per_yuan_deducted: int
    max_deduction_percent: int
    expire_months: int
    tiers: tuple[Tier, ...]  # ascending thresholds, the first is 0

    def earned_points(self, amount_paid_fen: int, multiplier: Decimal) -> int:
        """Points for a payment, rounded down to whole points."""
        exact = Fraction(amount_paid_fen * self.per_yuan_earned) * Fraction(multiplier) / 100
        return int(exact.__floor__())

    def discount_for(self, points: int) -> int:
        """Fen that ``points`` take off (rounded down to whole fen)."""
        return points * 100 // self.per_yuan_deducted

    def points_for(self, discount_fen: int) -> int:
        """The fewest points that take ``discount_fen`` off (or more, when a point is worth over 1 fen)."""
        return -(-discount_fen * self.per_yuan_deducted // 100)

    def max_discount(self, remaining_fen: int) -> int:
        """The most fen points may take off what is left to pay (rounded down: "at most N %")."""
        return max(remaining_fen, 0) * self.max_deduction_percent // 100

    def fit(self, points: int, remaining_fen: int) -> tuple[int, int]:
        """(points to spend, fen off) for up to ``points`` against ``remaining_fen``: capped, then trimmed."""
        cap = self.max_discount(remaining_fen)
        if points <= 0 or cap <= 0:
            return 0, 0
        if self.discount_for(points) > cap:
            points = self.points_for(cap + 1) - 1  # the most points whose discount stays within the cap
        discount = self.discount_for(points)
        if discount <= 0:
            return 0, 0
        return min(self.points_for(discount), points), discount

    def expires_at(self, credited_at: datetime) -> datetime:
        return credited_at + relativedelta(months=self.expire_months)

    def tier_for(self, earned_12m: int) -> tuple[Tier, Tier | None]:
        """The tier that ``earned_12m`` reaches, and the next one up (None at the top)."""
        reached = [tier for tier in self.tiers if tier.threshold <= earned_12m]
        current = reached[-1] if reached else self.tiers[0]
        index = self.tiers.index(current)
        return current, self.tiers[index + 1] if index + 1 < len(self.tiers) else None


def parse_tiers(text: str) -> tuple[Tier, ...]:
    """``"member:0:1.0,silver:1000:1.2"`` -> tiers; ValueError saying what is wrong."""
    tiers: list[Tier] = []
    for part in (p.strip() for p in str(text).split(",")):
        fields = [f.strip() for f in part.split(":")]
        if len(fields) != 3:
            raise ValueError(f"{part!r} is not name:threshold:multiplier")
        name, raw_threshold, raw_multiplier = fields
        if not _TIER_NAME.match(name):
            raise ValueError(f"tier name {name!r}: lowercase letters, digits, _ or -, starting with a letter")
        if not raw_threshold.isdigit():
            raise ValueError(f"tier {name}: the threshold {raw_threshold!r} is not a whole number of points")
        try:
            multiplier = Decimal(raw_multiplier)
        except InvalidOperation:
            raise ValueError(f"tier {name}: the multiplier {raw_multiplier!r} is not a number") from None
        if not multiplier.is_finite() or not 0 < multiplier <= MAX_MULTIPLIER:
            raise ValueError(f"tier {name}: the multiplier must be above 0 and at most {MAX_MULTIPLIER}")
        tiers.append(Tier(name, int(raw_threshold), multiplier))
    if tiers[0].threshold != 0:
        raise ValueError("the first tier's threshold must be 0 (every member has a tier)")
    for lower, higher in zip(tiers, tiers[1:], strict=False):
        if higher.threshold <= lower.threshold:
            raise ValueError(f"thresholds must rise: {higher.name} ({higher.threshold}) after "
                             f"{lower.name} ({lower.threshold})")
        if higher.multiplier < lower.multiplier:
            raise ValueError(f"multipliers must not fall: {higher.name} has less than {lower.name}")
    if len({tier.name for tier in tiers}) != len(tiers):
        raise ValueError("tier names must be unique")
    return tuple(tiers)


_INT_LIMITS = {  # setting: (lowest, highest)
    "POINTS_PER_YUAN_EARNED": (0, 10_000),
    "POINTS_PER_YUAN_DEDUCTED": (1, 1_000_000),
    "POINTS_MAX_DEDUCTION_PERCENT": (0, 100),
    "POINTS_EXPIRE_MONTHS": (1, 1200),
}


def load_rules(config: Mapping[str, Any]) -> PointsRules:
    """The rules from the app's settings; ConfigError naming the setting that makes no sense."""
    return _load(*(config[name] for name in _INT_LIMITS), config["POINTS_TIERS"])


@lru_cache(maxsize=16)
def _load(earned: Any, deducted: Any, percent: Any, months: Any, tiers: Any) -> PointsRules:
    for name, value in zip(_INT_LIMITS, (earned, deducted, percent, months), strict=True):
        low, high = _INT_LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    try:
        parsed = parse_tiers(tiers)
    except ValueError as exc:
        raise ConfigError(f"POINTS_TIERS makes no sense: {exc} (got {tiers!r})") from None
    return PointsRules(earned, deducted, percent, months, parsed)


def rules() -> PointsRules:
    """The current app's rules."""
    return load_rules(current_app.config)
