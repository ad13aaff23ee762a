"""A store's o2o report and the stores ranked by one of its figures, read from the daily rollup; the
builder of that rollup; and ``o2o_raw``, the same figures computed from the raw rows (tests and the
benchmark compare both).

``as_of`` is when the oldest day of the period was built; it is null while a day of the period has not
been built yet (the refresh keeps today and the two days before fresh; older days are built by
``flask crm rebuild-rollups``): the figures are then those of the days built (``days_built`` of
``days``), never computed from the raw rows inside a request.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, delete, func, insert, literal, select

from crm.o2o.models import StoreO2ODay
from crm.o2o.queries import FIGURES, regulars, store_figures
from crm.rollups.models import RollupDay
from crm.rollups.service import as_of, check_period
from shop.extensions import db
from shop.pagination import paginate
from shop.replica import reading_replica
from shop.stores.models import Store
from shop.stores.service import get_store

ROLLUP = "o2o"
RANKS = (*FIGURES, "regulars")
Figures = dict[int, dict[str, int]]


def build_day(day: date, now: datetime) -> None:
    """The rollup builder: replace the day's rows with the day's figures from the raw rows."""
    db.session.execute(delete(StoreO2ODay).where(StoreO2ODay.day == day))
    figures = store_figures(day, day).subquery()
    db.session.execute(insert(StoreO2ODay).from_select(
        ["day", "store_id", *FIGURES],
        select(literal(day, Date), figures.c.store_id, *[figures.c[name] for name in FIGURES])))


def _zero() -> dict[str, int]:
    return dict.fromkeys(RANKS, 0)


def _collect(rows: Any, regular_rows: Any) -> Figures:
    figures: Figures = {}
    for row in rows:
        figures[row.store_id] = {**_zero(), **{name: int(row._mapping[name] or 0) for name in FIGURES}}
    for row in regular_rows:
        figures.setdefault(row.store_id, _zero())["regulars"] = row.regulars
    return figures


def o2o_raw(first: date, last: date, store_id: int | None = None) -> Figures:
    """{store_id: figures} of the business days ``first`` to ``last``, computed from the raw rows."""
    return _collect(db.session.execute(store_figures(first, last, store_id)),
                    db.session.execute(regulars(store_id)))


def _rollup_sums(first: date, last: date, store_id: int | None = None):
    statement = (select(StoreO2ODay.store_id, *[func.sum(getattr(StoreO2ODay, name)).label(name) for name in FIGURES])
                 .where(StoreO2ODay.day.between(first, last)).group_by(StoreO2ODay.store_id))
    return statement if store_id is None else statement.where(StoreO2ODay.store_id == store_id)


def o2o_from_rollups(first: date, last: date, store_id: int | None = None) -> Figures:
    """The same as ``o2o_raw``, summed from the rollup's days (what the API answers)."""
    return _collect(db.session.execute(_rollup_sums(first, last, store_id)), db.session.execute(regulars(store_id)))


def _freshness(first: date, last: date) -> dict[str, Any]:
    built = db.session.scalar(select(func.count()).select_from(RollupDay)
                              .where(RollupDay.name == ROLLUP, RollupDay.day.between(first, last)))
    return {"from": first, "to": last, "as_of": as_of(ROLLUP, first, last), "days": (last - first).days + 1,
            "days_built": built}


def _store(store: Any) -> dict[str, Any]:
    return {"id": store.id, "name": store.name, "city": store.city}


@reading_replica()
def store_report(store_id: int, first: date, last: date) -> dict[str, Any]:
    """One store's figures over the period (404 for an unknown store)."""
    check_period(first, last)
    store = get_store(store_id)
    figures = o2o_from_rollups(first, last, store_id).get(store_id, _zero())
    return {**_freshness(first, last), "store": _store(store), **figures}


@reading_replica()
def ranked_stores(first: date, last: date, *, rank_by: str, page: int, page_size: int) -> dict[str, Any]:
    """Every store with its figures over the period, highest ``rank_by`` first (ties: lower store id)."""
    check_period(first, last)
    sums = _rollup_sums(first, last).subquery()
    regular = regulars().subquery()
    values = {name: func.coalesce(sums.c[name], 0) for name in FIGURES}
    values["regulars"] = func.coalesce(regular.c.regulars, 0)
    statement = (select(Store.id, Store.name, Store.city, *[value.label(name) for name, value in values.items()])
                 .outerjoin(sums, sums.c.store_id == Store.id).outerjoin(regular, regular.c.store_id == Store.id)
                 .order_by(values[rank_by].desc(), Store.id))
    result = paginate(statement, page=page, page_size=page_size, rows=True)
    offset = (page - 1) * page_size
    result["items"] = [{"rank": offset + index + 1, "store": _store(row),
                        **{name: int(row._mapping[name]) for name in RANKS}}
                       for index, row in enumerate(result["items"])]
    return {**_freshness(first, last), "rank_by": rank_by, **result}
