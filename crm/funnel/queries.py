"""The funnel's SQL: who joined and what brought them, when each member first reached each step, and the
same figures straight from the raw rows (the reference the rollup is checked against).

Steps are read from journey events (``order_paid`` includes till sales, ``share_created``, ``followed``)
and, for the friend steps, from the referral bind history (a bind or re-bind through one of the member's
shares: the rows the ``bound`` journey event is recorded with, indexed by share)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Select, and_, case, exists, func, literal, select, union, union_all
from sqlalchemy.sql.elements import ColumnElement

from crm.funnel.models import FunnelJoin
from referral.sharing.models import Share, ShareOpen, StoreShare, StoreShareOpen
from referral.tree.models import BindHistory
from shop.database import UTCDateTime
from shop.members.journey import JourneyKind
from shop.members.models import JourneyEvent

JOINED, PAID, SHARED, FRIEND_BOUND, FRIEND_PAID = "joined", "paid", "shared", "friend_bound", "friend_paid"
FOLLOWED = "followed"
STEPS = (JOINED, PAID, SHARED, FRIEND_BOUND, FRIEND_PAID)
EVENT_STEPS = {PAID: JourneyKind.ORDER_PAID.value, SHARED: JourneyKind.SHARE_CREATED.value,
               FOLLOWED: JourneyKind.FOLLOWED.value}
_BINDS = ("bind", "rebind")  # a friend placed under the sharer through a share (not an admin's move)
Event = JourneyEvent


def arrival(member_id: ColumnElement) -> tuple[ColumnElement, ColumnElement, ColumnElement]:
    """(share_id, campaign, store_id) of what brought the member: the share or store share opened as a new
    member (at registration, from the login's scene)."""
    share_id = (select(ShareOpen.share_id).where(ShareOpen.member_id == member_id, ShareOpen.new_member.is_(True))
                .order_by(ShareOpen.opened_at, ShareOpen.id).limit(1).correlate_except(ShareOpen).scalar_subquery())
    store_share_id = (select(StoreShareOpen.share_id)
                      .where(StoreShareOpen.member_id == member_id, StoreShareOpen.new_member.is_(True))
                      .order_by(StoreShareOpen.opened_at, StoreShareOpen.id).limit(1).correlate_except(StoreShareOpen)
                      .scalar_subquery())
    campaign = func.coalesce(select(Share.campaign).where(Share.id == share_id).scalar_subquery(),
                             select(StoreShare.campaign).where(StoreShare.id == store_share_id).scalar_subquery())
    store_id = select(StoreShare.store_id).where(StoreShare.id == store_share_id).scalar_subquery()
    return share_id, campaign, store_id


def registrations(start: datetime, end: datetime) -> Select:
    """(member_id, joined_at) of the members whose ``registered`` event lies in [start, end)."""
    return (select(Event.member_id, func.min(Event.occurred_at).label("joined_at"))
            .where(Event.kind == JourneyKind.REGISTERED.value, Event.occurred_at >= start, Event.occurred_at < end)
            .group_by(Event.member_id))


def joins_of_day(day: date, start: datetime, end: datetime) -> Select:
    """The rows of ``crm_funnel_joins`` for one join day."""
    joined = registrations(start, end).subquery()
    share_id, campaign, store_id = arrival(joined.c.member_id)
    return select(joined.c.member_id, joined.c.joined_at, literal(day, Date), store_id, campaign, share_id)


def _binds() -> Select:
    return select(Share.sharer_id, BindHistory.member_id, BindHistory.created_at).select_from(BindHistory).join(
        Share, Share.id == BindHistory.share_id).where(BindHistory.kind.in_(_BINDS))


def _candidates(step: str, day: date, start: datetime, end: datetime) -> Select:
    """Members who may reach ``step`` on the day: a step row of the day, or their join on the day."""
    joined_today = select(FunnelJoin.member_id).where(FunnelJoin.join_day == day)
    if step in EVENT_STEPS:
        today = select(Event.member_id).where(Event.kind == EVENT_STEPS[step], Event.occurred_at >= start,
                                              Event.occurred_at < end)
    elif step == FRIEND_BOUND:
        today = select(Share.sharer_id).select_from(BindHistory).join(Share, Share.id == BindHistory.share_id).where(
            BindHistory.kind.in_(_BINDS), BindHistory.created_at >= start, BindHistory.created_at < end)
    else:
        today = (select(Share.sharer_id).select_from(Event)
                 .join(BindHistory, and_(BindHistory.member_id == Event.member_id,
                                         BindHistory.created_at <= Event.occurred_at))
                 .join(Share, Share.id == BindHistory.share_id)
                 .where(Event.kind == JourneyKind.ORDER_PAID.value, Event.occurred_at >= start,
                        Event.occurred_at < end, BindHistory.kind.in_(_BINDS)))
    return union(today, joined_today)


def firsts(step: str, day: date, start: datetime, end: datetime) -> Select:
    """(member_id, first_at): when each candidate of the day first reached ``step`` (ever)."""
    candidates = select(_candidates(step, day, start, end).subquery().c[0])
    if step in EVENT_STEPS:
        return (select(Event.member_id, func.min(Event.occurred_at).label("first_at"))
                .where(Event.kind == EVENT_STEPS[step], Event.member_id.in_(candidates)).group_by(Event.member_id))
    if step == FRIEND_BOUND:
        return (select(Share.sharer_id.label("member_id"), func.min(BindHistory.created_at).label("first_at"))
                .select_from(BindHistory).join(Share, Share.id == BindHistory.share_id)
                .where(BindHistory.kind.in_(_BINDS), Share.sharer_id.in_(candidates)).group_by(Share.sharer_id))
    paid = Event
    return (select(Share.sharer_id.label("member_id"), func.min(paid.occurred_at).label("first_at"))
            .select_from(BindHistory).join(Share, Share.id == BindHistory.share_id)
            .join(paid, and_(paid.member_id == BindHistory.member_id, paid.kind == JourneyKind.ORDER_PAID.value,
                             paid.occurred_at >= BindHistory.created_at))
            .where(BindHistory.kind.in_(_BINDS), Share.sharer_id.in_(candidates)).group_by(Share.sharer_id))


_GROUP = (FunnelJoin.join_day, FunnelJoin.store_id, FunnelJoin.campaign, FunnelJoin.share_id)


def step_rows(step: str, day: date, start: datetime, end: datetime) -> Select:
    """The ``crm_funnel_days`` rows of one step and day: members counted on the later of their first step
    and their join (a follow from before the join counts on the join's day)."""
    head = (literal(day, Date), FunnelJoin.join_day, literal(step), FunnelJoin.store_id, FunnelJoin.campaign,
            FunnelJoin.share_id, func.count())
    if step == JOINED:
        return select(*head).where(FunnelJoin.join_day == day).group_by(*_GROUP)
    first = firsts(step, day, start, end).subquery()
    moment = case((first.c.first_at > FunnelJoin.joined_at, first.c.first_at), else_=FunnelJoin.joined_at)
    return (select(*head).select_from(first).join(FunnelJoin, FunnelJoin.member_id == first.c.member_id)
            .where(moment >= start, moment < end).group_by(*_GROUP))


# The raw computation: the same figures from the raw rows, without the rollup.

def _day_table(bounds: list[tuple[date, datetime, datetime]]):
    return union_all(*(select(literal(day, Date).label("day"), literal(start, UTCDateTime).label("start"),
                              literal(end, UTCDateTime).label("end")) for day, start, end in bounds)).subquery()


def raw_joins(bounds: list[tuple[date, datetime, datetime]], *, store_id: int | None, campaign: str | None,
              share_id: int | None):
    """(member_id, day) of the members who joined in the days of ``bounds`` with the given attribution."""
    days = _day_table(bounds)
    joined = registrations(bounds[0][1], bounds[-1][2]).subquery()
    arrived_share, arrived_campaign, arrived_store = arrival(joined.c.member_id)
    rows = (select(joined.c.member_id, days.c.day, arrived_store.label("store_id"),
                   arrived_campaign.label("campaign"), arrived_share.label("share_id"))
            .join(days, and_(joined.c.joined_at >= days.c.start, joined.c.joined_at < days.c.end))).subquery()
    wanted = [column == value for column, value in ((rows.c.store_id, store_id), (rows.c.campaign, campaign),
                                                    (rows.c.share_id, share_id)) if value is not None]
    return select(rows.c.member_id, rows.c.day).where(*wanted).subquery()


def reached(step: str, member_id: ColumnElement) -> ColumnElement:
    """Whether the member has ever reached ``step``."""
    if step in EVENT_STEPS:
        return exists().where(Event.member_id == member_id, Event.kind == EVENT_STEPS[step])
    binds = _binds().subquery()
    if step == FRIEND_BOUND:
        return exists().where(binds.c.sharer_id == member_id)
    return exists(select(1).select_from(binds).join(Event, and_(
        Event.member_id == binds.c.member_id, Event.kind == JourneyKind.ORDER_PAID.value,
        Event.occurred_at >= binds.c.created_at)).where(binds.c.sharer_id == member_id))


def raw_counts(joins, step: str) -> Select:
    """(day, members) of the joined who have reached ``step``."""
    query = select(joins.c.day, func.count()).group_by(joins.c.day)
    return query if step == JOINED else query.where(reached(step, joins.c.member_id))
