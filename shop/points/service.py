"""What orders, handlers, referral, the API and the job call: quote, spend, return, earn, reverse,
credit and claw back referral rewards, adjust, expire.

Arguments are keywords and plain values (order and refund ids are just integers here: points keep
no foreign key to orders). Nothing here commits: an order and its points change commit together or
not at all. Every write is idempotent on its ledger key (source, source_id, reason).

Decisions (the README and the OpenAPI descriptions say the same):

- Spending takes the lots that expire first. A cancel or refund gives back exactly the lots it
  took, each with its original expiry, but never less than ``RETURN_GRACE`` from the return.
- A partial refund reverses proportionally, cumulatively: after refunds totalling R of P paid,
  ``floor(earned * R / P)`` has been taken back and ``ceil(spent * R / P)`` given back (both round
  in the shopper's favour), so refunds adding up to the whole reverse exactly everything.
- Taking back earned points comes first from that order's own lot; the part of that lot that has
  already expired is waived (the shopper lost it once); then from the other lots; what the member
  no longer has becomes a debt (``owed``), never a negative balance. Every later credit pays the
  debt first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import case, func, select

from shop.config import MAX_AMOUNT_FEN
from shop.database import MAX_ID, utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.idempotency import IdempotencyError
from shop.members.errors import MemberError
from shop.members.models import Member
from shop.pagination import paginate
from shop.points import ledger
from shop.points.errors import PointsError
from shop.points.ledger import lock_account
from shop.points.models import (
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsLotUse,
    PointsReason,
    PointsSource,
)
from shop.points.rules import rules
from shop.points.tiers import earning_multiplier, tier_status

RETURN_GRACE = timedelta(days=30)  # returned points stay usable at least this long
MAX_POINTS = 2_000_000_000  # one entry's points (an INTEGER column)
MAX_ADJUSTMENT = 10_000_000
_Order, _Refund, _Referral = PointsSource.ORDER, PointsSource.REFUND, PointsSource.REFERRAL
_RETURNS = (PointsReason.CANCEL_RETURN.value, PointsReason.REFUND_RETURN.value)


# --- checkout ---------------------------------------------------------------------------------

def points_quote(*, member_id: int, requested_points: int, remaining_fen: int) -> tuple[int, int]:
    """(points_used, discount_fen) for up to ``requested_points`` on ``remaining_fen`` left to pay.

    Within the balance and ``POINTS_MAX_DEDUCTION_PERCENT`` of ``remaining_fen``; only the fewest
    points that buy the discount are used. Read only.
    """
    _check_int("requested_points", requested_points, 0, MAX_POINTS)
    _check_int("remaining_fen", remaining_fen, -MAX_AMOUNT_FEN, MAX_AMOUNT_FEN)
    if requested_points == 0 or remaining_fen <= 0:
        return 0, 0
    return rules().fit(min(requested_points, ledger.available(member_id, utcnow())), remaining_fen)


@dataclass(frozen=True)
class PointsOffer:
    """What a shopper could use on ``remaining_fen``: for the checkout's suggestion."""

    balance: int
    max_usable: int
    discount_for_max: int


def points_offer(*, member_id: int, remaining_fen: int) -> PointsOffer:
    balance = ledger.available(member_id, utcnow())
    usable, discount = rules().fit(balance, remaining_fen) if remaining_fen > 0 else (0, 0)
    return PointsOffer(balance=balance, max_usable=usable, discount_for_max=discount)


