"""The fast paths of rewards: Core statements over snapshots, rewards, nodes and order lines, so the
service reads as rules. Nothing here commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, bindparam, select, text, update
from sqlalchemy.engine import Row

from referral.rewards.models import OrderSnapshot, Reward
from referral.tree import service as tree
from referral.tree.models import ReferralNode
from shop.database import UTCDateTime
from shop.extensions import db
from shop.orders.models import Order, OrderLine, Refund

snapshots = OrderSnapshot.__table__
rewards = Reward.__table__
nodes = ReferralNode.__table__
lines_table = OrderLine.__table__
orders = Order.__table__


def node_of(member_id: int) -> Row:
    """The buyer's parent, share, flag and first payment (their node made first if missing)."""
    columns = (nodes.c.parent_id, nodes.c.share_id, nodes.c.flagged_at, nodes.c.first_paid_at)
    row = db.session.execute(select(*columns).where(nodes.c.member_id == member_id)).first()
    if row is None:
        tree.ensure_node(member_id)
        row = db.session.execute(select(*columns).where(nodes.c.member_id == member_id)).one()
    return row


# Text, built once: SQLAlchemy cannot cache an INSERT ... SELECT ... ON CONFLICT construct and compiled it
# on every paid order (the one statement of a till sale compiled per call). PostgreSQL and SQLite spell it
# alike; the typed binds give psycopg its casts. The values come with the order's row, so a signal about an
# order that does not exist records nothing.
_INSERT_SNAPSHOT = text(
    "INSERT INTO referral_order_snapshots (order_id, member_id, parent_id, share_id, chain, amount_paid, refunded, "
    "first_order, paid_at) SELECT id, :member_id, :parent_id, :share_id, :chain, :amount_paid, 0, :first_order, "
    ":paid_at FROM orders WHERE id = :order_id ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
).bindparams(*(bindparam(name, type_=BigInteger()) for name in ("member_id", "parent_id", "share_id", "amount_paid",
                                                                "order_id")),
             bindparam("chain", type_=JSON()), bindparam("first_order", type_=Boolean()),
             bindparam("paid_at", type_=UTCDateTime()))


def insert_snapshot(*, order_id: int, member_id: int, node: Row, chain: list[int], amount_paid: int,
                    first_order: bool, paid_at: datetime) -> bool:
    """Record the paid order's snapshot; False when it was there already (or no such order exists)."""
    inserted = db.session.execute(_INSERT_SNAPSHOT, {
        "order_id": order_id, "member_id": member_id, "parent_id": node.parent_id, "share_id": node.share_id,
        "chain": chain, "amount_paid": amount_paid, "first_order": first_order, "paid_at": paid_at}).first()
    return inserted is not None


def order_lines(order_id: int) -> list[Row]:
    """(id, sku_id, quantity, amount_payable, and the order's fulfilment) of the order's lines."""
    return db.session.execute(
        select(lines_table.c.id, lines_table.c.sku_id, lines_table.c.quantity, lines_table.c.amount_payable,
               orders.c.fulfilment).join(orders, orders.c.id == lines_table.c.order_id)
        .where(lines_table.c.order_id == order_id)).all()


def insert_rewards(rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rewards (one statement); their ids."""
    return list(db.session.execute(rewards.insert().returning(rewards.c.id), rows).scalars())


def earning_figures(member_ids: list[int]) -> dict[int, Row]:
    """Each member's node figures the sharer policy reads (approved_at, first_paid_at), by member id."""
    return {row.member_id: row for row in db.session.execute(
        select(nodes.c.member_id, nodes.c.approved_at, nodes.c.first_paid_at).where(nodes.c.member_id.in_(member_ids)))}


def lock_snapshot(order_id: int) -> Row | None:
    """The order's snapshot (member_id, refunded), locked until the transaction ends; None if never paid here."""
    return db.session.execute(select(snapshots.c.member_id, snapshots.c.refunded)
                              .where(snapshots.c.order_id == order_id).with_for_update()).first()


def set_refunded(order_id: int, refunded_total: int) -> None:
    db.session.execute(update(snapshots).where(snapshots.c.order_id == order_id).values(refunded=refunded_total))


def refund_names_lines(refund_id: int) -> bool:
    """Whether the refund names order lines (else it is a share of the whole order)."""
    return bool(db.session.scalar(select(Refund.lines).where(Refund.id == refund_id)))
