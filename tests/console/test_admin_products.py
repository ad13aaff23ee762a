"""Products and their stock per store at /console/products: which stores sell a SKU and their own stock, on and
off sale, a product's description, images and category, a SKU's whole stock ledger, through the catalog's services
(marketing and admins; clerks see nothing)."""

from __future__ import annotations

import re

import pytest

from console.batches.forms import yuan_input
from shop.auth import Role
from shop.catalog.models import Category, Product, Sku, StockMovement, StoreSku
from shop.catalog.stock import adjust_stock
from shop.extensions import db
from shop.stores.models import Store
from tests.console.conftest import text_of
from tests.factories import make_category, make_product
from tests.orders.conftest import shop  # noqa: F401


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
    for stock in ("-3", "many", "99999999999", "²"):
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


# --- description and images ----------------------------------------------------------------------

COVER, SECOND, THIRD = ("https://img.example.cn/cover.png", "https://img.example.cn/side.png",
                        "https://img.example.cn/top.png")
FIRST_SUBMIT = re.compile(r'<form method="post" action="[^"]*/(?:new|edit)[^"]*"[^>]*>.*?<button type="submit"([^>]*)>',
                          re.S)


def saved_images(app, product_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.get(Product, product_id).image_urls)


def image_rows(page: str) -> list[str]:
    """The image URLs of the form's rows, in order (the empty row to add one left out)."""
    return [url for url in re.findall(r'name="image" type="url"[^>]*value="([^"]*)"', page) if url]


@pytest.fixture
def pictured(app, shop):  # noqa: F811
    """A product with three images, the first its cover."""
    with app.app_context():
        made = make_product(make_category().id, title="Flat white", image_urls=[COVER, SECOND, THIRD],
                            description="Double ristretto.\nWhole milk.")
        db.session.commit()
        return made.id


def edit_form(app, product_id: int, **fields) -> dict:
    """The edit form as the page sends it: its fields as saved, its images in their rows."""
    with app.app_context():
        product = db.session.get(Product, product_id)
        sent = {"title": product.title, "category_id": str(product.category_id),
                "description": product.description or "", "image": [*product.image_urls, ""]}
        for row, sku in enumerate(product.skus):
            sent.update({f"sku-{row}-spec": "; ".join(f"{k}: {v}" for k, v in sku.spec.items()),
                         f"sku-{row}-price": yuan_input(sku.price), f"sku-{row}-active": "on"})
    return {**sent, **fields}


def test_an_admin_writes_a_description_and_images_and_the_first_is_the_cover(app, admin, shop):  # noqa: F811
    created = admin.post("/console/products/new?lang=en", new_product_form(
        app, description="Dark chocolate.\nServed hot.", image=[COVER, "", SECOND]))
    assert created.status_code == 302, text_of(created)
    made = product_named(app, "Mocha")
    assert (made.description, made.image_urls) == ("Dark chocolate.\nServed hot.", [COVER, SECOND])
    page = text_of(admin.get(created.location))
    assert f'<img class="cover" src="{COVER}" alt="Cover of Mocha"' in page
    assert "Dark chocolate.\nServed hot." in page and "2 images" in page
    form = text_of(admin.get(f"/console/products/{made.id}/edit?lang=en"))
    assert image_rows(form) == [COVER, SECOND] and f'<img class="thumb" src="{COVER}" alt="Cover"' in form
    assert "Dark chocolate.\nServed hot.</textarea>" in form
    assert f'src="{COVER}"' in text_of(admin.get("/console/products?lang=en"))  # the list shows the cover too
    cleared = admin.post(f"/console/products/{made.id}/edit?lang=en", edit_form(app, made.id, description="  ",
                                                                                 image=[""]))
    assert cleared.status_code == 302
    assert (product_named(app, "Mocha").description, saved_images(app, made.id)) == (None, [])
    assert "No image" in text_of(admin.get(cleared.location))