def spend_for_order(*, member_id: int, order_id: int, points: int) -> PointsEntry:
    """Spend ``points`` for an order being created; 409 ``points_insufficient`` if the balance moved.

    Idempotent per order: a second call answers the first spend (409 ``points_already_spent`` when
    it asks for a different number of points).
    """
    _check_int("order_id", order_id, 1, MAX_ID)
    _check_int("points", points, 1, MAX_POINTS)
    lock_account(member_id)
    done = ledger.find_entry(_Order, order_id, PointsReason.SPEND)
    if done is not None:
        if done.member_id != member_id or done.points != points:
            raise AppError(PointsError.POINTS_ALREADY_SPENT,
                           f"Order {order_id} already spent {done.points} points.")
        return done
    now = utcnow()
    ledger.expire_member_due(member_id, now)
    entry = ledger.debit(member_id, PointsReason.SPEND, _Order, order_id, take=points, now=now, order_id=order_id)
    if entry is None:
        balance = ledger.available(member_id, now)
        raise AppError(PointsError.POINTS_INSUFFICIENT,
                       f"You have {balance} points now, fewer than the {points} this order wants to use.")
    return entry


def return_for_order(*, order_id: int) -> PointsEntry | None:
    """A cancelled order gets back everything it spent (and has not had back); idempotent."""
    _check_int("order_id", order_id, 1, MAX_ID)
    spend = ledger.find_entry(_Order, order_id, PointsReason.SPEND)
    if spend is None:
        return None
    lock_account(spend.member_id)
    done = ledger.find_entry(_Order, order_id, PointsReason.CANCEL_RETURN)
    if done is not None:
        return done
    left = spend.points - _returned_so_far(order_id)
    if left <= 0:
        return None
    return _give_back(spend, left, PointsReason.CANCEL_RETURN, _Order, order_id, utcnow())


# --- orders paid and refunded -----------------------------------------------------------------

def earn_for_order(*, member_id: int, order_id: int, amount_paid_fen: int, at: datetime) -> PointsEntry | None:
    """Earn for a paid order at the member's tier as of ``at``; None when it earns nothing. Idempotent.

    ``floor(amount_paid_fen * POINTS_PER_YUAN_EARNED * multiplier / 100)`` points, in a lot that
    expires ``POINTS_EXPIRE_MONTHS`` calendar months after ``at``.
    """
    _check_int("order_id", order_id, 1, MAX_ID)
    _check_int("amount_paid_fen", amount_paid_fen, 0, MAX_AMOUNT_FEN)
    _check_time("at", at)
    account = lock_account(member_id)
    if ledger.entry_exists(_Order, order_id, PointsReason.EARN):  # the signal again: answer the first earn
        return ledger.find_entry(_Order, order_id, PointsReason.EARN)
    the_rules = rules()
    points = the_rules.earned_points(amount_paid_fen, earning_multiplier(member_id, at, earned_ever=account.earned))
    if points <= 0:
        return None
    if points > MAX_POINTS:
        raise ValueError(f"an order cannot earn {points} points")
    return ledger.credit(member_id, PointsReason.EARN, _Order, order_id, order_id=order_id, created_at=at,
                         lots=[(points, the_rules.expires_at(at))])


def reverse_for_refund(*, order_id: int, refund_id: int | str,
                       refunded_share: Fraction) -> tuple[PointsEntry | None, PointsEntry | None]:
    """A refund: give back spent points and take back earned ones in proportion; idempotent per refund.

    Cumulative, from ``refunded_share`` (the part of what the order paid that all its refunds so far
    returned, as ``order_refunded`` carries it): ``ceil(spent * share)`` given back and
    ``floor(earned * share)`` taken back in all; a share of 1 reverses everything. Answers the
    entries (returned, reversed), None for a side with nothing to do.
    """
    _check_int("order_id", order_id, 1, MAX_ID)
    if not isinstance(refunded_share, Fraction) or not 0 <= refunded_share <= 1:
        raise ValueError(f"refunded_share is a Fraction from 0 to 1, not {refunded_share!r}")
    if not isinstance(refund_id, int | str) or isinstance(refund_id, bool) or not 0 < len(str(refund_id)) <= 64:
        raise ValueError(f"refund_id must be an id or a reference of 1 to 64 characters, not {refund_id!r}")
    earn = ledger.find_entry(_Order, order_id, PointsReason.EARN)
    spend = ledger.find_entry(_Order, order_id, PointsReason.SPEND)
    if earn is None and spend is None:
        return None, None
    lock_account((earn or spend).member_id)
    now = utcnow()

    returned = ledger.find_entry(_Refund, refund_id, PointsReason.REFUND_RETURN)
    if returned is None and spend is not None:
        due = -(-spend.points * refunded_share.numerator // refunded_share.denominator) - _returned_so_far(order_id)
        if due > 0:
            returned = _give_back(spend, due, PointsReason.REFUND_RETURN, _Refund, refund_id, now)

    reversed_ = ledger.find_entry(_Refund, refund_id, PointsReason.REFUND_REVERSE)
    if reversed_ is None and earn is not None:
        due = earn.points * refunded_share.numerator // refunded_share.denominator - _reversed_so_far(order_id)
        if due > 0:
            reversed_ = _take_back(earn, due, refund_id, now)
    return returned, reversed_


def _returned_so_far(order_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
        PointsEntry.order_id == order_id, PointsEntry.reason.in_(_RETURNS)))


