"""Hot reads come from Redis and turn over on every change; the stores selling a product follow it."""

import pytest
import redis
from sqlalchemy import update

from shop.catalog import cache
from shop.catalog.cli import catalog_cli
from shop.catalog.models import Product, StoreSku
from shop.catalog.service import (
    set_on_sale,
    set_store_availability,
    store_ids_selling,
    update_product,
)
from shop.catalog.stock import reserve_stock, return_stock
from shop.extensions import db, redis_client
from tests.factories import make_category, make_product, make_store

pytestmark = pytest.mark.redis_cluster  # also run on a Redis Cluster (.ci/run)


def _rename_behind_the_cache(app, product_id: int, title: str) -> None:
    """Change the database without the service: only a cache read can still show the old title."""
    with app.app_context():
        db.session.execute(update(Product).where(Product.id == product_id).values(title=title))
        db.session.commit()


def test_a_list_is_served_from_redis_and_a_change_shows_at_once(app, client, marketing, committed):
    product_id = committed(lambda: make_product(make_category().id, title="Latte").id)
    assert client.get("/api/v1/products").get_json()["items"][0]["title"] == "Latte"
    _rename_behind_the_cache(app, product_id, "Stale")
    assert client.get("/api/v1/products").get_json()["items"][0]["title"] == "Latte"  # cached

    client.patch(f"/api/v1/admin/products/{product_id}", headers=marketing, json={"title": "Oat Latte"})
    assert client.get("/api/v1/products").get_json()["items"][0]["title"] == "Oat Latte"
    client.post(f"/api/v1/admin/products/{product_id}/off-sale", headers=marketing)
    assert client.get("/api/v1/products").get_json()["total"] == 0


def test_a_product_page_is_cached_and_turns_over_on_change(app, client, marketing, committed):
    product = committed(lambda: (lambda p: (p.id, p.skus[0].id))(make_product(make_category().id, title="Latte")))
    product_id, sku_id = product
    assert client.get(f"/api/v1/products/{product_id}").get_json()["skus"][0]["price"] == 1200
    _rename_behind_the_cache(app, product_id, "Stale")
    assert client.get(f"/api/v1/products/{product_id}").get_json()["title"] == "Latte"
    client.patch(f"/api/v1/admin/products/{product_id}", headers=marketing,
                 json={"skus": [{"id": sku_id, "price": 1300}]})
    page = client.get(f"/api/v1/products/{product_id}").get_json()
    assert (page["title"], page["skus"][0]["price"]) == ("Stale", 1300)


def test_the_category_tree_turns_over_when_a_category_changes(client, marketing):
    created = client.post("/api/v1/admin/categories", headers=marketing, json={"name": "Tea"}).get_json()
    assert [c["name"] for c in client.get("/api/v1/categories").get_json()] == ["Tea"]
    client.patch(f"/api/v1/admin/categories/{created['id']}", headers=marketing, json={"name": "Green tea"})
    assert [c["name"] for c in client.get("/api/v1/categories").get_json()] == ["Green tea"]


def test_a_product_page_shows_a_sku_selling_out_and_coming_back(client, committed):
    product_id, sku_id = committed(lambda: (lambda p: (p.id, p.skus[0].id))(
        make_product(make_category().id, skus=[{"spec": {}, "price": 900, "stock": 2}])))
    in_stock = lambda: client.get(f"/api/v1/products/{product_id}").get_json()["skus"][0]["in_stock"]  # noqa: E731
    assert in_stock() is True
    committed(lambda: reserve_stock(sku_id, 1))
    assert in_stock() is True
    committed(lambda: reserve_stock(sku_id, 1))
    assert in_stock() is False
    committed(lambda: return_stock(sku_id, 1))
    assert in_stock() is True


def test_a_rolled_back_change_leaves_the_cache_as_it_was(app, client, committed):
    product_id = committed(lambda: make_product(make_category().id, title="Latte").id)
    client.get("/api/v1/products")
    with app.app_context():
        token = redis_client().get(cache.CATALOG_TOKEN)
        update_product(product_id, actor_staff_id=None, title="Never committed")
        db.session.rollback()
        assert redis_client().get(cache.CATALOG_TOKEN) == token
    assert client.get("/api/v1/products").get_json()["items"][0]["title"] == "Latte"


