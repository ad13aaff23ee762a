"""Money rules of refunds: each line is named once, one refund of an order is processed at a time,
and the database refuses a refund beyond what a line or an order was paid."""

from __future__ import annotations

import functools
import re
import threading
from fractions import Fraction

import pytest
import requests
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from shop import events
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order, OrderLine, Refund
from shop.orders.refunds import refund_succeeded
from tests.orders.conftest import (
    at_once,
    eventually,
    manual_refunds,
    pickup_basket,
    place,
    prepay_id_of,
    race_refunds,
    settle_refund,
    stub_pay,
)

OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")  # WeChat Pay v3's rule for out_refund_no


def paid_order(client, stub, headers, basket: dict) -> dict:
    placed = place(client, headers, basket).get_json()
    stub_pay(stub, prepay_id_of(placed))
    order = client.get(f"/api/v1/orders/{placed['order']['id']}", headers=headers).get_json()
    assert order["amount_paid"] == order["amount_payable"] > 0, order
    return order


def refund_rows(app, order_id: int) -> list[tuple[str, int, str]]:
    """(status, amount, number) of each refund of the order, oldest first."""
    with app.app_context():
        return [(r.status, r.amount, r.number) for r in
                db.session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))]


def line_of(order: dict, sku_id: int) -> dict:
    return next(line for line in order["lines"] if line["sku_id"] == sku_id)


@pytest.mark.parametrize("who", ["shopper", "admin"])
def test_a_refund_naming_a_line_twice_is_refused_and_changes_nothing(app, client, stub, shop, alice, staff_token,
                                                                      live_server, who):
    order = paid_order(client, stub, alice, pickup_basket(shop))
    latte = line_of(order, shop.latte)  # two lattes, bought once
    url, headers = ((f"/api/v1/orders/{order['id']}/refund", alice) if who == "shopper"
                    else (f"/api/v1/admin/orders/{order['id']}/refund", staff_token(Role.ADMIN)))
    response = client.post(url, headers=headers, json={"reason": "asked twice", "lines": [
        {"line_id": latte["id"], "quantity": 2}, {"line_id": latte["id"], "quantity": 2}]})
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "refund_line_repeated"
    assert body["errors"] == {f"lines.{latte['id']}": ["Named more than once."]}
    assert refund_rows(app, order["id"]) == []
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json() == order  # pickup code still open


def test_a_line_named_once_with_its_whole_quantity_is_refunded(app, client, stub, shop, alice, live_server):
    manual_refunds(stub)
    order = paid_order(client, stub, alice, pickup_basket(shop))
    latte = line_of(order, shop.latte)
    response = client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice,
                           json={"reason": "no lattes", "lines": [{"line_id": latte["id"], "quantity": 2}]})
    assert response.status_code == 202, response.get_json()
    [(status, amount, number)] = refund_rows(app, order["id"])
    assert (status, amount) == ("processing", latte["amount_payable"])
    settle_refund(stub, number)
    after = client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()
    assert line_of(after, shop.latte)["refunded_quantity"] == 2 and after["refunded_total"] == 5600
    assert after["status"] == "ready_for_pickup"  # the croissant is still to collect


def test_concurrent_refunds_of_one_order_accept_one_and_answer_the_rest_409(app, client, stub, shop, alice,
                                                                             staff_token, live_server):
    manual_refunds(stub)  # the first refund stays processing while the others arrive
    order = paid_order(client, stub, alice, pickup_basket(shop))
    latte, croissant = line_of(order, shop.latte), line_of(order, shop.croissant)
    admin = staff_token(Role.ADMIN)
    asks = [(alice, {"reason": "whole"}, False),
            (alice, {"reason": "a latte", "lines": [{"line_id": latte["id"], "quantity": 1}]}, False),
            (alice, {"reason": "the croissant", "lines": [{"line_id": croissant["id"], "quantity": 1}]}, False),
            (admin, {"reason": "after-sales"}, True)]
    answers = race_refunds(live_server, order["id"], asks * 4)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202] + [409] * 15, [(a.status_code, a.text) for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"refund_in_progress"}
    [(status, _, number)] = refund_rows(app, order["id"])
    assert status == "processing"
    settle_refund(stub, number)  # the one accepted goes through; what it left can be refunded next
    assert all(status != "processing" for status, _, _ in refund_rows(app, order["id"]))