def _reversed_so_far(order_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
        PointsEntry.order_id == order_id, PointsEntry.reason == PointsReason.REFUND_REVERSE.value))


def _give_back(spend: PointsEntry, points: int, reason: PointsReason, source: PointsSource, source_id: object,
               now: datetime) -> PointsEntry:
    """Credit back ``points`` of a spend: from the lots it took that expire last, with their dates."""
    uses = db.session.execute(
        select(PointsLotUse, PointsLot.expires_at).join(PointsLot, PointsLot.id == PointsLotUse.lot_id)
        .where(PointsLotUse.entry_id == spend.id)
        .order_by(PointsLot.expires_at.desc(), PointsLot.id.desc())
        .execution_options(populate_existing=True)).all()
    lots, left = [], points
    for use, expires_at in uses:
        back = min(use.points - use.returned, left)
        if back <= 0:
            continue
        use.returned += back
        lots.append((back, max(expires_at, now + RETURN_GRACE)))
        left -= back
        if not left:
            break
    if left:
        raise ledger.LedgerInconsistent(f"order {spend.order_id}: {left} points to return were never spent")
    return ledger.credit(spend.member_id, reason, source, source_id, lots=lots, order_id=spend.order_id,
                         created_at=now)


def _take_back(earn: PointsEntry, points: int, refund_id: object, now: datetime) -> PointsEntry:
    """Take back ``points`` of an earn: its own lot first, waive what of it expired, then other lots, then owe."""
    member_id = earn.member_id
    ledger.expire_member_due(member_id, now)
    balance = ledger.available(member_id, now)
    lot = db.session.scalar(select(PointsLot).where(PointsLot.entry_id == earn.id)
                            .execution_options(populate_existing=True))
    from_lot = min(points, lot.remaining)
    expired = db.session.scalar(
        select(func.coalesce(func.sum(PointsLotUse.points), 0)).join(PointsEntry, PointsEntry.id == PointsLotUse.entry_id)
        .where(PointsLotUse.lot_id == lot.id, PointsEntry.reason == PointsReason.EXPIRE.value))
    waived_before = db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points + PointsEntry.delta - PointsEntry.owed_delta), 0))
        .where(PointsEntry.order_id == earn.order_id, PointsEntry.reason == PointsReason.REFUND_REVERSE.value))
    waived = min(points - from_lot, max(expired - waived_before, 0))
    rest = points - from_lot - waived
    from_others = min(rest, balance - from_lot)
    entry = ledger.debit(member_id, PointsReason.REFUND_REVERSE, _Refund, refund_id, take=from_lot + from_others,
                         points=points, owed_delta=rest - from_others, now=now, order_id=earn.order_id,
                         first_lot_id=lot.id)
    if entry is None:
        raise ledger.LedgerInconsistent(f"member {member_id}: the balance moved while locked")
    return entry


# --- referral rewards -------------------------------------------------------------------------

