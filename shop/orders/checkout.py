"""Checkout: price a basket (preview) and turn it into an order that reserves stock and discounts."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from flask import current_app
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from shop import events, pricing
from shop.catalog.checkout import CheckoutSku, skus_for_checkout
from shop.catalog.stock import reserve_lines
from shop.database import as_loaded
from shop.errors import AppError
from shop.extensions import db
from shop.idempotency import IdempotencyError
from shop.members.journey import record_order_placed
from shop.members.models import Member
from shop.orders.errors import OrderError
from shop.orders.models import Fulfilment, Order, OrderLine, OrderStatus
from shop.orders.payment import mark_paid
from shop.stores.models import Store

# Statements of every order, built once (building one costs about as much CPU as running it).
_orders = Order.__table__
_BY_KEY = select(_orders.c.id).where(_orders.c.member_id == bindparam("member"),
                                     _orders.c.idempotency_key == bindparam("key"))
_stores = Store.__table__
_INSERT_ORDER = insert(_orders).returning(_orders.c.id)
_INSERT_LINES = insert(OrderLine.__table__).returning(OrderLine.__table__.c.id, sort_by_parameter_order=True)
# The columns a new order leaves empty (prepay id, payment, pickup code, ...): None unless set below.
_UNSET_ORDER = dict.fromkeys(column.key for column in _orders.c if column.key != "id")
_STORE = select(_stores.c.status, _stores.c.services).where(_stores.c.id == bindparam("store"))
_members = Member.__table__
# Writing the member's row takes its lock (the row's on PostgreSQL, the database's on SQLite) until the
# commit, so a member's creates count their unpaid orders one after the other. Nothing changes in it.
_LOCK_MEMBER = update(_members).where(_members.c.id == bindparam("member")).values(id=_members.c.id)
_UNPAID = select(func.count()).where(_orders.c.member_id == bindparam("member"),
                                     _orders.c.status == OrderStatus.PENDING_PAYMENT.value,
                                     _orders.c.expires_at > bindparam("now"))


def _merge_lines(items: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """(sku_id, quantity) pairs as one pair per SKU, in SKU id order."""
    quantities: dict[int, int] = {}
    for sku_id, quantity in items:
        quantities[sku_id] = quantities.get(sku_id, 0) + quantity
    return tuple(sorted(quantities.items()))


@dataclass(frozen=True)
class Basket:
    """A checkout request as plain data (the body of preview and create)."""

    member_id: int
    items: tuple[tuple[int, int], ...]  # (sku_id, quantity), one per SKU (merged when the basket is made)
    fulfilment: str
    store_id: int | None = None
    address: dict[str, str] | None = None
    note: str | None = None
    choices: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Lines of one SKU become one before any rule sees them: a cap must not be passed by sending the
        # SKU on many lines, and prices, coupons and the order's lines see what the order will hold.
        object.__setattr__(self, "items", _merge_lines(self.items))

    @classmethod
    def from_body(cls, member_id: int, body: dict[str, Any]) -> Basket:
        items = [(item["sku_id"], item["quantity"]) for item in body["items"]]
        choices = {"coupons": {"coupon_id": body.get("coupon_id")}, "points": {"points": body.get("points") or 0}}
        return cls(member_id=member_id, items=tuple(items), fulfilment=body["fulfilment"],
                   store_id=body.get("store_id"), address=body.get("address"), note=body.get("note"),
                   choices=choices)

    def fingerprint(self) -> str:
        """What makes two create calls the same request (for Idempotency-Key reuse)."""
        data = [self.items, self.fulfilment, self.store_id, self.address, self.note, self.choices]
        return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class PricedBasket:
    basket: Basket
    skus: dict[int, CheckoutSku]
    quote: pricing.Quote


def price_basket(basket: Basket) -> PricedBasket:
    """Check the basket can be sold as asked and price it; changes nothing."""
    _check_quantities(basket)
    store_id = _check_fulfilment(basket)
    skus = skus_for_checkout([sku_id for sku_id, _ in basket.items], store_id=store_id)
    lines = tuple(pricing.PricedLine(sku_id=sku_id, product_id=skus[sku_id].product_id,
                                     category_ids=skus[sku_id].category_ids, quantity=quantity,
                                     unit_price=skus[sku_id].price) for sku_id, quantity in basket.items)
    items_total = sum(line.subtotal for line in lines)
    request = pricing.PricingRequest(member_id=basket.member_id, lines=lines, fulfilment=basket.fulfilment,
                                     store_id=store_id, shipping_fee=_shipping_fee(basket, items_total),
                                     choices=basket.choices)
    return PricedBasket(basket=basket, skus=skus, quote=pricing.quote(request))


def breakdown(priced: PricedBasket) -> dict[str, Any]:
    """The price as the shopper sees it: lines, each discount by source, shipping, amount to pay."""
    quote = priced.quote
    return {
        "items": [{"sku_id": line.sku_id, "product_id": line.product_id, "title": priced.skus[line.sku_id].title,
                   "spec": priced.skus[line.sku_id].spec, "unit_price": line.unit_price,
                   "quantity": line.quantity, "subtotal": line.subtotal} for line in quote.request.lines],
        "items_total": quote.items_total,
        "discounts": [{"source": d.source, "amount": d.amount, "label": d.label, "details": d.details}
                      for d in quote.discounts],
        "discount_total": quote.discount_total,
        "shipping_fee": quote.request.shipping_fee,
        "amount_payable": quote.amount_payable,
        "suggestions": quote.suggestions,
    }


def create_order(basket: Basket, *, idempotency_key: str, now: datetime) -> tuple[Order, bool]:
    """Create the order (or return the one this key already made); whether it is new."""
    fingerprint = basket.fingerprint()
    existing = _by_key(basket.member_id, idempotency_key)
    if existing is not None:
        return _same_request(existing, fingerprint), False
    priced = price_basket(basket)
    if not _unpaid_slot_free(basket.member_id, now):
        # A retry racing its first request waited for that one's commit here: it answers as a retry does.
        existing = _by_key(basket.member_id, idempotency_key)
        if existing is not None:
            return _same_request(existing, fingerprint), False
        limit = current_app.config["ORDER_MAX_UNPAID"]
        raise AppError(OrderError.TOO_MANY_UNPAID, f"You have {limit} unpaid orders: pay or cancel one of them "
                       "before placing another.")
    try:
        order = _insert_order(priced, idempotency_key, fingerprint, now)
    except IntegrityError:
        # A concurrent request with this key inserted first. The order's INSERT is the first write of
        # the transaction but for the member's lock (pricing only reads), so rolling all of it back
        # loses nothing, and spares a savepoint around every order.
        db.session.rollback()
        existing = _by_key(basket.member_id, idempotency_key)
        if existing is None:
            raise
        return _same_request(existing, fingerprint), False
    _reserve_stock(order, priced.skus)
    pricing.commit(priced.quote, order_id=order.id)
    record_order_placed(order.member_id, order_id=order.id, store_id=order.store_id, occurred_at=now,
                        amount_payable=order.amount_payable)
    events.order_created.send(order_id=order.id, member_id=order.member_id, amount_payable=order.amount_payable)
    if order.amount_payable == 0:  # everything discounted: nothing for WeChat Pay to collect
        mark_paid(order, amount=0, transaction_id=None, at=now, source="zero_amount")
    return order, True


def _insert_order(priced: PricedBasket, key: str, fingerprint: str, now: datetime) -> Order:
    """Write the order and its lines with two Core INSERTs, then hand the ORM the rows as if it had loaded them.

    Every order is made here, and the ORM's unit of work for an order and its lines costs several
    times the CPU of the INSERTs themselves. Every column is given, so nothing is read back later.
    """
    quote, basket = priced.quote, priced.basket
    timeout = timedelta(seconds=current_app.config["ORDER_PAYMENT_TIMEOUT_SECONDS"])
    row = {**_UNSET_ORDER, "number": _order_number(now), "member_id": basket.member_id, "idempotency_key": key,
           "request_fingerprint": fingerprint, "status": OrderStatus.PENDING_PAYMENT.value,
           "fulfilment": basket.fulfilment, "store_id": quote.request.store_id, "address": basket.address,
           "note": basket.note, "items_total": quote.items_total, "discount_total": quote.discount_total,
           "shipping_fee": quote.request.shipping_fee, "amount_payable": quote.amount_payable, "amount_paid": 0,
           "refunded_total": 0, "discounts": breakdown(priced)["discounts"], "created_at": now,
           "expires_at": now + timeout}
    row["id"] = db.session.execute(_INSERT_ORDER, row).scalar_one()
    shares = line_discounts(quote)
    line_rows = [{"order_id": row["id"], "sku_id": line.sku_id, "product_id": line.product_id,
                  "title": priced.skus[line.sku_id].title, "spec": priced.skus[line.sku_id].spec,
                  "unit_price": line.unit_price, "quantity": line.quantity, "subtotal": line.subtotal,
                  "discount": share, "amount_payable": line.subtotal - share, "refunded_quantity": 0,
                  "refunded_amount": 0} for line, share in zip(quote.request.lines, shares, strict=True)]
    line_ids = db.session.execute(_INSERT_LINES, line_rows).scalars().all()
    order = as_loaded(Order(**row))
    lines = [as_loaded(OrderLine(id=line_id, **line_row)) for line_id, line_row in zip(line_ids, line_rows, strict=True)]
    for line in lines:
        set_committed_value(line, "order", order)
    set_committed_value(order, "lines", lines)
    set_committed_value(order, "refunds", [])  # a new order has none: no query to find that out
    db.session.add(order)  # persistent as written (its lines follow by cascade): nothing to INSERT at flush
    return order


def _unpaid_slot_free(member_id: int, now: datetime) -> bool:
    """Whether the member holds fewer than ORDER_MAX_UNPAID unpaid orders, counted under the member's lock.

    Two creates of one member at once count one after the other, so both cannot take the last slot.
    An order past its payment window no longer counts: it can no longer be paid, and the sweep cancels it.
    """
    db.session.execute(_LOCK_MEMBER, {"member": member_id})
    unpaid = db.session.scalar(_UNPAID, {"member": member_id, "now": now})
    return unpaid < current_app.config["ORDER_MAX_UNPAID"]


def _check_quantities(basket: Basket) -> None:
    """At most ORDER_MAX_UNITS_PER_SKU units of each SKU and ORDER_MAX_UNITS in all (422 ``quantity_limit``)."""
    config = current_app.config
    per_sku, per_order = config["ORDER_MAX_UNITS_PER_SKU"], config["ORDER_MAX_UNITS"]
    over = [f"SKU {sku_id}: {quantity} asked, at most {per_sku}." for sku_id, quantity in basket.items
            if quantity > per_sku]
    if over:
        raise AppError(OrderError.QUANTITY_LIMIT, f"An order holds at most {per_sku} of each item.",
                       errors={"items": over})
    units = sum(quantity for _, quantity in basket.items)
    if units > per_order:
        raise AppError(OrderError.QUANTITY_LIMIT, f"An order holds at most {per_order} items in all.",
                       errors={"items": [f"{units} asked, at most {per_order}."]})


def _reserve_stock(order: Order, skus: dict[int, CheckoutSku]) -> None:
    pools = {sku_id: order.store_id if sku.store_stock else None for sku_id, sku in skus.items()}
    short = reserve_lines([(line.sku_id, line.quantity) for line in order.lines], order.store_id,
                          reference=f"order:{order.id}", pools=pools)
    if short is not None:  # the AppError rolls back the lines already taken, and the order
        title = next(line.title for line in order.lines if line.sku_id == short)
        raise AppError(OrderError.OUT_OF_STOCK, f"{title} is sold out; none of the order was taken.",
                       errors={"items": [f"SKU {short}: not enough stock."]})


def line_discounts(quote: pricing.Quote) -> list[int]:
    """What each line bears of the discounts: a discount's own allocation when it gives one that fits
    what the lines still cost, else the discount over the lines it covers, in proportion to what those
    lines still cost after the discounts before it (so no line goes below zero)."""
    left = [line.subtotal for line in quote.request.lines]
    for discount in quote.discounts:
        shares = discount.allocation
        if shares is None or any(share > fen for share, fen in zip(shares, left, strict=True)):
            weights = [fen if discount.lines is None or i in discount.lines else 0 for i, fen in enumerate(left)]
            if sum(weights) < discount.amount:  # more than its lines have left: spread it over all of them
                weights = left
            shares = pricing.allocate_in_proportion(discount.amount, weights)
        left = [fen - share for fen, share in zip(left, shares, strict=True)]
    return [line.subtotal - fen for line, fen in zip(quote.request.lines, left, strict=True)]


def _check_fulfilment(basket: Basket) -> int | None:
    if basket.fulfilment == Fulfilment.DELIVERY:
        if not basket.address:
            raise AppError(OrderError.ADDRESS_REQUIRED, "A delivery order needs an address.",
                           errors={"address": ["Missing."]})
        return None
    if basket.store_id is None:
        raise AppError(OrderError.STORE_REQUIRED, "A pickup order needs a store.", errors={"store_id": ["Missing."]})
    store = db.session.execute(_STORE, {"store": basket.store_id}).first()
    if store is None or store.status != "open" or "pickup" not in (store.services or []):
        raise AppError(OrderError.STORE_UNAVAILABLE, "This store does not take pickup orders now.",
                       errors={"store_id": ["Not open for pickup."]})
    return basket.store_id


def _shipping_fee(basket: Basket, items_total: int) -> int:
    if basket.fulfilment != Fulfilment.DELIVERY:
        return 0
    config = current_app.config
    return 0 if items_total >= config["FREE_DELIVERY_FROM_FEN"] else config["DELIVERY_FEE_FEN"]


def _by_key(member_id: int, key: str) -> Order | None:
    # Its id first, as a column: on nearly every call there is no such order (the ORM query costs more).
    order_id = db.session.scalar(_BY_KEY, {"member": member_id, "key": key})
    return None if order_id is None else db.session.get(Order, order_id)


def _same_request(order: Order, fingerprint: str) -> Order:
    if order.request_fingerprint != fingerprint:
        raise AppError(IdempotencyError.KEY_REUSED,
                       "This Idempotency-Key was used for a different order; use a new key for a new order.")
    return order


def _order_number(now: datetime) -> str:
    """WeChat Pay's out_trade_no: at most 32 characters; date first so support can read it."""
    return f"R{now:%Y%m%d}{secrets.randbelow(10**14):014d}"
