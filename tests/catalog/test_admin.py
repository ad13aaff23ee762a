"""Marketing builds the catalog: categories, products with SKUs, sale status, store availability; roles."""

import pytest
from sqlalchemy import select

from shop.auth import Role
from shop.catalog.models import StockMovement
from shop.catalog.service import set_store_availability
from shop.extensions import db
from tests.conftest import bearer
from tests.factories import make_category, make_product, make_store

LATTE = {"title": "Latte", "subtitle": "Espresso and milk", "image_urls": ["https://img.cn/latte.png"],
         "skus": [{"spec": {"size": "M"}, "price": 1500, "original_price": 1800, "stock": 20},
                  {"spec": {"size": "L"}, "price": 1800}]}


def test_marketing_creates_a_product_that_stays_hidden_until_put_on_sale(app, client, marketing, committed):
    category_id = committed(lambda: make_category().id)
    response = client.post("/api/v1/admin/products", headers=marketing, json={**LATTE, "category_id": category_id})
    assert response.status_code == 201
    product = response.get_json()
    assert product["status"] == "off_sale"
    assert [(s["spec"], s["price"], s["original_price"], s["stock"]) for s in product["skus"]] == [
        ({"size": "M"}, 1500, 1800, 20), ({"size": "L"}, 1800, None, 0)]
    assert client.get("/api/v1/products").get_json()["total"] == 0
    assert client.get(f"/api/v1/products/{product['id']}").status_code == 404

    on_sale = client.post(f"/api/v1/admin/products/{product['id']}/on-sale", headers=marketing)
    assert on_sale.status_code == 200 and on_sale.get_json()["status"] == "on_sale"
    assert [p["id"] for p in client.get("/api/v1/products").get_json()["items"]] == [product["id"]]
    with app.app_context():  # the initial stock is in the ledger, by whom
        rows = db.session.scalars(select(StockMovement)).all()
        assert [(r.sku_id, r.delta, r.reason, r.balance_after) for r in rows] == [
            (product["skus"][0]["id"], 20, "initial", 20)]
        assert rows[0].actor_staff_id is not None


def test_marketing_changes_a_product_and_a_sku_and_adds_a_sku(client, marketing, committed):
    def seed():
        product = make_product(make_category().id, title="Latte", skus=[{"spec": {"size": "M"}, "price": 1500, "stock": 2}])
        return product.id, product.skus[0].id, make_category().id

    product_id, sku_id, other_category = committed(seed)
    response = client.patch(f"/api/v1/admin/products/{product_id}", headers=marketing, json={
        "title": "  Oat Latte ", "category_id": other_category, "subtitle": None,
        "skus": [{"id": sku_id, "price": 1600, "original_price": 1900},
                 {"spec": {"size": "L"}, "price": 1900, "stock": 5}]})
    assert response.status_code == 200, response.get_json()
    page = client.get(f"/api/v1/products/{product_id}").get_json()
    assert (page["title"], page["category_id"], page["subtitle"]) == ("Oat Latte", other_category, None)
    assert [(s["id"] == sku_id, s["spec"], s["price"], s["original_price"], s["in_stock"]) for s in page["skus"]] == [
        (True, {"size": "M"}, 1600, 1900, True), (False, {"size": "L"}, 1900, None, True)]


def test_taking_a_product_off_sale_hides_it_and_putting_it_back_shows_it(client, marketing, committed):
    product_id = committed(lambda: make_product(make_category().id).id)
    assert client.post(f"/api/v1/admin/products/{product_id}/off-sale", headers=marketing).status_code == 200
    assert client.get(f"/api/v1/products/{product_id}").get_json()["code"] == "product_not_found"
    assert client.get("/api/v1/products").get_json()["total"] == 0
    assert client.post(f"/api/v1/admin/products/{product_id}/on-sale", headers=marketing).status_code == 200
    assert client.get(f"/api/v1/products/{product_id}").status_code == 200


