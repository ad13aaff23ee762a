"""Coupons about to expire are announced to their members, once per coupon, by subscribe message.

The periodic job finds available coupons expiring within ``COUPON_EXPIRY_REMINDER_DAYS`` that have no
message yet (the message's row is the record: unique per coupon), and queues one for each; a member
without sends left gets none, and the coupon is not looked at again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, select

from coupons.models import Coupon, CouponBatch, CouponStatus
from shop.extensions import db
from shop.messages import notices
from shop.messages.models import MessageSend
from shop.messages.templates import Purpose, template_for

BATCH = 500


def remind_expiring(now: datetime) -> dict[str, int]:
    """The periodic job: one message per coupon about to expire, each batch committed on its own."""
    days = current_app.config["COUPON_EXPIRY_REMINDER_DAYS"]
    if days <= 0 or template_for(current_app.config, Purpose.COUPON_EXPIRING) is None:
        return {"reminded": 0}
    reminded = 0
    while rows := _due(now, now + timedelta(days=days)):
        for row in rows:
            notices.coupon_expiring(coupon_id=row.id, member_id=row.member_id, coupon_name=row.name,
                                    expires_at=row.expires_at, at=now)
        db.session.commit()
        reminded += len(rows)
        if len(rows) < BATCH:
            break
    return {"reminded": reminded}


def _due(now: datetime, until: datetime) -> list:
    announced = exists().where(and_(MessageSend.purpose == Purpose.COUPON_EXPIRING.value,
                                    MessageSend.member_id == Coupon.member_id, MessageSend.subject_id == Coupon.id))
    return db.session.execute(
        select(Coupon.id, Coupon.member_id, Coupon.expires_at, CouponBatch.name)
        .join(CouponBatch, CouponBatch.id == Coupon.batch_id)
        .where(Coupon.status == CouponStatus.AVAILABLE.value, Coupon.expires_at > now, Coupon.expires_at <= until,
               ~announced)
        .order_by(Coupon.expires_at, Coupon.id).limit(BATCH)).all()
