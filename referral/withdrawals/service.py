"""Withdrawals: commission paid out to a member's WeChat change through WeChat Pay's merchant transfer.

Decisions (the README and the OpenAPI descriptions say the same):

- The amount is held (debited from the commission balance) when the member asks, so it cannot be
  asked for twice or clawed back unseen; a rejection or a failed transfer gives it back.
- At least ``min_withdrawal`` fen, at most the balance, below 2,000 yuan a request (above that
  WeChat Pay wants the payee's real name, which Ripple does not hold); one open request per member
  (requested, approved or paying; 409 ``withdrawal_already_open``). An ``Idempotency-Key`` makes a
  retried request answer the first one.
- An admin approves or rejects. Approval writes the transfer to the outbox (shop/jobs.py) in the
  same transaction, and it is sent after the commit (``POST /v3/fund-app/mch-transfer/
  transfer-bills``, user-confirmation mode) under the ``out_bill_no`` fixed at the request, so any
  retry names the same bill and WeChat Pay never pays twice. The answer decides: WAIT_USER_CONFIRM
  (and the other open states) -> ``paying``, with the ``package_info`` the mini-program passes to
  ``wx.requestMerchantTransfer``; SUCCESS -> ``paid``; FAIL/CANCELLED or a refusal -> ``failed``
  with WeChat's reason, the amount back on the balance. WeChat Pay busy or unreachable -> it stays
  ``approved`` and the outbox sends it again with backoff (failing for too long, the outbox entry
  is ``failed`` for an admin to send again).
- The sweep (``flask referral sync-withdrawals``, and the periodic jobs) asks WeChat Pay about
  paying transfers until they end, and hands approved ones without an outbox entry (approved
  before the outbox existed) to the outbox.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select

from referral.errors import ReferralError
from referral.policy.service import load_settings
from referral.rewards import ledger as commission
from referral.withdrawals.models import OPEN_WITHDRAWAL_STATES, Withdrawal, WithdrawalStatus
from shop.database import storable_id, utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.idempotency import IdempotencyError
from shop.jobs import enqueue
from shop.members.models import Member
from shop.messages import notices
from shop.orders.sweeps import UNREACHABLE_IN_A_ROW
from shop.pagination import paginate
from shop.wechat.errors import WeChatPayError
from shop.wechat.pay import TRANSFER_NAME_REQUIRED_FEN, WeChatPayAPIError, wechat_pay

log = logging.getLogger(__name__)

MAX_WITHDRAWAL = TRANSFER_NAME_REQUIRED_FEN - 1
TRANSFER_SCENE_ID = "1000"  # 现金营销: cash rewards of a marketing activity
TRANSFER_SCENE_REPORT = [{"info_type": "活动名称", "info_content": "好友推荐有礼"},
                         {"info_type": "奖励说明", "info_content": "好友购物佣金提现"}]
TRANSFER_REMARK = "推荐佣金提现"
TRANSFER_PERCEPTION = "现金奖励"
OPEN_AT_WECHAT = {"ACCEPTED", "PROCESSING", "WAIT_USER_CONFIRM", "TRANSFERING", "CANCELING"}
ENDED_UNPAID = {"FAIL", "CANCELLED"}
SYNC_BATCH = 100


def request_withdrawal(*, member_id: int, amount: int, key: str, now: datetime | None = None) -> Withdrawal:
    """Ask to withdraw ``amount`` fen of commission; the amount is held at once. Idempotent on ``key``."""
    now = now or utcnow()
    minimum = load_settings().min_withdrawal
    if amount < minimum:
        raise AppError(ReferralError.WITHDRAWAL_BELOW_MINIMUM, f"Withdraw at least {minimum} fen.",
                       errors={"amount": [f"At least {minimum}."]})
    if amount > MAX_WITHDRAWAL:
        raise AppError(ReferralError.WITHDRAWAL_ABOVE_MAXIMUM, f"Withdraw at most {MAX_WITHDRAWAL} fen at a time.",
                       errors={"amount": [f"At most {MAX_WITHDRAWAL}."]})
    balance = commission.lock(member_id, now)
    hold_key = f"withdrawal:{member_id}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    done = commission.find_entry(hold_key)
    if done is not None:
        first = db.session.get(Withdrawal, done.withdrawal_id)
        if first.amount != amount:
            raise AppError(IdempotencyError.KEY_REUSED, "This Idempotency-Key was used for a different withdrawal.")
        return first
    if db.session.scalar(select(Withdrawal.id).where(Withdrawal.member_id == member_id,
                                                     Withdrawal.status.in_(OPEN_WITHDRAWAL_STATES))) is not None:
        raise AppError(ReferralError.WITHDRAWAL_ALREADY_OPEN,
                       "You have a withdrawal in progress; ask again when it has ended.")
    if amount > balance.balance:
        raise AppError(ReferralError.COMMISSION_INSUFFICIENT,
                       f"Your available commission is {balance.available} fen.", errors={"amount": ["Too much."]})
    withdrawal = Withdrawal(member_id=member_id, amount=amount, status=WithdrawalStatus.REQUESTED.value,
                            out_bill_no=f"RW{now:%Y%m%d%H%M%S}{secrets.token_hex(6)}", created_at=now)
    db.session.add(withdrawal)
    db.session.flush()
    commission.post(member_id, -amount, "withdrawal", hold_key, now=now, withdrawal_id=withdrawal.id)
    return withdrawal


def _locked(withdrawal_id: int) -> Withdrawal:
    if not storable_id(withdrawal_id):
        raise AppError(ReferralError.WITHDRAWAL_NOT_FOUND, f"No withdrawal {withdrawal_id}.")
    withdrawal = db.session.scalar(select(Withdrawal).where(Withdrawal.id == withdrawal_id).with_for_update()
                                   .execution_options(populate_existing=True))
    if withdrawal is None:
        raise AppError(ReferralError.WITHDRAWAL_NOT_FOUND, f"No withdrawal {withdrawal_id}.")
    return withdrawal


def reject(withdrawal_id: int, *, staff_id: int | None, note: str, now: datetime | None = None) -> Withdrawal:
    """Refuse a requested withdrawal: the amount goes back on the balance."""
    now = now or utcnow()
    withdrawal = _locked(withdrawal_id)
    if withdrawal.status != WithdrawalStatus.REQUESTED:
        raise AppError(ReferralError.WITHDRAWAL_NOT_REVIEWABLE, f"This withdrawal is {withdrawal.status}.")
    withdrawal.status = WithdrawalStatus.REJECTED.value
    withdrawal.reviewed_by_staff_id, withdrawal.reviewed_at, withdrawal.review_note = staff_id, now, note
    withdrawal.finished_at = now
    _give_back(withdrawal, "withdrawal_rejected", now)
    return withdrawal


def approve(withdrawal_id: int, *, staff_id: int | None, note: str | None = None,
            now: datetime | None = None) -> Withdrawal:
    """Approve a requested withdrawal; its transfer is sent once this transaction commits (an
    approved one is already on its way: answered as it is)."""
    now = now or utcnow()
    withdrawal = _locked(withdrawal_id)
    if withdrawal.status == WithdrawalStatus.REQUESTED:
        withdrawal.status = WithdrawalStatus.APPROVED.value
        withdrawal.reviewed_by_staff_id, withdrawal.reviewed_at, withdrawal.review_note = staff_id, now, note
    elif withdrawal.status != WithdrawalStatus.APPROVED:
        raise AppError(ReferralError.WITHDRAWAL_NOT_REVIEWABLE, f"This withdrawal is {withdrawal.status}.")
    _hand_on(withdrawal)
    return withdrawal


def _hand_on(withdrawal: Withdrawal) -> None:
    """Write the transfer of an approved withdrawal to the outbox (once per bill)."""
    enqueue(send_approved_transfer, withdrawal.id, key=withdrawal.out_bill_no)


def send_approved_transfer(withdrawal_id: int) -> None:
    """The outbox job: send an approved withdrawal's transfer and apply the answer (nothing once it
    has moved on). WeChat Pay busy or unreachable is raised, so the outbox tries again."""
    withdrawal = _locked(withdrawal_id)
    if withdrawal.status == WithdrawalStatus.APPROVED:
        send_transfer(withdrawal, utcnow())


def send_transfer(withdrawal: Withdrawal, now: datetime) -> None:
    """Ask WeChat Pay to transfer an approved withdrawal (its fixed out_bill_no) and apply the answer."""
    openid = db.session.scalar(select(Member.openid).where(Member.id == withdrawal.member_id))
    try:
        answer = wechat_pay().transfer_to_change(
            withdrawal.out_bill_no, openid, withdrawal.amount, TRANSFER_REMARK, scene_id=TRANSFER_SCENE_ID,
            scene_report=TRANSFER_SCENE_REPORT, perception=TRANSFER_PERCEPTION)
    except WeChatPayAPIError as exc:
        if exc.code == WeChatPayError.UNAVAILABLE:
            raise
        _fail(withdrawal, f"{exc.wechat_code or 'REFUSED'}: {exc.message}", now)
        return
    apply_transfer_state(withdrawal, answer, now)


def apply_transfer_state(withdrawal: Withdrawal, bill: dict[str, Any], now: datetime) -> None:
    """Move the withdrawal to where WeChat Pay's bill stands (once: ended withdrawals do not move)."""
    if withdrawal.status not in (WithdrawalStatus.APPROVED, WithdrawalStatus.PAYING):
        return
    state = str(bill.get("state") or "")
    withdrawal.transfer_bill_no = bill.get("transfer_bill_no") or withdrawal.transfer_bill_no
    if state == "SUCCESS":
        withdrawal.status, withdrawal.finished_at, withdrawal.package_info = WithdrawalStatus.PAID.value, now, None
        commission.lock(withdrawal.member_id, now)
        commission.move_figures(withdrawal.member_id, now=now, withdrawn=withdrawal.amount)
        notices.withdrawal_paid(member_id=withdrawal.member_id, withdrawal_id=withdrawal.id, amount=withdrawal.amount,
                                at=now)
    elif state in ENDED_UNPAID:
        _fail(withdrawal, str(bill.get("fail_reason") or state), now)
    elif state in OPEN_AT_WECHAT:
        withdrawal.status = WithdrawalStatus.PAYING.value
        withdrawal.package_info = bill.get("package_info") or withdrawal.package_info
    else:
        log.error("withdrawal %s: WeChat Pay answered an unknown transfer state %r", withdrawal.id, state)


