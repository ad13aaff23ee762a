"""The share tree: nodes with parent links, a closure table and subtree counters kept in step.

Every change goes through ``bind`` (a root member goes under a parent, or an admin moves a
member with their whole subtree elsewhere) so the three stay equal: the closure table holds every
(ancestor, descendant, distance), and each node's counters hold its descendants, their paid orders
and GMV. Reads are then cheap at any size: ``ancestors`` is an index range of depth rows, a subtree
summary is one row.

Writers lock the nodes they will touch (the member, the new parent and its ancestors) in id order
before checking for a cycle, so two concurrent binds can neither both win nor close a loop, and
lock order is the same everywhere (no deadlocks). Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, literal, select, true, union_all, update
from sqlalchemy.exc import IntegrityError

from referral.tree.models import ReferralClosure, ReferralNode
from shop.database import utcnow
from shop.extensions import db

closure = ReferralClosure.__table__
nodes = ReferralNode.__table__


class CycleError(ValueError):
    """The new parent is the member or one of the member's descendants."""


@dataclass(frozen=True)
class SubtreeSummary:
    member_id: int
    depth: int  # the member's own depth in the tree
    size: int  # descendants
    levels: int  # how far below the member the subtree reaches
    orders: int  # paid orders of descendants
    gmv: int  # fen paid by descendants
    own_orders: int
    own_gmv: int


def ensure_node(member_id: int) -> None:
    """Make the member a node (a root) if they are not one yet; safe when two requests race."""
    if db.session.execute(select(nodes.c.member_id).where(nodes.c.member_id == member_id)).first() is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(nodes).values(member_id=member_id, depth=0, created_at=utcnow()))
    except IntegrityError:
        pass  # a concurrent request made it


def parent_of(member_id: int) -> int | None:
    return db.session.execute(select(nodes.c.parent_id).where(nodes.c.member_id == member_id)).scalar()


def ancestors(member_id: int, limit: int | None = None) -> list[int]:
    """The member's ancestors, nearest first (at most ``limit``)."""
    statement = (select(closure.c.ancestor_id).where(closure.c.descendant_id == member_id)
                 .order_by(closure.c.distance))
    if limit is not None:
        statement = statement.limit(limit)
    return list(db.session.execute(statement).scalars())


def is_in_subtree(member_id: int, root_id: int) -> bool:
    """Whether ``member_id`` is ``root_id`` or one of its descendants."""
    if member_id == root_id:
        return True
    return db.session.execute(select(closure.c.distance).where(
        closure.c.ancestor_id == root_id, closure.c.descendant_id == member_id)).first() is not None


def bind(member_id: int, parent_id: int | None, *, share_id: int | None, now: datetime,
         only_if_unbound: bool = False) -> bool:
    """Put the member (with their subtree) under ``parent_id`` (None: make them a root).

    With ``only_if_unbound`` nothing changes (False) if the member already has a parent. Raises
    CycleError if the parent is the member or below them. Both members must be nodes.
    """
    lock_nodes([member_id, parent_id, *(ancestors(parent_id) if parent_id is not None else [])])
    node = _node(member_id)
    if only_if_unbound and node.parent_id is not None:
        return False
    if parent_id is not None and is_in_subtree(parent_id, member_id):
        raise CycleError(f"member {parent_id} is {member_id} or below them")
    if node.parent_id == parent_id:
        return node.parent_id is not None
    moved = (1 + node.descendants, node.own_orders + node.subtree_orders, node.own_gmv + node.subtree_gmv)
    if node.parent_id is not None:
        _detach(member_id, moved)
    new_depth = 0
    if parent_id is not None:
        new_depth = _node(parent_id).depth + 1
        _attach(member_id, parent_id, moved)
    _shift_depth(member_id, new_depth - node.depth)
    db.session.execute(update(nodes).where(nodes.c.member_id == member_id).values(
        parent_id=parent_id, share_id=share_id, bound_at=now if parent_id is not None else None))
    return True


def _node(member_id: int):
    row = db.session.execute(select(nodes).where(nodes.c.member_id == member_id)).first()
    if row is None:
        raise LookupError(f"member {member_id} is not in the tree")
    return row


