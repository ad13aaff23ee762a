"""Rewards for friends' purchases: created frozen when an order is paid, reversed by refunds, released
by a job once the refund window has passed.

Decisions (the README and the OpenAPI descriptions say the same):

- Every paid order (bound buyer or not) gets an ``OrderSnapshot``: its primary key (the order id)
  makes the handler idempotent, and it records the chain above the buyer at that moment (as far as
  rewards go), so a later re-bind never moves a reward. The buyer's and every ancestor's order and
  GMV counters move with it; a refund takes the GMV back (``OrderSnapshot.refunded`` keeps it once).
- One reward per order line and paying level. Percent basis: ``floor(line.amount_payable x bp /
  10000)`` (rewards round down, to the whole fen or point); fixed per SKU: the per-unit amount of a
  listed SKU x the quantity. A zero amount creates no reward.
- A level pays only a sharer who earns under ``sharer_policy``: everyone; approved members
  (``approved_at`` set); members who had paid an order of their own before this one.
- Rewards start frozen; ``available_at`` is the payment time plus ``refund_window_days``. The job
  makes them available (commission credited to the commission ledger, where it first pays any
  debt; points credited through the points ledger) unless the buyer's node is flagged for review:
  those stay frozen until the flag is cleared. Points and commission alike become spendable only
  when available; frozen amounts are shown by ``/me/rewards``.
- A refund reverses cumulatively: by line when the refund names lines (the line's refunded share of
  what it cost), else by the order's refunded share of what was paid; a full refund reverses all.
  Reversed amounts round down (in the sharer's favour) until the whole is refunded. A frozen reward
  just shrinks; an available one is clawed back: commission through the commission ledger (a balance
  below zero is a debt netted against later rewards), points through the points ledger (what the
  member no longer has is owed, by its own rule).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import Row, func, select

from referral.policy.models import ReferralSettings, RewardBasis, RewardKind, SharerPolicy
from referral.policy.service import earns, load_settings
from referral.rewards import ledger as commission
from referral.rewards import queries
from referral.rewards.models import Reward, RewardStatus
from referral.tree import service as tree
from referral.tree.models import ReferralNode
from shop import events
from shop.database import utcnow
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event
from shop.members.models import Member
from shop.messages import notices
from shop.orders.models import Fulfilment, Order, OrderLine
from shop.pagination import paginate
from shop.points.service import claw_back, credit_reward

log = logging.getLogger(__name__)

BASIS_POINTS = 10_000
RELEASE_BATCH = 500


# --- order paid -------------------------------------------------------------------------------

def reward_order(*, order_id: int, member_id: int, amount_paid: int, first_paid_order: bool,
                 paid_at: datetime) -> list[int]:
    """Everything referral does when an order is paid; the ids of the rewards created. Idempotent.

    A handful of statements whatever the size of the tree: the node, the ancestors (an index range
    of depth rows), the snapshot, the order's lines, the rewards, and the counters.
    """
    node = queries.node_of(member_id)
    settings = load_settings()
    # All ancestors, read once: the counters need them all, the rewards the nearest reward_levels.
    above = tree.ancestors(member_id) if node.parent_id is not None else []
    chain = above[:settings.reward_levels]
    if not queries.insert_snapshot(order_id=order_id, member_id=member_id, node=node, chain=chain,
                                   amount_paid=amount_paid, first_order=first_paid_order, paid_at=paid_at):
        return []  # this payment was seen before (or names no order)
    lines = queries.order_lines(order_id) if chain else []
    # A till sale rewards the sharer (rewards, a friend's-purchase coupon) only if the policy says so.
    rewards_sharer = bool(lines) and (settings.reward_till_sales or lines[0].fulfilment != Fulfilment.IN_STORE)
    created = _create_rewards(order_id, member_id, chain if rewards_sharer else [], lines, settings, paid_at,
                              flagged=node.flagged_at is not None)
    tree.count_paid_order(member_id, orders=1, gmv=amount_paid, above=above,
                          first_paid_at=paid_at if node.first_paid_at is None else None)
    if first_paid_order and rewards_sharer:
        events.friend_first_purchase.send(sharer_member_id=node.parent_id, friend_member_id=member_id,
                                          order_id=order_id)
    return created


def _create_rewards(order_id: int, buyer_id: int, chain: list[int], order_lines: list[Row],
                    settings: ReferralSettings, paid_at: datetime, *, flagged: bool) -> list[int]:
    earners = _earners(chain, settings.sharer_policy, paid_at)
    if not earners:
        return []
    available_at = paid_at + timedelta(days=settings.refund_window_days)
    rows, frozen_by_member = [], {}
    for level, beneficiary in earners:
        for line in order_lines:
            amount = reward_amount(settings, level, line.sku_id, line.quantity, line.amount_payable)
            if amount <= 0:
                continue
            rows.append({"order_id": order_id, "order_line_id": line.id, "beneficiary_id": beneficiary,
                         "buyer_id": buyer_id, "level": level, "kind": settings.reward_kind, "amount": amount,
                         "reversed_amount": 0, "status": RewardStatus.FROZEN.value, "flagged": flagged,
                         "available_at": available_at, "created_at": paid_at})
            frozen_by_member[beneficiary] = frozen_by_member.get(beneficiary, 0) + amount
    if not rows:
        return []
    ids = queries.insert_rewards(rows)
    if settings.reward_kind == RewardKind.COMMISSION:
        commission.add_frozen(frozen_by_member, paid_at)
    return ids


def _earners(chain: list[int], policy: str, paid_at: datetime) -> list[tuple[int, int]]:
    """(level, member) of the chain who earn under the sharer policy."""
    if not chain:
        return []
    levels = list(enumerate(chain, start=1))
    if policy == SharerPolicy.EVERYONE:
        return levels
    found = queries.earning_figures(chain)
    return [(level, m) for level, m in levels if earns(policy, found.get(m), at=paid_at)]


def reward_amount(settings: ReferralSettings, level: int, sku_id: int, quantity: int, amount_payable: int) -> int:
    """What one line pays at one level (fen or points), rounded down."""
    if settings.reward_basis == RewardBasis.FIXED_PER_SKU:
        per_unit = (settings.fixed_per_sku or {}).get(str(sku_id))
        if not per_unit or len(per_unit) < level:
            return 0
        return max(int(per_unit[level - 1]), 0) * quantity
    rates = settings.percent_bp or []
    if len(rates) < level:
        return 0
    return max(amount_payable, 0) * max(int(rates[level - 1]), 0) // BASIS_POINTS


# --- order refunded ---------------------------------------------------------------------------

def reverse_for_refund(*, order_id: int, refund_id: int, refunded_total: int, refunded_share: Fraction,
                       line_shares: Mapping[int, Fraction], now: datetime | None = None) -> int:
    """Bring the order's reversals up to what its refunds so far call for; fen or points reversed now.

    The shares are ``order_refunded``'s (computed once, in shop.orders.refunds). Cumulative, so a
    replayed or late signal changes nothing twice.
    """
    now = now or utcnow()
    snapshot = queries.lock_snapshot(order_id)
    if snapshot is None:
        return 0  # paid before referral listened: nothing of it was counted or rewarded
    if refunded_total > snapshot.refunded:
        queries.set_refunded(order_id, refunded_total)
        tree.count_paid_order(snapshot.member_id, orders=0, gmv=-(refunded_total - snapshot.refunded))
    order_rewards = db.session.scalars(select(Reward).where(Reward.order_id == order_id).order_by(Reward.id)
                                       .with_for_update().execution_options(populate_existing=True)).all()
    if not order_rewards:
        return 0
    shares = _refunded_shares(refund_id, refunded_share, line_shares)
    total = 0
    for reward in order_rewards:
        share = shares.get(reward.order_line_id, shares[None])
        target = reward.amount if share >= 1 else reward.amount * share.numerator // share.denominator
        due = target - reward.reversed_amount
        if due > 0:
            _reverse(reward, due, refund_id, now)
            total += due
    return total


def _refunded_shares(refund_id: int, whole: Fraction,
                     line_shares: Mapping[int, Fraction]) -> dict[int | None, Fraction]:
    """The refunded share of each line (by line ids) and of the whole order (key None).

    A refund that names no lines is a share of the whole order: every reward reverses by it.
    """
    if whole >= 1 or not queries.refund_names_lines(refund_id):
        return {None: whole}
    return {None: whole, **line_shares}


def _reverse(reward: Reward, due: int, refund_id: int, now: datetime) -> None:
    if reward.status == RewardStatus.FROZEN:
        if reward.kind == RewardKind.COMMISSION:
            commission.lock(reward.beneficiary_id, now)
            commission.move_figures(reward.beneficiary_id, now=now, frozen=-due)
    elif reward.kind == RewardKind.COMMISSION:
        commission.lock(reward.beneficiary_id, now)
        commission.post(reward.beneficiary_id, -due, "reversal", f"reversal:{reward.id}:{refund_id}", now=now,
                        reward_id=reward.id)
    else:
        claw_back(member_id=reward.beneficiary_id, key=f"{reward.id}:{refund_id}", points=due,
                  order_id=reward.order_id, at=now)
    reward.reversed_amount += due
    if reward.reversed_amount >= reward.amount:
        reward.status = RewardStatus.REVERSED.value
    db.session.flush()


# --- the release job --------------------------------------------------------------------------

def release_due_rewards(now: datetime | None = None, *, limit: int = RELEASE_BATCH) -> int:
    """Make up to ``limit`` frozen rewards whose refund window has passed available (not those of
    flagged buyers); how many. Commission goes to the commission ledger, points to the points ledger."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Reward).join(ReferralNode, ReferralNode.member_id == Reward.buyer_id)
        .where(Reward.status == RewardStatus.FROZEN.value, Reward.available_at <= now,
               ReferralNode.flagged_at.is_(None))
        .order_by(Reward.id).limit(limit).with_for_update(of=Reward, skip_locked=True)
        .execution_options(populate_existing=True)).all()
    for reward in due:
        release(reward, now)
    _announce(due, now)
    return len(due)


