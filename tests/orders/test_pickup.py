"""Store staff hand pickup orders over: only at the order's store, once, and guessing is stopped."""

from __future__ import annotations

import threading
from datetime import timedelta

import requests
from sqlalchemy import select, update

from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import PickupVerification
from shop.orders.pickup import RETRY_WINDOW
from tests.orders.conftest import pickup_basket, place, prepay_id_of, stub_pay


def paid_order(client, stub, shop, headers) -> dict:
    placed = place(client, headers, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    order = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=headers).get_json()
    assert order["status"] == "ready_for_pickup", order
    return order


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(PickupVerification.action).order_by(PickupVerification.id)))


def test_a_clerk_of_another_store_is_refused(app, client, stub, shop, alice, staff_token, live_server):
    order = paid_order(client, stub, shop, alice)
    elsewhere = staff_token(Role.STAFF, store_ids=[shop.other_store_id])
    response = client.post("/api/v1/staff/pickups", json={"pickup_code": order["pickup_code"], "confirm": True},
                           headers=elsewhere)
    assert response.status_code == 403 and response.get_json()["code"] == "pickup_wrong_store"
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()["status"] == "ready_for_pickup"
    assert actions(app) == ["refused"]


def test_shoppers_and_marketing_cannot_verify_pickups(client, login, staff_token):
    for headers in ({"Authorization": f"Bearer {login('eve:1')['token']}"}, staff_token(Role.MARKETING)):
        response = client.post("/api/v1/staff/pickups", json={"pickup_code": "12345678"}, headers=headers)
        assert response.status_code == 403


def test_two_clerks_confirming_at_once_hand_the_order_over_once(app, client, stub, shop, alice, staff_token,
                                                                  live_server):
    order = paid_order(client, stub, shop, alice)
    clerks = [staff_token(Role.STAFF, store_ids=[shop.store_id]) for _ in range(4)]
    statuses: list[int] = []

    def confirm(headers):
        response = requests.post(f"{live_server}/api/v1/staff/pickups", headers=headers, timeout=30,
                                 json={"pickup_code": order["pickup_code"], "confirm": True})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=confirm, args=(headers,)) for headers in clerks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 404, 409}
    assert actions(app).count("confirmed") == 1


def test_guessing_pickup_codes_is_stopped(app, client, clerk, shop):
    statuses = [client.post("/api/v1/staff/pickups", json={"pickup_code": f"{n:08d}"}, headers=clerk).status_code
                for n in range(11)]
    assert statuses[:10] == [404] * 10
    assert statuses[10] == 429
    blocked = client.post("/api/v1/staff/pickups", json={"pickup_code": "00000000"}, headers=clerk)
    assert blocked.get_json()["code"] == "pickup_too_many_wrong_codes" and "Retry-After" in blocked.headers
    assert actions(app).count("wrong_code") == 10


def test_an_order_with_a_refund_in_progress_is_not_handed_over(app, client, stub, shop, alice, clerk, live_server):
    requests.post(f"{stub.url}stub/pay/settings", json={"refunds": "manual"}, timeout=5)
    try:
        order = paid_order(client, stub, shop, alice)
        client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice, json={"reason": "wrong order"})
        response = client.post("/api/v1/staff/pickups", json={"pickup_code": order["pickup_code"], "confirm": True},
                               headers=clerk)
    finally:
        requests.post(f"{stub.url}stub/pay/settings", json={"refunds": "auto"}, timeout=5)
    assert response.status_code == 409 and response.get_json()["code"] == "pickup_blocked_by_refund"


def test_a_clerk_confirming_again_gets_the_first_answer_and_changes_nothing(app, client, stub, shop, alice, clerk,
                                                                          live_server):
    order = paid_order(client, stub, shop, alice)
    body = {"pickup_code": order["pickup_code"], "confirm": True}
    first = client.post("/api/v1/staff/pickups", json=body, headers=clerk)
    assert first.status_code == 200 and first.get_json()["order"]["status"] == "completed"
    for _ in range(2):  # the answer was lost: the clerk taps confirm again
        again = client.post("/api/v1/staff/pickups", json=body, headers=clerk)
        assert again.status_code == 200 and again.get_json() == first.get_json()
    assert actions(app) == ["confirmed"]  # handed over once; the retries are not wrong codes either


def test_another_clerk_confirming_a_handed_over_order_is_told_so(app, client, stub, shop, alice, clerk, staff_token,
                                                                 live_server):
    order = paid_order(client, stub, shop, alice)
    body = {"pickup_code": order["pickup_code"], "confirm": True}
    assert client.post("/api/v1/staff/pickups", json=body, headers=clerk).status_code == 200
    colleague = staff_token(Role.STAFF, store_ids=[shop.store_id])
    late = client.post("/api/v1/staff/pickups", json=body, headers=colleague)
    assert late.status_code == 409 and late.get_json()["code"] == "pickup_already_completed"
    assert actions(app) == ["confirmed"]


def test_one_clerk_double_tapping_confirm_gets_the_order_both_times(app, client, stub, shop, alice, clerk,
                                                                    live_server):
    order = paid_order(client, stub, shop, alice)
    answers: list[tuple[int, dict]] = []
    start = threading.Barrier(3)

    def confirm() -> None:
        start.wait()
        response = requests.post(f"{live_server}/api/v1/staff/pickups", headers=clerk, timeout=30,
                                 json={"pickup_code": order["pickup_code"], "confirm": True})
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=confirm) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200] * 3, answers
    assert {body["order"]["status"] for _, body in answers} == {"completed"}
    assert actions(app) == ["confirmed"]


def test_a_confirmation_sent_again_after_the_retry_window_is_an_unknown_code(app, client, stub, shop, alice, clerk,
                                                                          live_server):
    order = paid_order(client, stub, shop, alice)
    body = {"pickup_code": order["pickup_code"], "confirm": True}
    assert client.post("/api/v1/staff/pickups", json=body, headers=clerk).status_code == 200
    with app.app_context():  # the first confirmation was just over the window ago
        db.session.execute(update(PickupVerification).values(at=utcnow() - RETRY_WINDOW - timedelta(seconds=5)))
        db.session.commit()
    late = client.post("/api/v1/staff/pickups", json=body, headers=clerk)
    assert late.status_code == 404 and late.get_json()["code"] == "pickup_code_invalid"
    assert actions(app) == ["confirmed", "wrong_code"]
