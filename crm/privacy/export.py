"""A member's own data as JSON: the profile and small parts whole, each list part as its first page
with its total and where the rest is (``GET /me/export/{part}?page=``), so no answer grows without bound.

Only the member's own rows; other people appear only as masked nicknames (the sharer above them, their
downline).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select

from coupons.models import Coupon
from crm.privacy.errors import PrivacyError
from referral.sharing.models import Share, ShareOpen
from referral.tree.models import ReferralNode
from shop.content.models import ContentReview
from shop.errors import AppError
from shop.extensions import db
from shop.members import privacy
from shop.members.models import JourneyEvent, Member
from shop.members.service import get_member
from shop.messages.models import MessageSend, MessageSubscription
from shop.orders.models import Order, OrderLine
from shop.pagination import paginate
from shop.points.models import PointsEntry
from shop.till.models import TillSale

# Columns that are ours, not the member's (secrets, request fingerprints, WeChat's internal ids).
_OURS = frozenset({"secret", "request_fingerprint", "prepay_id", "session_key", "token_version", "trace_id",
                   "decided_by", "staff_id", "voided_by_staff_id"})

PROFILE_FIELDS = ("id", "openid", "unionid", "nickname", "avatar_url", "phone", "phone_country_code", "arrival_scene",
                  "home_store_id", "home_store_source", "home_store_set_at", "created_at", "last_login_at",
                  "marketing_consent", "marketing_consent_at", "marketing_consent_version")


def _own(model: Any, column: Any, *order: Any) -> Callable[[int], Select]:
    return lambda member_id: select(model).where(column == member_id).order_by(*(order or (model.id,)))


# part -> the member's rows, in a stable order (each paged on its own).
PARTS: dict[str, Callable[[int], Select]] = {
    "consent_history": privacy.consent_history,
    "orders": _own(Order, Order.member_id),
    "coupons": _own(Coupon, Coupon.member_id),
    "points": _own(PointsEntry, PointsEntry.member_id),
    "shares": _own(Share, Share.sharer_id),
    "share_opens": _own(ShareOpen, ShareOpen.member_id),
    "downline": lambda member_id: (select(ReferralNode.member_id, ReferralNode.bound_at, Member.nickname)
                                   .join(Member, Member.id == ReferralNode.member_id)
                                   .where(ReferralNode.parent_id == member_id).order_by(ReferralNode.member_id)),
    "events": _own(JourneyEvent, JourneyEvent.member_id),
    "subscriptions": _own(MessageSubscription, MessageSubscription.member_id, MessageSubscription.template_id),
    "messages": _own(MessageSend, MessageSend.member_id),
    "till_sales": _own(TillSale, TillSale.member_id),
    "content_reviews": _own(ContentReview, ContentReview.member_id),
}


def masked_nickname(nickname: str | None) -> str:
    """A friend as the member may see them: the first character and stars, never their id or phone."""
    return f"{nickname[0]}**" if nickname else "**"


def export(member_id: int, *, page_size: int) -> dict[str, Any]:
    """Everything the member may take with them: the profile, the referral position, and each part's first page."""
    member = get_member(member_id)
    data: dict[str, Any] = {"profile": {name: _plain(getattr(member, name)) for name in PROFILE_FIELDS},
                            "referral": _referral_position(member_id)}
    data["profile"]["is_following"] = member.is_following
    for part in PARTS:
        data[part] = export_part(member_id, part, page=1, page_size=page_size)
    return data


def export_part(member_id: int, part: str, *, page: int, page_size: int) -> dict[str, Any]:
    """One page of one part of the export, with its total and the next page's path (null at the end)."""
    statement = PARTS.get(part)
    if statement is None:
        raise AppError(PrivacyError.EXPORT_PART_NOT_FOUND, f"No export part '{part}'; parts: {', '.join(PARTS)}.")
    window = paginate(statement(member_id), page=page, page_size=page_size, rows=part == "downline")
    items = [_row(part, item) for item in window["items"]]
    if part == "orders":
        _attach_lines(items)
    more = page * page_size < window["total"]
    return {"items": items, "total": window["total"], "page": page, "page_size": page_size,
            "next": f"/api/v1/me/export/{part}?page={page + 1}&page_size={page_size}" if more else None}


def _row(part: str, item: Any) -> dict[str, Any]:
    if part == "downline":
        return {"nickname": masked_nickname(item.nickname), "bound_at": _plain(item.bound_at)}
    return {column.key: _plain(getattr(item, column.key)) for column in item.__table__.columns
            if column.key not in _OURS}


def _attach_lines(orders: list[dict[str, Any]]) -> None:
    by_order: dict[int, list] = {order["id"]: [] for order in orders}
    lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id.in_(by_order)).order_by(OrderLine.id))
    for line in lines:
        by_order[line.order_id].append(_row("order_lines", line))
    for order in orders:
        order["lines"] = by_order[order["id"]]


def _referral_position(member_id: int) -> dict[str, Any] | None:
    """Where the member stands in the tree; the sharer above only as a masked nickname."""
    node = db.session.get(ReferralNode, member_id)
    if node is None:
        return None
    parent = db.session.get(Member, node.parent_id) if node.parent_id is not None else None
    return {"parent": None if parent is None else {"nickname": masked_nickname(parent.nickname)},
            "depth": node.depth, "bound_at": _plain(node.bound_at), "downline_size": node.descendants,
            "downline_orders": node.subtree_orders, "downline_gmv_fen": node.subtree_gmv}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value