def credit_reward(*, member_id: int, reward_id: int, points: int, order_id: int | None, at: datetime) -> PointsEntry:
    """A referral reward made available: ``points`` credited in a lot that expires as earned points do.

    Once per reward: a second call answers the first entry. What the member owes is paid first.
    """
    _check_int("reward_id", reward_id, 1, MAX_ID)
    _check_int("points", points, 1, MAX_POINTS)
    _check_time("at", at)
    lock_account(member_id)
    done = ledger.find_entry(_Referral, reward_id, PointsReason.REFERRAL_REWARD)
    if done is not None:
        return done
    return ledger.credit(member_id, PointsReason.REFERRAL_REWARD, _Referral, reward_id,
                         lots=[(points, rules().expires_at(at))], order_id=order_id, created_at=at)


def claw_back(*, member_id: int, key: str, points: int, order_id: int | None, at: datetime) -> PointsEntry:
    """Take back ``points`` of a referral reward (a refund reversed it): what the member has, and the
    rest is owed, paid by their next credits. Once per ``key``: a second call answers the first entry.
    """
    _check_int("points", points, 1, MAX_POINTS)
    _check_time("at", at)
    if not isinstance(key, str) or not 0 < len(key) <= 64:
        raise ValueError(f"a claw-back key has 1 to 64 characters, not {key!r}")
    lock_account(member_id)
    done = ledger.find_entry(_Referral, key, PointsReason.REFERRAL_REVERSE)
    if done is not None:
        return done
    ledger.expire_member_due(member_id, at)
    take = min(points, ledger.available(member_id, at))
    entry = ledger.debit(member_id, PointsReason.REFERRAL_REVERSE, _Referral, key, take=take, points=points,
                         owed_delta=points - take, now=at, order_id=order_id)
    if entry is None:
        raise ledger.LedgerInconsistent(f"member {member_id}: the balance moved while locked")
    return entry


# --- admin and the job ------------------------------------------------------------------------

def adjust_points(*, member_id: int, delta: int, reason: str, actor_staff_id: int | None,
                  key: str | None = None) -> PointsEntry:
    """An admin's correction with a reason (shown to the member); 409 ``points_insufficient`` below zero.

    Added points expire like earned ones. ``key`` (an Idempotency-Key) makes a retry answer the
    first adjustment; the same key for a different adjustment is 422 ``idempotency_key_reused``.
    """
    _check_int("delta", delta, -MAX_ADJUSTMENT, MAX_ADJUSTMENT)
    if delta == 0:
        raise ValueError("an adjustment changes the balance")
    if not isinstance(reason, str) or not 0 < len(reason.strip()) <= 255:
        raise ValueError("an adjustment has a reason of 1 to 255 characters")
    if key is not None and not 0 < len(key) <= 64:
        raise ValueError("an idempotency key has 1 to 64 characters")
    reason = reason.strip()
    lock_account(member_id)
    source_id = key or uuid.uuid4().hex
    done = ledger.find_entry(PointsSource.ADMIN, source_id, PointsReason.ADJUST)
    if done is not None:
        if (done.member_id, done.delta, done.note) != (member_id, delta, reason):
            raise AppError(IdempotencyError.KEY_REUSED,
                           "This Idempotency-Key was used for a different adjustment.")
        return done
    now = utcnow()
    common: dict[str, Any] = {"note": reason, "actor_staff_id": actor_staff_id}
    if delta > 0:
        return ledger.credit(member_id, PointsReason.ADJUST, PointsSource.ADMIN, source_id, created_at=now,
                             lots=[(delta, rules().expires_at(now))], **common)
    ledger.expire_member_due(member_id, now)
    entry = ledger.debit(member_id, PointsReason.ADJUST, PointsSource.ADMIN, source_id, take=-delta, now=now,
                         **common)
    if entry is None:
        raise AppError(PointsError.POINTS_INSUFFICIENT,
                       f"The balance is {ledger.available(member_id, now)}: removing {-delta} would take it "
                       "below zero.")
    return entry


