"""Products and their stock per store at /console/products: which stores sell a SKU and their own stock, on and
off sale, through the catalog's services (marketing and admins; clerks see nothing)."""

from __future__ import annotations

import pytest

from shop.auth import Role
from shop.catalog.models import Category, Product, Sku, StockMovement, StoreSku
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


def category_id(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(Category.id).order_by(Category.id))


def product_named(app, title: str) -> Product | None:
    with app.app_context():
        found = db.session.scalar(db.select(Product).where(Product.title == title))
        if found is not None:
            found.skus  # noqa: B018  (loaded before the session ends)
        return found


def new_product_form(app, **fields) -> dict:
    """The new-product form as an admin fills it: one SKU in yuan, the other rows left blank."""
    return {"title": "Mocha", "category_id": str(category_id(app)), "sku-0-spec": "size: L; 温度：热",
            "sku-0-price": "32.50", "sku-0-original_price": "36", "sku-0-stock": "40", "sku-0-active": "on",
            "sku-1-active": "on", "sku-2-active": "on", **fields}


def test_an_admin_creates_a_product_with_its_sku_priced_in_yuan_and_stored_in_fen(app, admin, shop):  # noqa: F811
    assert "Create the product" in text_of(admin.get("/console/products/new?lang=en"))
    created = admin.post("/console/products/new?lang=en", new_product_form(app, on_sale="on"))
    assert created.status_code == 302, text_of(created)
    made = product_named(app, "Mocha")
    assert made.status == "on_sale" and len(made.skus) == 1
    sku = made.skus[0]
    assert (sku.price, sku.original_price, sku.stock, sku.spec, sku.active) == (
        3250, 3600, 40, {"size": "L", "温度": "热"}, True)
    with app.app_context():  # the initial stock is in the ledger, and the page shows it
        assert db.session.scalar(db.select(StockMovement.reason).where(StockMovement.sku_id == sku.id)) == "initial"
    page = text_of(admin.get(created.location))
    assert "Product created." in page and "¥32.50" in page and "initial stock" in page


def test_a_new_product_with_wrong_fields_is_refused_beside_each_field_and_nothing_is_made(app, admin, shop):  # noqa: F811
    refused = admin.post("/console/products/new?lang=en", new_product_form(
        app, title=" ", **{"sku-0-price": "12.345", "sku-1-price": "-1", "sku-1-spec": "no colon"}))
    assert refused.status_code == 422
    page = text_of(refused)
    assert 'id="title-error"' in page and 'id="sku-0-price-error"' in page
    assert 'id="sku-1-price-error"' in page and 'id="sku-1-spec-error"' in page
    assert 'value="12.345"' in page  # what was typed stays in place
    nothing = admin.post("/console/products/new?lang=en", {"title": "Empty", "category_id": str(category_id(app))})
    assert nothing.status_code == 422 and 'id="skus-error"' in text_of(nothing)
    cheaper = admin.post("/console/products/new?lang=en", new_product_form(app, **{"sku-0-original_price": "30"}))
    assert cheaper.status_code == 422 and 'id="sku-0-original_price-error"' in text_of(cheaper)
    unknown = admin.post("/console/products/new?lang=en", new_product_form(app, category_id="999999"))
    assert unknown.status_code == 422 and 'id="category_id-error"' in text_of(unknown)
    assert product_named(app, "Mocha") is None and product_named(app, "Empty") is None


def test_an_admin_edits_a_product_changes_a_sku_and_adds_another(app, admin, shop):  # noqa: F811
    assert admin.post("/console/products/new?lang=en", new_product_form(app)).status_code == 302
    made = product_named(app, "Mocha")
    form = text_of(admin.get(f"/console/products/{made.id}/edit?lang=en"))
    assert 'value="32.50"' in form and 'value="size: L; 温度: 热"' in form
    saved = admin.post(f"/console/products/{made.id}/edit?lang=en", {
        "title": "Mocha grande", "category_id": str(made.category_id),
        "sku-0-spec": "size: L; 温度: 热", "sku-0-price": "30", "sku-0-active": "on",
        "sku-1-spec": "size: M", "sku-1-price": "25.80", "sku-1-stock": "5", "sku-1-active": "on"})
    assert saved.status_code == 302, text_of(saved)
    edited = product_named(app, "Mocha grande")
    assert sorted((sku.price, sku.stock) for sku in edited.skus) == [(2580, 5), (3000, 40)]
    duplicate = admin.post(f"/console/products/{made.id}/edit?lang=en", {
        "title": "Mocha grande", "category_id": str(made.category_id), "sku-0-spec": "size: M", "sku-0-price": "30",
        "sku-0-active": "on", "sku-1-spec": "size: M", "sku-1-price": "25.80", "sku-1-active": "on"})
    assert duplicate.status_code == 422 and "appears twice" in text_of(duplicate)
    assert sorted(sku.price for sku in product_named(app, "Mocha grande").skus) == [2580, 3000]


def test_stock_is_adjusted_with_a_reason_into_the_ledger_and_a_wrong_one_is_refused_in_place(
        app, admin, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
        before = db.session.get(Sku, shop.latte).stock
    added = admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stock?lang=en",
                       {"delta": "7", "reason": "received", "note": "truck 3"})
    assert added.status_code == 302
    with app.app_context():
        assert db.session.get(Sku, shop.latte).stock == before + 7
    page = text_of(admin.get(f"/console/products/{product_id}?lang=en"))
    assert "Stock adjusted." in page and "+7" in page and "goods received · truck 3" in page
    no_note = admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stock?lang=en",
                         {"delta": "-1", "reason": "other"})
    assert no_note.status_code == 422 and f'id="note-{shop.latte}-error"' in text_of(no_note)
    zero = admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stock?lang=en",
                      {"delta": "0", "reason": "lost"})
    assert zero.status_code == 422 and f'id="delta-{shop.latte}-error"' in text_of(zero)
    too_many = admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stock?lang=en",
                          {"delta": str(-(before + 100)), "reason": "lost"})
    assert too_many.status_code == 409 and "Only" in text_of(too_many)
    with app.app_context():
        assert db.session.get(Sku, shop.latte).stock == before + 7


def test_marketing_may_edit_products_a_clerk_may_not_and_no_form_passes_without_its_token(
        app, admin, browser, account, shop):  # noqa: F811
    marketer = browser()
    marketer.login(account(Role.MARKETING))
    marketer.get("/console/products/new")
    assert marketer.post("/console/products/new", new_product_form(app, title="By marketing")).status_code == 302
    made = product_named(app, "By marketing")
    clerk = browser()
    clerk.login(account(Role.STAFF, [shop.store_id]))
    clerk.get("/console/counter")
    assert clerk.get("/console/products/new").status_code == 403
    assert clerk.post("/console/products/new", new_product_form(app, title="By a clerk")).status_code == 403
    assert clerk.post(f"/console/products/{made.id}/edit", {"title": "x"}).status_code == 403
    assert clerk.post(f"/console/products/{made.id}/skus/{made.skus[0].id}/stock",
                      {"delta": "1", "reason": "received"}).status_code == 403
    assert admin.post("/console/products/new", new_product_form(app, title="No token"), csrf=False).status_code == 400
    assert admin.post(f"/console/products/{made.id}/edit", {"title": "No token"}, csrf=False).status_code == 400
    assert admin.post(f"/console/products/{made.id}/skus/{made.skus[0].id}/stock", {"delta": "1", "reason": "received"},
                      csrf=False).status_code == 400
    assert product_named(app, "By a clerk") is None and product_named(app, "No token") is None
    assert product_named(app, "By marketing").skus[0].stock == 40