def test_refund_numbers_come_from_no_count_and_suit_wechat_pay(app, client, stub, shop, alice, live_server):
    manual_refunds(stub)
    order = paid_order(client, stub, alice, pickup_basket(shop))
    latte = line_of(order, shop.latte)
    for _ in range(2):
        response = client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice,
                               json={"reason": "one at a time", "lines": [{"line_id": latte["id"], "quantity": 1}]})
        assert response.status_code == 202, response.get_json()
        settle_refund(stub, refund_rows(app, order["id"])[-1][2])
    numbers = [number for _, _, number in refund_rows(app, order["id"])]
    assert len(set(numbers)) == 2
    for number in numbers:
        assert OUT_REFUND_NO.fullmatch(number), number
        suffix = number.removeprefix(f"{order['number']}-R")
        assert suffix != number and not suffix.isdigit()  # the order's number, then a random part


def processing_refund(order_id: int, requested_by: str, number: str, **values) -> dict:
    return {"order_id": order_id, "number": number, "amount": 100, "reason": "test", "lines": [],
            "status": "processing", "requested_by": requested_by, "created_at": utcnow(), **values}


def refused(app, statement) -> bool:
    """Whether the database refuses the statement (it is rolled back either way)."""
    with app.app_context():
        try:
            db.session.execute(statement)
            db.session.flush()
        except IntegrityError:
            return True
        finally:
            db.session.rollback()
        return False


def test_the_database_holds_one_processing_refund_per_order_beside_a_late_payments_return(
        app, client, stub, shop, alice, live_server):
    order_id = paid_order(client, stub, alice, pickup_basket(shop))["id"]
    refunds = Refund.__table__
    with app.app_context():
        db.session.execute(insert(refunds).values(processing_refund(order_id, "member:1", "N-1")))
        # A payment that came after a cancel is returned automatically, whatever else is processing.
        db.session.execute(insert(refunds).values(processing_refund(order_id, "system", "N-L1")))
        db.session.commit()
    assert refused(app, insert(refunds).values(processing_refund(order_id, "staff:1", "N-2")))
    assert not refused(app, insert(refunds).values(processing_refund(order_id, "system", "N-L2")))
    assert not refused(app, insert(refunds).values(processing_refund(order_id, "staff:1", "N-3", status="failed")))
    with app.app_context():
        db.session.execute(update(refunds).where(refunds.c.number == "N-1").values(status="succeeded"))
        db.session.commit()
    assert not refused(app, insert(refunds).values(processing_refund(order_id, "staff:1", "N-4")))


def test_the_database_refuses_refunded_totals_beyond_what_was_paid(app, client, stub, shop, alice, live_server):
    order = paid_order(client, stub, alice, pickup_basket(shop))
    lines, orders = OrderLine.__table__, Order.__table__
    latte = lines.c.id == line_of(order, shop.latte)["id"]
    assert not refused(app, update(lines).where(latte).values(refunded_quantity=lines.c.quantity,
                                                              refunded_amount=lines.c.amount_payable))
    assert refused(app, update(lines).where(latte).values(refunded_quantity=lines.c.quantity + 1))
    assert refused(app, update(lines).where(latte).values(refunded_amount=lines.c.amount_payable + 1))
    assert refused(app, update(lines).where(latte).values(refunded_quantity=-1))
    assert not refused(app, update(orders).where(orders.c.id == order["id"]).values(refunded_total=orders.c.amount_paid))
    assert refused(app, update(orders).where(orders.c.id == order["id"]).values(refunded_total=orders.c.amount_paid + 1))
    assert refused(app, update(orders).where(orders.c.id == order["id"]).values(refunded_total=-1))


def test_a_refund_asked_while_another_is_written_waits_and_answers_409(app, client, stub, shop, alice, live_server):
    """A refund written by another transaction that has not committed yet is seen, never raced past."""
    order_id = paid_order(client, stub, alice, pickup_basket(shop))["id"]
    answer: list[requests.Response] = []
    with app.app_context(), db.engine.connect() as other:
        other.execute(insert(Refund.__table__).values(processing_refund(order_id, "staff:1", "N-OTHER")))
        asking = threading.Thread(target=lambda: answer.append(requests.post(
            f"{live_server}/api/v1/orders/{order_id}/refund", headers=alice, json={"reason": "me too"}, timeout=60)))
        asking.start()
        asking.join(0.5)
        assert answer == []  # waiting for the other transaction
        other.commit()
    asking.join()
    assert answer[0].status_code == 409 and answer[0].json()["code"] == "refund_in_progress", answer[0].text
    assert eventually(lambda: len(refund_rows(app, order_id)) == 1)


