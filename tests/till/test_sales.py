"""A clerk records a till sale with the shopper's member code: once per receipt, an order paid at the till,
points earned; voided by a clerk within the window, refunded by an admin after it."""

from __future__ import annotations

import threading
from datetime import timedelta

import requests
from sqlalchemy import Engine, event, func, select, update

from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.members.models import JourneyEvent
from shop.orders.models import Order
from shop.till import service as till
from shop.till.models import TillSale
from tests.conftest import LIVE_PORT
from tests.till.conftest import code_of, points_of, sell


def sales_and_orders(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(TillSale)),
                db.session.scalar(select(func.count()).select_from(Order)))


def test_a_till_sale_is_a_completed_in_store_order_that_earns_points(app, client, clerk, alice, alice_id, shop):
    recorded = sell(client, clerk, code_of(app, alice_id), amount=5000, receipt_no="0001")
    assert recorded.status_code == 201, recorded.get_json()
    sale = recorded.get_json()
    order = sale["order"]
    assert (sale["store_id"], sale["member_id"], sale["receipt_no"]) == (shop.store_id, alice_id, "0001")
    assert (order["fulfilment"], order["status"], order["amount_paid"]) == ("in_store", "completed", 5000)
    assert order["completed_at"] and order["pickup_code"] is None
    assert points_of(client, alice) == 50  # 1 point per yuan paid, as online
    mine = client.get("/api/v1/orders", headers=alice).get_json()
    assert [o["id"] for o in mine["items"]] == [order["id"]]  # the shopper sees it among their orders
    with app.app_context():
        kinds = set(db.session.scalars(select(JourneyEvent.kind).where(JourneyEvent.member_id == alice_id)))
    assert {"order_placed", "order_paid"} <= kinds


def test_the_same_receipt_sent_again_returns_the_first_sale_even_with_a_newer_code(app, client, clerk, alice_id):
    first = sell(client, clerk, code_of(app, alice_id), receipt_no="A-7")
    later_code = code_of(app, alice_id, at=None)
    again = sell(client, clerk, later_code, receipt_no="A-7")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert sales_and_orders(app) == (1, 1)


def test_the_same_receipt_with_another_sale_is_refused(app, client, clerk, alice_id, login):
    assert sell(client, clerk, code_of(app, alice_id), amount=5000, receipt_no="A-8").status_code == 201
    other_amount = sell(client, clerk, code_of(app, alice_id), amount=4000, receipt_no="A-8")
    assert other_amount.status_code == 409 and other_amount.get_json()["code"] == "sale_receipt_reused"
    bob_id = login("bob:1")["member"]["id"]
    other_member = sell(client, clerk, code_of(app, bob_id), amount=5000, receipt_no="A-8")
    assert other_member.status_code == 409
    assert sales_and_orders(app) == (1, 1)


def test_receipt_numbers_are_per_store(app, client, staff_token, shop, alice_id):
    here, there = (staff_token(Role.STAFF, store_ids=[store]) for store in (shop.store_id, shop.other_store_id))
    assert sell(client, here, code_of(app, alice_id), receipt_no="0001").status_code == 201
    assert sell(client, there, code_of(app, alice_id), receipt_no="0001").status_code == 201
    assert sales_and_orders(app) == (2, 2)


def test_one_receipt_sent_by_several_tills_at_once_is_recorded_once(app, client, clerk, alice_id, live_server):
    body = {"member_code": code_of(app, alice_id), "receipt_no": "RACE-1", "amount": 3000}
    answers, start = [], threading.Barrier(6)

    def send() -> None:
        start.wait()
        answers.append(requests.post(f"http://127.0.0.1:{LIVE_PORT}/api/v1/staff/sales", json=body,
                                     headers=clerk, timeout=30))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sales_and_orders(app) == (1, 1)
    with app.app_context():
        paid = db.session.scalar(select(Order.amount_paid))
    assert paid == 3000


