"""The tree's statements: the closure table's rows and the nodes' counters and depths, moved together.

Callers lock first (``lock_nodes``, in id order); nothing here commits.
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, literal, select, true, union_all, update
from sqlalchemy.engine import Row

from referral.tree.models import ReferralClosure, ReferralNode
from shop.extensions import db

closure = ReferralClosure.__table__
nodes = ReferralNode.__table__


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


def node_row(member_id: int) -> Row:
    """The member's whole node row; LookupError if they are not in the tree."""
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


def link(member_id: int, parent_id: int, moved: tuple[int, int, int]) -> None:
    """Closure rows from the parent and its ancestors to the member's subtree; ``moved`` (size, orders, GMV)
    added to the counters above."""
    up, down = _upward_ids(parent_id), _subtree_ids(member_id)
    db.session.execute(insert(closure).from_select(
        ["ancestor_id", "descendant_id", "distance"],
        select(up.c.ancestor_id, down.c.descendant_id, up.c.distance + down.c.distance + 1)
        .select_from(up.join(down, true()))))
    add_to_counters(ancestors(member_id), moved, sign=1)


def unlink(member_id: int, moved: tuple[int, int, int]) -> None:
    """The reverse of ``link`` for the member's current ancestors."""
    above = ancestors(member_id)
    lock_nodes(above)
    add_to_counters(above, moved, sign=-1)
    below = select(closure.c.descendant_id).where(closure.c.ancestor_id == member_id)
    db.session.execute(delete(closure).where(
        closure.c.ancestor_id.in_(above),
        (closure.c.descendant_id == member_id) | closure.c.descendant_id.in_(below)))


def add_to_counters(member_ids: list[int], moved: tuple[int, int, int], *, sign: int) -> None:
    if not member_ids:
        return
    size, orders, gmv = (sign * value for value in moved)
    db.session.execute(update(nodes).where(nodes.c.member_id.in_(member_ids)).values(
        descendants=nodes.c.descendants + size, subtree_orders=nodes.c.subtree_orders + orders,
        subtree_gmv=nodes.c.subtree_gmv + gmv))


def shift_depth(member_id: int, delta: int) -> None:
    if delta == 0:
        return
    below = select(closure.c.descendant_id).where(closure.c.ancestor_id == member_id)
    db.session.execute(update(nodes).where((nodes.c.member_id == member_id) | nodes.c.member_id.in_(below))
                       .values(depth=nodes.c.depth + delta))


def deepest_level(member_id: int) -> int:
    """How far below the member their subtree reaches (0: no descendants)."""
    return db.session.execute(select(func.max(closure.c.distance))
                              .where(closure.c.ancestor_id == member_id)).scalar() or 0
