"""A shopper browses: the category tree, product lists (filters, search, stores, pages) and product pages."""

from shop.catalog.service import set_on_sale, set_store_availability, update_product
from tests.factories import make_category, make_product, make_store


def test_the_category_tree_shows_active_categories_in_order_under_active_parents(client, committed):
    def seed():
        drinks = make_category("Drinks", sort_order=2)
        bakery = make_category("Bakery", sort_order=1)
        make_category("Tea", parent_id=drinks.id, sort_order=2)
        make_category("Coffee", parent_id=drinks.id, sort_order=1)
        make_category("Retired", parent_id=drinks.id, active=False)
        hidden = make_category("Winter menu", active=False)
        make_category("Hot chocolate", parent_id=hidden.id)
        return bakery.id

    bakery_id = committed(seed)
    tree = client.get("/api/v1/categories").get_json()
    assert [(c["name"], [child["name"] for child in c["children"]]) for c in tree] == [
        ("Bakery", []), ("Drinks", ["Coffee", "Tea"])]
    assert tree[0] == {"id": bakery_id, "name": "Bakery", "sort_order": 1, "children": []}


def test_the_list_shows_on_sale_products_with_their_lowest_active_price_and_cover(client, committed):
    def seed():
        cat = make_category().id
        latte = make_product(cat, title="Latte", image_urls=["https://img.cn/latte.png", "https://img.cn/2.png"],
                             skus=[{"spec": {"size": "M"}, "price": 1500}, {"spec": {"size": "L"}, "price": 1800},
                                   {"spec": {"size": "S"}, "price": 100, "active": False}])
        make_product(cat, title="Draft", status="off_sale")
        retired = make_product(cat, title="Retired SKUs")
        update_product(retired.id, actor_staff_id=None, skus=[{"id": retired.skus[0].id, "active": False}])
        return latte.id

    latte_id = committed(seed)
    page = client.get("/api/v1/products").get_json()
    assert page["total"] == 1
    assert page["items"] == [{"id": latte_id, "title": "Latte", "subtitle": None, "category_id": page["items"][0]
                              ["category_id"], "cover_image": "https://img.cn/latte.png", "min_price": 1500}]


def test_a_top_level_category_includes_its_subcategories_and_a_subcategory_only_itself(client, committed):
    def seed():
        drinks = make_category("Drinks").id
        coffee = make_category("Coffee", parent_id=drinks).id
        bakery = make_category("Bakery").id
        make_product(drinks, title="Water")
        make_product(coffee, title="Latte")
        make_product(bakery, title="Croissant")
        return drinks, coffee

    drinks, coffee = committed(seed)
    titles = lambda url: sorted(p["title"] for p in client.get(url).get_json()["items"])  # noqa: E731
    assert titles(f"/api/v1/products?category_id={drinks}") == ["Latte", "Water"]
    assert titles(f"/api/v1/products?category_id={coffee}") == ["Latte"]
    assert titles("/api/v1/products") == ["Croissant", "Latte", "Water"]


def test_an_unknown_or_inactive_category_filter_is_404(client, committed):
    def seed():
        inactive = make_category(active=False).id
        return inactive, make_category(parent_id=inactive).id

    for category_id in (*committed(seed), 999999):
        response = client.get(f"/api/v1/products?category_id={category_id}")
        assert response.status_code == 404, category_id
        assert response.get_json()["code"] == "category_not_found"


def test_search_matches_part_of_the_title_in_any_case_with_percent_and_underscore_taken_literally(
        client, committed):
    def seed():
        cat = make_category().id
        for title in ("100% Juice", "Iced LATTE", "Latte_Art", "LatteXArt", "Mocha"):
            make_product(cat, title=title)

    committed(seed)

    def search(q: str) -> list[str]:
        response = client.get("/api/v1/products", query_string={"q": q})
        assert response.status_code == 200
        return sorted(p["title"] for p in response.get_json()["items"])

    assert search("latte") == ["Iced LATTE", "LatteXArt", "Latte_Art"]
    assert search("%") == ["100% Juice"]
    assert search("_") == ["Latte_Art"]
    assert search("e_A") == ["Latte_Art"]
    assert search("\\") == []
    assert search("  mocha ") == ["Mocha"]


def test_the_store_filter_keeps_what_the_store_sells_and_prices_from_its_skus(client, committed):
    def seed():
        here, elsewhere = make_store().id, make_store().id
        cat = make_category().id
        latte = make_product(cat, title="Latte", skus=[{"spec": {"size": "M"}, "price": 1500},
                                                        {"spec": {"size": "L"}, "price": 1800}])
        tea = make_product(cat, title="Tea")
        stopped = make_product(cat, title="Stopped here")
        set_store_availability(latte.skus[1].id, stores=[{"store_id": here, "available": True}], actor_staff_id=None)
        set_store_availability(tea.skus[0].id, stores=[{"store_id": elsewhere, "available": True}],
                               actor_staff_id=None)
        set_store_availability(stopped.skus[0].id, stores=[{"store_id": here, "available": False}],
                               actor_staff_id=None)
        return here

    here = committed(seed)
    items = client.get(f"/api/v1/products?store_id={here}").get_json()["items"]
    assert [(p["title"], p["min_price"]) for p in items] == [("Latte", 1800)]
    unknown = client.get("/api/v1/products?store_id=999999")
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "store_not_found"