def _fail(withdrawal: Withdrawal, reason: str, now: datetime) -> None:
    withdrawal.status, withdrawal.failure_reason = WithdrawalStatus.FAILED.value, reason[:500]
    withdrawal.finished_at, withdrawal.package_info = now, None
    _give_back(withdrawal, "withdrawal_failed", now)


def _give_back(withdrawal: Withdrawal, reason: str, now: datetime) -> None:
    commission.lock(withdrawal.member_id, now)
    commission.post(withdrawal.member_id, withdrawal.amount, reason, f"withdrawal_return:{withdrawal.id}", now=now,
                    withdrawal_id=withdrawal.id)


def sync_withdrawals(now: datetime | None = None, *, limit: int = SYNC_BATCH) -> dict[str, int]:
    """Ask about paying transfers, and hand approved ones to the outbox (a no-op for those it has);
    each withdrawal committed on its own. ``unreachable`` counts those left for the next pass because
    WeChat Pay could not be reached: after a few such in a row the pass ends rather than wait out a
    timeout for each."""
    now = now or utcnow()
    ids = db.session.scalars(select(Withdrawal.id).where(Withdrawal.status.in_(
        (WithdrawalStatus.APPROVED.value, WithdrawalStatus.PAYING.value))).order_by(Withdrawal.id).limit(limit)).all()
    summary = {"checked": 0, "paid": 0, "failed": 0, "unreachable": 0}
    in_a_row = 0
    for done, withdrawal_id in enumerate(ids, start=1):
        withdrawal = _locked(withdrawal_id)
        if withdrawal.status == WithdrawalStatus.APPROVED:
            _hand_on(withdrawal)
        elif withdrawal.status == WithdrawalStatus.PAYING:
            reached = _query(withdrawal, now)
            summary["unreachable"] += not reached
            in_a_row = 0 if reached else in_a_row + 1
        summary["checked"] += 1
        summary["paid"] += withdrawal.status == WithdrawalStatus.PAID
        summary["failed"] += withdrawal.status == WithdrawalStatus.FAILED
        db.session.commit()
        if in_a_row >= UNREACHABLE_IN_A_ROW:
            summary["unreachable"] += len(ids) - done
            log.warning("WeChat Pay unreachable: withdrawal pass stopped, %d left for the next", len(ids) - done)
            break
    return summary


