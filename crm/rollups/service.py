"""The rollup registry, its rebuild and its refresh.

A builder ``build(day, now)`` replaces one business day's rows of its rollup tables with the figures
computed from the raw rows (journey events, orders, coupons...) that fall in that day: it deletes the
day's rows and inserts them again in SQL, so building a day twice gives the same rows and a rebuilt day
equals the raw computation. Days are business days (``shop.config.BUSINESS_ZONE``), as marketing reads
them. The periodic job rebuilds today and the days before it that may still change (late events, a
refund of yesterday's order) every ``CRM_ROLLUP_REFRESH_MINUTES``; older days are rebuilt on demand with
``flask crm rebuild-rollups --from --to``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from crm.errors import CrmError
from crm.rollups.models import RollupDay
from shop.config import BUSINESS_ZONE
from shop.errors import AppError
from shop.extensions import db

log = logging.getLogger(__name__)
Builder = Callable[[date, datetime], None]
ROLLUPS: dict[str, Builder] = {}
REFRESHED_DAYS = 3  # today and the two days before: what late events and refunds still change
MAX_REPORT_DAYS = 366  # a report's period: a year, leap day included


def register(name: str, build: Builder) -> None:
    """Add a rollup (its builder of one business day) to the refresh and the rebuild."""
    ROLLUPS[name] = build


def business_day(moment: datetime) -> date:
    return moment.astimezone(BUSINESS_ZONE).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC start (inclusive) and end (exclusive) of a business day."""
    start = datetime.combine(day, time.min, BUSINESS_ZONE)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def check_period(first: date, last: date) -> None:
    """A report's business days ``first`` to ``last``: in order and at most a year, else 422."""
    if last < first:
        raise AppError(CrmError.REPORT_PERIOD_INVALID, "`to` is before `from`.", errors={"to": ["Before `from`."]})
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise AppError(CrmError.REPORT_PERIOD_INVALID, f"A report covers at most {MAX_REPORT_DAYS} days.",
                       errors={"to": [f"At most {MAX_REPORT_DAYS} days from `from`, both included."]})


def days(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def rebuild(first: date, last: date, now: datetime, names: tuple[str, ...] = ()) -> int:
    """Rebuild every day from ``first`` to ``last`` of the named rollups (all when none): days built.

    Each day commits on its own, so a long rebuild holds no long transaction and resumes where it stopped."""
    built = 0
    for day in days(first, last):
        for name, build in ROLLUPS.items():
            if names and name not in names:
                continue
            build(day, now)
            db.session.execute(delete(RollupDay).where(RollupDay.name == name, RollupDay.day == day))
            db.session.add(RollupDay(name=name, day=day, built_at=now))
            db.session.commit()
            built += 1
    return built


def refresh_when_due(now: datetime) -> dict[str, int] | str:
    """The periodic job: rebuild the recent days when the last refresh is older than the setting."""
    today = business_day(now)
    last = db.session.scalar(select(func.min(RollupDay.built_at)).where(RollupDay.day == today))
    every = timedelta(minutes=current_app.config["CRM_ROLLUP_REFRESH_MINUTES"])
    if last is not None and now - last < every and _all_built(today):
        return "fresh"
    built = rebuild(today - timedelta(days=REFRESHED_DAYS - 1), today, now)
    log.info("crm rollups refreshed: %d days", built)
    return {"days": built}


def _all_built(day: date) -> bool:
    count = db.session.scalar(select(func.count()).select_from(RollupDay).where(RollupDay.day == day))
    return count == len(ROLLUPS)


def as_of(name: str, first: date, last: date) -> datetime | None:
    """When the rollup's days from ``first`` to ``last`` were last built: the oldest of them (None when a
    day was never built, so a report says its figures are not complete)."""
    built = db.session.execute(select(func.count(), func.min(RollupDay.built_at))
                               .where(RollupDay.name == name, RollupDay.day.between(first, last))).one()
    return built[1] if built[0] == (last - first).days + 1 else None
