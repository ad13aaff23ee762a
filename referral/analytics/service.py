"""Referral analytics: a shopper's downline and shares; for marketing, sharers, shares, campaigns,
the viral coefficient, how far shares ripple and any member's subtree.

Every figure is aggregated by the database (grouped queries, no per-row loops in Python). Figures of
a period count what happened inside ``[start, end)``: binds when the bind was recorded, opens when
the share was opened, orders when they were paid, rewards when they were created. GMV is what was
paid less what was refunded, in fen, as the tree's counters keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
)

from referral.errors import ReferralError
from referral.policy.models import RewardKind
from referral.rewards.models import OrderSnapshot, Reward
from referral.sharing.models import Share, ShareOpen
from referral.tree import service as tree
from referral.tree.models import BindHistory, ReferralClosure, ReferralNode
from shop.database import storable_id
from shop.errors import AppError
from shop.extensions import db
from shop.members.models import Member
from shop.pagination import paginate
from shop.replica import reading_replica

closure = ReferralClosure.__table__
nodes = ReferralNode.__table__
shares = Share.__table__
opens = ShareOpen.__table__
history = BindHistory.__table__
snapshots = OrderSnapshot.__table__
rewards = Reward.__table__
members = Member.__table__

# History kinds that a share brought about (an admin's re-bind is not a share's doing).
SHARE_BIND_KINDS = ("bind", "rebind")
FIRST_BIND_KIND = "bind"
FIGURES = ("shares", "sharers", "opens", "unique_openers", "binds", "orders", "gmv")
SHARE_SORTS = ("gmv", "orders", "binds", "opens", "created_at")
SHARER_SORTS = ("gmv", "orders", "binds", "shares", "reward_points", "reward_commission")


@dataclass(frozen=True)
class Period:
    """A half-open span of time ``[start, end)``, aware UTC."""

    start: datetime
    end: datetime

    def covers(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)


def _total(expression: Any) -> ColumnElement[int]:
    # sum() of a bigint is numeric on PostgreSQL: cast back, and 0 rather than null for no rows.
    return cast(func.coalesce(func.sum(expression), 0), BigInteger)


def _zero(name: str) -> ColumnElement[int]:
    return cast(literal(0), BigInteger).label(name)


def _gmv() -> ColumnElement[int]:
    return snapshots.c.amount_paid - snapshots.c.refunded


# --- the shopper's own view, from the primary: a share just made or a friend just bound shows at once --

def my_downline(member_id: int, *, level: int, page: int, page_size: int) -> dict[str, Any]:
    """The member's place, counts and GMV per level (1, 2) and of the whole subtree, and a page of one level."""
    node = db.session.execute(select(nodes).where(nodes.c.member_id == member_id)).first()
    per_level = {row.level: {"members": row.members, "orders": row.orders, "gmv": row.gmv}
                 for row in db.session.execute(
                     select(closure.c.distance.label("level"), func.count().label("members"),
                            _total(nodes.c.own_orders).label("orders"), _total(nodes.c.own_gmv).label("gmv"))
                     .join(nodes, nodes.c.member_id == closure.c.descendant_id)
                     .where(closure.c.ancestor_id == member_id, closure.c.distance <= 2)
                     .group_by(closure.c.distance))}
    nobody = {"members": 0, "orders": 0, "gmv": 0}
    return {
        "member_id": member_id,
        "parent_id": node.parent_id if node else None,
        "bound_at": node.bound_at if node else None,
        "levels": [{"level": n, **per_level.get(n, nobody)} for n in (1, 2)],
        "subtree": {"members": node.descendants, "orders": node.subtree_orders, "gmv": node.subtree_gmv}
        if node else nobody,
        "level": level,
        "members": paginate(_nodes_below(member_id).where(closure.c.distance == level)
                            .order_by(nodes.c.bound_at.desc(), nodes.c.member_id.desc()),
                            page=page, page_size=page_size, rows=True),
    }


def _nodes_below(member_id: int) -> Select:
    """The member's descendants with their place, counters and profile, as rows."""
    return (select(nodes.c.member_id, nodes.c.parent_id, nodes.c.depth, closure.c.distance.label("level"),
                   nodes.c.bound_at, nodes.c.share_id, nodes.c.own_orders, nodes.c.own_gmv, nodes.c.descendants,
                   members.c.nickname, members.c.avatar_url)
            .select_from(closure.join(nodes, nodes.c.member_id == closure.c.descendant_id)
                         .join(members, members.c.id == nodes.c.member_id))
            .where(closure.c.ancestor_id == member_id))


