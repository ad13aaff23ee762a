"""Whether a referred friend's till sale rewards the sharer is the referral policy's `reward_till_sales`
(off by default); the friend's purchase counts in the sharer's downline either way."""

from __future__ import annotations

from sqlalchemy import select

from referral.rewards.models import Reward
from referral.tree import service as tree
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from tests.till.conftest import code_of, sell


def sharer_and_friend(app, login) -> tuple[int, int]:
    """Sharer brought Friend (bound straight through the tree: binding over HTTP is tested in referral)."""
    sharer, friend = (login(f"{name}:1")["member"]["id"] for name in ("sharer", "friend"))
    with app.app_context():
        for member_id in (sharer, friend):
            tree.ensure_node(member_id)
        tree.bind(friend, sharer, share_id=None, now=utcnow())
        db.session.commit()
    return sharer, friend


def rewards_of(app, order_id: int) -> list[tuple[int, int]]:
    with app.app_context():
        return [(r.beneficiary_id, r.amount) for r in db.session.scalars(select(Reward).where(Reward.order_id == order_id))]


def set_till_rewards(client, admin: dict, on: bool) -> None:
    current = client.get("/api/v1/admin/referral/settings", headers=admin).get_json()
    assert current["reward_till_sales"] is False or on is False
    changed = client.put("/api/v1/admin/referral/settings", headers=admin, json={"reward_till_sales": on})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["reward_till_sales"] is on


def test_by_default_a_friends_till_sale_rewards_nobody(app, client, login, clerk):
    sharer, friend = sharer_and_friend(app, login)
    sale = sell(client, clerk, code_of(app, friend), amount=5000).get_json()
    assert rewards_of(app, sale["order"]["id"]) == []


def test_with_the_policy_on_a_friends_till_sale_rewards_the_sharer_like_an_online_order(
        app, client, login, clerk, staff_token):
    sharer, friend = sharer_and_friend(app, login)
    set_till_rewards(client, staff_token(Role.ADMIN), True)
    sale = sell(client, clerk, code_of(app, friend), amount=5000).get_json()
    assert rewards_of(app, sale["order"]["id"]) == [(sharer, 250)]  # 5 % of what was paid, in points
    voided = client.post(f"/api/v1/staff/sales/{sale['id']}/void", headers=clerk)
    assert voided.status_code == 200
    with app.app_context():
        reward = db.session.scalar(select(Reward).where(Reward.order_id == sale["order"]["id"]))
        assert reward.reversed_amount == reward.amount  # a void takes the reward back, as a refund does
