"""A shopper checks out, pays with WeChat Pay, and picks the order up at the store."""

from __future__ import annotations

import threading
from datetime import timedelta

import requests
from sqlalchemy import func, select

from shop import pricing
from shop.catalog.models import Sku
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order, Payment
from tests.conftest import bearer
from tests.orders.conftest import eventually, pickup_basket, place, prepay_id_of, stub_pay


def sku_stock(app, sku_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(Sku.stock).where(Sku.id == sku_id))


def order_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order))


def test_preview_prices_the_basket_and_changes_nothing(app, client, shop, alice):
    response = client.post("/api/v1/orders/preview", json=pickup_basket(shop), headers=alice)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["items_total"] == 2 * 2800 + 1600
    assert body["shipping_fee"] == 0 and body["amount_payable"] == 7200
    assert [(line["sku_id"], line["subtotal"]) for line in body["items"]] == [(shop.latte, 5600), (shop.croissant, 1600)]
    assert order_count(app) == 0 and sku_stock(app, shop.latte) == 5


def test_a_shopper_orders_pays_in_wechat_and_collects_at_the_store(app, client, stub, shop, alice, clerk, live_server):
    placed = place(client, alice, pickup_basket(shop))
    assert placed.status_code == 201, placed.get_json()
    body = placed.get_json()
    order = body["order"]
    assert order["status"] == "pending_payment" and order["amount_payable"] == 7200
    assert set(body["payment"]) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert sku_stock(app, shop.latte) == 3  # reserved at once

    stub_pay(stub, prepay_id_of(body))
    paid = client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()
    assert paid["status"] == "ready_for_pickup" and paid["amount_paid"] == 7200
    assert len(paid["pickup_code"]) == 8 and paid["pickup_code"].isdigit()
    assert paid["pickup_qr"] == f"ripple:pickup:{paid['pickup_code']}"

    looked_up = client.post("/api/v1/staff/pickups", json={"pickup_code": paid["pickup_code"]}, headers=clerk)
    assert looked_up.status_code == 200, looked_up.get_json()
    assert looked_up.get_json()["confirmed"] is False
    assert looked_up.get_json()["order"]["status"] == "ready_for_pickup"  # seeing it changes nothing
    confirmed = client.post("/api/v1/staff/pickups", json={"pickup_code": paid["pickup_code"], "confirm": True},
                            headers=clerk)
    assert confirmed.status_code == 201 and confirmed.get_json()["order"]["status"] == "completed"
    again = client.post("/api/v1/staff/pickups", json={"pickup_code": paid["pickup_code"], "confirm": True},
                        headers=clerk)
    assert again.status_code == 200 and again.get_json() == confirmed.get_json()  # a retry: the first answer
    looked_up_again = client.post("/api/v1/staff/pickups", json={"pickup_code": paid["pickup_code"]}, headers=clerk)
    assert looked_up_again.status_code == 409  # handed over: the code opens nothing more
    assert looked_up_again.get_json()["code"] == "pickup_already_completed"


def test_a_retried_create_returns_the_first_order(app, client, shop, alice):
    first = place(client, alice, pickup_basket(shop), key="retry-key-0001")
    second = place(client, alice, pickup_basket(shop), key="retry-key-0001")
    assert second.status_code == 201
    assert second.get_json()["order"]["id"] == first.get_json()["order"]["id"]
    assert order_count(app) == 1 and sku_stock(app, shop.latte) == 3


def test_a_create_retried_while_the_first_is_in_flight_returns_the_same_order(app, shop, alice, live_server):
    answers: list[dict] = []
    start = threading.Barrier(6)

    def create() -> None:
        start.wait()
        response = requests.post(f"{live_server}/api/v1/orders", json=pickup_basket(shop), timeout=30,
                                 headers={**alice, "Idempotency-Key": "in-flight-retry-0001"})
        answers.append({"status": response.status_code, **response.json()})

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer["status"] for answer in answers] == [201] * 6, answers
    assert len({answer["order"]["id"] for answer in answers}) == 1
    assert order_count(app) == 1 and sku_stock(app, shop.latte) == 3


def test_a_key_reused_for_another_basket_is_refused(app, client, shop, alice):
    place(client, alice, pickup_basket(shop), key="retry-key-0002")
    other = place(client, alice, pickup_basket(shop, note="extra hot"), key="retry-key-0002")
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    assert order_count(app) == 1


def test_an_order_needs_an_idempotency_key(client, shop, alice):
    response = client.post("/api/v1/orders", json=pickup_basket(shop), headers=alice)
    assert response.status_code == 400 and response.get_json()["code"] == "idempotency_key_required"


