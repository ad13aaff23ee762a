"""A referral chain to reward: Alice brought Bob, Bob brought Carol; Carol buys at the shop.

Binding goes straight through ``tree.bind`` (the HTTP binding is built and tested elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from referral.policy.service import load_settings
from referral.rewards.service import release_sweep
from referral.tree import service as tree
from shop.database import utcnow
from shop.extensions import db
from tests.conftest import bearer
from tests.orders.conftest import place, prepay_id_of, shop, stub_pay  # noqa: F401  (the shop fixture)

LATTE_PRICE, CROISSANT_PRICE = 2800, 1600


@dataclass
class Member:
    id: int
    headers: dict


@dataclass
class Chain:
    alice: Member
    bob: Member
    carol: Member


@pytest.fixture
def chain(app, login) -> Chain:
    members = {}
    for name in ("alice", "bob", "carol"):
        body = login(f"{name}:1")
        members[name] = Member(body["member"]["id"], bearer(body["token"]))
    with app.app_context():
        for member in members.values():
            tree.ensure_node(member.id)
        now = utcnow()
        tree.bind(members["bob"].id, members["alice"].id, share_id=None, now=now)
        tree.bind(members["carol"].id, members["bob"].id, share_id=None, now=now)
        db.session.commit()
    return Chain(**members)


@pytest.fixture
def configure(committed):
    """Change the referral policy: ``configure(reward_levels=2, reward_kind="commission", ...)``."""

    def change(**fields) -> None:
        def work() -> None:
            settings = load_settings()
            for name, value in fields.items():
                setattr(settings, name, value)
        committed(work)

    return change


@pytest.fixture
def buy(client, stub, shop, live_server):  # noqa: F811
    """``buy(member, lattes=1, croissants=1)``: the member orders for pickup and pays in WeChat; the order."""

    def purchase(member: Member, lattes: int = 1, croissants: int = 1) -> dict:
        items = [{"sku_id": sku, "quantity": quantity}
                 for sku, quantity in ((shop.latte, lattes), (shop.croissant, croissants)) if quantity]
        placed = place(client, member.headers, {"items": items, "fulfilment": "pickup", "store_id": shop.store_id})
        assert placed.status_code == 201, placed.get_json()
        stub_pay(stub, prepay_id_of(placed.get_json()))
        order = client.get(f"/api/v1/orders/{placed.get_json()['order']['id']}", headers=member.headers).get_json()
        assert order["status"] == "ready_for_pickup", order
        return order

    return purchase


@pytest.fixture
def release_after(committed):
    """Run the release job as if ``days`` had passed; how many rewards it released."""

    def run(days: float) -> int:
        return committed(lambda: release_sweep(utcnow() + timedelta(days=days)))["released"]

    return run


def line_of(order: dict, sku_id: int) -> dict:
    return next(line for line in order["lines"] if line["sku_id"] == sku_id)
