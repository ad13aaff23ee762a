"""Refunds reverse rewards in proportion: frozen ones shrink, available ones are clawed back, and a
clawback beyond the balance is a debt that later rewards pay first."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy import select

from referral.rewards.models import CommissionEntry, Reward
from referral.rewards.service import reverse_for_refund
from referral.tree import service as tree
from shop.extensions import db
from shop.orders.models import Order, Refund
from shop.orders.refunds import line_shares
from shop.points.service import adjust_points
from tests.orders.conftest import eventually
from tests.referral.rewards.conftest import line_of


def _refund(client, member, order: dict, lines: list[dict] | None = None) -> dict:
    """The member asks for a refund (of lines, or of the rest); WeChat Pay confirms it by notify."""
    body = {"reason": "changed my mind", **({"lines": lines} if lines else {})}
    response = client.post(f"/api/v1/orders/{order['id']}/refund", headers=member.headers, json=body)
    assert response.status_code == 202, response.get_json()
    before = order.get("refunded_total", 0)
    url = f"/api/v1/orders/{order['id']}"
    refunded = eventually(lambda: (o := client.get(url, headers=member.headers).get_json())["refunded_total"] > before
                          and o)
    assert refunded, "the refund was never confirmed"
    return refunded


def _by_line(app, order_id: int) -> dict[int, tuple[str, int, int]]:
    with app.app_context():
        return {r.order_line_id: (r.status, r.amount, r.reversed_amount)
                for r in db.session.scalars(select(Reward).where(Reward.order_id == order_id))}


def _commission(client, member) -> dict:
    return client.get("/api/v1/me/rewards", headers=member.headers).get_json()["commission"]


def test_a_full_refund_reverses_frozen_rewards_and_takes_the_gmv_back(app, client, chain, buy, configure):
    configure(reward_kind="commission", percent_bp=[1000, 0])
    order = buy(chain.carol)
    assert _commission(client, chain.bob)["frozen"] == 440
    _refund(client, chain.carol, order)
    assert {status for status, *_ in _by_line(app, order["id"]).values()} == {"reversed"}
    assert _commission(client, chain.bob) == {"balance": 0, "available": 0, "debt": 0, "frozen": 0, "withdrawn": 0}
    totals = client.get("/api/v1/me/rewards", headers=chain.bob.headers).get_json()["totals"]["commission"]
    assert totals == {"frozen": 0, "available": 0, "reversed": 440, "rewards": 2}
    with app.app_context():
        assert tree.subtree_summary(chain.alice.id).gmv == 0
        assert tree.subtree_summary(chain.bob.id).orders == 1  # the order happened; its money came back


def test_a_refund_of_one_line_reverses_that_lines_reward_only(app, client, chain, buy, configure, shop):
    configure(reward_kind="commission", percent_bp=[1000, 0])
    order = buy(chain.carol, lattes=2, croissants=1)
    latte, croissant = line_of(order, shop.latte), line_of(order, shop.croissant)
    _refund(client, chain.carol, order, lines=[{"line_id": latte["id"], "quantity": 1}])
    rewards = _by_line(app, order["id"])
    assert rewards[latte["id"]] == ("frozen", 560, 280)
    assert rewards[croissant["id"]] == ("frozen", 160, 0)
    assert _commission(client, chain.bob)["frozen"] == 440
    with app.app_context():
        assert tree.subtree_summary(chain.bob.id).gmv == 7200 - 2800


def test_a_refund_of_an_available_reward_claws_it_back_through_the_ledger(app, client, chain, buy, configure,
                                                                          release_after, shop):
    configure(reward_kind="commission", percent_bp=[1000, 0])
    order = buy(chain.carol)
    release_after(days=8)
    assert _commission(client, chain.bob)["balance"] == 440
    _refund(client, chain.carol, order, lines=[{"line_id": line_of(order, shop.croissant)["id"], "quantity": 1}])
    assert _commission(client, chain.bob)["balance"] == 280
    with app.app_context():
        entries = [(e.reason, e.amount, e.balance_after) for e in db.session.scalars(
            select(CommissionEntry).where(CommissionEntry.member_id == chain.bob.id).order_by(CommissionEntry.id))]
    assert entries == [("reward", 280, 280), ("reward", 160, 440), ("reversal", -160, 280)]


def test_a_clawback_beyond_the_balance_is_a_debt_that_later_rewards_pay_first(app, client, chain, buy, configure,
                                                                              release_after):
    configure(reward_kind="commission", percent_bp=[1000, 0], min_withdrawal=100)
    first = buy(chain.carol)
    release_after(days=8)
    asked = client.post("/api/v1/me/withdrawals", json={"amount": 400},
                        headers={**chain.bob.headers, "Idempotency-Key": "bob-withdraws-400"})
    assert asked.status_code == 201, asked.get_json()
    assert _commission(client, chain.bob)["balance"] == 40  # held at the request

    _refund(client, chain.carol, first)
    assert _commission(client, chain.bob) == {"balance": -400, "available": 0, "debt": 400, "frozen": 0,
                                              "withdrawn": 0}
    refused = client.post("/api/v1/me/withdrawals", json={"amount": 100},
                          headers={**chain.bob.headers, "Idempotency-Key": "bob-withdraws-more"})
    assert refused.status_code == 409  # an open request, and nothing available anyway

    buy(chain.carol, lattes=0, croissants=2)  # 320 of commission, frozen
    release_after(days=16)
    assert _commission(client, chain.bob)["balance"] == -80  # the debt took it all
    buy(chain.carol, lattes=0, croissants=1)  # 160 more
    release_after(days=24)
    assert _commission(client, chain.bob) == {"balance": 80, "available": 80, "debt": 0, "frozen": 0,
                                              "withdrawn": 0}


def test_a_points_clawback_beyond_the_points_left_is_owed(app, client, chain, buy, committed, release_after):
    order = buy(chain.carol)  # 220 points, frozen
    release_after(days=8)
    committed(lambda: adjust_points(member_id=chain.bob.id, delta=-200, reason="spent elsewhere",
                                    actor_staff_id=None))
    _refund(client, chain.carol, order)
    points = client.get("/api/v1/me/points", headers=chain.bob.headers).get_json()
    assert (points["balance"], points["owed"]) == (0, 200)
    assert points["ledger"]["items"][0]["reason"] == "referral_reverse"


def test_a_replayed_refund_signal_reverses_nothing_twice(app, client, chain, buy, configure, committed,
                                                         release_after, shop):
    configure(reward_kind="commission", percent_bp=[1000, 0])
    order = buy(chain.carol)
    release_after(days=8)
    refunded = _refund(client, chain.carol, order,
                       lines=[{"line_id": line_of(order, shop.croissant)["id"], "quantity": 1}])
    refund_id = refunded["refunds"][0]["id"]

    def replay():
        return reverse_for_refund(order_id=order["id"], refund_id=refund_id, refunded_total=1600,
                                  refunded_share=Fraction(1600, 4400),
                                  line_shares=line_shares(db.session.get(Order, order["id"])))

    assert committed(replay) == 0
    assert _commission(client, chain.bob)["balance"] == 280
    with app.app_context():
        assert db.session.get(Order, order["id"]).refunded_total == 1600
        assert tree.subtree_summary(chain.bob.id).gmv == 2800


def test_a_refund_without_lines_reverses_by_the_refunded_share_of_the_amount_paid(app, committed, chain, buy,
                                                                                  configure):
    configure(reward_kind="commission", percent_bp=[1000, 0])
    order = buy(chain.carol)  # rewards 280 + 160
    refund_id = committed(lambda: _refund_row_without_lines(order["id"], 1100))
    assert committed(lambda: reverse_for_refund(order_id=order["id"], refund_id=refund_id, refunded_total=1100,
                                                refunded_share=Fraction(1100, 4400),
                                                line_shares={})) == 70 + 40  # a quarter, rounded down
    assert sorted(amounts[2] for amounts in _by_line(app, order["id"]).values()) == [40, 70]


def _refund_row_without_lines(order_id: int, amount: int) -> int:
    """A refund that names no lines, as a system refund does (written here: shoppers' name lines)."""
    refund = Refund(order_id=order_id, number=f"T{order_id}-R9", amount=amount, reason="goodwill", lines=[],
                    status="succeeded", requested_by="system")
    db.session.add(refund)
    db.session.flush()
    return refund.id
