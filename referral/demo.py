"""Demo referral tree for `python app.py` (never in production): Dora's tree of 35 members over four
levels below her, with shares, opens and paid orders spread over the last 30 days.

Idempotent (nothing happens once Dora's first share exists) and deterministic. It stands on the shop
demo's catalog. Members arrive by opening a share (``sharing.binding.open_share``, as a login with
its scene does), which records the open, binds them and keeps their history; orders go through the
real checkout (``create_order``, delivery) and payment (``mark_paid``), so ``order_paid`` reaches
every handler wired by app.py and referral's ``init_app``: the referral rewards handler snapshots
the chain, counts the order up the tree and creates the frozen rewards.

Every demo member can log in through the WeChat stub with the code ``<login>:1`` (``dora:1``,
``demo07:1``): their unionid is the stub's for that name.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from referral.sharing.binding import Client, open_share
from referral.sharing.models import Share
from referral.tree import service as tree
from shop.catalog.models import Product, Sku
from shop.database import utcnow
from shop.extensions import db
from shop.members.models import Member
from shop.orders.checkout import Basket, create_order
from shop.orders.payment import mark_paid
from shop.wechat.stub.state import StubState

ROOT_LOGIN = "dora"
ROOT_SCENE = "r.demoDora01"  # shares' scene format: a newcomer logging in with it is bound under Dora
LEVEL_SIZES = (4, 9, 13, 8)  # members at levels 1-4 below Dora: 34, and Dora makes 35
CAMPAIGNS = ("autumn-latte", "mooncake-gift", None)
NICKNAMES = ("Dora", "Li Wei", "Wang Fang", "Zhang Min", "Liu Yang", "Chen Jing", "Yang Lei", "Zhao Li",
             "Huang Tao", "Zhou Na", "Wu Qiang", "Xu Hui", "Sun Yan", "Ma Chao", "Zhu Lin", "Hu Bo", "Guo Mei",
             "He Jun", "Gao Xin", "Lin Hong", "Luo Ping", "Zheng Kai", "Liang Qing", "Xie Rui", "Song Jie",
             "Tang Yu", "Han Xue", "Feng Yi", "Deng Hao", "Cao Lan", "Peng Fei", "Zeng Ling", "Xiao Ming",
             "Tian Ye", "Dong Mei")
ADDRESS = {"name": "Demo", "phone": "13800138000", "region": "Shanghai Huangpu", "detail": "1 People's Square"}
DAYS_BACK = 30


def seed_referral_demo(now: datetime | None = None) -> list[str]:
    """Seed the demo tree on a database with the shop demo's catalog; what was created, to print."""
    if db.session.scalar(select(Share.id).where(Share.scene == ROOT_SCENE)) is not None:
        return []
    skus = list(db.session.scalars(select(Sku.id).join(Product, Product.id == Sku.product_id)
                                   .where(Product.status == "on_sale", Sku.active.is_(True))
                                   .order_by(Sku.id).limit(12)))
    if not skus:
        return []  # no catalog (the shop demo did not run): nothing to buy
    now = now or utcnow()
    rng = random.Random(20261123)  # noqa: S311 - seeded on purpose: the same demo on every fresh start
    start = now - timedelta(days=DAYS_BACK)
    root = _member(ROOT_LOGIN, NICKNAMES[0], start - timedelta(days=60))
    arrived, shares, levels = {root: start - timedelta(days=60)}, {}, [[root]]
    for depth, size in enumerate(LEVEL_SIZES, start=1):
        # Most members bring no one, a few bring several: parents drawn with uneven weights; each
        # level arrives in its own week, so everyone is bound after the member who brought them.
        parents, level = levels[-1], []
        weights = [rng.choice((0.1, 0.1, 1, 3, 6)) for _ in parents]
        for _ in range(size):
            parent = rng.choices(parents, weights=weights)[0]
            when = start + timedelta(days=7 * (depth - 1) + rng.uniform(0.1, 6.9))
            if parent not in shares:
                shares[parent] = _share(parent, rng, max(arrived[parent], when - timedelta(days=2)),
                                        first=parent == root)
            login = f"demo{len(arrived):02d}"
            member = _member(login, NICKNAMES[len(arrived) % len(NICKNAMES)], when)
            _arrive(member, shares[parent], when)
            arrived[member] = when
            level.append(member)
        levels.append(level)
    _other_opens(list(arrived), list(shares.values()), rng, now)
    orders = _buy({m: at for m, at in arrived.items() if rng.random() < 0.6}, skus, rng, now)
    return [f"referral tree: {len(arrived)} members, {len(LEVEL_SIZES)} levels below Dora (log in as 'dora:1'; "
            f"her downline demo01:1 to demo{len(arrived) - 1:02d}:1), {len(shares)} shares, {orders} paid "
            f"orders (rewards by the order_paid handler)"]


def _member(login: str, nickname: str, joined: datetime) -> int:
    """A demo member the stub knows by ``login`` (the one already there, if they logged in before)."""
    unionid = StubState({}).unionid_for(login)
    member = db.session.scalar(select(Member).where(Member.unionid == unionid))
    if member is None:
        member = Member(openid=f"demo-referral-{login}", unionid=unionid, nickname=nickname, created_at=joined)
        db.session.add(member)
        db.session.flush()
    tree.ensure_node(member.id)
    return member.id


def _share(sharer: int, rng: random.Random, created: datetime, *, first: bool) -> str:
    """A share with a scene of its own, fixed (not drawn like create_share's) so the demo is deterministic."""
    share = Share(scene=ROOT_SCENE if first else f"r.demo{sharer:06d}", sharer_id=sharer,
                  campaign=rng.choice(CAMPAIGNS), channel=rng.choice(("chat", "moments", "poster")),
                  created_at=created)
    db.session.add(share)
    db.session.flush()
    return share.scene


def _arrive(member: int, scene: str, when: datetime) -> None:
    """A new member opens the share and is bound under the sharer."""
    open_share(member, scene, client=Client(None, None), now=when, new_member=True)


def _other_opens(everyone: list[int], scenes: list[str], rng: random.Random, now: datetime) -> None:
    """Members who were already bound open other shares too (opens and unique openers differ from binds)."""
    for _ in range(len(everyone)):
        open_share(rng.choice(everyone), rng.choice(scenes), client=Client(None, None),
                   now=now - timedelta(days=rng.uniform(0, 5)))


def _buy(buyers: dict[int, datetime], skus: list[int], rng: random.Random, now: datetime) -> int:
    """Paid delivery orders through checkout and payment; how many."""
    count = 0
    for buyer, arrived in buyers.items():
        for n in range(rng.choice((1, 1, 2, 3))):
            paid_at = arrived + (now - arrived) * rng.uniform(0.05, 0.95)
            items = [{"sku_id": sku, "quantity": rng.randint(1, 2)} for sku in rng.sample(skus, rng.randint(1, 2))]
            basket = Basket.from_body(buyer, {"items": items, "fulfilment": "delivery", "address": ADDRESS})
            order, _ = create_order(basket, idempotency_key=f"demo-referral-{n}", now=paid_at)
            mark_paid(order, amount=order.amount_payable, transaction_id=f"demo-{order.number}", at=paid_at,
                      source="demo")
            count += 1
    return count