def test_concurrent_orders_for_the_last_units_never_oversell(app, shop, login, live_server):
    tokens = [login(f"buyer{i}:1")["token"] for i in range(12)]
    results: list[int] = []

    def buy(token: str) -> None:
        response = requests.post(f"{live_server}/api/v1/orders", timeout=30, json={
            "items": [{"sku_id": shop.latte, "quantity": 1}], "fulfilment": "pickup", "store_id": shop.store_id},
            headers={**bearer(token), "Idempotency-Key": f"buy-{token[-12:]}"})
        results.append(response.status_code)
        if response.status_code == 409:
            assert response.json()["code"] == "out_of_stock"

    threads = [threading.Thread(target=buy, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] * 5 + [409] * 7
    assert sku_stock(app, shop.latte) == 0 and order_count(app) == 5


def test_cancelling_returns_the_stock(app, client, shop, alice):
    order = place(client, alice, pickup_basket(shop)).get_json()["order"]
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=alice)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert sku_stock(app, shop.latte) == 5
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=alice).status_code == 200  # idempotent


def test_an_unpaid_order_times_out_on_read_and_in_the_sweep(app, client, shop, alice):
    first = place(client, alice, pickup_basket(shop)).get_json()["order"]
    second = place(client, alice, {**pickup_basket(shop), "items": [{"sku_id": shop.latte, "quantity": 1}]}).get_json()["order"]
    with app.app_context():
        for order in db.session.scalars(select(Order)):
            order.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get(f"/api/v1/orders/{first['id']}", headers=alice).get_json()["status"] == "cancelled"
    result = app.test_cli_runner().invoke(args=["orders", "cancel-expired"])
    assert "cancelled 1" in result.output
    assert client.get(f"/api/v1/orders/{second['id']}", headers=alice).get_json()["cancel_reason"] == "payment_timeout"
    assert sku_stock(app, shop.latte) == 5


def test_another_members_order_is_not_found(client, shop, alice, login):
    order = place(client, alice, pickup_basket(shop)).get_json()["order"]
    bob = bearer(login("bob:1")["token"])
    assert client.get(f"/api/v1/orders/{order['id']}", headers=bob).status_code == 404
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=bob).status_code == 404
    assert client.get("/api/v1/orders", headers=bob).get_json()["total"] == 0


def test_a_duplicate_notify_pays_once(app, client, stub, shop, alice, live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    sent = stub_pay(stub, prepay_id_of(placed), deliver="twice")
    assert [d["status"] for d in sent["notify"]["deliveries"]] == [204, 204]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()["status"] == "ready_for_pickup"


def order_status(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(Order, order_id).status


def test_a_lost_notify_is_recovered_by_reconcile(app, client, stub, shop, alice):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed), deliver="never")
    assert order_status(app, placed["order"]["id"]) == "pending_payment"
    with app.app_context():
        order = db.session.get(Order, placed["order"]["id"])
        order.created_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0 and "orders: paid 1, cancelled 0" in result.output, result.output
    assert order_status(app, placed["order"]["id"]) == "ready_for_pickup"


def test_a_forged_notify_changes_nothing(app, client, shop, alice):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    response = client.post("/wechat/pay/notify", data=b'{"id":"x","event_type":"TRANSACTION.SUCCESS"}',
                           headers={"Wechatpay-Timestamp": "1", "Wechatpay-Nonce": "n", "Wechatpay-Signature": "c2ln",
                                    "Wechatpay-Serial": "PUB_KEY_ID_X", "Content-Type": "application/json"})
    assert response.status_code == 401 and response.get_json()["code"] == "wechatpay_signature_invalid"
    assert client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()["status"] == "pending_payment"


def test_a_transaction_for_the_wrong_amount_is_refused(app, client, shop, alice):
    from shop.errors import AppError  # noqa: PLC0415
    from shop.orders.payment import apply_wechat_payment  # noqa: PLC0415

    placed = place(client, alice, pickup_basket(shop)).get_json()["order"]
    resource = {"mchid": app.config["WECHATPAY_MCHID"], "appid": app.config["WECHAT_APPID"],
                "out_trade_no": placed["number"], "transaction_id": "4200000000000000001",
                "trade_state": "SUCCESS", "amount": {"total": 1, "currency": "CNY"}}
    with app.app_context():
        try:
            apply_wechat_payment(resource, source="notify", at=utcnow())
            raise AssertionError("a one-fen payment was accepted for a 72-yuan order")
        except AppError as refused:
            assert refused.code == "payment_notify_mismatch" and "amount" in refused.errors
        db.session.rollback()
    assert client.get(f"/api/v1/orders/{placed['id']}", headers=alice).get_json()["status"] == "pending_payment"


