"""Checkout asks the catalog which SKUs an order may contain, at what price, in which categories."""

import pytest

from shop.catalog.checkout import skus_for_checkout
from shop.catalog.service import set_store_availability
from shop.errors import AppError
from tests.factories import make_category, make_product, make_store


def test_checkout_gets_sellable_skus_with_prices_and_category_scope(committed):
    def seed():
        drinks = make_category("Drinks").id
        coffee = make_category("Coffee", parent_id=drinks).id
        product = make_product(coffee, title="Latte", skus=[{"spec": {"size": "M"}, "price": 1500},
                                                            {"spec": {"size": "L"}, "price": 1800, "active": False}])
        store = make_store().id
        set_store_availability(product.skus[0].id, stores=[{"store_id": store, "available": True}],
                               actor_staff_id=None)
        return product.id, product.skus[0].id, product.skus[1].id, store, drinks, coffee

    product_id, m, large, store, drinks, coffee = committed(seed)
    found = committed(lambda: skus_for_checkout([m], store_id=store))[m]
    assert (found.product_id, found.title, found.price, found.spec, found.category_ids) == (
        product_id, "Latte", 1500, {"size": "M"}, (coffee, drinks))
    for sku_ids, store_id, code in (([large], None, "product_not_on_sale"), ([999999], None, "sku_not_found"),
                                    ([m], committed(lambda: make_store().id), "sku_not_sold_at_store")):
        with pytest.raises(AppError) as refused:
            committed(lambda ids=sku_ids, s=store_id: skus_for_checkout(ids, store_id=s))
        assert refused.value.code == code and list(refused.value.errors) == ["sku_ids"]