def test_images_are_moved_removed_and_added_in_the_form_and_kept_only_when_saved(app, admin, pictured):
    form = edit_form(app, pictured)
    down = admin.post(f"/console/products/{pictured}/edit?lang=en", {**form, "image_action": "down-0"})
    assert down.status_code == 200 and image_rows(text_of(down)) == [SECOND, COVER, THIRD]
    assert "not saved yet" in text_of(down) and saved_images(app, pictured) == [COVER, SECOND, THIRD]
    up = admin.post(f"/console/products/{pictured}/edit?lang=en",
                    {**form, "image": [SECOND, COVER, THIRD, ""], "image_action": "up-2"})
    assert image_rows(text_of(up)) == [SECOND, THIRD, COVER]
    removed = admin.post(f"/console/products/{pictured}/edit?lang=en",
                         {**form, "image": [SECOND, THIRD, COVER, ""], "image_action": "remove-2"})
    assert image_rows(text_of(removed)) == [SECOND, THIRD]
    new = "https://img.example.cn/new.png"
    added = admin.post(f"/console/products/{pictured}/edit?lang=en",
                       {**form, "image": [SECOND, THIRD, new], "image_action": "add"})
    assert image_rows(text_of(added)) == [SECOND, THIRD, new] and f'<img class="thumb" src="{new}"' in text_of(added)
    assert saved_images(app, pictured) == [COVER, SECOND, THIRD]
    saved = admin.post(f"/console/products/{pictured}/edit?lang=en", {**form, "image": [SECOND, THIRD, new, ""]})
    assert saved.status_code == 302 and saved_images(app, pictured) == [SECOND, THIRD, new]


def test_the_new_product_form_arranges_its_images_too_and_keeps_what_was_typed(app, admin, shop):  # noqa: F811
    typed = new_product_form(app, image=[COVER, SECOND], image_action="up-1")
    arranged = admin.post("/console/products/new?lang=en", typed)
    page = text_of(arranged)
    assert arranged.status_code == 200 and image_rows(page) == [SECOND, COVER]
    assert 'value="Mocha"' in page and 'value="32.50"' in page and product_named(app, "Mocha") is None


def test_pressing_enter_in_the_form_saves_rather_than_moving_an_image(admin, pictured):
    for path in (f"/console/products/{pictured}/edit?lang=en", "/console/products/new?lang=en"):
        first = FIRST_SUBMIT.search(text_of(admin.get(path)))
        assert first is not None and "name=" not in first.group(1), path


def test_an_image_url_the_api_refuses_is_shown_beside_its_image_and_nothing_is_saved(app, admin, pictured):
    form = edit_form(app, pictured)
    for wrong in ("http://img.example.cn/plain.png", "javascript:alert(1)", "not an address"):
        refused = admin.post(f"/console/products/{pictured}/edit?lang=en",
                             {**form, "title": "Renamed", "image": [COVER, wrong, ""]})
        page = text_of(refused)
        assert refused.status_code == 422 and 'id="image-1-error"' in page, wrong
        assert f'src="{wrong}"' not in page and f'value="{wrong}"' in page  # no thumbnail, the typed text kept
        checked = admin.post(f"/console/products/{pictured}/edit?lang=en",
                             {**form, "image": [COVER, wrong], "image_action": "add"})
        assert checked.status_code == 200 and 'id="image-1-error"' in text_of(checked), wrong
    too_many = admin.post(f"/console/products/{pictured}/edit?lang=en",
                          {**form, "image": [f"https://img.example.cn/{n}.png" for n in range(10)]})
    assert too_many.status_code == 422 and 'id="image_urls-error"' in text_of(too_many)
    assert "Up to 9 images, each a web address starting with https://" in text_of(too_many)
    assert saved_images(app, pictured) == [COVER, SECOND, THIRD]
    assert product_named(app, "Renamed") is None


def test_an_admin_moves_a_product_to_another_category(app, admin, pictured):
    with app.app_context():
        top = make_category("Drinks")
        hidden = make_category("Seasonal", parent_id=top.id, active=False)
        db.session.commit()
        hidden_id = hidden.id
    form = text_of(admin.get(f"/console/products/{pictured}/edit?lang=en"))
    assert "Drinks / Seasonal (inactive)" in form
    assert admin.post(f"/console/products/{pictured}/edit?lang=en",
                      edit_form(app, pictured, category_id=str(hidden_id))).status_code == 302
    with app.app_context():
        assert db.session.get(Product, pictured).category_id == hidden_id
    page = text_of(admin.get(f"/console/products/{pictured}?lang=en"))
    assert "Category: Seasonal" in page


def test_the_list_finds_products_by_category_and_refuses_a_wrong_filter(app, admin, shop, pictured):  # noqa: F811
    with app.app_context():
        latte_category = db.session.scalar(db.select(Product.category_id).where(Product.title == "Latte"))
    page = text_of(admin.get(f"/console/products?category_id={latte_category}&lang=en"))
    assert "Latte" in page and "Croissant" not in page and "Flat white" not in page
    assert admin.get("/console/products?category_id=999999").status_code == 404
    for wrong in ("category_id=abc", "page=99999999999999999999", "page=0", "status=sold", "q=" + "x" * 65):
        assert admin.get(f"/console/products?{wrong}").status_code == 422, wrong