def my_shares(member_id: int, *, page: int, page_size: int) -> dict[str, Any]:
    """The member's shares, newest first, each with its opens, unique openers, binds, orders and GMV (all time)."""
    figures = _figures_by(shares.c.id, [shares.c.sharer_id == member_id], period=None)
    return paginate(_share_rows(figures).order_by(shares.c.created_at.desc(), shares.c.id.desc()),
                    page=page, page_size=page_size, rows=True)


# --- marketing, from the reports' replica when there is one (shop/replica.py) -----------------------

def _figures_by(key: Any, share_filter: list[ColumnElement[bool]], period: Period | None):
    """Share figures grouped by ``key`` (a column of shares: its id, or the campaign), as a subquery.

    Shares come in when created in the period or when something happened to them in it; ``shares`` and
    ``sharers`` count only those created in the period. Openers and bound members are distinct per key.
    """
    def within(column: Any) -> list[ColumnElement[bool]]:
        return [*share_filter, period.covers(column)] if period else list(share_filter)

    created = (select(key.label("key"), func.count().label("shares"),
                      func.count(shares.c.sharer_id.distinct()).label("sharers"),
                      _zero("opens"), _zero("unique_openers"), _zero("binds"), _zero("orders"), _zero("gmv"))
               .where(*within(shares.c.created_at)).group_by(key))
    opened = (select(key, _zero("shares"), _zero("sharers"), func.count(),
                     func.count(opens.c.member_id.distinct()), _zero("binds"), _zero("orders"), _zero("gmv"))
              .select_from(opens).join(shares, shares.c.id == opens.c.share_id).where(*within(opens.c.opened_at)).group_by(key))
    bound = (select(key, _zero("shares"), _zero("sharers"), _zero("opens"), _zero("unique_openers"),
                    func.count(history.c.member_id.distinct()), _zero("orders"), _zero("gmv"))
             .select_from(history).join(shares, shares.c.id == history.c.share_id)
             .where(history.c.kind.in_(SHARE_BIND_KINDS), *within(history.c.created_at)).group_by(key))
    bought = (select(key, _zero("shares"), _zero("sharers"), _zero("opens"), _zero("unique_openers"),
                     _zero("binds"), func.count(), _total(_gmv()))
              .select_from(snapshots).join(shares, shares.c.id == snapshots.c.share_id).where(*within(snapshots.c.paid_at)).group_by(key))
    every = union_all(created, opened, bound, bought).subquery()
    return (select(every.c.key, *(_total(every.c[name]).label(name) for name in FIGURES))
            .group_by(every.c.key).subquery())


def _share_rows(figures) -> Select:
    return (select(shares.c.id.label("share_id"), shares.c.scene, shares.c.sharer_id, shares.c.product_id,
                   shares.c.campaign, shares.c.channel, shares.c.created_at,
                   *(figures.c[name] for name in FIGURES[2:]))
            .select_from(figures.join(shares, shares.c.id == figures.c.key)))


@reading_replica()
def share_figures(period: Period, *, campaign: str | None, sharer_id: int | None, sort: str, page: int,
                  page_size: int) -> dict[str, Any]:
    """Per share: opens, unique openers, binds, orders and GMV in the period, best first by ``sort``."""
    share_filter = []
    if campaign is not None:
        share_filter.append(shares.c.campaign == campaign)
    if sharer_id is not None:
        share_filter.append(shares.c.sharer_id == sharer_id)
    figures = _figures_by(shares.c.id, share_filter, period)
    order = shares.c.created_at if sort == "created_at" else figures.c[sort]
    return paginate(_share_rows(figures).order_by(order.desc(), shares.c.id.desc()),
                    page=page, page_size=page_size, rows=True)


@reading_replica()
def campaign_figures(period: Period, *, page: int, page_size: int) -> dict[str, Any]:
    """Per campaign (shares without one together, as null): shares and sharers, opens, unique openers, binds,
    orders and GMV in the period, by GMV."""
    figures = _figures_by(shares.c.campaign, [], period)
    statement = (select(figures.c.key.label("campaign"), *(figures.c[name] for name in FIGURES))
                 .order_by(figures.c.gmv.desc(), figures.c.binds.desc(), figures.c.key))
    return paginate(statement, page=page, page_size=page_size, rows=True)