def lock_nodes(member_ids: list[int | None]) -> None:
    """Lock these nodes in id order, the order every writer of the tree uses (so no deadlocks)."""
    ids = sorted({m for m in member_ids if m is not None})
    db.session.execute(select(nodes.c.member_id).where(nodes.c.member_id.in_(ids))
                       .order_by(nodes.c.member_id).with_for_update())


def _subtree_ids(member_id: int):
    """The member and their descendants, as a subquery of (descendant_id, distance)."""
    return union_all(
        select(literal(member_id).label("descendant_id"), literal(0).label("distance")),
        select(closure.c.descendant_id, closure.c.distance).where(closure.c.ancestor_id == member_id),
    ).subquery()


def _upward_ids(parent_id: int):
    """The parent and its ancestors, as a subquery of (ancestor_id, distance from the parent)."""
    return union_all(
        select(literal(parent_id).label("ancestor_id"), literal(0).label("distance")),
        select(closure.c.ancestor_id, closure.c.distance).where(closure.c.descendant_id == parent_id),
    ).subquery()


def _attach(member_id: int, parent_id: int, moved: tuple[int, int, int]) -> None:
    up, down = _upward_ids(parent_id), _subtree_ids(member_id)
    db.session.execute(insert(closure).from_select(
        ["ancestor_id", "descendant_id", "distance"],
        select(up.c.ancestor_id, down.c.descendant_id, up.c.distance + down.c.distance + 1)
        .select_from(up.join(down, true()))))
    _add_to_counters(ancestors(member_id), moved, sign=1)


def _detach(member_id: int, moved: tuple[int, int, int]) -> None:
    above = ancestors(member_id)
    lock_nodes(above)
    _add_to_counters(above, moved, sign=-1)
    below = select(closure.c.descendant_id).where(closure.c.ancestor_id == member_id)
    db.session.execute(delete(closure).where(
        closure.c.ancestor_id.in_(above),
        (closure.c.descendant_id == member_id) | closure.c.descendant_id.in_(below)))


def _add_to_counters(member_ids: list[int], moved: tuple[int, int, int], *, sign: int) -> None:
    if not member_ids:
        return
    size, orders, gmv = (sign * value for value in moved)
    db.session.execute(update(nodes).where(nodes.c.member_id.in_(member_ids)).values(
        descendants=nodes.c.descendants + size, subtree_orders=nodes.c.subtree_orders + orders,
        subtree_gmv=nodes.c.subtree_gmv + gmv))


def _shift_depth(member_id: int, delta: int) -> None:
    if delta == 0:
        return
    below = select(closure.c.descendant_id).where(closure.c.ancestor_id == member_id)
    db.session.execute(update(nodes).where((nodes.c.member_id == member_id) | nodes.c.member_id.in_(below))
                       .values(depth=nodes.c.depth + delta))


def count_paid_order(member_id: int, *, orders: int, gmv: int, above: list[int] | None = None,
                     first_paid_at: datetime | None = None) -> None:
    """Add a member's paid order (or take back a refund: negative gmv, orders 0) to the counters
    of the member and of every ancestor (``above``, when the caller has just read them); with
    ``first_paid_at``, the member's first payment is kept too if none was yet."""
    above = ancestors(member_id) if above is None else above
    if above:  # a root's own UPDATE is the only lock it needs; with ancestors, all in id order
        lock_nodes([member_id, *above])
    values = {"own_orders": nodes.c.own_orders + orders, "own_gmv": nodes.c.own_gmv + gmv}
    if first_paid_at is not None:
        values["first_paid_at"] = func.coalesce(nodes.c.first_paid_at, first_paid_at)
    db.session.execute(update(nodes).where(nodes.c.member_id == member_id).values(**values))
    _add_to_counters(above, (0, orders, gmv), sign=1)


def subtree_summary(member_id: int) -> SubtreeSummary:
    """Size, reach, orders and GMV of the member's subtree: one row and one index probe."""
    node = _node(member_id)
    levels = db.session.execute(select(func.max(closure.c.distance))
                                .where(closure.c.ancestor_id == member_id)).scalar() or 0
    return SubtreeSummary(member_id=member_id, depth=node.depth, size=node.descendants, levels=levels,
                          orders=node.subtree_orders, gmv=node.subtree_gmv, own_orders=node.own_orders,
                          own_gmv=node.own_gmv)
