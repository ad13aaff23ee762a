"""Rewards for friends' purchases: per line and level, points or commission, the sharer policy, flags,
the release job, the snapshot and counters, and the friend_first_purchase signal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select, update

from referral.rewards.models import OrderSnapshot, Reward
from referral.rewards.service import reward_order
from referral.tree import service as tree
from referral.tree.models import ReferralNode
from shop import events
from shop.database import utcnow
from shop.extensions import db
from shop.members.models import Member as MemberRow
from tests.conftest import bearer
from tests.orders.conftest import place
from tests.referral.rewards.conftest import CROISSANT_PRICE, LATTE_PRICE, Member, line_of


def _rewards(app, order_id: int) -> list[tuple[int, int, int, str, int]]:
    """(beneficiary, level, line, status, amount) of an order's rewards."""
    with app.app_context():
        return [(r.beneficiary_id, r.level, r.order_line_id, r.status, r.amount) for r in db.session.scalars(
            select(Reward).where(Reward.order_id == order_id).order_by(Reward.level, Reward.order_line_id))]


def test_friend_who_buys_through_a_share_rewards_the_sharer_frozen_per_line(app, client, chain, buy, shop):
    order = buy(chain.carol)  # default policy: 1 level, points, 5% of what each line cost
    latte, croissant = line_of(order, shop.latte), line_of(order, shop.croissant)
    assert _rewards(app, order["id"]) == [
        (chain.bob.id, 1, latte["id"], "frozen", LATTE_PRICE * 500 // 10000),
        (chain.bob.id, 1, croissant["id"], "frozen", CROISSANT_PRICE * 500 // 10000)]

    mine = client.get("/api/v1/me/rewards", headers=chain.bob.headers).get_json()
    assert mine["totals"]["points"] == {"frozen": 220, "available": 0, "reversed": 0, "rewards": 2}
    assert mine["rewards"]["total"] == 2
    item = mine["rewards"]["items"][0]
    assert item["order"]["id"] == order["id"] and item["order"]["number"] == order["number"]
    assert item["status"] == "frozen" and item["kind"] == "points" and item["level"] == 1
    assert client.get("/api/v1/me/points", headers=chain.bob.headers).get_json()["balance"] == 0  # not yet
    # Alice is two levels up: with one level paid, she gets nothing.
    assert client.get("/api/v1/me/rewards", headers=chain.alice.headers).get_json()["rewards"]["total"] == 0


def test_two_levels_reward_the_sharer_and_the_one_above_as_commission_rounded_down(app, client, chain, buy,
                                                                                     configure, shop, committed):
    configure(reward_levels=2, reward_kind="commission", percent_bp=[1000, 333])
    committed(lambda: db.session.execute(update(MemberRow).where(MemberRow.id == chain.carol.id)
                                         .values(nickname="Carol")))
    order = buy(chain.carol)
    latte, croissant = line_of(order, shop.latte)["id"], line_of(order, shop.croissant)["id"]
    assert _rewards(app, order["id"]) == [
        (chain.bob.id, 1, latte, "frozen", 280), (chain.bob.id, 1, croissant, "frozen", 160),
        (chain.alice.id, 2, latte, "frozen", 93), (chain.alice.id, 2, croissant, "frozen", 53)]  # 93.24, 53.28
    with app.app_context():
        snapshot = db.session.get(OrderSnapshot, order["id"])
        assert snapshot.chain == [chain.bob.id, chain.alice.id] and snapshot.parent_id == chain.bob.id
        assert snapshot.amount_paid == 4400 and snapshot.first_order is True

    alice_view = client.get("/api/v1/me/rewards", headers=chain.alice.headers).get_json()
    assert alice_view["totals"]["commission"]["frozen"] == 146
    assert alice_view["commission"] == {"balance": 0, "available": 0, "debt": 0, "frozen": 146, "withdrawn": 0}
    assert alice_view["rewards"]["items"][0]["friend"]["nickname"] is None  # a friend's friend stays anonymous
    bob_view = client.get("/api/v1/me/rewards", headers=chain.bob.headers).get_json()
    assert bob_view["rewards"]["items"][0]["friend"]["nickname"] == "Carol"  # the friend Bob brought is named


def test_a_fixed_amount_per_unit_rewards_only_the_listed_skus(app, chain, buy, configure, shop):
    configure(reward_levels=2, reward_basis="fixed_per_sku", reward_kind="commission",
              fixed_per_sku={str(shop.latte): [150, 40]})
    order = buy(chain.carol, lattes=2, croissants=1)
    latte = line_of(order, shop.latte)["id"]
    assert _rewards(app, order["id"]) == [(chain.bob.id, 1, latte, "frozen", 300),
                                          (chain.alice.id, 2, latte, "frozen", 80)]


def test_a_sharer_who_is_not_approved_earns_nothing_under_the_approved_policy(app, chain, buy, configure, committed):
    configure(reward_levels=2, sharer_policy="approved", percent_bp=[500, 300])
    committed(lambda: db.session.execute(update(ReferralNode).where(ReferralNode.member_id == chain.alice.id)
                                         .values(approved_at=utcnow())))
    order = buy(chain.carol)
    assert {(b, level) for b, level, *_ in _rewards(app, order["id"])} == {(chain.alice.id, 2)}


def test_a_sharer_earns_only_after_paying_an_order_of_their_own_under_first_paid_order(app, chain, buy, configure):
    configure(sharer_policy="first_paid_order")
    first = buy(chain.carol)
    assert _rewards(app, first["id"]) == []  # Bob has bought nothing yet
    buy(chain.bob, lattes=0)
    later = buy(chain.carol, lattes=0)
    assert [(b, level) for b, level, *_ in _rewards(app, later["id"])] == [(chain.bob.id, 1)]


def test_an_order_paid_before_the_sharers_own_first_payment_does_not_reward_them(app, client, chain, buy,
                                                                                  configure, shop):
    configure(sharer_policy="first_paid_order")
    bob_paid = buy(chain.bob, lattes=0)
    placed = place(client, chain.carol.headers, {"items": [{"sku_id": shop.croissant, "quantity": 1}],
                                                 "fulfilment": "pickup", "store_id": shop.store_id})
    with app.app_context():
        bob_first = db.session.get(ReferralNode, chain.bob.id).first_paid_at
        assert bob_first is not None, bob_paid
        # A payment recorded late (a reconciliation) that happened before Bob had paid anything.
        created = reward_order(order_id=placed.get_json()["order"]["id"], member_id=chain.carol.id,
                               amount_paid=CROISSANT_PRICE,
                               first_paid_order=True, paid_at=bob_first - timedelta(hours=1))
        db.session.rollback()
    assert created == []


def test_rewards_of_a_flagged_friend_stay_frozen_until_the_flag_is_cleared(app, client, chain, buy, committed,
                                                                            release_after):
    committed(lambda: db.session.execute(update(ReferralNode).where(ReferralNode.member_id == chain.carol.id)
                                         .values(flagged_at=utcnow(), flag_reason="same_device")))
    order = buy(chain.carol)
    assert all(status == "frozen" for *_, status, _ in _rewards(app, order["id"]))
    assert release_after(days=30) == 0
    mine = client.get("/api/v1/me/rewards", headers=chain.bob.headers).get_json()
    assert all(item["flagged"] for item in mine["rewards"]["items"])

    committed(lambda: db.session.execute(update(ReferralNode).where(ReferralNode.member_id == chain.carol.id)
                                         .values(flagged_at=None)))
    assert release_after(days=30) == 2
    assert {status for *_, status, _ in _rewards(app, order["id"])} == {"available"}


def test_the_job_makes_rewards_available_after_the_refund_window_points_into_the_points_ledger(
        app, client, chain, buy, release_after):
    buy(chain.carol)  # refund window: 7 days by default
    assert release_after(days=6) == 0
    assert release_after(days=7.01) == 2
    assert release_after(days=8) == 0  # nothing twice
    points = client.get("/api/v1/me/points", headers=chain.bob.headers).get_json()
    assert points["balance"] == 220
    assert [(e["reason"], e["delta"]) for e in points["ledger"]["items"]] == [("referral_reward", 80),
                                                                              ("referral_reward", 140)]
    mine = client.get("/api/v1/me/rewards?status=available", headers=chain.bob.headers).get_json()
    assert mine["totals"]["points"]["available"] == 220 and mine["rewards"]["total"] == 2


def test_the_job_credits_commission_to_the_commission_ledger(app, client, chain, buy, configure, release_after):
    configure(reward_kind="commission", percent_bp=[1000, 0])
    buy(chain.carol)
    assert release_after(days=8) == 2
    commission = client.get("/api/v1/me/rewards", headers=chain.bob.headers).get_json()["commission"]
    assert commission == {"balance": 440, "available": 440, "debt": 0, "frozen": 0, "withdrawn": 0}


def test_an_unbound_members_order_is_counted_but_rewards_nobody(app, client, login, buy):
    dave_login = login("dave:1")
    dave = Member(dave_login["member"]["id"], bearer(dave_login["token"]))
    order, later = buy(dave), buy(dave)
    assert _rewards(app, order["id"]) == _rewards(app, later["id"]) == []
    with app.app_context():
        node = db.session.get(ReferralNode, dave.id)
        first = db.session.get(OrderSnapshot, order["id"])
        assert (node.own_orders, node.own_gmv) == (2, 8800)
        assert node.first_paid_at == first.paid_at  # the first payment's, not the latest's
        assert first.chain == []


def test_a_paid_order_adds_to_the_counters_of_the_buyer_and_every_ancestor(app, chain, buy):
    buy(chain.carol)
    with app.app_context():
        assert tree.subtree_summary(chain.alice.id).gmv == 4400
        assert tree.subtree_summary(chain.bob.id).orders == 1
        assert tree.subtree_summary(chain.carol.id).own_gmv == 4400


def test_a_replayed_payment_signal_rewards_and_counts_once(app, chain, buy, committed):
    order = buy(chain.carol)
    before = _rewards(app, order["id"])

    def replay():
        return reward_order(order_id=order["id"], member_id=chain.carol.id, amount_paid=4400, first_paid_order=True,
                            paid_at=utcnow())

    assert committed(replay) == []
    assert _rewards(app, order["id"]) == before
    with app.app_context():
        assert tree.subtree_summary(chain.bob.id).orders == 1


def test_a_referred_friends_first_paid_order_sends_friend_first_purchase_once(app, chain, buy, login):
    sent = []

    def receiver(sender, **kw):
        sent.append(kw)

    events.friend_first_purchase.connect(receiver)
    try:
        first = buy(chain.carol)
        buy(chain.carol, lattes=0)  # a second order is not a first purchase
        dave = login("dave:1")
        buy(Member(dave["member"]["id"], bearer(dave["token"])), lattes=0)  # nobody referred Dave
        with app.app_context():  # replaying the first payment sends nothing again
            reward_order(order_id=first["id"], member_id=chain.carol.id, amount_paid=4400, first_paid_order=True,
                         paid_at=utcnow())
            db.session.rollback()
    finally:
        events.friend_first_purchase.disconnect(receiver)
    assert sent == [{"sharer_member_id": chain.bob.id, "friend_member_id": chain.carol.id, "order_id": first["id"]}]


def test_rewards_follow_the_chain_at_payment_not_a_later_rebind(app, chain, buy, committed, login):
    order = buy(chain.carol)
    erin = login("erin:1")["member"]["id"]

    def rebind():
        tree.ensure_node(erin)
        tree.bind(chain.carol.id, erin, share_id=None, now=utcnow())

    committed(rebind)
    assert {b for b, *_ in _rewards(app, order["id"])} == {chain.bob.id}
    with app.app_context():
        assert db.session.get(OrderSnapshot, order["id"]).parent_id == chain.bob.id


def test_my_rewards_shows_only_my_own(app, client, chain, buy):
    buy(chain.carol)
    assert client.get("/api/v1/me/rewards", headers=chain.carol.headers).get_json()["rewards"]["total"] == 0
    assert client.get("/api/v1/me/rewards", headers=chain.bob.headers).get_json()["rewards"]["total"] == 2


def test_my_rewards_needs_a_shopper(client, staff_token):
    from shop.auth import Role

    assert client.get("/api/v1/me/rewards").status_code == 401
    assert client.get("/api/v1/me/rewards", headers=staff_token(Role.ADMIN)).status_code == 403


def test_a_bad_status_filter_is_a_422(client, chain):
    response = client.get("/api/v1/me/rewards?status=bogus", headers=chain.bob.headers)
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"


def test_a_friends_later_orders_keep_rewarding_with_the_window_from_each_payment(app, chain, buy):
    first, second = buy(chain.carol, lattes=0), buy(chain.carol, lattes=0)
    with app.app_context():
        windows = [r.available_at - db.session.get(OrderSnapshot, r.order_id).paid_at
                   for r in db.session.scalars(select(Reward).order_by(Reward.id))]
        assert windows == [timedelta(days=7), timedelta(days=7)]
    assert len(_rewards(app, first["id"])) == len(_rewards(app, second["id"])) == 1


def _statements_to_reward(app, order_id: int, member_id: int) -> int:
    """How many SQL statements rewarding a paid order takes (rolled back: nothing stays)."""
    seen = []
    with app.app_context():
        engine = db.engine

        def count(*args):
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            created = reward_order(order_id=order_id, member_id=member_id, amount_paid=4400, first_paid_order=True,
                                   paid_at=utcnow())
            assert created, "the order rewarded nobody"
        finally:
            event.remove(engine, "before_cursor_execute", count)
            db.session.rollback()
    return len(seen)


def test_rewarding_an_order_takes_the_same_few_statements_at_depth_2_and_depth_30(app, client, login, shop,
                                                                                  configure, committed):
    configure(reward_levels=2, reward_kind="commission", percent_bp=[1000, 500])

    def deep_chain() -> list[int]:
        members = [MemberRow(openid=f"deep-{i}") for i in range(30)]
        db.session.add_all(members)
        db.session.flush()
        for above, member in zip([None, *members], members, strict=False):
            tree.ensure_node(member.id)
            if above is not None:
                tree.bind(member.id, above.id, share_id=None, now=utcnow())
        return [member.id for member in members]

    ids = committed(deep_chain)
    counts = []
    for parent in (ids[1], ids[-1]):  # the buyer at depth 2, then at depth 30
        buyer = login(f"buyer-under-{parent}:1")
        committed(lambda buyer=buyer, parent=parent: (tree.ensure_node(buyer["member"]["id"]),
                                                      tree.bind(buyer["member"]["id"], parent, share_id=None,
                                                                now=utcnow())))
        placed = place(client, bearer(buyer["token"]), {"items": [{"sku_id": shop.croissant, "quantity": 1}],
                                                         "fulfilment": "pickup", "store_id": shop.store_id})
        counts.append(_statements_to_reward(app, placed.get_json()["order"]["id"], buyer["member"]["id"]))
    assert counts[0] == counts[1] <= 12, counts
