"""An order's cancellation and refund are steps of the shopper's journey, recorded only with the change."""

from __future__ import annotations

from shop.database import utcnow
from shop.extensions import db
from shop.orders.lifecycle import cancel_order
from shop.orders.models import Order
from tests.crm.journey_steps import event_count, steps
from tests.orders.conftest import (  # noqa: F401  (the shop and alice fixtures)
    alice,
    eventually,
    manual_refunds,
    pickup_basket,
    place,
    prepay_id_of,
    settle_refund,
    shop,
    stub_pay,
)
from tests.orders.test_refund_rules import paid_order, refund_rows


def _member_of(app, order_id: int) -> int:
    with app.app_context():
        return db.session.get(Order, order_id).member_id


def test_a_cancelled_order_is_a_step_and_a_cancel_rolled_back_is_none(app, client, shop, alice):  # noqa: F811
    first, second = (place(client, alice, pickup_basket(shop), key=f"cancel-steps-{n}").get_json()["order"]["id"]
                     for n in (1, 2))
    with app.app_context():
        before = event_count()
        assert cancel_order(db.session.get(Order, second), reason="test", at=utcnow())
        db.session.flush()
        assert event_count() == before + 1
        db.session.rollback()
        assert event_count() == before
    assert client.post(f"/api/v1/orders/{first}/cancel", headers=alice).status_code == 200
    [cancelled] = steps(app, _member_of(app, first), "order_cancelled")
    assert (cancelled["order_id"], cancelled["store_id"]) == (first, shop.store_id)


def test_a_refund_paid_back_is_a_step(app, client, stub, shop, alice, live_server):  # noqa: F811
    manual_refunds(stub)
    order = paid_order(client, stub, alice, pickup_basket(shop))
    asked = client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice, json={"reason": "changed my mind"})
    assert asked.status_code == 202, asked.get_json()
    member_id = _member_of(app, order["id"])
    assert steps(app, member_id, "order_refunded") == []  # asked for, not yet paid back
    [(_status, amount, number)] = refund_rows(app, order["id"])
    settle_refund(stub, number)
    [refunded] = steps(app, member_id, "order_refunded")
    assert (refunded["order_id"], refunded["amount"], refunded["store_id"]) == (order["id"], amount, shop.store_id)
