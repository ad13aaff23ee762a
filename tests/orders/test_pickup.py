"""Store staff hand pickup orders over: only at the order's store, once, and guessing is stopped."""

from __future__ import annotations

import threading
from datetime import timedelta

import requests
from sqlalchemy import select, update

from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.orders import pickup
from shop.orders.models import Order, PickupVerification
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
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {201, 409}
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
    assert first.status_code == 201 and first.get_json()["order"]["status"] == "completed"
    for _ in range(2):  # the answer was lost: the clerk taps confirm again at once
        again = client.post("/api/v1/staff/pickups", json=body, headers=clerk)
        assert again.status_code == 200 and again.get_json() == first.get_json()
    assert actions(app) == ["confirmed"]  # handed over once; the retries are not wrong codes either


def test_another_clerk_confirming_a_handed_over_order_is_told_so(app, client, stub, shop, alice, clerk, staff_token,
                                                                 live_server):
    order = paid_order(client, stub, shop, alice)
    body = {"pickup_code": order["pickup_code"], "confirm": True}
    assert client.post("/api/v1/staff/pickups", json=body, headers=clerk).status_code == 201
    colleague = staff_token(Role.STAFF, store_ids=[shop.store_id])
    late = client.post("/api/v1/staff/pickups", json=body, headers=colleague)
    assert late.status_code == 409 and late.get_json()["code"] == "pickup_already_completed"
    assert late.get_json()["details"]["store_name"] == "People's Square"
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
    assert sorted(status for status, _ in answers) == [200, 200, 201], answers
    assert {body["order"]["status"] for _, body in answers} == {"completed"}
    assert actions(app) == ["confirmed"]


def handed_over_ago(app, seconds: float) -> str:
    """Move the hand-over ``seconds`` into the past (the clock the confirmations are compared with); its time."""
    at = utcnow() - timedelta(seconds=seconds)
    with app.app_context():
        db.session.execute(update(PickupVerification).where(PickupVerification.action == "confirmed").values(at=at))
        db.session.commit()
    return at.isoformat()


def test_the_same_clerk_scanning_a_handed_over_code_after_ten_seconds_is_told_when_and_where(
        app, client, stub, shop, alice, clerk, live_server):
    order = paid_order(client, stub, shop, alice)
    body = {"pickup_code": order["pickup_code"], "confirm": True}
    assert client.post("/api/v1/staff/pickups", json=body, headers=clerk).status_code == 201
    within = handed_over_ago(app, 8)
    assert client.post("/api/v1/staff/pickups", json=body, headers=clerk).status_code == 200  # still a retry
    handed_over_at = handed_over_ago(app, 11)  # minutes later, in truth: the same clerk scans it again
    for again in (body, {"pickup_code": order["pickup_code"]}):  # to hand it over, or to look it up
        late = client.post("/api/v1/staff/pickups", json=again, headers=clerk)
        assert late.status_code == 409, late.get_json()
        error = late.get_json()
        assert error["code"] == "pickup_already_completed" and "People's Square" in error["message"]
        assert error["details"] == {"used_at": handed_over_at, "store_id": shop.store_id,
                                    "store_name": "People's Square", "order_id": order["id"]}
    assert within != handed_over_at
    assert actions(app) == ["confirmed"]  # not handed over again, and not counted as wrong codes


def test_the_retry_window_is_a_setting(app, client, stub, shop, alice, clerk, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "COUNTER_RETRY_SECONDS", 60)
    order = paid_order(client, stub, shop, alice)
    body = {"pickup_code": order["pickup_code"], "confirm": True}
    assert client.post("/api/v1/staff/pickups", json=body, headers=clerk).status_code == 201
    handed_over_ago(app, 30)
    assert client.post("/api/v1/staff/pickups", json=body, headers=clerk).status_code == 200
    handed_over_ago(app, 61)
    assert client.post("/api/v1/staff/pickups", json=body, headers=clerk).status_code == 409


def test_the_stores_hand_overs_since_a_moment_are_its_completed_pickups_latest_first(
        app, client, stub, shop, alice, clerk, live_server):
    first, second = (paid_order(client, stub, shop, alice) for _ in range(2))
    for order in (first, second):
        client.post("/api/v1/staff/pickups", json={"pickup_code": order["pickup_code"], "confirm": True}, headers=clerk)
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == first["id"])
                           .values(completed_at=utcnow() - timedelta(days=1)))
        db.session.commit()
        assert [o.id for o in pickup.handed_over_since(shop.store_id, utcnow() - timedelta(hours=1))] == [second["id"]]
        assert [o.id for o in pickup.handed_over_since(shop.store_id, utcnow() - timedelta(days=2))] == [
            second["id"], first["id"]]
        assert pickup.handed_over_since(shop.other_store_id, utcnow() - timedelta(days=2)) == []