def test_a_refund_asked_while_the_clerk_hands_the_order_over_lets_only_one_through(
        app, client, stub, shop, alice, clerk, live_server):
    """The goods leave with the shopper, or the money goes back to them: never both."""
    manual_refunds(stub)
    croissant = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "pickup", "store_id": shop.store_id}
    for _ in range(8):
        order = paid_order(client, stub, alice, croissant)
        pickup, refund = at_once(
            functools.partial(requests.post, f"{live_server}/api/v1/staff/pickups", headers=clerk, timeout=60,
                              json={"pickup_code": order["pickup_code"], "confirm": True}),
            functools.partial(requests.post, f"{live_server}/api/v1/orders/{order['id']}/refund", headers=alice,
                              json={"reason": "changed my mind"}, timeout=60))
        outcome = (pickup.status_code, refund.status_code)
        assert outcome in ((201, 409), (409, 202)), (pickup.text, refund.text)
        after = client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()
        assert after["status"] == ("completed" if outcome == (201, 409) else "ready_for_pickup"), after
        assert len(after["refunds"]) == (outcome == (409, 202))


def test_a_refund_asked_while_an_admin_ships_the_order_lets_only_one_through(
        app, client, stub, shop, alice, staff_token, live_server):
    """A parcel leaves the warehouse, or the money goes back: never both."""
    manual_refunds(stub)
    admin = staff_token(Role.ADMIN)
    address = {"name": "Li Lei", "phone": "13800138000", "region": "Shanghai Huangpu", "detail": "1 Nanjing Rd"}
    parcel = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "delivery", "address": address}
    for _ in range(8):
        order = paid_order(client, stub, alice, parcel)
        ship, refund = at_once(
            functools.partial(requests.post, f"{live_server}/api/v1/admin/orders/{order['id']}/ship", headers=admin,
                              json={"logistics_type": 2}, timeout=60),
            functools.partial(requests.post, f"{live_server}/api/v1/orders/{order['id']}/refund", headers=alice,
                              json={"reason": "changed my mind"}, timeout=60))
        outcome = (ship.status_code, refund.status_code)
        assert outcome in ((200, 409), (409, 202)), (ship.text, refund.text)
        after = client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()
        assert after["status"] == ("shipped" if outcome == (200, 409) else "paid"), after
        assert len(after["refunds"]) == (outcome == (409, 202))


def test_a_confirmed_refund_tells_listeners_the_refunded_share_of_the_order_and_of_each_line(
        app, client, stub, shop, alice, live_server):
    manual_refunds(stub)  # confirmed here, in the test's own transaction, to hear the signal
    order = paid_order(client, stub, alice, pickup_basket(shop))
    latte, croissant = line_of(order, shop.latte), line_of(order, shop.croissant)
    heard = []

    def listener(sender, **kw):
        heard.append(kw)

    def refund_and_confirm(body: dict) -> int:
        response = client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice, json=body)
        assert response.status_code == 202, response.get_json()
        _, amount, number = refund_rows(app, order["id"])[-1]
        with app.app_context():
            assert refund_succeeded(number, at=utcnow())
            db.session.commit()
        return amount

    events.order_refunded.connect(listener)
    try:
        one_latte = refund_and_confirm({"reason": "one latte", "lines": [{"line_id": latte["id"], "quantity": 1}]})
        refund_and_confirm({"reason": "the rest"})
    finally:
        events.order_refunded.disconnect(listener)
    partial, whole = heard
    assert partial["refunded_share"] == Fraction(one_latte, order["amount_paid"])
    assert partial["line_shares"] == {latte["id"]: Fraction(one_latte, latte["amount_payable"]),
                                      croissant["id"]: Fraction(0)}
    assert whole["refunded_share"] == 1 and whole["full"]
    assert whole["line_shares"] == {latte["id"]: Fraction(1), croissant["id"]: Fraction(1)}
