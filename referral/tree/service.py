"""The share tree: nodes with parent links, a closure table and subtree counters kept in step
(the statements that keep them are in ``queries``).

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

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from referral.tree import queries
from referral.tree.models import ReferralNode
from referral.tree.queries import ancestors, is_in_subtree, lock_nodes
from shop.database import utcnow
from shop.extensions import db

# ancestors, is_in_subtree and lock_nodes are queries that callers of the tree use as they are.
__all__ = ["CycleError", "SubtreeSummary", "ancestors", "bind", "count_paid_order", "ensure_node", "is_in_subtree",
           "lock_nodes", "parent_of", "subtree_summary"]

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


def bind(member_id: int, parent_id: int | None, *, share_id: int | None, now: datetime,
         only_if_unbound: bool = False) -> bool:
    """Put the member (with their subtree) under ``parent_id`` (None: make them a root).

    With ``only_if_unbound`` nothing changes (False) if the member already has a parent. Raises
    CycleError if the parent is the member or below them. Both members must be nodes.
    """
    lock_nodes([member_id, parent_id, *(ancestors(parent_id) if parent_id is not None else [])])
    node = queries.node_row(member_id)
    if only_if_unbound and node.parent_id is not None:
        return False
    if parent_id is not None and is_in_subtree(parent_id, member_id):
        raise CycleError(f"member {parent_id} is {member_id} or below them")
    if node.parent_id == parent_id:
        return node.parent_id is not None
    moved = (1 + node.descendants, node.own_orders + node.subtree_orders, node.own_gmv + node.subtree_gmv)
    if node.parent_id is not None:
        queries.unlink(member_id, moved)
    new_depth = 0
    if parent_id is not None:
        new_depth = queries.node_row(parent_id).depth + 1
        queries.link(member_id, parent_id, moved)
    queries.shift_depth(member_id, new_depth - node.depth)
    db.session.execute(update(nodes).where(nodes.c.member_id == member_id).values(
        parent_id=parent_id, share_id=share_id, bound_at=now if parent_id is not None else None))
    return True


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
    queries.add_to_counters(above, (0, orders, gmv), sign=1)


def subtree_summary(member_id: int) -> SubtreeSummary:
    """Size, reach, orders and GMV of the member's subtree: one row and one index probe."""
    node = queries.node_row(member_id)
    levels = queries.deepest_level(member_id)
    return SubtreeSummary(member_id=member_id, depth=node.depth, size=node.descendants, levels=levels,
                          orders=node.subtree_orders, gmv=node.subtree_gmv, own_orders=node.own_orders,
                          own_gmv=node.own_gmv)
