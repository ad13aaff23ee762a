"""Till sales: a purchase at a store's till, recorded by a clerk with the shopper's member code.

A sale becomes an order (fulfilment ``in_store``) that is created, paid at the till (no WeChat Pay)
and completed at once, through the same signals as an online order, so points, tiers, referral,
journey events and the store's figures follow it without knowing the till. A sale is keyed by its
store and the till's receipt number (a unique key): the till sending it again gets the first sale
back; the same receipt number with another sale is 409. A coupon's code given with the sale is
priced by the discount providers (coupons registers the till's) and used by the sale in the same
transaction. Within ``TILL_VOID_WINDOW_SECONDS`` a clerk of the store voids the sale: a whole refund
with the goods back (points and coupon return); later an admin refunds the order (a till refund:
money handed back at the till, never through WeChat Pay).

Till sales take none of Ripple's stock: the till counts its store's shelf itself.
Plain functions over explicit arguments and an explicit ``now``; nothing here commits (the API does).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from shop import events, pricing
from shop.auth import Principal
from shop.catalog.checkout import skus_for_checkout
from shop.errors import AppError
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event, record_order_placed
from shop.orders.checkout import line_discounts
from shop.orders.models import Fulfilment, Order, OrderLine, OrderStatus
from shop.orders.payment import mark_paid
from shop.orders.refunds import request_refund
from shop.orders.states import move
from shop.rotating_codes import named_id
from shop.stores.counter import acting_store
from shop.till import member_code
from shop.till.errors import TillError
from shop.till.models import TillSale

RECEIPT_LINE_TITLE = "Till receipt"  # the one line of a sale recorded without its items
VOID_REASON = "till_void"
# The choice the till's coupon provider reads: {"till_coupon": {"code": ..., "itemised": bool}}.
TILL_COUPON = "till_coupon"


@dataclass(frozen=True)
class Sale:
    """A till sale as the clerk's request gives it (the body of ``POST /staff/sales``)."""

    member_code: str
    receipt_no: str
    amount: int
    items: tuple[tuple[int, int, int], ...] | None = None  # (sku_id, quantity, unit_price)
    coupon_code: str | None = None
    store_id: int | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Sale:
        items = body.get("items")
        return cls(member_code=body["member_code"], receipt_no=body["receipt_no"], amount=body["amount"],
                   items=None if items is None else tuple((i["sku_id"], i["quantity"], i["unit_price"])
                                                          for i in items),
                   coupon_code=body.get("coupon_code"), store_id=body.get("store_id"))

    def fingerprint(self) -> str:
        """What makes two calls the same sale: the member and coupon the codes name (codes rotate), the money."""
        data = [named_id(self.member_code), self.amount, self.items,
                named_id(self.coupon_code) if self.coupon_code else None]
        return hashlib.sha256(orjson.dumps(data)).hexdigest()


def void_window() -> timedelta:
    return timedelta(seconds=current_app.config["TILL_VOID_WINDOW_SECONDS"])


def record_sale(staff: Principal, sale: Sale, *, now: datetime) -> tuple[TillSale, bool]:
    """(till sale, created): record the sale at the clerk's store once per receipt number."""
    store_id = acting_store(staff, sale.store_id, not_yours=TillError.SALE_STORE_NOT_YOURS,
                            required=TillError.SALE_STORE_REQUIRED)
    fingerprint = sale.fingerprint()
    existing = _by_receipt(store_id, sale.receipt_no)
    if existing is not None:
        return _same_sale(existing, fingerprint), False
    member_id = member_code.member_showing(sale.member_code, now=now)
    quote, titles = _price(member_id, store_id, sale)
    try:
        order = _insert_order(quote, titles, store_id, sale, fingerprint, now)
        till_sale = TillSale(order_id=order.id, store_id=store_id, receipt_no=sale.receipt_no,
                             staff_id=staff.staff_id, member_id=member_id, request_fingerprint=fingerprint,
                             coupon_id=_coupon_id(quote), created_at=now)
        db.session.add(till_sale)
        db.session.flush()
    except IntegrityError:
        # The same receipt sent twice at once: the first one's commit stands (nothing was written here
        # but the order, which goes with this rollback).
        db.session.rollback()
        existing = _by_receipt(store_id, sale.receipt_no)
        if existing is None:
            raise
        return _same_sale(existing, fingerprint), False
    _settle(order, quote, now)
    record_event(member_id, JourneyKind.TILL_SALE, store_id=store_id, occurred_at=now, order_id=order.id,
                 till_sale_id=till_sale.id, receipt_no=sale.receipt_no, amount=order.amount_payable,
                 staff_id=staff.staff_id)
    return till_sale, True