def test_a_product_without_an_active_sku_cannot_go_on_sale(client, marketing, committed):
    category_id = committed(lambda: make_category().id)
    body = {"title": "Ghost", "category_id": category_id, "skus": [{"price": 100, "active": False}]}
    created = client.post("/api/v1/admin/products", headers=marketing, json=body).get_json()
    response = client.post(f"/api/v1/admin/products/{created['id']}/on-sale", headers=marketing)
    assert response.status_code == 409 and response.get_json()["code"] == "product_has_no_active_sku"
    assert client.get(f"/api/v1/admin/products/{created['id']}", headers=marketing).get_json()["status"] == "off_sale"
    direct = client.post("/api/v1/admin/products", headers=marketing, json={**body, "status": "on_sale"})
    assert direct.status_code == 409


def test_the_admin_list_includes_off_sale_products_with_their_figures(client, marketing, committed):
    def seed():
        cat = make_category().id
        on = make_product(cat, title="On", skus=[{"spec": {"s": "M"}, "price": 900, "stock": 3},
                                                 {"spec": {"s": "L"}, "price": 500, "stock": 4, "active": False}])
        make_product(cat, title="Off", status="off_sale")
        store = make_store().id
        set_store_availability(on.skus[0].id, stores=[{"store_id": store, "available": True}], actor_staff_id=None)
        return store

    store = committed(seed)
    page = client.get("/api/v1/admin/products", headers=marketing).get_json()
    rows = {p["title"]: p for p in page["items"]}
    assert page["total"] == 2 and rows["Off"]["status"] == "off_sale"
    assert (rows["On"]["sku_count"], rows["On"]["active_sku_count"], rows["On"]["min_price"], rows["On"]["stock"]) == (
        2, 1, 900, 7)
    off_only = client.get("/api/v1/admin/products?status=off_sale&q=of", headers=marketing).get_json()
    assert [p["title"] for p in off_only["items"]] == ["Off"]
    at_store = client.get(f"/api/v1/admin/products?store_id={store}", headers=marketing).get_json()
    assert [p["title"] for p in at_store["items"]] == ["On"]


def test_categories_have_two_levels_and_refuse_a_third(client, marketing):
    def post(body):
        return client.post("/api/v1/admin/categories", headers=marketing, json=body)

    drinks = post({"name": "Drinks"}).get_json()
    coffee = post({"name": "Coffee", "parent_id": drinks["id"], "sort_order": 3}).get_json()
    assert (coffee["parent_id"], coffee["sort_order"], coffee["active"]) == (drinks["id"], 3, True)
    third = post({"name": "Espresso", "parent_id": coffee["id"]})
    assert third.status_code == 422 and third.get_json()["code"] == "category_too_deep"
    assert "parent_id" in third.get_json()["errors"]
    # Drinks has a child, so it cannot go under another; nor can a category be its own parent.
    bakery = post({"name": "Bakery"}).get_json()
    for category_id, parent_id in ((drinks["id"], bakery["id"]), (bakery["id"], bakery["id"])):
        moved = client.patch(f"/api/v1/admin/categories/{category_id}", headers=marketing, json={"parent_id": parent_id})
        assert moved.status_code == 422 and moved.get_json()["code"] == "category_too_deep"
    unknown_parent = post({"name": "Tea", "parent_id": 999999})
    assert unknown_parent.status_code == 422 and "parent_id" in unknown_parent.get_json()["errors"]
    tree = client.get("/api/v1/admin/categories", headers=marketing).get_json()
    assert [(c["name"], [k["name"] for k in c["children"]]) for c in tree] == [("Drinks", ["Coffee"]), ("Bakery", [])]


