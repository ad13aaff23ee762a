"""Telling WeChat that an order's goods left (发货信息管理): WeChat Pay holds a mini-program's money
until it knows.

The ship action and the hand-over at the counter write the shipment (``record``) and its upload to
the outbox in their own transaction; the upload (``upload_shipping_info``, an outbox job) sends it.
WeChat busy or unreachable, or not yet knowing a payment it just notified (10060001, clears within
a minute), is retried with the outbox's backoff; any other refusal (already shipped, re-ship used)
cannot pass by retrying: the upload is ``failed`` with WeChat's code and message, for an admin.
An order that went through no WeChat Pay payment (zero amount) has nothing to upload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from shop.config import WECHAT_PAY_ZONE
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.jobs import PermanentJobError, enqueue, enqueue_again
from shop.members.models import Member
from shop.metrics import SHIPPING_UPLOADS_FAILED
from shop.orders.models import Order
from shop.shipping.carriers import require_carrier
from shop.shipping.errors import ShippingError
from shop.shipping.models import LogisticsType, ShippingUpload, UploadStatus
from shop.wechat.shipping import ShippingRefused, shipping_gateway

MAX_ITEM_DESC = 120  # WeChat's limit on item_desc
MAX_ERROR_MESSAGE = 200


def check_shipment(logistics_type: int, carrier: str | None, tracking_no: str | None) -> None:
    """An express shipment names a carrier of WeChat's list and a tracking number (422 otherwise)."""
    if logistics_type != LogisticsType.EXPRESS:
        return
    missing = {name: ["Required for express (logistics_type 1)."]
               for name, value in (("carrier", carrier), ("tracking_no", tracking_no)) if not value}
    if missing:
        raise AppError(ShippingError.DETAILS_REQUIRED, "An express shipment needs its carrier and tracking "
                       "number.", errors=missing)
    require_carrier(carrier)


def record(order: Order, *, logistics_type: int, at: datetime, carrier: str | None = None,
           tracking_no: str | None = None) -> ShippingUpload | None:
    """The order's goods left: keep the shipment and write its upload to the outbox (this transaction).

    None for an order WeChat Pay never saw (nothing paid through it): nothing to tell WeChat.
    """
    if not order.transaction_id or order.amount_paid <= 0:
        return None
    express = logistics_type == LogisticsType.EXPRESS
    upload = ShippingUpload(order_id=order.id, logistics_type=int(logistics_type), carrier=carrier if express else None,
                            tracking_no=tracking_no if express else None, status=UploadStatus.PENDING.value,
                            attempts=0, created_at=at, updated_at=at)
    db.session.add(upload)
    db.session.flush()
    enqueue(upload_shipping_info, order.id, key=_key(order.id))
    return upload


def upload_shipping_info(order_id: int) -> None:
    """Send an order's shipping information to WeChat (an outbox job; done once it is uploaded)."""
    upload = _upload_of(order_id)
    if upload is None or upload.status == UploadStatus.UPLOADED:
        return
    now = utcnow()
    upload.attempts += 1
    try:
        shipping_gateway().upload(shipping_body(upload, at=now))
    except ShippingRefused as refused:
        _refused(upload, refused, now)
        if refused.retriable:
            raise
        raise PermanentJobError(str(refused)) from refused
    upload.status, upload.uploaded_at, upload.updated_at = UploadStatus.UPLOADED.value, now, now
    upload.error_code = upload.error_message = None


def _refused(upload: ShippingUpload, refused: ShippingRefused, now: datetime) -> None:
    """Keep WeChat's answer on the order, committed: the outbox rolls the job's transaction back."""
    upload.error_code, upload.error_message = refused.errcode, refused.errmsg[:MAX_ERROR_MESSAGE]
    upload.status = (UploadStatus.PENDING if refused.retriable else UploadStatus.FAILED).value
    upload.updated_at = now
    db.session.commit()
    SHIPPING_UPLOADS_FAILED.labels(outcome="retrying" if refused.retriable else UploadStatus.FAILED.value).inc()


def resend(order_id: int) -> bool:
    """Send an order's shipping information again now (a failed one too); False if it has none."""
    upload = _upload_of(order_id)
    if upload is None:
        return False
    if upload.status == UploadStatus.FAILED:
        upload.status, upload.updated_at = UploadStatus.PENDING.value, utcnow()
    enqueue_again(upload_shipping_info, order_id, key=_key(order_id))
    return True


def pending_order_ids() -> list[int]:
    """Orders whose shipping information WeChat has not accepted yet (not those refused for good)."""
    return list(db.session.scalars(select(ShippingUpload.order_id).where(
        ShippingUpload.status == UploadStatus.PENDING.value).order_by(ShippingUpload.id)))


def shipping_body(upload: ShippingUpload, *, at: datetime) -> dict[str, Any]:
    """The body of upload_shipping_info, as WeChat documents it (unified delivery: one entry)."""
    order = upload.order
    entry: dict[str, Any] = {"item_desc": item_desc(order)}
    if upload.logistics_type == LogisticsType.EXPRESS:
        entry |= {"tracking_no": upload.tracking_no, "express_company": upload.carrier}
        phone = (order.address or {}).get("phone")
        if upload.carrier in _contact_carriers() and phone:
            entry["contact"] = {"receiver_contact": masked(phone)}
    return {
        # By our own number: known from the order's creation, unlike the transaction id.
        "order_key": {"order_number_type": 1, "mchid": current_app.config["WECHATPAY_MCHID"],
                      "out_trade_no": order.number},
        "logistics_type": upload.logistics_type,
        "delivery_mode": 1,
        "shipping_list": [entry],
        "upload_time": at.astimezone(WECHAT_PAY_ZONE).isoformat(timespec="milliseconds"),
        "payer": {"openid": db.session.get(Member, order.member_id).openid},
    }


def item_desc(order: Order) -> str:
    """What the parcel holds, as WeChat shows the shopper: ``Latte (M) ×2, Croissant``, at most 120 characters."""
    parts = []
    for line in order.lines:
        spec = " ".join(str(value) for value in (line.spec or {}).values())
        parts.append(f"{line.title}{f' ({spec})' if spec else ''}{f' ×{line.quantity}' if line.quantity > 1 else ''}")
    desc = ", ".join(parts) or f"Order {order.number}"
    return desc if len(desc) <= MAX_ITEM_DESC else desc[:MAX_ITEM_DESC - 1] + "…"


def masked(phone: str) -> str:
    """A phone number as WeChat wants it shown: only its last four digits, ``138****5678``."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 11 else f"****{phone[-4:]}"


def _contact_carriers() -> set[str]:
    return {code.strip() for code in current_app.config["SHIPPING_CONTACT_CARRIERS"].split(",") if code.strip()}


def _upload_of(order_id: int) -> ShippingUpload | None:
    return db.session.scalar(select(ShippingUpload).where(ShippingUpload.order_id == order_id))


def _key(order_id: int) -> str:
    return f"shipping:{order_id}"
