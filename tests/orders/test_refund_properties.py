"""Property: no sequence of refund requests, one at a time or raced, refunds more than was paid.

Each example buys a basket (pickup or delivery, some of it paid with points so that lines carry
uneven shares of the discount), pays it in WeChat, then asks for refunds as the shopper and as an
admin: whole, by lines, lines named twice, more than is left. WeChat Pay (the stub, in manual mode)
settles each refund it was sent, or fails it, between the requests. After every example the
database must show, per line and per order, no more refunded than was paid, and totals that add
up; and WeChat Pay must have accepted every refund it was sent.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from shop.auth import Role
from shop.catalog.service import set_store_availability
from shop.extensions import db
from shop.orders.models import Order, Refund
from shop.orders.refunds import SHOPPER_REFUNDABLE, STAFF_REFUNDABLE
from shop.points.service import adjust_points
from tests.conftest import bearer
from tests.factories import make_category, make_product
from tests.orders.conftest import (
    manual_refunds,
    place,
    prepay_id_of,
    race_refunds,
    settle_refund,
    stub_pay,
)

PRICES = (990, 1333, 2800)  # fen; 1333 does not share evenly
EXAMPLES = settings(max_examples=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@dataclass(frozen=True)
class Ask:
    """One refund request: by lines ((index into the order's lines, quantity), ...) or all that is left."""

    admin: bool
    lines: tuple[tuple[int, int], ...] | None

    def body(self, order: dict) -> dict:
        if self.lines is None:
            return {"reason": "all of it"}
        ids = [line["id"] for line in order["lines"]]
        return {"reason": "some of it", "lines": [{"line_id": ids[i % len(ids)], "quantity": q} for i, q in self.lines]}


baskets = st.fixed_dictionaries({
    "quantities": st.lists(st.integers(1, 4), min_size=1, max_size=len(PRICES)),
    "delivery": st.booleans(),
    "points": st.integers(0, 3000),
})
asks = st.builds(Ask, admin=st.booleans(), lines=st.none() | st.lists(
    st.tuples(st.integers(0, len(PRICES) - 1), st.integers(1, 5)), min_size=1, max_size=4).map(tuple))
# Between requests WeChat Pay settles the refund in flight, fails it, or the clerk hands the order over.
steps = st.lists(asks | st.sampled_from(["succeed", "abnormal", "hand_over"]), min_size=1, max_size=8)


@dataclass
class Buying:
    app: object
    client: object
    stub: object
    shopper: dict
    admin: dict
    clerk: dict
    skus: list[int]
    store_id: int

    def paid_order(self, basket: dict) -> dict:
        items = [{"sku_id": sku, "quantity": q} for sku, q in zip(self.skus, basket["quantities"], strict=False)]
        where = ({"fulfilment": "delivery", "address": {"name": "Li Lei", "phone": "13800000000",
                                                         "region": "Shanghai Huangpu", "detail": "1 Nanjing Road"}}
                 if basket["delivery"] else {"fulfilment": "pickup", "store_id": self.store_id})
        placed = place(self.client, self.shopper, {"items": items, "points": basket["points"], **where},
                       key=uuid.uuid4().hex)
        assert placed.status_code == 201, placed.get_json()
        stub_pay(self.stub, prepay_id_of(placed.get_json()))
        return self.order(placed.get_json()["order"]["id"])

    def order(self, order_id: int) -> dict:
        return self.client.get(f"/api/v1/orders/{order_id}", headers=self.shopper).get_json()

    def ask(self, order: dict, ask: Ask):
        url = f"/api/v1/{'admin/' if ask.admin else ''}orders/{order['id']}/refund"
        return self.client.post(url, headers=self.admin if ask.admin else self.shopper, json=ask.body(order))

    def settle(self, order: dict, outcome: str) -> None:
        processing = [r["number"] for r in order["refunds"] if r["status"] == "processing"]
        for number in processing:
            settle_refund(self.stub, number, outcome)

    def hand_over(self, order: dict) -> None:
        if order["pickup_code"]:
            self.client.post("/api/v1/staff/pickups", headers=self.clerk,
                             json={"pickup_code": order["pickup_code"], "confirm": True})


@pytest.fixture
def buying(app, client, stub, shop, login, staff_token, live_server) -> Buying:
    manual_refunds(stub)
    shopper = login("refunds:1")
    with app.app_context():
        adjust_points(member_id=shopper["member"]["id"], delta=1_000_000, reason="to pay with points",
                      actor_staff_id=None)
        category = make_category().id
        skus = [make_product(category, skus=[{"spec": {}, "price": price, "stock": 100_000}]).skus[0].id
                for price in PRICES]
        for sku in skus:
            set_store_availability(sku, actor_staff_id=None, stores=[{"store_id": shop.store_id, "available": True}])
        db.session.commit()
    return Buying(app, client, stub, bearer(shopper["token"]), staff_token(Role.ADMIN),
                  staff_token(Role.STAFF, store_ids=[shop.store_id]), skus, shop.store_id)


def expected_answer(order: dict, ask: Ask) -> tuple[int, str | None]:
    """What a request answers when it is the only one: (status, error code)."""
    if order["status"] not in (STAFF_REFUNDABLE if ask.admin else SHOPPER_REFUNDABLE):
        return 409, "order_not_refundable"
    if any(refund["status"] == "processing" for refund in order["refunds"]):
        return 409, "refund_in_progress"
    if ask.lines is None:
        return 202, None
    lines = [order["lines"][i % len(order["lines"])] for i, _ in ask.lines]
    if max(Counter(line["id"] for line in lines).values()) > 1:
        return 422, "refund_line_repeated"
    if any(q > line["quantity"] - line["refunded_quantity"] for line, (_, q) in zip(lines, ask.lines, strict=True)):
        return 409, "refund_exceeds_paid"
    return 202, None


def answer_of(status: int, body: dict) -> tuple[int, str | None]:
    return status, None if status == 202 else body["code"]


def assert_refunded_within_paid(app, order_id: int) -> None:
    """What the database holds: never more refunded than paid, and totals that add up."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        refunds = db.session.scalars(select(Refund).where(Refund.order_id == order_id)).all()
        asked = [r for r in refunds if r.status in ("processing", "succeeded")]
        succeeded = [r for r in refunds if r.status == "succeeded"]
        assert sum(r.status == "processing" for r in refunds) <= 1
        assert order.refunded_total == sum(r.amount for r in succeeded) <= order.amount_paid
        assert sum(r.amount for r in asked) <= order.amount_paid
        assert (order.status == "refunded") == (order.refunded_total == order.amount_paid)
        for line in order.lines:
            def portions(of: list[Refund], key: str, line_id: int = line.id) -> int:
                return sum(p[key] for r in of for p in r.lines if p["line_id"] == line_id)

            assert line.refunded_quantity == portions(succeeded, "quantity") <= line.quantity
            assert line.refunded_amount == portions(succeeded, "amount") <= line.amount_payable
            assert portions(asked, "quantity") <= line.quantity
            assert portions(asked, "amount") <= line.amount_payable


@EXAMPLES
@given(basket=baskets, steps=steps)
def test_refund_requests_one_at_a_time_never_return_more_than_was_paid(buying, basket, steps):
    order = buying.paid_order(basket)
    for step in steps:
        if step == "hand_over":
            buying.hand_over(order)
        elif isinstance(step, str):
            buying.settle(order, step)
        else:
            expected = expected_answer(order, step)
            response = buying.ask(order, step)
            assert answer_of(response.status_code, response.get_json()) == expected, (step, response.get_json())
        order = buying.order(order["id"])
    buying.settle(buying.order(order["id"]), "succeed")
    assert_refunded_within_paid(buying.app, order["id"])


rounds = st.lists(st.tuples(st.lists(asks, min_size=2, max_size=5), st.sampled_from(["succeed", "abnormal"])),
                  min_size=1, max_size=3)


@settings(parent=EXAMPLES, max_examples=15)
@given(basket=baskets, rounds=rounds)
def test_refund_requests_raced_over_http_never_return_more_than_was_paid(buying, live_server, basket, rounds):
    order = buying.paid_order(basket)
    for batch, outcome in rounds:
        alone = [expected_answer(order, ask) for ask in batch]
        answers = [answer_of(r.status_code, r.json()) for r in race_refunds(live_server, order["id"], [
            (buying.admin if ask.admin else buying.shopper, ask.body(order), ask.admin) for ask in batch])]
        accepted = [i for i, answer in enumerate(answers) if answer == (202, None)]
        assert len(accepted) == (1 if (202, None) in alone else 0), (batch, answers)
        for answer, expected in zip(answers, alone, strict=True):
            # Once one is accepted, the others find it in progress.
            assert answer in (expected, (409, "refund_in_progress")), (batch, answers)
        assert all(alone[i] == (202, None) for i in accepted), (batch, answers)
        buying.settle(buying.order(order["id"]), outcome)
        order = buying.order(order["id"])
    assert_refunded_within_paid(buying.app, order["id"])