def test_items_must_add_up_to_the_amount(app, client, clerk, alice_id, shop):
    items = [{"sku_id": shop.latte, "quantity": 2, "unit_price": 2800}]
    wrong = sell(client, clerk, code_of(app, alice_id), amount=5000, items=items)
    assert wrong.status_code == 422 and wrong.get_json()["code"] == "sale_items_mismatch"
    right = sell(client, clerk, code_of(app, alice_id), amount=5600, items=items)
    assert right.status_code == 201, right.get_json()
    [line] = right.get_json()["order"]["lines"]
    assert (line["sku_id"], line["quantity"], line["unit_price"], line["title"]) == (shop.latte, 2, 2800, "Latte")
    assert sales_and_orders(app) == (1, 1)


def test_bad_sale_bodies_are_refused_and_change_nothing(app, client, clerk, alice_id, shop):
    code = code_of(app, alice_id)
    for body in ({"member_code": code, "receipt_no": "x", "amount": 1.5},
                 {"member_code": code, "receipt_no": "x", "amount": 0},
                 {"member_code": code, "receipt_no": "x y", "amount": 100},
                 {"member_code": code, "receipt_no": "x" * 41, "amount": 100},
                 {"member_code": code, "amount": 100},
                 {"member_code": code, "receipt_no": "x", "amount": 100, "items": []},
                 {"member_code": code, "receipt_no": "x", "amount": 100,
                  "items": [{"sku_id": shop.latte, "quantity": 1, "unit_price": 100}] * 51}):
        refused = client.post("/api/v1/staff/sales", json=body, headers=clerk)
        assert refused.status_code == 422, body
    unknown_sku = sell(client, clerk, code, amount=100, items=[{"sku_id": 999999, "quantity": 1, "unit_price": 100}])
    assert unknown_sku.status_code == 404 and unknown_sku.get_json()["code"] == "sku_not_found"
    assert sales_and_orders(app) == (0, 0)


def test_roles_and_stores_for_till_sales(app, client, staff_token, login, shop, alice_id):
    code = code_of(app, alice_id)
    shopper = {"Authorization": f"Bearer {login('carol:1')['token']}"}
    assert sell(client, shopper, code).status_code == 403
    assert sell(client, staff_token(Role.ADMIN), code).status_code == 403
    assert sell(client, staff_token(Role.MARKETING), code).status_code == 403
    assert sell(client, {}, code).status_code == 401
    elsewhere = sell(client, staff_token(Role.STAFF, store_ids=[shop.other_store_id]), code, store_id=shop.store_id)
    assert elsewhere.status_code == 403 and elsewhere.get_json()["code"] == "sale_store_not_yours"
    roaming = staff_token(Role.STAFF, store_ids=[shop.store_id, shop.other_store_id])
    unnamed = sell(client, roaming, code)
    assert unnamed.status_code == 422 and unnamed.get_json()["code"] == "sale_store_required"
    named = sell(client, roaming, code, store_id=shop.other_store_id)
    assert named.status_code == 201 and named.get_json()["store_id"] == shop.other_store_id
    shoppers_order = client.post("/api/v1/orders", headers={**shopper, "Idempotency-Key": "k1"},
                                 json={"items": [{"sku_id": shop.latte, "quantity": 1}], "fulfilment": "in_store",
                                       "store_id": shop.store_id})
    assert shoppers_order.status_code == 422  # only a clerk records an in-store sale


def test_a_stale_member_code_is_refused_with_its_own_code(app, client, clerk, alice_id):
    stale = sell(client, clerk, code_of(app, alice_id, at=utcnow() - timedelta(minutes=3)))
    assert stale.status_code == 409 and stale.get_json()["code"] == "member_code_stale"


# --- void and till refund ------------------------------------------------------------------------


def void(client, headers, sale_id: int):
    return client.post(f"/api/v1/staff/sales/{sale_id}/void", headers=headers)


