"""The admin's view of members: a filtered list (segment, tag, search) and one member's relationship
with the brand (profile, follow, tier and points, orders, coupons, referrer and downline, journey)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from coupons.models import Coupon, CouponBatch
from crm.errors import CrmError
from crm.segments import rules
from crm.segments.service import get_segment, make_room_for_sets
from crm.tags.models import MemberTag, Tag
from crm.tags.queries import is_paid_order, net_paid
from referral.tree.models import ReferralNode
from shop.errors import AppError
from shop.extensions import db
from shop.members.models import JourneyEvent, Member
from shop.members.service import member_list
from shop.orders.models import Order
from shop.pagination import paginate
from shop.points.models import PointsAccount
from shop.points.tiers import tier_status
from shop.shipping.service import masked

RECENT = 10
SUMMARY_FIELDS = ("id", "nickname", "avatar_url", "phone_country_code", "is_following", "arrival_scene",
                  "home_store_id", "home_store_source", "created_at", "last_login_at")


def masked_phone(phone: str | None, *, full: bool) -> str | None:
    """Admins see the number; marketing sees its last four digits (``138****5678``)."""
    return phone if phone is None or full else masked(phone)


def list_members(*, segment_id: int | None, tag: str | None, page: int, page_size: int, full_phone: bool,
                 now: datetime, **filters: Any) -> dict[str, Any]:
    """Members newest first: shop's filters (following, has_phone, q), a saved segment's rule, a tag."""
    statement = member_list(**filters)
    if segment_id is not None:
        statement = statement.where(rules.condition(get_segment(segment_id).rule, now))
        make_room_for_sets()
    if tag is not None:
        statement = statement.where(select(MemberTag.member_id).join(Tag, Tag.id == MemberTag.tag_id)
                                    .where(Tag.name == tag, MemberTag.member_id == Member.id).exists())
    result = paginate(statement, page=page, page_size=page_size)
    result["items"] = [_summary(member, full_phone) for member in result["items"]]
    return result


def _summary(member: Member, full_phone: bool) -> dict[str, Any]:
    return {**{name: getattr(member, name) for name in SUMMARY_FIELDS},
            "phone": masked_phone(member.phone, full=full_phone)}


def member_view(member_id: int, *, full_phone: bool, now: datetime) -> dict[str, Any]:
    member = db.session.get(Member, member_id)
    if member is None:
        raise AppError(CrmError.MEMBER_NOT_FOUND, "No such member.")
    return {**_summary(member, full_phone), "follow": _follow(member), "points": _points(member_id, now), "orders": _orders(member_id),
            "coupons": _coupons(member_id), "referral": _referral(member_id),
            "tags": list(db.session.scalars(select(Tag.name).join(MemberTag, MemberTag.tag_id == Tag.id)
                                            .where(MemberTag.member_id == member_id).order_by(Tag.name))),
            "journey": journey(member_id, page=1, page_size=20)}


def _follow(member: Member) -> dict[str, Any]:
    follower = member.follower
    return {"following": member.is_following,
            "subscribed_at": follower.subscribed_at if follower else None,
            "unsubscribed_at": follower.unsubscribed_at if follower else None}


def _points(member_id: int, now: datetime) -> dict[str, Any]:
    balance = db.session.scalar(select(PointsAccount.balance).where(PointsAccount.member_id == member_id)) or 0
    status = tier_status(member_id, now)
    return {"balance": balance, "tier": status.name, "earned_12m": status.earned_12m}


def _orders(member_id: int) -> dict[str, Any]:
    paid_count, spend = db.session.execute(
        select(func.count(), func.coalesce(func.sum(net_paid()), 0))
        .where(Order.member_id == member_id, is_paid_order())).one()
    recent = db.session.scalars(select(Order).where(Order.member_id == member_id)
                                .order_by(Order.created_at.desc(), Order.id.desc()).limit(RECENT)).all()
    return {"paid_count": paid_count, "spend_fen": int(spend), "recent": [
        {"id": o.id, "number": o.number, "status": o.status, "fulfilment": o.fulfilment, "store_id": o.store_id,
         "amount_paid": o.amount_paid, "created_at": o.created_at, "paid_at": o.paid_at} for o in recent]}


def _coupons(member_id: int) -> dict[str, Any]:
    by_status = dict(db.session.execute(select(Coupon.status, func.count()).where(Coupon.member_id == member_id)
                                        .group_by(Coupon.status)).all())
    recent = db.session.execute(
        select(Coupon.id, Coupon.status, Coupon.claimed_at, Coupon.expires_at, CouponBatch.id, CouponBatch.name)
        .join(CouponBatch, CouponBatch.id == Coupon.batch_id).where(Coupon.member_id == member_id)
        .order_by(Coupon.claimed_at.desc(), Coupon.id.desc()).limit(RECENT)).all()
    return {"by_status": by_status, "recent": [
        {"id": row[0], "status": row[1], "claimed_at": row[2], "expires_at": row[3], "batch_id": row[4],
         "batch_name": row[5]} for row in recent]}


def _referral(member_id: int) -> dict[str, Any]:
    node = db.session.get(ReferralNode, member_id)
    if node is None:
        return {"referrer": None, "depth": 0, "direct": 0, "descendants": 0, "subtree_gmv": 0}
    referrer = db.session.get(Member, node.parent_id) if node.parent_id else None
    direct = db.session.scalar(select(func.count()).where(ReferralNode.parent_id == member_id))
    return {"referrer": {"id": referrer.id, "nickname": referrer.nickname} if referrer else None,
            "depth": node.depth, "direct": direct, "descendants": node.descendants, "subtree_gmv": node.subtree_gmv}


def journey(member_id: int, *, page: int, page_size: int) -> dict[str, Any]:
    """The member's journey events, newest first."""
    result = paginate(select(JourneyEvent).where(JourneyEvent.member_id == member_id)
                      .order_by(JourneyEvent.occurred_at.desc(), JourneyEvent.id.desc()), page=page, page_size=page_size)
    result["items"] = [{"id": e.id, "kind": e.kind, "occurred_at": e.occurred_at, "store_id": e.store_id,
                        "share_id": e.share_id, "campaign": e.campaign, "attributes": e.attributes}
                       for e in result["items"]]
    return result


def require_member(member_id: int) -> None:
    if db.session.get(Member, member_id) is None:
        raise AppError(CrmError.MEMBER_NOT_FOUND, "No such member.")
