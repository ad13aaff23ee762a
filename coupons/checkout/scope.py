"""Where a coupon applies: which items of a basket it covers, and which orders it may be used on.

- Goods: a batch with neither ``scope_product_ids`` nor ``scope_category_ids`` covers every item;
  otherwise an item is covered when its product is listed or any of its categories is (the two
  lists add up). An empty list counts as no limit, like a missing one.
- Stores: ``scope_store_ids`` governs the store counters where staff redeem the coupon and, online,
  pickup orders (collected at a store, so bound to it). Delivery orders are bound to no store:
  the store scope does not limit them.
- Usage: ``online`` and ``both`` coupons can be used at checkout; ``in_store`` ones only at a counter.
"""

from __future__ import annotations

from collections.abc import Sequence

from coupons.kinds import CoveredLine
from coupons.models import BatchUsage
from shop.orders.models import Fulfilment
from shop.pricing import PricedLine


def covers(line: PricedLine, product_ids: Sequence[int] | None, category_ids: Sequence[int] | None) -> bool:
    """Whether the batch's goods scope covers this line."""
    if not product_ids and not category_ids:
        return True
    return line.product_id in (product_ids or ()) or any(c in (category_ids or ()) for c in line.category_ids)


def covered_lines(lines: Sequence[PricedLine], product_ids: Sequence[int] | None,
                  category_ids: Sequence[int] | None) -> tuple[CoveredLine, ...]:
    """The lines the batch's goods scope covers, as a kind's arithmetic reads them."""
    return tuple(CoveredLine(position=i, sku_id=line.sku_id, product_id=line.product_id,
                             category_ids=line.category_ids, unit_price=line.unit_price, quantity=line.quantity)
                 for i, line in enumerate(lines) if covers(line, product_ids, category_ids))


def usable_online(usage: str | None) -> bool:
    return usage in (BatchUsage.ONLINE, BatchUsage.BOTH, None)


def store_allows(store_ids: Sequence[int] | None, fulfilment: str, store_id: int | None) -> bool:
    """Whether the store scope lets the coupon be used on this order (only pickup orders are store-bound)."""
    if not store_ids or fulfilment != Fulfilment.PICKUP:
        return True
    return store_id in store_ids