def test_reads_work_from_the_database_when_redis_is_down(app, client, committed, monkeypatch):
    product_id = committed(lambda: make_product(make_category().id, title="Latte").id)
    # A real client of a port nobody listens on (a second app would rebind the shared rate limiter).
    monkeypatch.setattr(cache, "redis_client", lambda: redis.Redis.from_url("redis://127.0.0.1:9/0"))
    response = client.get("/api/v1/products")
    assert response.status_code == 200 and response.get_json()["items"][0]["title"] == "Latte"
    assert client.get(f"/api/v1/products/{product_id}").get_json()["title"] == "Latte"
    with app.app_context():
        assert store_ids_selling(product_id) == set()


def test_the_stores_selling_a_product_follow_availability_sale_and_sku_changes(app, committed):
    def seed():
        product = make_product(make_category().id, skus=[{"spec": {"size": "M"}, "price": 900},
                                                         {"spec": {"size": "L"}, "price": 1200}])
        m, large = (sku.id for sku in product.skus)
        a, b, c = (make_store().id for _ in range(3))
        set_store_availability(m, stores=[{"store_id": a, "available": True}, {"store_id": b, "available": True}],
                               actor_staff_id=None)
        set_store_availability(large, stores=[{"store_id": c, "available": True}], actor_staff_id=None)
        return product.id, m, large, a, b, c

    product_id, m, large, a, b, c = committed(seed)

    def selling() -> set[int]:
        with app.app_context():
            return store_ids_selling(product_id)

    def in_redis() -> set[bytes]:
        """What Redis holds for the current token, before anyone asks (kept in step on change)."""
        with app.app_context():
            client = redis_client()
            token = client.get(cache.product_token_key(product_id)).decode()
            return client.smembers(cache.stores_key(product_id, token))

    assert selling() == {a, b, c}
    committed(lambda: set_store_availability(m, stores=[{"store_id": b, "available": False}], actor_staff_id=None))
    assert in_redis() == {cache.EMPTY, str(a).encode(), str(c).encode()}
    assert selling() == {a, c}
    committed(lambda: update_product(product_id, actor_staff_id=None, skus=[{"id": large, "active": False}]))
    assert selling() == {a}
    committed(lambda: set_on_sale(product_id, on_sale=False))
    assert in_redis() == {cache.EMPTY} and selling() == set()
    committed(lambda: set_on_sale(product_id, on_sale=True))
    assert selling() == {a}


def test_the_stores_selling_a_product_are_rebuilt_after_redis_is_flushed(app, committed):
    def seed():
        product = make_product(make_category().id)
        store = make_store().id
        set_store_availability(product.skus[0].id, stores=[{"store_id": store, "available": True}],
                               actor_staff_id=None)
        return product.id, store

    product_id, store = committed(seed)
    with app.app_context():
        redis_client().flushdb()
        assert store_ids_selling(product_id) == {store}
        assert list(redis_client().scan_iter(match="catalog:product:*:stores:*")) != []  # every node of a Cluster
        # Redis now answers alone: a change that bypasses the service is not seen until the next turnover.
        db.session.execute(update(StoreSku).values(available=False))
        db.session.commit()
        assert store_ids_selling(product_id) == {store}


def test_flask_catalog_rebuild_cache_rebuilds_the_store_sets_and_drops_cached_reads(app, client, committed):
    product_id, store = committed(lambda: (make_product(make_category().id, title="Latte").id, make_store().id))
    client.get("/api/v1/products")
    _rename_behind_the_cache(app, product_id, "Renamed in the database")
    with app.app_context():  # a change made behind the service's back: only a rebuild can see it
        product = db.session.get(Product, product_id)
        db.session.add(StoreSku(store_id=store, sku_id=product.skus[0].id, available=True))
        db.session.commit()
        assert store_ids_selling(product_id) == set()
    result = app.test_cli_runner().invoke(catalog_cli, ["rebuild-cache"])
    assert result.exit_code == 0 and "1 products" in result.output
    with app.app_context():
        assert store_ids_selling(product_id) == {store}
    assert client.get("/api/v1/products").get_json()["items"][0]["title"] == "Renamed in the database"