@reading_replica()
def top_sharers(period: Period, *, sort: str, page: int, page_size: int) -> dict[str, Any]:
    """Sharers by what they brought in the period: shares made, binds, their level-1 friends' orders and GMV,
    rewards (points and commission, net of reversals)."""
    net = rewards.c.amount - rewards.c.reversed_amount
    branches = (
        select(shares.c.sharer_id.label("member_id"), func.count().label("shares"), _zero("binds"),
               _zero("orders"), _zero("gmv"), _zero("reward_points"), _zero("reward_commission"))
        .where(period.covers(shares.c.created_at)).group_by(shares.c.sharer_id),
        select(history.c.new_parent_id, _zero("shares"), func.count(), _zero("orders"), _zero("gmv"),
               _zero("reward_points"), _zero("reward_commission"))
        .where(history.c.kind.in_(SHARE_BIND_KINDS), history.c.new_parent_id.is_not(None),
               period.covers(history.c.created_at)).group_by(history.c.new_parent_id),
        select(snapshots.c.parent_id, _zero("shares"), _zero("binds"), func.count(), _total(_gmv()),
               _zero("reward_points"), _zero("reward_commission"))
        .where(snapshots.c.parent_id.is_not(None), period.covers(snapshots.c.paid_at)).group_by(snapshots.c.parent_id),
        select(rewards.c.beneficiary_id, _zero("shares"), _zero("binds"), _zero("orders"), _zero("gmv"),
               _total(case((rewards.c.kind == RewardKind.POINTS.value, net), else_=0)),
               _total(case((rewards.c.kind == RewardKind.COMMISSION.value, net), else_=0)))
        .where(period.covers(rewards.c.created_at)).group_by(rewards.c.beneficiary_id),
    )
    every = union_all(*branches).subquery()
    names = ("shares", "binds", "orders", "gmv", "reward_points", "reward_commission")
    figures = (select(every.c.member_id, *(_total(every.c[name]).label(name) for name in names))
               .group_by(every.c.member_id).subquery())
    statement = (select(figures, members.c.nickname, members.c.avatar_url)
                 .join(members, members.c.id == figures.c.member_id)
                 .order_by(figures.c[sort].desc(), figures.c.member_id))
    return paginate(statement, page=page, page_size=page_size, rows=True)


@reading_replica()
def viral_coefficient(period: Period) -> dict[str, Any]:
    """K = new members brought per sharer x sharers per member (see the API description for each term)."""
    brought = (select(history.c.member_id, history.c.share_id)
               .join(members, members.c.id == history.c.member_id)
               .where(history.c.kind == FIRST_BIND_KIND, history.c.share_id.is_not(None),
                      period.covers(history.c.created_at), period.covers(members.c.created_at))).subquery()
    new_members = db.session.scalar(select(func.count(brought.c.member_id.distinct())))
    sharing = union_all(
        select(shares.c.sharer_id).where(period.covers(shares.c.created_at)),
        select(shares.c.sharer_id).join(brought, brought.c.share_id == shares.c.id)).subquery()
    sharers = db.session.scalar(select(func.count(sharing.c.sharer_id.distinct())))
    population = db.session.scalar(select(func.count()).select_from(members).where(members.c.created_at < period.end))
    per_sharer = new_members / sharers if sharers else None
    sharing_rate = sharers / population if population else None
    return {"start": period.start, "end": period.end, "new_members": new_members, "sharers": sharers,
            "members": population, "new_members_per_sharer": per_sharer, "sharer_rate": sharing_rate,
            "k": per_sharer * sharing_rate if per_sharer is not None and sharing_rate is not None else None}


@reading_replica()
def ripple(period: Period) -> dict[str, Any]:
    """How deep in the tree the members bound in the period sit: members per depth, the deepest, the mean."""
    rows = db.session.execute(select(nodes.c.depth, func.count().label("members"))
                              .where(period.covers(nodes.c.bound_at))
                              .group_by(nodes.c.depth).order_by(nodes.c.depth)).all()
    total = sum(row.members for row in rows)
    return {"start": period.start, "end": period.end, "members": total,
            "max_depth": rows[-1].depth if rows else None,
            "mean_depth": sum(row.depth * row.members for row in rows) / total if total else None,
            "depths": [{"depth": row.depth, "members": row.members} for row in rows]}


@reading_replica()
def subtree(member_id: int, *, max_level: int | None, page: int, page_size: int) -> dict[str, Any]:
    """Any member's subtree: the summary from the node's counters, and a page of its nodes, shallowest first."""
    try:
        if not storable_id(member_id):
            raise LookupError(member_id)
        summary = tree.subtree_summary(member_id)
    except LookupError:
        raise AppError(ReferralError.REFERRAL_MEMBER_NOT_FOUND, "This member is not in the referral tree.") from None
    statement = _nodes_below(member_id)
    if max_level is not None:
        statement = statement.where(closure.c.distance <= max_level)
    return {"member_id": member_id, "parent_id": tree.parent_of(member_id), "depth": summary.depth,
            "size": summary.size, "levels": summary.levels, "orders": summary.orders, "gmv": summary.gmv,
            "own_orders": summary.own_orders, "own_gmv": summary.own_gmv,
            "nodes": paginate(statement.order_by(closure.c.distance, nodes.c.member_id),
                              page=page, page_size=page_size, rows=True)}