def test_a_payment_made_as_the_shopper_cancels_is_refunded_automatically(app, client, stub, shop, alice, live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    # The shopper pays in the instant the cancel closes the transaction; the notify comes a moment later.
    requests.post(f"{stub.url}stub/pay/{prepay_id_of(placed)}/pay-on-close", json={"delay_seconds": 0.3},
                  timeout=5)
    cancelled = client.post(f"/api/v1/orders/{placed['order']['id']}/cancel", headers=alice)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"

    def refunds() -> list[tuple[str, int]]:
        with app.app_context():
            return [(r.status, r.amount) for r in db.session.get(Order, placed["order"]["id"]).refunds]

    def notify_answers() -> list:
        notifies = requests.get(f"{stub.url}stub/pay/notifies", params={"event_type": "TRANSACTION.SUCCESS"},
                                timeout=5).json()["notifies"]
        return [delivery["status"] for delivery in notifies[0]["deliveries"]]

    assert eventually(lambda: refunds() == [("succeeded", 7200)]), refunds()
    assert eventually(notify_answers) == [204]
    with app.app_context():
        assert db.session.scalars(select(Payment.outcome)).all() == ["refunded_late"]  # once, though notified too
        assert db.session.get(Order, placed["order"]["id"]).status == "cancelled"
    assert refunds() == [("succeeded", 7200)]


def test_a_partial_refund_before_pickup_returns_its_share_and_its_stock(app, client, stub, shop, alice, live_server):
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    order = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()
    latte_line = next(line for line in order["lines"] if line["sku_id"] == shop.latte)
    response = client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice,
                           json={"reason": "one latte too many", "lines": [{"line_id": latte_line["id"], "quantity": 1}]})
    assert response.status_code == 202, response.get_json()
    url = f"/api/v1/orders/{order['id']}"
    refunded = eventually(lambda: (o := client.get(url, headers=alice).get_json())["refunded_total"] and o)
    assert refunded["refunded_total"] == 2800 and refunded["status"] == "ready_for_pickup"
    assert [r["status"] for r in refunded["refunds"]] == ["succeeded"]
    assert sku_stock(app, shop.latte) == 4
    rest = client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice, json={"reason": "changed my mind"})
    assert rest.status_code == 202
    final = eventually(lambda: (o := client.get(url, headers=alice).get_json())["status"] == "refunded" and o)
    assert final["status"] == "refunded" and final["refunded_total"] == 7200 and final["pickup_code"] is None
    assert sku_stock(app, shop.latte) == 5


class EverythingFree:
    """A provider that takes everything off, to exercise the zero-amount path through the real hook."""

    name, priority = "test_free", 1

    def quote(self, request, remaining):
        return pricing.Discount("test_free", remaining, "All free"), {}

    def commit(self, request, discount, *, order_id):
        pass


def test_a_zero_amount_order_is_paid_at_once_without_wechat_pay(app, client, stub, shop, alice):
    pricing.register_discount_provider(EverythingFree())
    try:
        body = place(client, alice, pickup_basket(shop)).get_json()
    finally:
        pricing._providers[:] = [p for p in pricing._providers if p.name != "test_free"]
    assert body["order"]["status"] == "ready_for_pickup" and body["order"]["amount_payable"] == 0
    assert body["payment"] is None
    assert stub.received_on("v3/pay/transactions/jsapi") == []


def test_the_periodic_sweep_cancels_expired_orders_and_runs_every_job(app, client, shop, alice):
    order = place(client, alice, pickup_basket(shop)).get_json()["order"]
    with app.app_context():
        db.session.get(Order, order["id"]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "sweep"])
    assert result.exit_code == 0, result.output
    assert "'orders past their payment window': {'paid': 0, 'cancelled': 1," in result.output
    assert "points expiry" in result.output
    with app.app_context():
        assert db.session.get(Order, order["id"]).status == "cancelled"


def test_the_purchase_is_recorded_in_the_shoppers_journey(app, client, stub, shop, alice, clerk, live_server):
    from shop.members.models import JourneyEvent  # noqa: PLC0415

    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    code = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()["pickup_code"]
    client.post("/api/v1/staff/pickups", json={"pickup_code": code, "confirm": True}, headers=clerk)
    with app.app_context():
        steps = db.session.execute(select(JourneyEvent.kind, JourneyEvent.store_id).where(
            JourneyEvent.kind.in_(["order_placed", "order_paid", "picked_up"])).order_by(JourneyEvent.id)).all()
    assert [tuple(step) for step in steps] == [("order_placed", shop.store_id), ("order_paid", shop.store_id),
                                               ("picked_up", shop.store_id)]