def _announce(released: list[Reward], now: datetime) -> None:
    """One message per beneficiary, order and kind of what became available (an order's lines release together)."""
    totals: dict[tuple[int, int, str], int] = defaultdict(int)
    for reward in released:
        if reward.status == RewardStatus.AVAILABLE:
            totals[(reward.beneficiary_id, reward.order_id, reward.kind)] += reward.amount - reward.reversed_amount
    for (member_id, order_id, kind), amount in totals.items():
        notices.reward_released(member_id=member_id, order_id=order_id, kind=kind, amount=amount, at=now)


def release(reward: Reward, now: datetime) -> None:
    """One frozen reward becomes available: what is left of it is credited."""
    left = reward.amount - reward.reversed_amount
    if reward.kind == RewardKind.COMMISSION:
        commission.lock(reward.beneficiary_id, now)
        commission.post(reward.beneficiary_id, left, "reward", f"reward:{reward.id}", now=now, reward_id=reward.id,
                        frozen_delta=-left)
    elif left > 0:
        credit_reward(member_id=reward.beneficiary_id, reward_id=reward.id, points=left, order_id=reward.order_id,
                      at=now)
    reward.status = RewardStatus.AVAILABLE.value if left > 0 else RewardStatus.REVERSED.value
    reward.flagged = False
    reward.settled_at = now
    if left > 0:
        record_event(reward.beneficiary_id, JourneyKind.REWARD_RELEASED, occurred_at=now, reward_id=reward.id,
                     order_id=reward.order_id, reward_kind=reward.kind, amount=left)
    db.session.flush()


