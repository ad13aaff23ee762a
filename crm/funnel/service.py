"""The funnel: members who joined in a range of business days, how many of them made a first paid order,
shared, had a friend bound under them and had a friend pay; step conversion, the official-account follow
beside the first step, and weekly cohorts by join week (ISO weeks of the business zone).

``funnel`` reads the daily rollup (``crm_funnel_days``, built by ``build``, registered as ``funnel``);
``funnel_raw`` computes the same from the raw rows, for the tests and the bench. Both answer the same shape.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select

from crm.funnel import queries
from crm.funnel.models import FunnelDay, FunnelJoin
from crm.funnel.queries import FOLLOWED, JOINED, STEPS
from crm.rollups.service import as_of, business_day, check_period, day_bounds, days
from shop.errors import AppError
from shop.extensions import db
from shop.replica import reading_replica
from shop.stores.errors import StoreError
from shop.stores.models import Store

NAME = "funnel"
Counts = dict[date, dict[str, int]]  # join day -> step -> members


def build(day: date, now: datetime) -> None:
    """Replace the day's joins and the day's step rows (every step first reached on the day)."""
    start, end = day_bounds(day)
    db.session.execute(delete(FunnelJoin).where(FunnelJoin.join_day == day))
    db.session.execute(insert(FunnelJoin).from_select(
        ["member_id", "joined_at", "join_day", "store_id", "campaign", "share_id"],
        queries.joins_of_day(day, start, end)))
    db.session.execute(delete(FunnelDay).where(FunnelDay.step_day == day))
    columns = ["step_day", "join_day", "step", "store_id", "campaign", "share_id", "members"]
    for step in (*STEPS, FOLLOWED):
        db.session.execute(insert(FunnelDay).from_select(columns, queries.step_rows(step, day, start, end)))


def _check_store(store_id: int | None) -> None:
    if store_id is not None and db.session.get(Store, store_id) is None:
        raise AppError(StoreError.STORE_NOT_FOUND, "No such store.")


@reading_replica()
def funnel(first: date, last: date, *, now: datetime, store_id: int | None = None, campaign: str | None = None,
           share_id: int | None = None) -> dict[str, Any]:
    """The funnel of the members who joined from ``first`` to ``last``, from the rollup.

    ``as_of`` is the oldest build of the step days read (``first`` to today); null when one of them was
    never built: the figures are then those of the days built (``flask crm rebuild-rollups`` fills in)."""
    check_period(first, last)
    _check_store(store_id)
    wanted = [column == value for column, value in ((FunnelDay.store_id, store_id), (FunnelDay.campaign, campaign),
                                                    (FunnelDay.share_id, share_id)) if value is not None]
    rows = db.session.execute(
        select(FunnelDay.join_day, FunnelDay.step, func.sum(FunnelDay.members))
        .where(FunnelDay.join_day.between(first, last), *wanted).group_by(FunnelDay.join_day, FunnelDay.step))
    counts: Counts = defaultdict(dict)
    for join_day, step, members in rows:
        counts[join_day][step] = int(members)
    today = business_day(now)
    built = as_of(NAME, min(first, today), today)
    return answer(first, last, counts, as_of=built, filters=_filters(store_id, campaign, share_id))


def funnel_raw(first: date, last: date, *, now: datetime, store_id: int | None = None,
               campaign: str | None = None, share_id: int | None = None) -> dict[str, Any]:
    """The same figures straight from the raw rows (journey events, shares and their opens, binds)."""
    check_period(first, last)
    _check_store(store_id)
    bounds = [(day, *day_bounds(day)) for day in days(first, last)]
    joins = queries.raw_joins(bounds, store_id=store_id, campaign=campaign, share_id=share_id)
    counts: Counts = defaultdict(dict)
    for step in (*STEPS, FOLLOWED):
        for join_day, members in db.session.execute(queries.raw_counts(joins, step)):
            counts[_as_date(join_day)][step] = members
    return answer(first, last, counts, as_of=now, filters=_filters(store_id, campaign, share_id))


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)  # a literal's column on SQLite


def _filters(store_id: int | None, campaign: str | None, share_id: int | None) -> dict[str, Any]:
    return {"store_id": store_id, "campaign": campaign, "share_id": share_id}


def answer(first: date, last: date, counts: Counts, *, as_of: datetime | None,
           filters: dict[str, Any]) -> dict[str, Any]:
    """The answer's shape: the whole range's steps, then one cohort per ISO week of the join days."""
    weeks: dict[tuple[int, int], list[date]] = defaultdict(list)
    for day in days(first, last):
        weeks[day.isocalendar()[:2]].append(day)
    return {"from": first, "to": last, "as_of": as_of, **filters, **_steps(counts, list(days(first, last))),
            "cohorts": [{"week": f"{year}-W{week:02d}", "week_start": in_week[0] - timedelta(days=in_week[0].weekday()),
                         "first_day": in_week[0], "last_day": in_week[-1], **_steps(counts, in_week)}
                        for (year, week), in_week in weeks.items()]}


def _steps(counts: Counts, join_days: list[date]) -> dict[str, Any]:
    totals = {step: sum(counts.get(day, {}).get(step, 0) for day in join_days) for step in (*STEPS, FOLLOWED)}
    joined = totals[JOINED]
    steps, previous = [], None
    for step in STEPS:
        steps.append({"step": step, "members": totals[step], "rate_from_previous": _rate(totals[step], previous),
                      "rate_from_joined": _rate(totals[step], joined)})
        previous = totals[step]
    return {"steps": steps, "followed": {"members": totals[FOLLOWED], "rate_from_joined": _rate(totals[FOLLOWED], joined)}}


def _rate(part: int, whole: int | None) -> float | None:
    return None if whole is None or whole == 0 else round(part / whole, 4)
