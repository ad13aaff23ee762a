"""The bare reference: a checkout's inserts and updates issued directly with SQLAlchemy Core.

What the app writes for a pickup order, without Flask, the ORM, pricing, signals or WeChat Pay, in
the same two transactions:

- create: INSERT the order (RETURNING id) and its lines; per line, the conditional stock decrement
  (``UPDATE skus SET stock = stock - q WHERE id = ? AND stock - q BETWEEN 0 AND max RETURNING stock``)
  and its ``stock_ledger`` row; the ``order_placed`` journey event; COMMIT.
- pay: the conditional ``UPDATE orders ... WHERE status = 'pending_payment'`` (paid, ready for pickup,
  pickup code), the ``payments`` row, the points balance (``points_accounts`` upsert RETURNING the
  balance), the ``points_ledger`` earn entry (RETURNING id) and its ``points_lots`` lot; the
  ``order_paid`` journey event; COMMIT.

Reads the app makes to decide (the basket's SKUs, the store, duplicates, the tier) are not issued:
this is the floor the database work sets. Workers are ``ReferenceCreate`` and ``ReferencePay`` for
``checkout_load.run_phase``: one pooled connection per thread, one engine per process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shop.catalog.models import Sku, StockMovement, StockReason
from shop.catalog.schemas import MAX_STOCK
from shop.members.journey import JourneyKind
from shop.members.models import JourneyEvent
from shop.orders.models import Order, OrderLine, OrderStatus, Payment
from shop.points.models import PointsAccount, PointsEntry, PointsLot, PointsReason, PointsSource

_orders, _lines, _payments = Order.__table__, OrderLine.__table__, Payment.__table__
_skus, _stock_ledger = Sku.__table__, StockMovement.__table__
_accounts, _entries, _lots = PointsAccount.__table__, PointsEntry.__table__, PointsLot.__table__
_journey = JourneyEvent.__table__
PAYMENT_WINDOW = timedelta(seconds=900)
POINTS_LIFETIME = timedelta(days=365)
_engines: dict[str, Engine] = {}


def _engine(setup: dict[str, Any]) -> Engine:
    url = setup["database_url"]
    if url not in _engines:
        _engines[url] = create_engine(url, pool_size=setup["threads"], max_overflow=0)
    return _engines[url]


class ReferenceCreate:
    """Item: {number, key, fingerprint, member_id, store_id, lines: [(sku_id, product_id, title, price, qty)]}.

    Answers {id, amount} of the order it wrote.
    """

    def __init__(self, setup: dict[str, Any]) -> None:
        self.engine = _engine(setup)

    def __call__(self, item: dict[str, Any]) -> dict[str, int]:
        now = datetime.now(UTC)
        total = sum(price * quantity for _, _, _, price, quantity in item["lines"])
        with self.engine.begin() as connection:
            order_id = connection.execute(insert(_orders).values(
                number=item["number"], member_id=item["member_id"], idempotency_key=item["key"],
                request_fingerprint=item["fingerprint"], status=OrderStatus.PENDING_PAYMENT.value,
                fulfilment="pickup", store_id=item["store_id"], items_total=total, discount_total=0, shipping_fee=0,
                amount_payable=total, amount_paid=0, refunded_total=0, discounts=[], created_at=now,
                expires_at=now + PAYMENT_WINDOW).returning(_orders.c.id)).scalar_one()
            connection.execute(insert(_lines), [
                {"order_id": order_id, "sku_id": sku_id, "product_id": product_id, "title": title, "spec": {},
                 "unit_price": price, "quantity": quantity, "subtotal": price * quantity, "discount": 0,
                 "amount_payable": price * quantity, "refunded_quantity": 0, "refunded_amount": 0}
                for sku_id, product_id, title, price, quantity in item["lines"]])
            for sku_id, _, _, _, quantity in item["lines"]:
                new = _skus.c.stock - quantity
                balance = connection.execute(
                    update(_skus).where(_skus.c.id == sku_id, new >= 0, new <= MAX_STOCK).values(stock=new)
                    .returning(_skus.c.stock)).scalar_one_or_none()
                if balance is None:
                    raise RuntimeError(f"SKU {sku_id} ran out of stock in the reference")
                connection.execute(insert(_stock_ledger).values(
                    sku_id=sku_id, store_id=None, delta=-quantity, reason=StockReason.RESERVED.value,
                    balance_after=balance, reference=f"order:{order_id}", created_at=now))
            connection.execute(insert(_journey).values(
                member_id=item["member_id"], kind=JourneyKind.ORDER_PLACED.value, store_id=item["store_id"],
                occurred_at=now, attributes={"order_id": order_id, "amount_payable": total}))
        return {"id": order_id, "amount": total}


class ReferencePay:
    """Item: {order_id, member_id, store_id, amount, transaction_id}; answers the points earned."""

    def __init__(self, setup: dict[str, Any]) -> None:
        self.engine = _engine(setup)

    def __call__(self, item: dict[str, Any]) -> int:
        now = datetime.now(UTC)
        points = item["amount"] // 100  # POINTS_PER_YUAN_EARNED = 1 at the base tier
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(_orders).where(_orders.c.id == item["order_id"],
                                      _orders.c.status == OrderStatus.PENDING_PAYMENT.value)
                .values(status=OrderStatus.READY_FOR_PICKUP.value, amount_paid=item["amount"],
                        transaction_id=item["transaction_id"], paid_at=now, ready_at=now,
                        pickup_code=f"{item['order_id'] % 10**8:08d}")).rowcount
            if changed != 1:
                raise RuntimeError(f"reference order {item['order_id']} was not pending")
            connection.execute(insert(_payments).values(
                order_id=item["order_id"], transaction_id=item["transaction_id"], amount=item["amount"],
                outcome="applied", paid_at=now, received_at=now, source="notify"))
            upsert = pg_insert(_accounts).values(member_id=item["member_id"], balance=points, owed=0, updated_at=now)
            balance = connection.execute(upsert.on_conflict_do_update(
                index_elements=[_accounts.c.member_id],
                set_={"balance": _accounts.c.balance + upsert.excluded.balance, "updated_at": now})
                .returning(_accounts.c.balance)).scalar_one()
            entry_id = connection.execute(insert(_entries).values(
                member_id=item["member_id"], reason=PointsReason.EARN.value, source=PointsSource.ORDER.value,
                source_id=str(item["order_id"]), order_id=item["order_id"], points=points, delta=points,
                owed_delta=0, balance_after=balance, created_at=now).returning(_entries.c.id)).scalar_one()
            connection.execute(insert(_lots).values(
                member_id=item["member_id"], entry_id=entry_id, amount=points, remaining=points,
                expires_at=now + POINTS_LIFETIME, created_at=now))
            connection.execute(insert(_journey).values(
                member_id=item["member_id"], kind=JourneyKind.ORDER_PAID.value, store_id=item["store_id"],
                occurred_at=now, attributes={"order_id": item["order_id"], "amount_paid": item["amount"]}))
        return points