def release_sweep(now: datetime) -> dict[str, int]:
    """Release every due reward, committing each batch: the periodic job and `flask referral release-rewards`."""
    total = 0
    while released := release_due_rewards(now):
        db.session.commit()
        total += released
        if released < RELEASE_BATCH:
            break
    return {"released": total}


# --- reading ----------------------------------------------------------------------------------

def rewards_overview(member_id: int, *, status: str | None, page: int, page_size: int) -> dict[str, Any]:
    """The member's rewards: totals per kind and status, the commission account, and a page of
    rewards (newest first) with the orders and lines behind them. Read only."""
    totals = {kind.value: {"frozen": 0, "available": 0, "reversed": 0, "rewards": 0} for kind in RewardKind}
    for row in db.session.execute(
            select(Reward.kind, Reward.status, func.count(), func.sum(Reward.amount), func.sum(Reward.reversed_amount))
            .where(Reward.beneficiary_id == member_id).group_by(Reward.kind, Reward.status)):
        kind = totals.setdefault(row[0], {"frozen": 0, "available": 0, "reversed": 0, "rewards": 0})
        count, amount, reversed_ = row[2], int(row[3] or 0), int(row[4] or 0)
        kind["rewards"] += count
        kind["reversed"] += reversed_
        if row[1] in (RewardStatus.FROZEN, RewardStatus.AVAILABLE):
            kind[row[1]] += amount - reversed_
    account = commission.balance_of(member_id)
    statement = (select(Reward, Order.number, Order.paid_at, OrderLine.title, OrderLine.quantity, Member.nickname)
                 .join(Order, Order.id == Reward.order_id).join(OrderLine, OrderLine.id == Reward.order_line_id)
                 .join(Member, Member.id == Reward.buyer_id)
                 .where(Reward.beneficiary_id == member_id).order_by(Reward.id.desc()))
    if status:
        statement = statement.where(Reward.status == status)
    found = paginate(statement, page=page, page_size=page_size, rows=True)
    found["items"] = [_reward_item(*row) for row in found["items"]]
    return {"totals": totals, "commission": {"balance": account.balance, "available": account.available,
                                             "debt": account.debt, "frozen": account.frozen,
                                             "withdrawn": account.withdrawn},
            "rewards": found}


def _reward_item(reward: Reward, number: str, paid_at: datetime | None, title: str, quantity: int,
                 nickname: str | None) -> dict[str, Any]:
    return {"id": reward.id, "kind": reward.kind, "level": reward.level, "amount": reward.amount,
            "reversed_amount": reward.reversed_amount, "net": reward.amount - reward.reversed_amount,
            "status": reward.status, "flagged": reward.flagged, "available_at": reward.available_at,
            "settled_at": reward.settled_at, "created_at": reward.created_at,
            "order": {"id": reward.order_id, "number": number, "paid_at": paid_at},
            "line": {"id": reward.order_line_id, "title": title, "quantity": quantity},
            "friend": {"nickname": nickname if reward.level == 1 else None}}  # level 2: a friend's friend
