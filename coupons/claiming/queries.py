"""Core statements of issuing: the one INSERT every coupon goes through, and what a gate is built from.

The INSERT takes the batch's bounds from its row in the same statement (``INSERT ... SELECT ... FROM
coupon_batches WHERE number <= total ...``): a number beyond the total, a sequence beyond the per-member
limit, a day's number beyond the daily limit, or a batch with a daily limit and no day's number, writes
no row. Together with the unique keys on the numbers (coupons/models.py) the database alone keeps every
total and limit. A CHECK cannot do it: it sees one row, and the bounds are on the batch's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Row,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from coupons.models import Coupon, CouponBatch

_COUPONS, _BATCHES = Coupon.__table__, CouponBatch.__table__
_COLUMNS = ("batch_id", "member_id", "sequence", "issue_number", "claim_day", "claim_key", "status", "source",
            "valid_from", "expires_at", "claimed_at")  # the secret is the model's default


def _insert(*, daily: bool) -> Any:
    names = [*_COLUMNS, "day_number"] if daily else list(_COLUMNS)
    row = select(*(bindparam(name, type_=_COUPONS.c[name].type) for name in names)).where(
        _BATCHES.c.id == bindparam("batch_id"),
        bindparam("issue_number", type_=Integer) <= _BATCHES.c.total,
        bindparam("sequence", type_=Integer) <= _BATCHES.c.per_member_limit,
        bindparam("day_number", type_=Integer) <= _BATCHES.c.daily_limit if daily else _BATCHES.c.daily_limit.is_(None))
    return insert(Coupon).from_select(names, row).returning(_COUPONS.c.id)


# Built once: a claim only binds its values.
_INSERT_COUPON = _insert(daily=False)
_INSERT_DAILY_COUPON = _insert(daily=True)


def insert_coupon(connection: Connection, values: dict[str, Any]) -> int | None:
    """Write a coupon (``values``: every column but the id); its id, or None if a number is beyond its
    bound. A number already given raises IntegrityError."""
    statement = _INSERT_DAILY_COUPON if values.get("day_number") is not None else _INSERT_COUPON
    return connection.execute(statement, values).scalar()


def numbers_held(connection: Connection, values: dict[str, Any]) -> frozenset[str]:
    """Which numbers of ``values`` a coupon of the batch already holds: "issue_number", "sequence" (of the
    member), "day_number" (of the day)."""
    column = _COUPONS.c
    held = {"issue_number": column.issue_number == values["issue_number"],
            "sequence": (column.member_id == values["member_id"]) & (column.sequence == values["sequence"])}
    if values.get("day_number") is not None:
        held["day_number"] = (column.claim_day == values["claim_day"]) & (column.day_number == values["day_number"])
    found = connection.execute(select(*(case((condition, 1), else_=0).label(name) for name, condition in held.items()))
                               .where(column.batch_id == values["batch_id"], or_(*held.values()))).all()
    return frozenset(name for row in found for name, hit in row._mapping.items() if hit)


def next_generation(connection: Connection, batch_id: int, *, above: int, unless: int | None = None) -> Row | None:
    """Raise the batch's gate generation past both its own and ``above`` (a gate's), unless it is ``unless``;
    (gate_generation, total, daily_limit) after, or None if it was left.

    The write comes first in its transaction: on SQLite a transaction that reads before it writes can
    deadlock with another writer.
    """
    column = _BATCHES.c.gate_generation
    statement = update(_BATCHES).where(_BATCHES.c.id == batch_id)
    if unless is not None:
        statement = statement.where(column != unless)
    return connection.execute(statement.values(gate_generation=case((column > above, column), else_=above) + 1)
                              .returning(column, _BATCHES.c.total, _BATCHES.c.daily_limit)).first()


def numbers_in_use(connection: Connection, number: ColumnElement[int], *where: ColumnElement[bool],
                   upto: int) -> tuple[int, list[int]]:
    """(the highest of the rows' ``number`` up to ``upto``, the numbers below it that no row holds).

    The database reads the runs of consecutive numbers in order (an index range) and answers only
    where they break: a batch of a million coupons with a few gaps sends back a few rows.
    """
    used = union_all(select(literal(0, Integer).label("n")),
                     select(number.label("n")).where(*where, number <= upto)).subquery()
    runs = select(used.c.n, func.lead(used.c.n).over(order_by=used.c.n).label("following")).subquery()
    breaks = connection.execute(select(runs.c.n, runs.c.following).where(
        or_(runs.c.following.is_(None), runs.c.following > runs.c.n + 1)).order_by(runs.c.n)).all()
    free = [missing for n, following in breaks if following is not None for missing in range(n + 1, following)]
    return breaks[-1][0], free


def member_sequence(connection: Connection, batch_id: int, member_id: int) -> int:
    """The highest sequence the member holds of the batch (0: none)."""
    return connection.execute(select(func.coalesce(func.max(_COUPONS.c.sequence), 0)).where(
        _COUPONS.c.batch_id == batch_id, _COUPONS.c.member_id == member_id)).scalar_one()


def holders(connection: Connection, batch_id: int) -> dict[int, int]:
    """member id -> the highest sequence they hold of the batch."""
    return dict(connection.execute(select(_COUPONS.c.member_id, func.max(_COUPONS.c.sequence))
                                   .where(_COUPONS.c.batch_id == batch_id)
                                   .group_by(_COUPONS.c.member_id)).tuples().all())
