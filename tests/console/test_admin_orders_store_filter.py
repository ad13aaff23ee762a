"""The orders list's store filter for a brand of thousands of stores: the admin types a store's code or name (htmx
suggests stores meanwhile; without JavaScript the Filter button finds them), and the page never lists every store."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from shop.auth import Role
from shop.extensions import db
from shop.stores.models import Store
from tests.console.conftest import text_of
from tests.orders.conftest import alice, pickup_basket, place, shop  # noqa: F401

BRAND_STORES = 3000


@pytest.fixture
def brand(app, shop):  # noqa: F811
    """The shop's two stores among 3,000 more on Nanjing Road, Wujiang Road and elsewhere."""
    streets = ("Nanjing Road", "Wujiang Road", "Huaihai Road")
    with app.app_context():
        db.session.execute(insert(Store), [
            {"code": f"BR{n:05d}", "name": f"{streets[n % 3]} {n}", "address": f"{n} {streets[n % 3]}",
             "city": "Shanghai", "lat": 31.23, "lng": 121.47, "weekly_hours": {}, "services": ["pickup"]}
            for n in range(BRAND_STORES)])
        db.session.commit()
        return {store.name: store.code for store in db.session.scalars(
            db.select(Store).where(Store.id.in_([shop.store_id, shop.other_store_id])))}


@pytest.fixture
def orders_in_both_stores(client, stub, shop, alice):  # noqa: F811
    """A pending order at People's Square and one at Xintiandi: their numbers."""
    numbers = {}
    for name, store_id in (("People's Square", shop.store_id), ("Xintiandi", shop.other_store_id)):
        placed = place(client, alice, pickup_basket(shop, store_id=store_id))
        assert placed.status_code == 201, placed.get_json()
        numbers[name] = placed.get_json()["order"]["number"]
    return numbers


def test_the_orders_page_of_a_brand_of_thousands_of_stores_lists_none_of_them(brand, admin):
    page = admin.get("/console/orders?lang=en")
    body = text_of(page)
    assert page.status_code == 200 and 'name="store"' in body
    assert "<option" not in body.split('id="store"')[1].split("</form>")[0]  # no store dropdown
    assert "Nanjing Road 2999" not in body and "BR00001" not in body and "Xintiandi" not in body


def test_a_store_typed_by_its_code_lists_only_its_orders_and_names_it(brand, orders_in_both_stores, admin):
    page = text_of(admin.get(f"/console/orders?store={brand['Xintiandi']}&lang=en"))
    assert orders_in_both_stores["Xintiandi"] in page and orders_in_both_stores["People's Square"] not in page
    assert f'value="{brand["Xintiandi"]}"' in page and "Xintiandi · Shanghai" in page
    by_name = text_of(admin.get("/console/orders", query_string={"store": "People's Square", "lang": "en"}))
    assert orders_in_both_stores["People's Square"] in by_name and orders_in_both_stores["Xintiandi"] not in by_name


def test_a_name_several_stores_share_offers_a_few_to_choose_and_lists_no_order_until_one_is(
        shop, brand, orders_in_both_stores, admin):  # noqa: F811
    several = admin.get("/console/orders?store=Road&status=pending_payment&lang=en")
    page = text_of(several)
    assert several.status_code == 200 and 'Several stores match “Road”: choose one.' in page
    assert page.count("store_id=") == 8 and "2992 more stores match" in page
    assert "No order here." in page and orders_in_both_stores["Xintiandi"] not in page
    # each choice keeps the other filters; choosing the shop's store (found by more letters) lists its orders
    assert page.count("status=pending_payment") >= 8
    one = text_of(admin.get(f"/console/orders?store_id={shop.other_store_id}&status=pending_payment&lang=en"))
    assert orders_in_both_stores["Xintiandi"] in one and orders_in_both_stores["People's Square"] not in one
    assert f'value="{brand["Xintiandi"]}"' in one  # the chosen store's code in the input, ready to change


def test_a_name_that_is_one_stores_whole_name_chooses_it_among_longer_ones(app, brand, admin):
    with app.app_context():
        exact = db.session.scalar(db.select(Store).where(Store.name == "Nanjing Road 12"))
        code = exact.code
    # "Nanjing Road 120", "Nanjing Road 1206"... hold the name too
    page = text_of(admin.get("/console/orders", query_string={"store": "Nanjing Road 12", "lang": "en"}))
    assert "Several stores match" not in page and f'value="{code}"' in page


def test_a_store_that_matches_nothing_says_so_and_lists_no_order(brand, orders_in_both_stores, admin):
    nothing = text_of(admin.get("/console/orders", query_string={"store": "Pudong Airport", "lang": "en"}))
    assert "No store's name or code matches “Pudong Airport”." in nothing and "No order here." in nothing
    gone = text_of(admin.get("/console/orders?store_id=987654321&lang=en"))
    assert "There is no store #987654321." in gone and orders_in_both_stores["Xintiandi"] not in gone
    assert admin.get("/console/orders?store=%01bad&lang=en").status_code == 200
    assert admin.get("/console/orders?store_id=99999999999999999999999&lang=en").status_code == 200


def test_suggestions_while_typing_link_to_the_list_with_the_other_filters_kept(brand, admin):
    typed = admin.get("/console/orders/stores?store=Wujiang&fulfilment=pickup&number=&lang=en",
                      headers={"HX-Request": "true"})
    fragment = text_of(typed)
    assert typed.status_code == 200 and "<html" not in fragment
    assert fragment.count("Wujiang Road") == 8 and fragment.count("fulfilment=pickup") == 8
    assert "992 more stores match" in fragment
    assert text_of(admin.get("/console/orders/stores?store=")).strip() == ""
    assert "No store's name or code matches “zzz”." in text_of(admin.get("/console/orders/stores?store=zzz&lang=en"))


def test_marketing_uses_the_store_filter_and_a_clerk_may_not(browser, account, shop, brand):  # noqa: F811
    marketing = browser()
    marketing.login(account(Role.MARKETING))
    assert marketing.get("/console/orders/stores?store=Xintiandi").status_code == 200
    clerk = browser()
    clerk.login(account(Role.STAFF, [shop.store_id]))
    assert clerk.get("/console/orders/stores?store=Xintiandi").status_code == 403
    assert clerk.get(f"/console/orders?store={brand['Xintiandi']}").status_code == 403
