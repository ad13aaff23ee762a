"""The tree of who brought whom, and its history.

- ``referral_nodes``: one row per member in the tree, with the parent, the depth and counters kept
  for the member's subtree (descendants, their paid orders and GMV), so analytics of any subtree
  are one row read however large it is.
- ``referral_closure``: every (ancestor, descendant) pair with their distance (no self rows), so a
  member's ancestors are an index range of O(depth) rows and a subtree is an index range too.
- ``referral_bind_history``: every bind, re-bind and admin change, because customers dispute who
  referred them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class ReferralNode(db.Model):
    """A member's place in the tree; the subtree counters cover descendants, not the member."""

    __tablename__ = "referral_nodes"
    __table_args__ = (Index("ix_referral_nodes_bound_at", "bound_at"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True, autoincrement=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)  # 0: a root
    share_id: Mapped[int | None] = mapped_column(ForeignKey("referral_shares.id"), index=True)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    descendants: Mapped[int] = mapped_column(BigInteger, default=0)
    subtree_orders: Mapped[int] = mapped_column(BigInteger, default=0)
    subtree_gmv: Mapped[int] = mapped_column(BigInteger, default=0)  # fen paid by descendants
    own_orders: Mapped[int] = mapped_column(Integer, default=0)
    own_gmv: Mapped[int] = mapped_column(BigInteger, default=0)
    first_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # approved as a sharer who earns
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # bind under review: rewards stay frozen
    flag_reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralClosure(db.Model):
    __tablename__ = "referral_closure"
    __table_args__ = (Index("ix_referral_closure_descendant_id_distance", "descendant_id", "distance"),
                      Index("ix_referral_closure_ancestor_id_distance", "ancestor_id", "distance"),
                      CheckConstraint("distance > 0", name="distance_positive"))

    ancestor_id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=False)
    descendant_id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=False)
    distance: Mapped[int] = mapped_column(Integer)


class BindHistory(db.Model):
    __tablename__ = "referral_bind_history"
    __table_args__ = (Index("ix_referral_bind_history_member_id_created_at", "member_id", "created_at"),
                      Index("ix_referral_bind_history_created_at", "created_at"),
                      Index("ix_referral_bind_history_share_id", "share_id"))  # binds per share

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    old_parent_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    new_parent_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    share_id: Mapped[int | None] = mapped_column(ForeignKey("referral_shares.id"))
    kind: Mapped[str] = mapped_column(String(16))  # bind, rebind, admin_rebind
    reason: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