def test_marketing_arranges_images_a_clerk_may_not_and_no_arranging_passes_without_its_token(
        app, admin, browser, account, shop, pictured):  # noqa: F811
    form = edit_form(app, pictured)
    marketer = browser()
    marketer.login(account(Role.MARKETING))
    marketer.get(f"/console/products/{pictured}/edit")
    assert marketer.post(f"/console/products/{pictured}/edit", {**form, "image_action": "down-0"}).status_code == 200
    clerk = browser()
    clerk.login(account(Role.STAFF, [shop.store_id]))
    clerk.get("/console/counter")
    assert clerk.post(f"/console/products/{pictured}/edit", {**form, "image": [THIRD]}).status_code == 403
    assert admin.post(f"/console/products/{pictured}/edit", {**form, "image_action": "down-0"},
                      csrf=False).status_code == 400
    assert admin.post(f"/console/products/{pictured}/edit", {**form, "image": [THIRD]}, csrf=False).status_code == 400
    assert saved_images(app, pictured) == [COVER, SECOND, THIRD]


# --- the whole stock ledger -------------------------------------------------------------------

def test_the_whole_ledger_of_a_sku_pages_through_every_movement_newest_first(app, admin, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
        for n in range(1, 61):
            adjust_stock(shop.latte, delta=1, reason="received", note=f"n-{n:03d}", actor_staff_id=None)
        db.session.commit()
    product_page = text_of(admin.get(f"/console/products/{product_id}?lang=en"))
    ledger_path = f"/console/products/{product_id}/skus/{shop.latte}/ledger"
    assert ledger_path in product_page and "n-060" in product_page and "n-050" not in product_page
    first = text_of(admin.get(ledger_path + "?lang=en"))
    assert "61 movements" in first and "Page 1 of 2" in first and "page=2" in first
    assert "n-060" in first and "n-011" in first and "n-010" not in first
    assert first.index("n-060") < first.index("n-011")  # newest first
    second = text_of(admin.get(ledger_path + "?page=2&lang=en"))
    assert "n-010" in second and "n-001" in second and "initial stock" in second and "n-011" not in second
    assert admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stock?lang=en",
                      {"delta": "2", "reason": "received", "note": "by hand"}).status_code == 302
    newest = text_of(admin.get(ledger_path + "?lang=en"))
    assert re.search(r"by hand.*?</td>\s*<td>console-admin-\d+</td>", newest, re.S)  # who did it


def test_the_ledger_shows_one_stores_rows(app, admin, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
    admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stores?lang=en", {
        "store": [str(shop.store_id)], f"sells-{shop.store_id}": "on", f"stock-{shop.store_id}": "12"})
    admin.post(f"/console/products/{product_id}/skus/{shop.latte}/stock?lang=en",
               {"delta": "3", "reason": "received", "note": "central truck"})
    ledger_path = f"/console/products/{product_id}/skus/{shop.latte}/ledger"
    everything = text_of(admin.get(ledger_path + "?lang=en"))
    assert "stocktake" in everything and "central truck" in everything
    assert f"store_id={shop.store_id}" in everything  # the filter offers the store counting its own stock
    at_store_only = text_of(admin.get(f"{ledger_path}?store_id={shop.store_id}&lang=en"))
    assert "stocktake" in at_store_only and "central truck" not in at_store_only
    assert "1 movement" in at_store_only


def test_a_ledger_is_refused_for_a_sku_of_another_product_a_wrong_page_and_a_clerk(
        app, admin, browser, account, shop):  # noqa: F811
    with app.app_context():
        product_id = db.session.scalar(db.select(Product.id).where(Product.title == "Latte"))
    ledger_path = f"/console/products/{product_id}/skus/{shop.latte}/ledger"
    assert admin.get(f"/console/products/{product_id}/skus/{shop.croissant}/ledger").status_code == 404
    for wrong in ("page=abc", "page=0", "page=99999999999999999999", "store_id=x", "store_id=0"):
        assert admin.get(f"{ledger_path}?{wrong}").status_code == 422, wrong
    marketer = browser()
    marketer.login(account(Role.MARKETING))
    assert marketer.get(ledger_path).status_code == 200
    clerk = browser()
    clerk.login(account(Role.STAFF, [shop.store_id]))
    clerk.get("/console/counter")
    assert clerk.get(ledger_path).status_code == 403