def expire_due_points(*, now: datetime | None = None, max_members: int | None = None) -> int:
    """Write an expire entry for every lot whose date has come with points left; how many lots.

    Each member's lots expire oldest first. Members are taken in id order (so two runs at once lock
    them in the same order); ``max_members`` bounds one call, for a job that commits in batches.
    Running it again finds nothing more to do.
    """
    now = now or utcnow()
    _check_time("now", now)
    members = (select(PointsLot.member_id).where(PointsLot.remaining > 0, PointsLot.expires_at <= now)
               .group_by(PointsLot.member_id).order_by(PointsLot.member_id))
    if max_members is not None:
        members = members.limit(max_members)
    expired = 0
    for member_id in db.session.scalars(members).all():
        lock_account(member_id)
        expired += ledger.expire_member_due(member_id, now)
    return expired


# --- reading ----------------------------------------------------------------------------------

def points_overview(member_id: int, *, page: int, page_size: int, now: datetime | None = None) -> dict[str, Any]:
    """Balance, debt, tier, what expires next, and a page of the ledger (newest first). Read only."""
    now = now or utcnow()
    next_expiry = db.session.scalar(select(func.min(PointsLot.expires_at)).where(
        PointsLot.member_id == member_id, PointsLot.remaining > 0, PointsLot.expires_at > now))
    expiring = None
    if next_expiry is not None:
        expiring = {"at": next_expiry, "points": db.session.scalar(select(func.sum(PointsLot.remaining)).where(
            PointsLot.member_id == member_id, PointsLot.remaining > 0, PointsLot.expires_at == next_expiry))}
    entries = select(PointsEntry).where(PointsEntry.member_id == member_id).order_by(PointsEntry.id.desc())
    return {"member_id": member_id, "balance": ledger.available(member_id, now), "owed": ledger.owed(member_id),
            "tier": tier_status(member_id, now), "expiring": expiring,
            "ledger": paginate(entries, page=page, page_size=page_size)}


def member_overview(member_id: int, *, page: int, page_size: int) -> dict[str, Any]:
    """``points_overview`` of a member an admin names; 404 ``member_not_found``."""
    if db.session.get(Member, member_id) is None:
        raise AppError(MemberError.MEMBER_NOT_FOUND, f"No member with id {member_id}.")
    return points_overview(member_id, page=page, page_size=page_size)


def verify_ledger() -> list[str]:
    """Members whose balance, debt or points earned disagree with their ledger and lots (should be none).

    For `flask points verify`.
    """
    earned_sign = case((PointsEntry.reason == PointsReason.EARN.value, 1),
                       (PointsEntry.reason == PointsReason.REFUND_REVERSE.value, -1), else_=0)
    sums = {row.member_id: row for row in db.session.execute(
        select(PointsEntry.member_id, func.sum(PointsEntry.delta).label("delta"),
               func.sum(PointsEntry.owed_delta).label("owed"),
               func.sum(PointsEntry.points * earned_sign).label("earned")).group_by(PointsEntry.member_id))}
    lots = dict(db.session.execute(select(PointsLot.member_id, func.sum(PointsLot.remaining))
                                   .group_by(PointsLot.member_id)).all())
    problems = []
    for account in db.session.scalars(select(PointsAccount).order_by(PointsAccount.member_id)):
        row = sums.get(account.member_id)
        ledger_balance, ledger_owed, ledger_earned = (int(row.delta), int(row.owed), int(row.earned)) if row \
            else (0, 0, 0)
        in_lots = int(lots.get(account.member_id) or 0)
        if not account.balance == ledger_balance == in_lots or account.owed != ledger_owed:
            problems.append(f"member {account.member_id}: balance {account.balance}, ledger {ledger_balance}, "
                            f"lots {in_lots}, owed {account.owed} (ledger {ledger_owed})")
        if account.earned != ledger_earned:  # tiers trust it as a bound on the 12 months' figure
            problems.append(f"member {account.member_id}: earned {account.earned}, ledger {ledger_earned}")
    return problems


def _check_int(name: str, value: object, low: int, high: int) -> None:
    """Orders validate what shoppers send; anything else reaching here is a bug in the caller."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an int from {low} to {high}, not {value!r}")


def _check_time(name: str, value: object) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime, not {value!r}")