def test_marketing_renames_moves_and_deactivates_categories(client, marketing):
    drinks = client.post("/api/v1/admin/categories", headers=marketing, json={"name": "Drinks"}).get_json()
    tea = client.post("/api/v1/admin/categories", headers=marketing, json={"name": "Tea"}).get_json()
    moved = client.patch(f"/api/v1/admin/categories/{tea['id']}", headers=marketing,
                         json={"parent_id": drinks["id"], "name": "Green tea"})
    assert moved.status_code == 200
    assert client.get("/api/v1/categories").get_json()[0]["children"][0]["name"] == "Green tea"
    client.patch(f"/api/v1/admin/categories/{tea['id']}", headers=marketing, json={"parent_id": None, "active": False})
    assert [c["name"] for c in client.get("/api/v1/categories").get_json()] == ["Drinks"]
    missing = client.patch("/api/v1/admin/categories/999999", headers=marketing, json={"name": "X"})
    assert missing.status_code == 404 and missing.get_json()["code"] == "category_not_found"


def test_marketing_sets_what_stores_sell(client, marketing, committed):
    def seed():
        return make_product(make_category().id).skus[0].id, make_store().id, make_store().id

    sku_id, here, there = committed(seed)
    response = client.patch(f"/api/v1/admin/skus/{sku_id}/stores", headers=marketing, json={"stores": [
        {"store_id": here, "available": True, "stock": 6}, {"store_id": there, "available": False}]})
    assert response.status_code == 200
    assert [(r["store_id"], r["available"], r["stock"]) for r in response.get_json()] == [
        (here, True, 6), (there, False, None)]
    # Absent stock stays; null stops counting.
    client.patch(f"/api/v1/admin/skus/{sku_id}/stores", headers=marketing,
                 json={"stores": [{"store_id": here, "available": False}]})
    client.patch(f"/api/v1/admin/skus/{sku_id}/stores", headers=marketing,
                 json={"stores": [{"store_id": there, "available": True, "stock": None}]})
    rows = client.get(f"/api/v1/admin/skus/{sku_id}/stores", headers=marketing).get_json()
    assert [(r["store_id"], r["available"], r["stock"]) for r in rows] == [(here, False, 6), (there, True, None)]


ADMIN_CALLS = [
    ("get", "/api/v1/admin/categories"), ("post", "/api/v1/admin/categories"),
    ("patch", "/api/v1/admin/categories/1"), ("get", "/api/v1/admin/products"),
    ("post", "/api/v1/admin/products"), ("get", "/api/v1/admin/products/1"),
    ("patch", "/api/v1/admin/products/1"), ("post", "/api/v1/admin/products/1/on-sale"),
    ("post", "/api/v1/admin/products/1/off-sale"), ("get", "/api/v1/admin/skus/1/stores"),
    ("patch", "/api/v1/admin/skus/1/stores"), ("post", "/api/v1/admin/skus/1/stock-adjustments"),
    ("get", "/api/v1/admin/skus/1/stock-ledger"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
def test_only_marketing_and_admins_reach_the_admin_api(client, login, staff_token, committed, method, path):
    committed(lambda: make_product(make_category().id, title="Untouched"))
    call = getattr(client, method)
    assert call(path, json={}).get_json()["code"] == "token_missing"
    for headers in (bearer(login("alice:1")["token"]), staff_token(Role.STAFF)):
        response = call(path, headers=headers, json={"name": "Hacked", "title": "Hacked"})
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert client.get("/api/v1/products").get_json()["items"][0]["title"] == "Untouched"
    assert call(path, headers=staff_token(Role.ADMIN), json={}).status_code not in (401, 403)


def test_the_openapi_spec_documents_the_catalog_and_its_roles(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("/api/v1/categories", "/api/v1/products", "/api/v1/products/{product_id}"):
        assert "security" not in spec["paths"][path]["get"], path
    admin = spec["paths"]["/api/v1/admin/products"]["post"]
    assert admin["x-roles"] == ["admin", "marketing"] and "Role: marketing, admin." in admin["summary"]
