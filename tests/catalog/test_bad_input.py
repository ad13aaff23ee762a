"""Bad input to the catalog gets its clear error, names the field, and changes nothing."""

import json

import pytest

from tests.factories import make_category, make_product, make_store

GOOD_SKU = {"spec": {"size": "M"}, "price": 1500}


def _product(category_id: int, changes: dict) -> dict:
    return {"title": "Latte", "category_id": category_id, "skus": [GOOD_SKU], **changes}


BAD_PRODUCTS = [  # (changes to a good body, the field named in errors)
    ({"skus": [{**GOOD_SKU, "price": "1500"}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "price": 15.5}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "price": 1500.0}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "price": True}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "price": -1}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "price": 0}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "price": 10_000_001}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "price": 10**30}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "original_price": 1000}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "stock": -5}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "spec": {"size": {"nested": "x"}}}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "spec": {f"k{n}": "v" for n in range(6)}}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "spec": ["M"]}]}, "skus"),
    ({"skus": [{**GOOD_SKU, "colour": "red"}]}, "skus"),
    ({"skus": [{"spec": {"size": "M"}}]}, "skus"),
    ({"skus": []}, "skus"),
    ({"skus": [GOOD_SKU, GOOD_SKU]}, "skus"),  # the same spec twice
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 129}, "title"),
    ({"title": 42}, "title"),
    ({"title": "a\x00b"}, "title"),
    ({"description": "nul\x00byte"}, "description"),
    ({"image_urls": ["http://img.cn/a.png"]}, "image_urls"),
    ({"image_urls": ["not a url"]}, "image_urls"),
    ({"image_urls": "https://img.cn/a.png"}, "image_urls"),
    ({"image_urls": ["https://img.cn/a.png"] * 10}, "image_urls"),
    ({"status": "deleted"}, "status"),
    ({"category_id": "1"}, "category_id"),
    ({"category_id": 999999}, "category_id"),
    ({"sort_order": 10**9}, "sort_order"),
    ({"id": 7}, "id"),
    ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_PRODUCTS)
def test_a_bad_new_product_is_422_naming_the_field_and_creates_nothing(client, marketing, committed,
                                                                        changes, field):
    category_id = committed(lambda: make_category().id)
    # Encoded here: the test client's JSON encoder refuses integers beyond 64 bits.
    response = client.post("/api/v1/admin/products", headers=marketing, data=json.dumps(_product(category_id, changes)),
                           content_type="application/json")
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert client.get("/api/v1/admin/products", headers=marketing).get_json()["total"] == 0


def test_a_body_that_is_not_json_or_not_an_object_is_refused(client, marketing):
    for kwargs in ({"data": "title=Latte", "content_type": "application/x-www-form-urlencoded"},
                   {"json": ["not", "an", "object"]}, {"data": "{broken", "content_type": "application/json"}):
        response = client.post("/api/v1/admin/products", headers=marketing, **kwargs)
        assert response.status_code in (400, 415, 422), kwargs
        assert response.is_json
    assert client.get("/api/v1/admin/products", headers=marketing).get_json()["total"] == 0


BAD_UPDATES = [  # (body, status, code, field)
    ({"skus": [{"id": "SKU", "price": 0}]}, 422, "validation_error", "skus"),
    ({"skus": [{"id": "SKU", "stock": 100}]}, 422, "validation_error", "skus"),  # stock moves by adjustment
    ({"skus": [{"id": "OTHER", "price": 100}]}, 422, "invalid_reference", "skus"),
    ({"skus": [{"id": "SKU", "price": 2500}]}, 422, "price_above_original_price", "skus"),
    ({"skus": [{"id": "SKU", "price": 12.5}]}, 422, "validation_error", "skus"),
    ({"skus": [{"spec": {"size": "M"}, "price": 100}]}, 422, "duplicate_sku_spec", "skus"),
    ({"category_id": 999999}, 422, "invalid_reference", "category_id"),
    ({"title": None}, 422, "validation_error", "title"),
    ({"status": "on_sale"}, 422, "validation_error", "status"),  # through /on-sale, which checks SKUs
]