def _query(withdrawal: Withdrawal, now: datetime) -> bool:
    """Apply WeChat Pay's answer about the transfer; whether WeChat Pay could be reached."""
    try:
        bill = wechat_pay().query_transfer(withdrawal.out_bill_no)
    except WeChatPayAPIError as exc:
        if exc.code == WeChatPayError.UNAVAILABLE:
            return False  # the gateway logged it; the pass counts it
        log.warning("withdrawal %s: transfer query failed (%s)", withdrawal.id, exc.message)
        return True
    if bill is not None:
        apply_transfer_state(withdrawal, bill, now)
    return True


# --- reading ----------------------------------------------------------------------------------

def my_withdrawals(member_id: int, *, page: int, page_size: int) -> dict[str, Any]:
    statement = select(Withdrawal).where(Withdrawal.member_id == member_id).order_by(Withdrawal.id.desc())
    return paginate(statement, page=page, page_size=page_size)


def all_withdrawals(*, status: str | None, member_id: int | None, page: int, page_size: int) -> dict[str, Any]:
    statement = select(Withdrawal).order_by(Withdrawal.id.desc())
    if status:
        statement = statement.where(Withdrawal.status == status)
    if member_id:
        statement = statement.where(Withdrawal.member_id == member_id)
    return paginate(statement, page=page, page_size=page_size)

