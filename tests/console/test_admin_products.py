"""Products and their stock per store at /console/products: which stores sell a SKU and their own stock, on and
off sale, through the catalog's services (marketing and admins; clerks see nothing)."""

from __future__ import annotations

import pytest

from shop.auth import Role
from shop.catalog.models import Product, StockMovement, StoreSku
from shop.extensions import db
from shop.stores.models import Store
from tests.console.conftest import text_of
from tests.orders.conftest import shop  # noqa: F401


@pytest.fixture
def admin(browser, account):
    user = browser()
    assert user.login(account(Role.ADMIN)).status_code == 302
    user.get("/console/products?lang=en")
    return user


def at_store(app, sku_id: int) -> dict[int, tuple[bool, int | None]]:
    with app.app_context():
        return {row.store_id: (row.available, row.stock)
                for row in db.session.scalars(db.select(StoreSku).where(StoreSku.sku_id == sku_id))}


def test_the_list_shows_products_with_their_price_and_stock(admin, shop):  # noqa: F811
    page = text_of(admin.get("/console/products?lang=en"))
    assert "Latte" in page and "Croissant" in page and "¥28.00" in page
    assert "Latte" not in text_of(admin.get("/console/products?status=off_sale&lang=en"))
    assert "Croissant" not in text_of(admin.get("/console/products?q=lat&lang=en"))


def test_an_admin_counts_a_stores_own_stock_and_stops_another_selling(app, admin, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
    page = text_of(admin.get(f"/console/products/{product_id}?lang=en"))
    assert "People's Square" in page and "Xintiandi" in page
    saved = admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stores?lang=en", {
        "store": [str(shop.store_id), str(shop.other_store_id)], f"sells-{shop.store_id}": "on",
        f"stock-{shop.store_id}": "12", f"stock-{shop.other_store_id}": ""})
    assert saved.status_code == 302
    assert at_store(app, shop.latte) == {shop.store_id: (True, 12), shop.other_store_id: (False, None)}
    with app.app_context():  # the count is a stocktake in the ledger
        assert db.session.scalar(db.select(StockMovement.delta).where(StockMovement.store_id == shop.store_id)) == 12
    assert "Stores and stock saved." in text_of(admin.get(saved.location + "&lang=en" if "?" in saved.location
                                                          else saved.location))


def test_a_store_added_by_its_code_sells_from_the_central_stock(app, admin, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
        third = Store(code="SH777", name="Lujiazui", address="1 Century Ave", city="Shanghai", lat=31.24, lng=121.50,
                      weekly_hours={})
        db.session.add(third)
        db.session.commit()
        third_id = third.id
    before = at_store(app, shop.latte)
    assert admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stores?lang=en",
                      {"add_code": "SH777"}).status_code == 302
    assert at_store(app, shop.latte) == {**before, third_id: (True, None)}
    unknown = admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stores?lang=en", {"add_code": "NOPE"})
    assert unknown.status_code == 422 and "No store has the code NOPE." in text_of(unknown)


def test_a_wrong_stock_is_refused_beside_its_sku_and_changes_nothing(app, admin, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
    before = at_store(app, shop.latte)
    for stock in ("-3", "many", "99999999999"):
        refused = admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stores?lang=en", {
            "store": [str(shop.store_id)], f"sells-{shop.store_id}": "on", f"stock-{shop.store_id}": stock})
        assert refused.status_code == 422 and 'class="field-error" role="alert"' in text_of(refused), stock
    assert at_store(app, shop.latte) == before
    assert admin.post(f"/console/products/{product_id}/skus/999999/stores", {"store": "1"}).status_code == 404


def test_an_admin_takes_a_product_off_sale_and_puts_it_back(app, admin, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
    assert admin.post(f"/console/products/{product_id}/off_sale?lang=en").status_code == 302
    with app.app_context():
        assert db.session.get(Product, product_id).status == "off_sale"
    assert admin.post(f"/console/products/{product_id}/on_sale?lang=en").status_code == 302
    with app.app_context():
        assert db.session.get(Product, product_id).status == "on_sale"
    assert admin.post("/console/products/999999/on_sale").status_code == 404


def test_marketing_keeps_products_and_a_clerk_sees_none(app, browser, account, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
    marketer = browser()
    marketer.login(account(Role.MARKETING))
    assert marketer.get(f"/console/products/{product_id}").status_code == 200
    clerk = browser()
    clerk.login(account(Role.STAFF, [shop.store_id]))
    clerk.get("/console/counter")
    assert clerk.get("/console/products").status_code == 403
    assert clerk.post(f"/console/products/{product_id}/off_sale").status_code == 403
    assert clerk.post(f"/console/products/{product_id}/skus/{shop.latte}/stores",
                      {"store": [str(shop.store_id)], f"stock-{shop.store_id}": "1"}).status_code == 403
    with app.app_context():
        assert db.session.get(Product, product_id).status == "on_sale"


def test_product_changes_without_their_csrf_token_are_refused(app, admin, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
    before = at_store(app, shop.latte)
    assert admin.post(f"/console/products/{product_id}/off_sale", csrf=False).status_code == 400
    assert admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stores",
                      {"store": [str(shop.store_id)], f"stock-{shop.store_id}": "5"}, csrf=False).status_code == 400
    assert at_store(app, shop.latte) == before
    with app.app_context():
        assert db.session.get(Product, product_id).status == "on_sale"
