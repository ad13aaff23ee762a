"""A refund by lines names each line once: repeating a line must not refund it more than once."""

from __future__ import annotations

from sqlalchemy import select

from shop.extensions import db
from shop.orders.models import Refund
from tests.orders.conftest import place, prepay_id_of, stub_pay


def test_a_line_repeated_in_a_refund_is_refused_and_nothing_is_refunded(app, client, stub, shop, alice, live_server):
    # One latte (28 yuan) and five croissants (80 yuan), paid.
    placed = place(client, alice, {"items": [{"sku_id": shop.latte, "quantity": 1},
                                             {"sku_id": shop.croissant, "quantity": 5}],
                                   "fulfilment": "pickup", "store_id": shop.store_id}).get_json()
    stub_pay(stub, prepay_id_of(placed))
    order = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()
    latte = next(line for line in order["lines"] if line["sku_id"] == shop.latte)
    # Each entry alone is within what the line has left; three of them would return 84 yuan for one latte.
    response = client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice, json={
        "reason": "one latte", "lines": [{"line_id": latte["id"], "quantity": 1}] * 3})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"]["lines"] == [f"Line {latte['id']} is named more than once; name each line once."]
    with app.app_context():
        assert db.session.scalars(select(Refund)).all() == []
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()["refunded_total"] == 0