def test_a_clerk_voids_a_sale_within_the_window_and_its_points_go_back(app, client, clerk, alice, alice_id,
                                                                       staff_token, shop):
    sale = sell(client, clerk, code_of(app, alice_id), amount=5000).get_json()
    assert points_of(client, alice) == 50
    colleague = staff_token(Role.STAFF, store_ids=[shop.store_id])
    voided = void(client, colleague, sale["id"])
    assert voided.status_code == 200, voided.get_json()
    body = voided.get_json()
    assert body["voided_at"] and body["order"]["status"] == "refunded"
    [refund] = body["order"]["refunds"]
    assert (refund["status"], refund["amount"], refund["reason"]) == ("succeeded", 5000, "till_void")
    assert points_of(client, alice) == 0
    again = void(client, clerk, sale["id"])
    assert again.status_code == 200 and again.get_json()["voided_at"] == body["voided_at"]
    assert len(again.get_json()["order"]["refunds"]) == 1


def test_after_the_window_the_clerk_cannot_void_and_an_admin_refunds_at_the_till(app, client, clerk, alice,
                                                                                 alice_id, staff_token):
    sale = sell(client, clerk, code_of(app, alice_id), amount=5000).get_json()
    with app.app_context():
        db.session.execute(update(TillSale).values(created_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    late = void(client, clerk, sale["id"])
    assert late.status_code == 409 and late.get_json()["code"] == "sale_void_window_closed"
    refunded = client.post(f"/api/v1/admin/orders/{sale['order']['id']}/refund", headers=staff_token(Role.ADMIN),
                           json={"reason": "returned the next day"})
    assert refunded.status_code == 202, refunded.get_json()
    order = refunded.get_json()
    assert order["status"] == "refunded" and [r["status"] for r in order["refunds"]] == ["succeeded"]
    assert points_of(client, alice) == 0
    after = void(client, clerk, sale["id"])
    assert after.status_code == 409


def test_void_roles_and_other_stores(app, client, clerk, alice, alice_id, staff_token, shop):
    sale = sell(client, clerk, code_of(app, alice_id)).get_json()
    other = staff_token(Role.STAFF, store_ids=[shop.other_store_id])
    assert void(client, other, sale["id"]).get_json()["code"] == "sale_not_found"
    assert void(client, staff_token(Role.ADMIN), sale["id"]).status_code == 403
    assert void(client, alice, sale["id"]).status_code == 403
    assert void(client, clerk, 10**17).status_code == 404
    assert points_of(client, alice) == 50  # nothing voided


def test_the_stores_sales_since_a_moment_are_listed_latest_first_with_their_void_deadline(
        app, client, clerk, alice_id, shop):
    for receipt in ("R-OLD", "R-NEW"):
        assert sell(client, clerk, code_of(app, alice_id), receipt_no=receipt).status_code == 201
    with app.app_context():
        db.session.execute(update(TillSale).where(TillSale.receipt_no == "R-OLD")
                           .values(created_at=utcnow() - timedelta(days=1)))
        db.session.commit()
        listed = till.sales_since(shop.store_id, utcnow() - timedelta(hours=1))
        assert [view["sale"].receipt_no for view in listed] == ["R-NEW"]
        assert listed[0]["voidable_until"] == listed[0]["sale"].created_at + till.void_window()
        assert till.sales_since(shop.other_store_id, utcnow() - timedelta(days=2)) == []


def test_a_sale_is_answered_as_written_with_statements_sqlalchemy_compiled_once(app, client, clerk, alice_id):
    """The till's hot path (issue 18's load): nothing read back after the commit, nothing compiled per sale."""
    for _ in range(2):  # SQLAlchemy compiles each statement once (a member's first sale takes a few more)
        assert sell(client, clerk, code_of(app, alice_id)).status_code == 201
    code, sent = code_of(app, alice_id), []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        hit = getattr(context, "cache_hit", None)
        sent.append((statement.split()[0].upper(), hit is not None and hit.name in ("NO_CACHE_KEY", "CACHE_MISS")))

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        recorded = sell(client, clerk, code, amount=4200)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert recorded.status_code == 201 and recorded.get_json()["order"]["amount_paid"] == 4200
    assert [kind for kind, compiled in sent if compiled] == []
    last_write = max(i for i, (kind, _) in enumerate(sent) if kind in ("INSERT", "UPDATE"))
    assert [kind for kind, _ in sent[last_write + 1:]] == []  # the sale, its order, lines and refunds not read back
