"""Stock: reservations and returns for orders, adjustments by admins, and the append-only ledger.

Every change is one conditional UPDATE (``... WHERE stock + delta BETWEEN 0 AND max``) that
returns the new balance, so concurrent orders can never take stock below zero, and each writes a
ledger row with that balance. A SKU's stock lives centrally, or at a store that counts its own
(``store_skus.stock`` not null); a store that does not count it sells from the central stock.
Nothing here commits: the caller's transaction does, so an order and its reservation commit
together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Integer, Select, Update, bindparam, insert, select, update

from shop.catalog.cache import catalog_changed
from shop.catalog.errors import CatalogError
from shop.catalog.models import Sku, StockMovement, StockReason, StoreSku
from shop.catalog.schemas import MAX_STOCK
from shop.errors import AppError
from shop.extensions import db
from shop.stores.models import Store

_skus, _store_skus, _ledger = Sku.__table__, StoreSku.__table__, StockMovement.__table__
REFERENCE_LENGTH = StockMovement.__table__.c.reference.type.length


def reserve_stock(sku_id: int, quantity: int, store_id: int | None = None, *,
                  reference: str | None = None) -> bool:
    """Take ``quantity`` for an order; False when there is not enough (nothing changes then).

    With ``store_id`` the SKU must be sold there (else 409 ``sku_not_sold_at_store``); the stock
    taken is the store's own when it counts one, else the central stock. A ``reference`` (e.g.
    ``"order:123"``) makes a repeated call a no-op that answers True.
    """
    _check_call(quantity, reference)
    if reference is not None and _recorded(sku_id, StockReason.RESERVED, reference) is not None:
        return True
    return reserve_lines([(sku_id, quantity)], store_id, reference=reference) is None


def reserve_lines(lines: Sequence[tuple[int, int]], store_id: int | None = None, *,
                  reference: str | None = None, pools: Mapping[int, int | None] | None = None) -> int | None:
    """Take each ``(sku_id, quantity)`` of a new order: None when all were taken, else the SKU short of stock.

    Checkout's path: one SELECT for where each SKU's stock lives, one conditional UPDATE ... RETURNING
    a line, in SKU id order (concurrent orders lock the rows in the same order, so they cannot
    deadlock), and one INSERT for all the ledger rows. Unlike ``reserve_stock`` it does not look for
    an earlier reservation under ``reference``: the order is new. When a SKU is short, the lines
    before it were taken: the caller's transaction must roll back (raising an AppError does).

    ``pools`` (SKU id -> the store's id if it counts its own stock, else None), when the caller
    already knows it and that the store sells them (``skus_for_checkout``), saves the SELECT.
    """
    lines = sorted(lines)
    for _, quantity in lines:
        _check_call(quantity, reference)
    if pools is None:
        pools = _pools([sku_id for sku_id, _ in lines], store_id)
    movements = []
    for sku_id, quantity in lines:
        balance = _change(sku_id, -quantity, pools[sku_id])
        if balance is None:
            get_sku(sku_id)
            return sku_id
        movements.append({"sku_id": sku_id, "store_id": pools[sku_id], "delta": -quantity,
                          "reason": StockReason.RESERVED.value, "balance_after": balance, "reference": reference})
        if balance == 0:  # sold out: the product page shows it
            catalog_changed(product_ids=[_product_id(sku_id)], everything=False)
    db.session.execute(insert(_ledger), movements)
    return None


def return_stock(sku_id: int, quantity: int, store_id: int | None = None, *,
                 reference: str | None = None) -> StockMovement:
    """Give back ``quantity`` an order took (cancelled, refunded): to the store if it counts stock.

    Pass the ``store_id`` given to ``reserve_stock`` or ``reserve_lines``. A ``reference`` makes a repeated call a
    no-op that answers the first return's ledger row.
    """
    _check_call(quantity, reference)
    if reference is not None and (done := _recorded(sku_id, StockReason.RETURNED, reference)) is not None:
        return done
    pool = _pools([sku_id], store_id, selling=False)[sku_id]
    balance = _change(sku_id, quantity, pool)
    if balance is None:
        get_sku(sku_id)
        raise AppError(CatalogError.STOCK_LIMIT, f"Stock cannot exceed {MAX_STOCK}.")
    movement = _record(sku_id, pool, quantity, StockReason.RETURNED, balance, reference=reference)
    if balance == quantity:  # back in stock
        catalog_changed(product_ids=[_product_id(sku_id)], everything=False)
    return movement


def adjust_stock(sku_id: int, *, delta: int, reason: StockReason | str, actor_staff_id: int | None,
                 note: str | None = None, store_id: int | None = None) -> StockMovement:
    """An admin's correction of the central stock, or of a store's own stock (it must count one)."""
    sku = get_sku(sku_id)
    if store_id is not None:
        _store_stock_row(sku_id, store_id)
    balance = _change(sku_id, delta, store_id)
    if balance is None:
        current = _current(sku_id, store_id)
        if delta < 0:
            raise AppError(CatalogError.INSUFFICIENT_STOCK, f"Only {current} in stock: cannot remove {-delta}.")
        raise AppError(CatalogError.STOCK_LIMIT, f"Stock cannot exceed {MAX_STOCK}: it is {current}.")
    movement = _record(sku_id, store_id, delta, StockReason(reason), balance, note=note,
                       actor_staff_id=actor_staff_id)
    catalog_changed(product_ids=[sku.product_id], everything=False)
    return movement


def record_initial(sku: Sku, *, actor_staff_id: int | None) -> None:
    """The ledger row of the stock a new SKU starts with (the SKU is flushed, its stock set)."""
    _record(sku.id, None, sku.stock, StockReason.INITIAL, sku.stock, actor_staff_id=actor_staff_id)


def stocktake(row: StoreSku, counted: int, *, actor_staff_id: int | None) -> None:
    """Set a store's own stock to a counted figure, with the difference in the ledger.

    The caller loads ``row`` FOR UPDATE, so no reservation slips in between the read and the write.
    """
    before = row.stock or 0
    if row.stock == counted:
        return
    row.stock = counted
    _record(row.sku_id, row.store_id, counted - before, StockReason.STOCKTAKE, counted,
            actor_staff_id=actor_staff_id)


def ledger(sku_id: int, *, store_id: int | None = None) -> Select:
    """The SKU's ledger, newest first (a statement, for paginate); one store's rows with ``store_id``."""
    get_sku(sku_id)
    statement = select(StockMovement).where(StockMovement.sku_id == sku_id)
    if store_id is not None:
        statement = statement.where(StockMovement.store_id == store_id)
    return statement.order_by(StockMovement.id.desc())


def _check_call(quantity: int, reference: str | None) -> None:
    """Orders validate what shoppers send; anything else reaching here is a bug in the caller."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_STOCK:
        raise ValueError(f"quantity must be an int from 1 to {MAX_STOCK}, not {quantity!r}")
    if reference is not None and not 0 < len(reference) <= REFERENCE_LENGTH:
        raise ValueError(f"a reference has 1 to {REFERENCE_LENGTH} characters")


def _pools(sku_ids: list[int], store_id: int | None, *, selling: bool = True) -> dict[int, int | None]:
    """Whose stock each SKU at ``store_id`` is: the store's id if it counts its own, else None (central).

    ``selling`` requires the store to sell each of them (409 ``sku_not_sold_at_store``).
    """
    if store_id is None:
        return dict.fromkeys(sku_ids)
    rows = {row.sku_id: row for row in db.session.execute(
        select(_store_skus.c.sku_id, _store_skus.c.available, _store_skus.c.stock).where(
            _store_skus.c.store_id == store_id, _store_skus.c.sku_id.in_(sku_ids)))}
    for sku_id in sku_ids:
        if selling and (sku_id not in rows or not rows[sku_id].available):
            raise AppError(CatalogError.SKU_NOT_SOLD_AT_STORE, f"SKU {sku_id} is not sold at store {store_id}.")
    return {sku_id: store_id if sku_id in rows and rows[sku_id].stock is not None else None for sku_id in sku_ids}


def _stock_change(table, *where) -> Update:
    new = table.c.stock + bindparam("by", type_=Integer)
    return update(table).where(*where, new >= 0, new <= MAX_STOCK).values(stock=new).returning(table.c.stock)


# Built once: building a statement costs about as much CPU as running it, and these run for every order line.
_CHANGE_CENTRAL = _stock_change(_skus, _skus.c.id == bindparam("sku"))
# `stock IS NOT NULL`: the store may have stopped counting since we looked.
_CHANGE_AT_STORE = _stock_change(_store_skus, _store_skus.c.sku_id == bindparam("sku"),
                                 _store_skus.c.store_id == bindparam("store"), _store_skus.c.stock.is_not(None))


def _change(sku_id: int, delta: int, store_id: int | None) -> int | None:
    """Add ``delta`` if the result stays within 0..MAX_STOCK; the new balance, or None if refused."""
    statement = _CHANGE_CENTRAL if store_id is None else _CHANGE_AT_STORE
    balance = db.session.execute(statement, {"sku": sku_id, "store": store_id, "by": delta}).scalar_one_or_none()
    _expire_loaded(sku_id, store_id)
    return balance


def _expire_loaded(sku_id: int, store_id: int | None) -> None:
    """Loaded objects must not show the stock from before the UPDATE above."""
    key = db.session.identity_key(Sku, sku_id) if store_id is None else \
        db.session.identity_key(StoreSku, (store_id, sku_id))
    loaded = db.session.identity_map.get(key)
    if loaded is not None:
        db.session.expire(loaded, ["stock"])


def _record(sku_id: int, store_id: int | None, delta: int, reason: StockReason, balance: int, *,
            reference: str | None = None, note: str | None = None,
            actor_staff_id: int | None = None) -> StockMovement:
    movement = StockMovement(sku_id=sku_id, store_id=store_id, delta=delta, reason=reason.value,
                             balance_after=balance, reference=reference, note=note,
                             actor_staff_id=actor_staff_id)
    db.session.add(movement)
    return movement


def _recorded(sku_id: int, reason: StockReason, reference: str) -> StockMovement | None:
    return db.session.scalar(select(StockMovement).where(
        StockMovement.sku_id == sku_id, StockMovement.reason == reason.value,
        StockMovement.reference == reference))


def get_sku(sku_id: int) -> Sku:
    """A SKU, active or not; 404 ``sku_not_found``."""
    sku = db.session.get(Sku, sku_id)
    if sku is None:
        raise AppError(CatalogError.SKU_NOT_FOUND, f"No SKU with id {sku_id}.")
    return sku


def _product_id(sku_id: int) -> int:
    return db.session.scalar(select(_skus.c.product_id).where(_skus.c.id == sku_id))


def _store_stock_row(sku_id: int, store_id: int) -> StoreSku:
    if db.session.get(Store, store_id) is None:
        raise AppError(CatalogError.INVALID_REFERENCE, f"No store with id {store_id}.",
                       errors={"store_id": [f"No store with id {store_id}."]})
    row = db.session.get(StoreSku, (store_id, sku_id))
    if row is None or row.stock is None:
        raise AppError(CatalogError.STORE_STOCK_NOT_TRACKED,
                       f"Store {store_id} does not count its own stock of SKU {sku_id}; "
                       "set a stock in its availability first.")
    return row


def _current(sku_id: int, store_id: int | None) -> int | None:
    table = _skus if store_id is None else _store_skus
    where = [_skus.c.id == sku_id] if store_id is None else \
        [_store_skus.c.sku_id == sku_id, _store_skus.c.store_id == store_id]
    return db.session.scalar(select(table.c.stock).where(*where))
