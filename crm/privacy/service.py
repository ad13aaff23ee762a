"""Deleting a member's account: refused while money is in flight, else anonymised across every package.

Orders, payments, the points ledger, coupons and the referral tree keep their rows (their sums and
the tree's counters stay true); what says who the member is goes. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from crm.privacy.errors import PrivacyError
from crm.privacy.models import MemberDeletion
from referral.sharing.models import Share, ShareOpen
from referral.withdrawals.models import OPEN_WITHDRAWAL_STATES, Withdrawal
from shop.content.models import ContentReview
from shop.errors import AppError
from shop.extensions import db
from shop.members import privacy
from shop.members.models import Member
from shop.messages.models import MessageSubscription
from shop.orders.models import Order, OrderStatus, Refund, RefundStatus

# Orders whose delivery address is no longer needed to hand anything over.
CLOSED_ORDER_STATES = (OrderStatus.COMPLETED.value, OrderStatus.CANCELLED.value, OrderStatus.REFUNDED.value)


def check_deletable(member_id: int) -> None:
    """409 with the reason while a withdrawal, an unpaid order or a refund of the member is open."""
    if db.session.scalar(select(Withdrawal.id).where(Withdrawal.member_id == member_id,
                                                     Withdrawal.status.in_(OPEN_WITHDRAWAL_STATES)).limit(1)):
        raise AppError(PrivacyError.DELETION_WITHDRAWAL_OPEN,
                       "A withdrawal of your commission is still open; delete the account once it is paid or closed.")
    if db.session.scalar(select(Order.id).where(Order.member_id == member_id,
                                                Order.status == OrderStatus.PENDING_PAYMENT.value).limit(1)):
        raise AppError(PrivacyError.DELETION_UNPAID_ORDER,
                       "An order is waiting for payment; pay or cancel it first.")
    if db.session.scalar(select(Refund.id).join(Order, Order.id == Refund.order_id).where(
            Order.member_id == member_id, Refund.status == RefundStatus.PROCESSING.value).limit(1)):
        raise AppError(PrivacyError.DELETION_REFUND_OPEN,
                       "A refund is still on its way to you; delete the account once it has arrived.")


def delete_account(member_id: int, *, now: datetime) -> MemberDeletion:
    """Anonymise the member everywhere (their tokens end at once) and log what was done."""
    # One deletion at a time: a second DELETE sent at once waits here, then answers the first one's result.
    # A write, not SELECT FOR UPDATE: on SQLite only a write takes the lock (a transaction starts with it).
    db.session.execute(update(Member).where(Member.id == member_id).values(token_version=Member.token_version))
    done = db.session.scalar(select(MemberDeletion).where(MemberDeletion.member_id == member_id)
                             .execution_options(populate_existing=True))
    if done is not None:
        return done
    check_deletable(member_id)
    changes = privacy.anonymise(member_id, now=now)
    changes |= _scrub_referral(member_id)
    changes["order_addresses"] = db.session.execute(update(Order).where(
        Order.member_id == member_id, Order.status.in_(CLOSED_ORDER_STATES), Order.address.is_not(None))
        .values(address=None)).rowcount
    changes["content_reviews"] = db.session.execute(update(ContentReview).where(
        ContentReview.member_id == member_id).values(text="", previous_text=None)).rowcount
    changes["message_subscriptions"] = db.session.execute(delete(MessageSubscription).where(
        MessageSubscription.member_id == member_id)).rowcount
    deletion = MemberDeletion(member_id=member_id, changes=changes, deleted_at=now,
                              identity_kept_until=now + timedelta(
                                  days=current_app.config["PRIVACY_RETURNING_IDENTITY_DAYS"]))
    db.session.add(deletion)
    return deletion


def _scrub_referral(member_id: int) -> dict[str, int]:
    """Addresses, device ids and card titles of the member's shares, addresses and device ids of their opens."""
    shares = db.session.execute(update(Share).where(Share.sharer_id == member_id)
                                .values(ip=None, device_id=None, title=None)).rowcount
    opens = db.session.execute(update(ShareOpen).where(ShareOpen.member_id == member_id)
                               .values(ip=None, device_id=None)).rowcount
    return {"shares": shares, "share_opens": opens}