def void_sale(staff: Principal, sale_id: int, *, now: datetime) -> tuple[TillSale, bool]:
    """(till sale, changed): a clerk of its store takes the sale back within the void window.

    The whole order is refunded with the goods back: points earned are reversed, a coupon it used is
    available again. Voiding again returns the voided sale.
    """
    till_sale = _sale_at_stores(sale_id, staff.store_ids)
    if till_sale.voided_at is not None:
        return till_sale, False
    if now - till_sale.created_at > void_window():
        minutes = int(void_window().total_seconds() // 60)
        raise AppError(TillError.SALE_VOID_WINDOW_CLOSED, f"A sale can be voided only within {minutes} minutes "
                       "of recording it: ask an admin to refund it.")
    changed = db.session.execute(
        update(TillSale).where(TillSale.id == till_sale.id, TillSale.voided_at.is_(None))
        .values(voided_at=now, voided_by_staff_id=staff.staff_id)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(till_sale)
    if not changed:  # another clerk voided it at the same moment
        return till_sale, False
    order = db.session.get(Order, till_sale.order_id)
    if order.refunded_total > 0 or order.status != OrderStatus.COMPLETED:
        raise AppError(TillError.SALE_NOT_VOIDABLE, "This sale was refunded already (in part or whole): an "
                       "admin refunds what is left.")
    request_refund(order, reason=VOID_REASON, lines=None, requested_by=f"staff:{staff.staff_id}",
                   allowed={OrderStatus.COMPLETED}, at=now, goods_returned=True)
    return till_sale, True


def sale_view(till_sale: TillSale) -> dict[str, Any]:
    """A sale as the API shows it: the sale, its order, and until when a clerk may void it."""
    return {"sale": till_sale, "order": db.session.get(Order, till_sale.order_id),
            "voidable_until": till_sale.created_at + void_window()}


def sales_since(store_id: int, since: datetime) -> list[dict[str, Any]]:
    """The store's till sales recorded at or after ``since``, latest first, as ``sale_view`` shows them."""
    return [sale_view(till_sale) for till_sale in db.session.scalars(
        select(TillSale).where(TillSale.store_id == store_id, TillSale.created_at >= since)
        .order_by(TillSale.created_at.desc(), TillSale.id.desc()))]


def _price(member_id: int, store_id: int, sale: Sale) -> tuple[pricing.Quote, dict[int, tuple[str, dict]]]:
    """The sale's lines and discounts; the catalog titles of its SKUs."""
    if sale.items is None:
        lines = (pricing.PricedLine(sku_id=0, product_id=0, category_ids=(), quantity=1, unit_price=sale.amount),)
        titles: dict[int, tuple[str, dict]] = {0: (RECEIPT_LINE_TITLE, {})}
    else:
        _check_items_total(sale)
        skus = skus_for_checkout([sku_id for sku_id, _, _ in sale.items], store_id=store_id)
        lines = tuple(pricing.PricedLine(sku_id=sku_id, product_id=skus[sku_id].product_id,
                                         category_ids=skus[sku_id].category_ids, quantity=quantity,
                                         unit_price=unit_price) for sku_id, quantity, unit_price in sale.items)
        titles = {sku_id: (sku.title, sku.spec) for sku_id, sku in skus.items()}
    choices = {TILL_COUPON: {"code": sale.coupon_code, "itemised": sale.items is not None}}
    request = pricing.PricingRequest(member_id=member_id, lines=lines, fulfilment=Fulfilment.IN_STORE.value,
                                     store_id=store_id, shipping_fee=0, choices=choices)
    return pricing.quote(request), titles


def _check_items_total(sale: Sale) -> None:
    total = sum(quantity * unit_price for _, quantity, unit_price in sale.items)
    if total != sale.amount:
        raise AppError(TillError.SALE_ITEMS_MISMATCH, f"The items add up to {total} fen, the amount is "
                       f"{sale.amount}: send the receipt's lines as the till rang them up.",
                       errors={"items": [f"Add up to {total}, not {sale.amount}."]})


def _insert_order(quote: pricing.Quote, titles: dict[int, tuple[str, dict]], store_id: int, sale: Sale,
                  fingerprint: str, now: datetime) -> Order:
    order = Order(number=_sale_number(now), member_id=quote.request.member_id,
                  idempotency_key=f"till:{store_id}:{sale.receipt_no}", request_fingerprint=fingerprint,
                  status=OrderStatus.PENDING_PAYMENT.value, fulfilment=Fulfilment.IN_STORE.value,
                  store_id=store_id, items_total=quote.items_total, discount_total=quote.discount_total,
                  shipping_fee=0, amount_payable=quote.amount_payable, amount_paid=0, refunded_total=0,
                  discounts=[{"source": d.source, "amount": d.amount, "label": d.label, "details": d.details}
                             for d in quote.discounts],
                  created_at=now, expires_at=now)
    for line, share in zip(quote.request.lines, line_discounts(quote), strict=True):
        title, spec = titles[line.sku_id]
        order.lines.append(OrderLine(sku_id=line.sku_id, product_id=line.product_id, title=title, spec=spec,
                                     unit_price=line.unit_price, quantity=line.quantity, subtotal=line.subtotal,
                                     discount=share, amount_payable=line.subtotal - share, refunded_quantity=0,
                                     refunded_amount=0))
    set_committed_value(order, "refunds", [])  # a new order has none: no query to find that out
    db.session.add(order)
    db.session.flush()
    return order


def _settle(order: Order, quote: pricing.Quote, now: datetime) -> None:
    """Created, paid at the till and completed, each through its signal, in this transaction."""
    pricing.commit(quote, order_id=order.id)
    record_order_placed(order.member_id, order_id=order.id, store_id=order.store_id, occurred_at=now,
                        amount_payable=order.amount_payable, till=True)
    events.order_created.send(order_id=order.id, member_id=order.member_id, amount_payable=order.amount_payable)
    mark_paid(order, amount=order.amount_payable, transaction_id=None, at=now, source="till")
    move(order, from_status=OrderStatus.PAID, to=OrderStatus.COMPLETED, completed_at=now)
    events.order_completed.send(order_id=order.id, member_id=order.member_id, store_id=order.store_id)


def _coupon_id(quote: pricing.Quote) -> int | None:
    return next((d.details.get("coupon_id") for d in quote.discounts if d.source == TILL_COUPON), None)


def _by_receipt(store_id: int, receipt_no: str) -> TillSale | None:
    return db.session.scalar(select(TillSale).where(TillSale.store_id == store_id,
                                                    TillSale.receipt_no == receipt_no))


def _same_sale(existing: TillSale, fingerprint: str) -> TillSale:
    if existing.request_fingerprint != fingerprint:
        raise AppError(TillError.SALE_RECEIPT_REUSED, "This store recorded another sale under this receipt "
                       "number.", errors={"receipt_no": ["Names another sale at this store."]})
    return existing


def _sale_at_stores(sale_id: int, store_ids: tuple[int, ...]) -> TillSale:
    till_sale = db.session.get(TillSale, sale_id)
    if till_sale is None or till_sale.store_id not in store_ids:
        raise AppError(TillError.SALE_NOT_FOUND, "No sale with this id at your stores.")
    return till_sale


def _sale_number(now: datetime) -> str:
    """The order number of a till sale: T (till), the date, a random part (never sent to WeChat Pay)."""
    return f"T{now:%Y%m%d}{secrets.randbelow(10**14):014d}"
