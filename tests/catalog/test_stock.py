"""Stock: admins adjust it with a reason, orders reserve and return it, and the ledger records every move."""

import threading

import pytest
from sqlalchemy import select

from shop.catalog.models import Sku, StockMovement, StoreSku
from shop.catalog.service import set_store_availability
from shop.catalog.stock import reserve_stock, return_stock
from shop.errors import AppError
from shop.extensions import db
from tests.factories import make_category, make_product, make_store


def _sku(stock: int = 10, **fields) -> int:
    return make_product(make_category().id, skus=[{"spec": {}, "price": 1000, "stock": stock}], **fields).skus[0].id


def _stock(app, sku_id: int, store_id: int | None = None) -> int | None:
    with app.app_context():
        if store_id is None:
            return db.session.get(Sku, sku_id).stock
        return db.session.get(StoreSku, (store_id, sku_id)).stock


def _ledger(app, sku_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(select(StockMovement).where(StockMovement.sku_id == sku_id)
                                  .order_by(StockMovement.id)).all()
        return [(r.store_id, r.delta, r.reason, r.balance_after) for r in rows]


def test_adjustments_write_the_ledger_with_reason_and_actor_and_never_go_below_zero(app, client, marketing,
                                                                                      committed):
    sku_id = committed(lambda: _sku(stock=2))
    url = f"/api/v1/admin/skus/{sku_id}/stock-adjustments"
    received = client.post(url, headers=marketing, json={"delta": 5, "reason": "received", "note": "Delivery 42"})
    assert received.status_code == 201
    assert {k: received.get_json()[k] for k in ("delta", "reason", "note", "balance_after", "store_id")} == {
        "delta": 5, "reason": "received", "note": "Delivery 42", "balance_after": 7, "store_id": None}
    assert received.get_json()["actor_staff_id"] is not None
    client.post(url, headers=marketing, json={"delta": -3, "reason": "damaged"})
    refused = client.post(url, headers=marketing, json={"delta": -5, "reason": "lost"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "insufficient_stock"
    assert _stock(app, sku_id) == 4
    assert _ledger(app, sku_id) == [(None, 2, "initial", 2), (None, 5, "received", 7), (None, -3, "damaged", 4)]

    page = client.get(f"/api/v1/admin/skus/{sku_id}/stock-ledger?page_size=2", headers=marketing).get_json()
    assert page["total"] == 3 and [row["reason"] for row in page["items"]] == ["damaged", "received"]


@pytest.mark.parametrize(("body", "field"), [
    ({"delta": 0, "reason": "received"}, "delta"), ({"delta": 1.5, "reason": "received"}, "delta"),
    ({"delta": "3", "reason": "received"}, "delta"), ({"delta": 10**8, "reason": "received"}, "delta"),
    ({"delta": 1, "reason": "reserved"}, "reason"), ({"delta": 1}, "reason"),
    ({"delta": 1, "reason": "other"}, "note"), ({"delta": 1, "reason": "received", "store_id": "1"}, "store_id"),
    ({"delta": 1, "reason": "received", "balance_after": 99}, "balance_after"),
])
def test_bad_adjustments_are_422_and_change_nothing(app, client, marketing, committed, body, field):
    sku_id = committed(lambda: _sku(stock=2))
    response = client.post(f"/api/v1/admin/skus/{sku_id}/stock-adjustments", headers=marketing, json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert _stock(app, sku_id) == 2 and len(_ledger(app, sku_id)) == 1


def test_a_store_counting_its_own_stock_is_adjusted_there_and_others_are_refused(app, client, marketing, committed):
    def seed():
        sku_id, counting, not_counting = _sku(stock=50), make_store().id, make_store().id
        set_store_availability(sku_id, stores=[{"store_id": counting, "available": True, "stock": 3},
                                               {"store_id": not_counting, "available": True}], actor_staff_id=None)
        return sku_id, counting, not_counting

    sku_id, counting, not_counting = committed(seed)
    url = f"/api/v1/admin/skus/{sku_id}/stock-adjustments"
    assert client.post(url, headers=marketing, json={"delta": -1, "reason": "damaged", "store_id": counting}
                       ).get_json()["balance_after"] == 2
    refused = client.post(url, headers=marketing, json={"delta": 5, "reason": "received", "store_id": not_counting})
    assert refused.status_code == 409 and refused.get_json()["code"] == "store_stock_not_tracked"
    unknown = client.post(url, headers=marketing, json={"delta": 5, "reason": "received", "store_id": 999999})
    assert unknown.status_code == 422 and "store_id" in unknown.get_json()["errors"]
    assert (_stock(app, sku_id), _stock(app, sku_id, counting)) == (50, 2)
    assert _ledger(app, sku_id)[1:] == [(counting, 3, "stocktake", 3), (counting, -1, "damaged", 2)]
    only_store = client.get(f"/api/v1/admin/skus/{sku_id}/stock-ledger?store_id={counting}", headers=marketing)
    assert only_store.get_json()["total"] == 2


def test_an_order_reserves_and_returns_stock_once_per_reference(app, committed):
    sku_id = committed(lambda: _sku(stock=3))
    assert committed(lambda: reserve_stock(sku_id, 2, reference="order:1")) is True
    assert committed(lambda: reserve_stock(sku_id, 2, reference="order:1")) is True  # a retry: no second take
    assert committed(lambda: reserve_stock(sku_id, 2, reference="order:2")) is False  # only 1 left
    assert _stock(app, sku_id) == 1
    committed(lambda: return_stock(sku_id, 2, reference="order:1"))
    committed(lambda: return_stock(sku_id, 2, reference="order:1"))
    assert _stock(app, sku_id) == 3
    assert [(delta, reason, balance) for _, delta, reason, balance in _ledger(app, sku_id)] == [
        (3, "initial", 3), (-2, "reserved", 1), (2, "returned", 3)]


def test_an_order_at_a_store_uses_its_own_stock_when_counted_and_the_central_stock_otherwise(app, committed):
    def seed():
        sku_id, counting, central, elsewhere = _sku(stock=10), make_store().id, make_store().id, make_store().id
        set_store_availability(sku_id, stores=[{"store_id": counting, "available": True, "stock": 1},
                                               {"store_id": central, "available": True},
                                               {"store_id": elsewhere, "available": False}], actor_staff_id=None)
        return sku_id, counting, central, elsewhere

    sku_id, counting, central, elsewhere = committed(seed)
    assert committed(lambda: reserve_stock(sku_id, 1, counting)) is True
    assert committed(lambda: reserve_stock(sku_id, 1, counting)) is False
    assert committed(lambda: reserve_stock(sku_id, 4, central)) is True
    with pytest.raises(AppError) as refused:
        committed(lambda: reserve_stock(sku_id, 1, elsewhere))
    assert refused.value.code == "sku_not_sold_at_store"
    assert (_stock(app, sku_id), _stock(app, sku_id, counting)) == (6, 0)
    committed(lambda: return_stock(sku_id, 1, counting))
    assert _stock(app, sku_id, counting) == 1


def test_an_unknown_sku_a_bad_quantity_or_a_bad_reference_is_refused(committed):
    with pytest.raises(AppError) as unknown:
        committed(lambda: reserve_stock(999999, 1))
    assert unknown.value.code == "sku_not_found"
    sku_id = committed(lambda: _sku())
    for quantity, reference in ((0, None), (-1, None), (1.0, None), (True, None), (1, ""), (1, "x" * 65)):
        with pytest.raises(ValueError):
            committed(lambda q=quantity, r=reference: reserve_stock(sku_id, q, reference=r))


@pytest.mark.parametrize("at_store", [False, True], ids=["central", "store"])
def test_concurrent_reservations_never_oversell(app, committed, at_store):
    def seed():
        sku_id = _sku(stock=0 if at_store else 5)
        store_id = make_store().id
        set_store_availability(sku_id, stores=[{"store_id": store_id, "available": True,
                                                **({"stock": 5} if at_store else {})}], actor_staff_id=None)
        return sku_id, store_id

    sku_id, store_id = committed(seed)
    start, results, errors = threading.Barrier(20), [], []

    def shopper(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                results.append(reserve_stock(sku_id, 1, store_id, reference=f"order:{n}"))
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=shopper, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [False] * 15 + [True] * 5
    assert _stock(app, sku_id, store_id if at_store else None) == 0
    reserved = [row for row in _ledger(app, sku_id) if row[2] == "reserved"]
    assert sorted(balance for *_, balance in reserved) == [0, 1, 2, 3, 4]
    assert all(delta == -1 and row_store == (store_id if at_store else None) for row_store, delta, _, _ in reserved)