def test_lists_are_paged_in_sort_order_and_say_their_total(client, committed):
    def seed():
        cat = make_category().id
        for n in range(5):
            make_product(cat, title=f"P{n}", sort_order=5 - n)

    committed(seed)
    first = client.get("/api/v1/products?page=1&page_size=2").get_json()
    last = client.get("/api/v1/products?page=3&page_size=2").get_json()
    assert [p["title"] for p in first["items"]] == ["P4", "P3"]
    assert (last["total"], last["page"], last["page_size"], [p["title"] for p in last["items"]]) == (5, 3, 2, ["P0"])
    too_big = client.get("/api/v1/products?page_size=101")
    assert too_big.status_code == 422 and "page_size" in too_big.get_json()["errors"]
    assert client.get("/api/v1/products?page=0").status_code == 422


def test_a_product_page_has_its_active_skus_and_spec_options(client, committed):
    def seed():
        cat = make_category().id
        return make_product(cat, title="Latte", description="Espresso and milk.", skus=[
            {"spec": {"size": "M", "temperature": "hot"}, "price": 1500, "original_price": 1800, "stock": 3},
            {"spec": {"size": "L", "temperature": "hot"}, "price": 1800, "stock": 0},
            {"spec": {"size": "M", "temperature": "iced"}, "price": 1600, "stock": 1},
            {"spec": {"size": "XL", "temperature": "hot"}, "price": 2500, "active": False}]).id

    product_id = committed(seed)
    page = client.get(f"/api/v1/products/{product_id}").get_json()
    assert page["title"] == "Latte" and page["description"] == "Espresso and milk." and page["min_price"] == 1500
    assert page["spec_options"] == [{"name": "size", "values": ["M", "L"]},
                                    {"name": "temperature", "values": ["hot", "iced"]}]
    assert [(s["spec"], s["price"], s["original_price"], s["in_stock"]) for s in page["skus"]] == [
        ({"size": "M", "temperature": "hot"}, 1500, 1800, True),
        ({"size": "L", "temperature": "hot"}, 1800, None, False),
        ({"size": "M", "temperature": "iced"}, 1600, None, True)]
    assert "stock" not in page["skus"][0] and "sold_at_store" not in page


def test_a_product_page_for_a_store_says_what_it_sells_and_its_own_stock(client, committed):
    def seed():
        store = make_store().id
        product = make_product(make_category().id, skus=[{"spec": {"size": "M"}, "price": 1500, "stock": 0},
                                                         {"spec": {"size": "L"}, "price": 1800, "stock": 0},
                                                         {"spec": {"size": "XL"}, "price": 2000, "stock": 0}])
        m, large, xl = (sku.id for sku in product.skus)
        set_store_availability(m, stores=[{"store_id": store, "available": True, "stock": 4}], actor_staff_id=None)
        set_store_availability(large, stores=[{"store_id": store, "available": True}], actor_staff_id=None)
        return product.id, store

    product_id, store = committed(seed)
    page = client.get(f"/api/v1/products/{product_id}?store_id={store}").get_json()
    assert page["store_id"] == store and page["sold_at_store"] is True
    # M: the store counts 4 of its own; L: not counted there, so the central stock (0) decides.
    assert [(s["spec"]["size"], s["available_at_store"], s["in_stock"]) for s in page["skus"]] == [
        ("M", True, True), ("L", True, False), ("XL", False, False)]
    assert client.get(f"/api/v1/products/{product_id}?store_id=999999").get_json()["code"] == "store_not_found"


def test_off_sale_unknown_and_skuless_products_are_404_for_shoppers(client, committed):
    def seed():
        cat = make_category().id
        off = make_product(cat, title="Off")
        set_on_sale(off.id, on_sale=False)
        skuless = make_product(cat)
        update_product(skuless.id, actor_staff_id=None, skus=[{"id": skuless.skus[0].id, "active": False}])
        return off.id, skuless.id

    off, skuless = committed(seed)
    for product_id in (off, skuless, 999999):
        response = client.get(f"/api/v1/products/{product_id}")
        assert response.status_code == 404, product_id
        assert response.get_json()["code"] == "product_not_found"
    beyond_any_row = client.get(f"/api/v1/products/{2**70}")  # no route takes it: the app's own 404
    assert (beyond_any_row.status_code, beyond_any_row.get_json()["code"]) == (404, "not_found")
