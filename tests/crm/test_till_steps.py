"""A till sale is a step of the shopper's journey, at the clerk's store, once per receipt."""

from __future__ import annotations

from tests.crm.journey_steps import steps
from tests.till.conftest import alice, alice_id, clerk, code_of, sell, shop  # noqa: F401  (fixtures)


def test_a_till_sale_is_recorded_once_per_receipt_at_the_clerks_store(app, client, clerk, alice_id, shop):  # noqa: F811
    first = sell(client, clerk, code_of(app, alice_id), amount=5000, receipt_no="R-1")
    assert first.status_code == 201, first.get_json()
    assert sell(client, clerk, code_of(app, alice_id, at=None), amount=5000, receipt_no="R-1").status_code == 200
    [sale] = steps(app, alice_id, "till_sale")
    assert (sale["store_id"], sale["receipt_no"], sale["amount"], sale["order_id"]) == (
        shop.store_id, "R-1", 5000, first.get_json()["order"]["id"])
    [placed] = steps(app, alice_id, "order_placed")
    assert placed["till"] is True and placed["order_id"] == sale["order_id"]