@pytest.mark.parametrize(("body", "status", "code", "field"), BAD_UPDATES)
def test_a_bad_product_update_changes_nothing(client, marketing, committed, body, status, code, field):
    def seed():
        cat = make_category().id
        product = make_product(cat, title="Latte", skus=[{"spec": {"size": "M"}, "price": 1500,
                                                          "original_price": 2000, "stock": 3}])
        other = make_product(cat, title="Tea")
        return product.id, product.skus[0].id, other.skus[0].id

    product_id, sku_id, other_sku = committed(seed)
    ids = {"SKU": sku_id, "OTHER": other_sku}
    body = {**body, "skus": [{**s, "id": ids[s["id"]]} if "id" in s else s for s in body["skus"]]} \
        if "skus" in body else body
    before = client.get(f"/api/v1/admin/products/{product_id}", headers=marketing).get_json()
    response = client.patch(f"/api/v1/admin/products/{product_id}", headers=marketing, json=body)
    assert (response.status_code, response.get_json()["code"]) == (status, code), response.get_json()
    assert field in response.get_json()["errors"]
    after = client.get(f"/api/v1/admin/products/{product_id}", headers=marketing).get_json()
    assert after == before


def test_unknown_products_skus_and_categories_are_404(client, marketing):
    for method, path, body in (("patch", "/api/v1/admin/products/999999", {"title": "X"}),
                               ("post", "/api/v1/admin/products/999999/on-sale", None),
                               ("get", "/api/v1/admin/products/999999", None),
                               ("patch", "/api/v1/admin/categories/999999", {"name": "X"}),
                               ("get", "/api/v1/admin/skus/999999/stores", None),
                               ("post", "/api/v1/admin/skus/999999/stock-adjustments", {"delta": 1, "reason": "received"})):
        response = getattr(client, method)(path, headers=marketing, json=body)
        assert response.status_code == 404, path
        assert response.get_json()["code"].endswith("_not_found"), path
    beyond_any_row = client.get("/api/v1/admin/skus/99999999999999999999999/stock-ledger", headers=marketing)
    assert (beyond_any_row.status_code, beyond_any_row.get_json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"), ({"name": "x" * 65}, "name"), ({"name": None}, "name"), ({}, "name"),
    ({"name": "Tea", "parent_id": "1"}, "parent_id"), ({"name": "Tea", "parent_id": 0}, "parent_id"),
    ({"name": "Tea", "sort_order": 1.5}, "sort_order"), ({"name": "Tea", "active": "maybe"}, "active"),
    ({"name": "Tea", "colour": "green"}, "colour"),
])
def test_bad_categories_are_422_and_create_nothing(client, marketing, body, field):
    response = client.post("/api/v1/admin/categories", headers=marketing, json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert client.get("/api/v1/admin/categories", headers=marketing).get_json() == []


@pytest.mark.parametrize(("stores", "field"), [
    ([{"store_id": "STORE", "available": "sometimes"}], "stores"),
    ([{"store_id": "STORE", "available": True, "stock": -1}], "stores"),
    ([{"store_id": "STORE", "available": True, "stock": 2.5}], "stores"),
    ([{"store_id": "STORE", "available": True}, {"store_id": "STORE", "available": False}], "stores"),
    ([{"store_id": 999999, "available": True}], "stores"),
    ([], "stores"),
])
def test_bad_store_availability_changes_nothing(client, marketing, committed, stores, field):
    sku_id, store_id = committed(lambda: (make_product(make_category().id).skus[0].id, make_store().id))
    stores = [{**s, "store_id": store_id} if s["store_id"] == "STORE" else s for s in stores]
    response = client.patch(f"/api/v1/admin/skus/{sku_id}/stores", headers=marketing, json={"stores": stores})
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert client.get(f"/api/v1/admin/skus/{sku_id}/stores", headers=marketing).get_json() == []


@pytest.mark.parametrize("query", ["category_id=abc", "category_id=0", "store_id=-1", "page=x",
                                   f"q={'x' * 65}", "q=%00", "category_id=99999999999999999999999"])
def test_bad_list_filters_are_422(client, query):
    response = client.get(f"/api/v1/products?{query}")
    assert response.status_code == 422, query
    assert response.get_json()["code"] == "validation_error"
