"""The demo referral tree: a few dozen members over four levels, with shares, opens and paid orders."""

from __future__ import annotations

from sqlalchemy import func, select

from referral.demo import seed_referral_demo
from referral.rewards.models import OrderSnapshot
from referral.sharing.models import Share, ShareOpen
from referral.tree import service as tree
from referral.tree.models import BindHistory, ReferralNode
from shop.demo import seed_demo
from shop.extensions import db
from shop.orders.models import Order
from tests.conftest import bearer


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_demo_seeds_a_tree_of_four_levels_with_orders_once(app, client, login):
    with app.app_context():
        seed_demo("demo-password")
        assert seed_referral_demo(), "the first run says what it created"
        db.session.commit()
        counts = {model: _count(model) for model in (ReferralNode, Share, ShareOpen, BindHistory, OrderSnapshot)}
        root = db.session.scalar(select(Share.sharer_id).where(Share.scene == "r.demoDora01"))
        summary = tree.subtree_summary(root)
        assert (summary.size, summary.levels, summary.depth) == (34, 4, 0)
        assert counts[BindHistory] == 34 and counts[ShareOpen] > 34 and counts[Share] >= 4
        paid = db.session.execute(select(func.count(), func.sum(Order.amount_paid))
                                  .where(Order.paid_at.is_not(None))).one()
        assert paid[0] == counts[OrderSnapshot] > 10
        assert summary.orders + summary.own_orders == paid[0] and summary.gmv + summary.own_gmv == paid[1]

        assert seed_referral_demo() == []  # idempotent
        db.session.commit()
        assert {model: _count(model) for model in counts} == counts

    body = client.get("/api/v1/me/referrals", headers=bearer(login("dora:1")["token"])).get_json()
    assert body["member_id"] == root and body["subtree"]["members"] == 34
    assert body["levels"][0]["members"] + body["levels"][1]["members"] == 13
