"""The campaign report: what a campaign's shares and coupons brought, from the daily rollup, and what its
targeted issuances with a holdout caused (crm/campaigns/incrementality.py).

``campaign_report`` reads ``crm_campaign_days`` (built a business day at a time by ``build_day``, registered
in crm/rollups as ``campaigns``); ``campaign_report_raw`` computes the same answer from the raw rows (the
tests and the bench compare the two). Days not built yet count as empty and the answer's ``as_of`` is null
(rebuild them with ``flask crm rebuild-rollups``), so a report never claims a freshness it does not have.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, delete, insert, literal, select

from crm.campaigns.incrementality import holdout_results
from crm.campaigns.models import CampaignDay
from crm.campaigns.queries import FIGURES, figures_by_campaign
from crm.rollups.service import as_of, check_period, day_bounds, days
from shop.extensions import db
from shop.replica import reading_replica

ROLLUP = "campaigns"


def build_day(day: date, now: datetime) -> None:
    """Replace the day's rows of every campaign with the figures of the raw rows of that business day."""
    db.session.execute(delete(CampaignDay).where(CampaignDay.day == day))
    figures = figures_by_campaign(*day_bounds(day)).subquery()
    db.session.execute(insert(CampaignDay).from_select(
        ["campaign", "day", *FIGURES],
        select(figures.c.campaign, literal(day, Date), *(figures.c[name] for name in FIGURES))))


@reading_replica()
def campaign_report(campaign: str, first: date, last: date, now: datetime) -> dict[str, Any]:
    """The report from the rollup, ``as_of`` its oldest built day (null when a day is not built yet)."""
    check_period(first, last)
    rows = db.session.execute(
        select(CampaignDay.day, *(getattr(CampaignDay, name) for name in FIGURES))
        .where(CampaignDay.campaign == campaign, CampaignDay.day.between(first, last))).all()
    by_day = {row.day: _figures(row) for row in rows}
    return _answer(campaign, first, last, by_day, as_of=as_of(ROLLUP, first, last), now=now)


def campaign_report_raw(campaign: str, first: date, last: date, now: datetime) -> dict[str, Any]:
    """The same answer computed from the raw rows: the reference the rollup must equal (``as_of`` is now)."""
    check_period(first, last)
    by_day = {}
    for day in days(first, last):
        row = db.session.execute(figures_by_campaign(*day_bounds(day), campaign=campaign)).first()
        if row is not None:
            by_day[day] = _figures(row)
    answer = _answer(campaign, first, last, by_day, as_of=now, now=now)
    whole = db.session.execute(figures_by_campaign(day_bounds(first)[0], day_bounds(last)[1],
                                                   campaign=campaign)).first()
    answer["totals"] = _totals(_figures(whole) if whole is not None else dict.fromkeys(FIGURES, 0))
    return answer


def _figures(row: Any) -> dict[str, int]:
    return {name: int(getattr(row, name) or 0) for name in FIGURES}


def _answer(campaign: str, first: date, last: date, by_day: dict[date, dict[str, int]], *,
            as_of: datetime | None, now: datetime) -> dict[str, Any]:
    empty = dict.fromkeys(FIGURES, 0)
    series = [{"day": day, **by_day.get(day, empty)} for day in days(first, last)]
    sums = {name: sum(point[name] for point in series) for name in FIGURES}
    return {"campaign": campaign, "from": first, "to": last, "as_of": as_of, "totals": _totals(sums),
            "series": series, "incrementality": holdout_results(campaign, last_moment=day_bounds(last)[1], now=now)}


def _totals(sums: dict[str, int]) -> dict[str, Any]:
    cost = sums["coupon_cost"] + sums["reward_cost"]
    return {**sums, "cost": cost, "return_on_cost": round(sums["gmv"] / cost, 2) if cost else None}


def default_range(now_day: date) -> tuple[date, date]:
    """The last 30 business days up to today, when the request names no range."""
    return now_day - timedelta(days=29), now_day
