"""Withdrawals of commission to WeChat change: asked by the member, reviewed by an admin, paid through
WeChat Pay's merchant transfer (the stub), with the state kept when the transfer fails."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from referral.rewards.models import CommissionEntry
from referral.withdrawals.models import Withdrawal, WithdrawalStatus
from referral.withdrawals.service import sync_withdrawals
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.jobs import sweep_outbox
from shop.members.models import Member


@pytest.fixture
def earned(chain, buy, configure, release_after):
    """Bob has 440 fen of commission available (10% of Carol's 4,400 fen order)."""
    configure(reward_kind="commission", percent_bp=[1000, 0], min_withdrawal=100)
    buy(chain.carol)
    release_after(days=8)
    return chain


@pytest.fixture
def admin(staff_token):
    return staff_token(Role.ADMIN)


def _ask(client, member, amount: int, key: str = "withdraw-key-1"):
    return client.post("/api/v1/me/withdrawals", json={"amount": amount},
                       headers={**member.headers, "Idempotency-Key": key})


def _commission(client, member) -> dict:
    return client.get("/api/v1/me/rewards", headers=member.headers).get_json()["commission"]


def _sync(committed) -> dict:
    return committed(sync_withdrawals)


def test_an_approved_withdrawal_is_paid_when_the_member_confirms_receipt_in_wechat(
        app, client, stub, earned, admin, committed):
    asked = _ask(client, earned.bob, 300)
    assert asked.status_code == 201, asked.get_json()
    withdrawal = asked.get_json()
    assert withdrawal["status"] == "requested" and withdrawal["transfer"] is None
    assert _commission(client, earned.bob)["balance"] == 140  # held at once

    approved = client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/approve", headers=admin, json={})
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "paying" and approved.get_json()["transfer_bill_no"]
    mine = client.get("/api/v1/me/withdrawals", headers=earned.bob.headers).get_json()
    transfer = mine["items"][0]["transfer"]
    assert transfer["mch_id"] == app.config["WECHATPAY_MCHID"] and transfer["app_id"] == app.config["WECHAT_APPID"]
    bill = requests.get(f"{stub.url}stub/pay/transfers/{withdrawal['out_bill_no']}", timeout=5).json()
    assert (bill["state"], bill["transfer_amount"]) == ("WAIT_USER_CONFIRM", 300)

    assert _sync(committed)["paid"] == 0  # still waiting for Bob
    requests.post(f"{stub.url}stub/pay/transfers/{withdrawal['out_bill_no']}/confirm", timeout=5).raise_for_status()
    assert _sync(committed) == {"checked": 1, "paid": 1, "failed": 0, "unreachable": 0}
    paid = client.get("/api/v1/me/withdrawals", headers=earned.bob.headers).get_json()["items"][0]
    assert paid["status"] == "paid" and paid["transfer"] is None and paid["finished_at"]
    assert _commission(client, earned.bob) == {"balance": 140, "available": 140, "debt": 0, "frozen": 0,
                                               "withdrawn": 300}
    assert _sync(committed)["checked"] == 0


def test_a_failed_transfer_keeps_the_withdrawal_failed_with_the_reason_and_gives_the_amount_back(
        app, client, stub, earned, admin, committed):
    withdrawal = _ask(client, earned.bob, 300).get_json()
    client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/approve", headers=admin, json={})
    requests.post(f"{stub.url}stub/pay/transfers/{withdrawal['out_bill_no']}/fail",
                  json={"reason": "PAYEE_ACCOUNT_ABNORMAL"}, timeout=5).raise_for_status()
    assert _sync(committed)["failed"] == 1
    failed = client.get("/api/v1/admin/referral/withdrawals?status=failed", headers=admin).get_json()
    assert failed["total"] == 1 and failed["items"][0]["failure_reason"] == "PAYEE_ACCOUNT_ABNORMAL"
    assert _commission(client, earned.bob)["balance"] == 440
    assert _sync(committed)["checked"] == 0  # ended: asked about no more
    again = _ask(client, earned.bob, 440, key="withdraw-key-2")  # a new request may follow
    assert again.status_code == 201, again.get_json()


def test_a_transfer_wechat_pay_refuses_fails_at_approval_and_gives_the_amount_back(
        app, client, stub, earned, admin):
    withdrawal = _ask(client, earned.bob, 300).get_json()
    requests.post(f"{stub.url}stub/pay/faults", json={"status": 403, "code": "NOT_ENOUGH", "message": "资金不足",
                                                      "path": "transfer-bills"}, timeout=5).raise_for_status()
    approved = client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/approve", headers=admin, json={})
    assert approved.status_code == 200
    assert approved.get_json()["status"] == "failed" and approved.get_json()["failure_reason"].startswith("NOT_ENOUGH")
    assert _commission(client, earned.bob)["balance"] == 440
    again = client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/approve", headers=admin, json={})
    assert again.status_code == 409 and again.get_json()["code"] == "withdrawal_not_reviewable"


def test_wechat_pay_down_at_approval_leaves_it_approved_and_the_outbox_sends_the_same_bill_once_later(
        app, client, stub, earned, admin, committed):
    withdrawal = _ask(client, earned.bob, 300).get_json()
    requests.post(f"{stub.url}stub/pay/faults", json={"status": 500, "code": "SYSTEM_ERROR", "times": 1,
                                                      "path": "transfer-bills"}, timeout=5).raise_for_status()
    approved = client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/approve", headers=admin, json={})
    assert approved.get_json()["status"] == "approved"
    again = client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/approve", headers=admin, json={})
    assert again.status_code == 200 and again.get_json()["status"] == "approved"  # already on its way
    assert committed(lambda: sweep_outbox(utcnow() + timedelta(minutes=1)))["done"] == 1
    resent = client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/approve", headers=admin, json={})
    assert resent.status_code == 409  # paying now: no second transfer
    bill = requests.get(f"{stub.url}stub/pay/transfers/{withdrawal['out_bill_no']}", timeout=5).json()
    assert bill["state"] == "WAIT_USER_CONFIRM" and bill["transfer_amount"] == 300
    with app.app_context():
        assert db.session.get(Withdrawal, withdrawal["id"]).status == "paying"


def test_settling_withdrawals_from_the_shell_with_wechat_pay_unreachable_prints_one_line_and_fails(
        app, client, earned, admin, make_app):
    withdrawal = _ask(client, earned.bob, 300).get_json()
    client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/approve", headers=admin, json={})
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    result = make_app(WECHATPAY_API_BASE=nowhere).test_cli_runner().invoke(args=["referral", "sync-withdrawals"])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == ["Error: WeChat Pay unreachable: 1 withdrawals left for the next pass"]
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.get(Withdrawal, withdrawal["id"]).status == "paying"  # asked again next pass

    settled = app.test_cli_runner().invoke(args=["referral", "sync-withdrawals"])  # WeChat Pay reachable
    assert (settled.exit_code, settled.output) == (0, "checked 1 withdrawals: 0 paid, 0 failed\n")


def test_a_withdrawal_pass_ends_early_while_wechat_pay_is_unreachable(app, stub, committed):
    """Each question to an unreachable WeChat Pay waits for a timeout: a few in a row end the pass."""
    with app.app_context():
        ids = [_paying_withdrawal(number) for number in range(5)]
        db.session.commit()
    requests.post(f"{stub.url}stub/pay/faults", json={"status": 503, "code": "SYSTEM_ERROR", "times": 10,
                                                      "path": "transfer-bills"}, timeout=5).raise_for_status()
    assert _sync(committed) == {"checked": 3, "paid": 0, "failed": 0, "unreachable": 5}
    asked = [entry for entry in stub.received if "transfer-bills" in entry["path"]]
    assert len(asked) == 3 and len(ids) == 5


def _paying_withdrawal(number: int) -> int:
    """A withdrawal whose transfer WeChat Pay holds (inside an app context)."""
    member = Member(openid=f"withdrawing-{number}")
    db.session.add(member)
    db.session.flush()
    withdrawal = Withdrawal(member_id=member.id, amount=100, status=WithdrawalStatus.PAYING.value,
                            out_bill_no=f"RWTEST{number:04d}")
    db.session.add(withdrawal)
    db.session.flush()
    return withdrawal.id


def test_a_rejected_withdrawal_gives_the_amount_back_with_the_note(client, earned, admin):
    withdrawal = _ask(client, earned.bob, 300).get_json()
    rejected = client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/reject", headers=admin,
                           json={"note": "account under review"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["review_note"] == "account under review"
    assert _commission(client, earned.bob)["balance"] == 440
    twice = client.post(f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}/reject", headers=admin,
                        json={"note": "again"})
    assert twice.status_code == 409


def test_one_open_withdrawal_at_a_time(client, earned):
    assert _ask(client, earned.bob, 100).status_code == 201
    second = _ask(client, earned.bob, 100, key="withdraw-key-2")
    assert second.status_code == 409 and second.get_json()["code"] == "withdrawal_already_open"
    assert _commission(client, earned.bob)["balance"] == 340


def test_concurrent_withdrawal_requests_hold_the_amount_once(app, earned, live_server):
    answers = []

    def ask(key: str) -> None:
        answers.append(requests.post(f"{live_server}/api/v1/me/withdrawals", json={"amount": 400}, timeout=30,
                                     headers={**earned.bob.headers, "Idempotency-Key": key}).status_code)

    threads = [threading.Thread(target=ask, args=(f"concurrent-key-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201, 409, 409, 409]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Withdrawal)) == 1
        held = db.session.scalar(select(func.sum(CommissionEntry.amount)).where(CommissionEntry.reason == "withdrawal"))
        assert held == -400


def test_a_retried_request_with_the_same_key_answers_the_first(client, earned):
    first, retry = _ask(client, earned.bob, 200), _ask(client, earned.bob, 200)
    assert first.status_code == retry.status_code == 201 and first.get_json()["id"] == retry.get_json()["id"]
    assert _commission(client, earned.bob)["balance"] == 240
    other = _ask(client, earned.bob, 150)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(("amount", "status", "code"), [
    (99, 422, "withdrawal_below_minimum"), (441, 409, "commission_insufficient"),
    (200_000, 422, "withdrawal_above_maximum"), ("100", 422, "validation_error"), (-5, 422, "validation_error")])
def test_a_withdrawal_outside_the_limits_is_refused_and_holds_nothing(client, earned, amount, status, code):
    response = _ask(client, earned.bob, amount)
    assert response.status_code == status and response.get_json()["code"] == code
    assert _commission(client, earned.bob)["balance"] == 440


def test_a_withdrawal_needs_an_idempotency_key(client, earned):
    response = client.post("/api/v1/me/withdrawals", json={"amount": 100}, headers=earned.bob.headers)
    assert response.status_code == 400 and response.get_json()["code"] == "idempotency_key_required"
    assert _commission(client, earned.bob)["balance"] == 440


def test_members_see_only_their_own_withdrawals(client, earned):
    _ask(client, earned.bob, 100)
    assert client.get("/api/v1/me/withdrawals", headers=earned.carol.headers).get_json()["total"] == 0
    assert client.get("/api/v1/me/withdrawals", headers=earned.bob.headers).get_json()["total"] == 1


def test_only_an_admin_approves_or_rejects_and_marketing_may_only_read(client, earned, staff_token, admin):
    withdrawal = _ask(client, earned.bob, 100).get_json()
    marketing = staff_token(Role.MARKETING)
    url = f"/api/v1/admin/referral/withdrawals/{withdrawal['id']}"
    assert client.get("/api/v1/admin/referral/withdrawals", headers=marketing).get_json()["total"] == 1
    for headers in (marketing, earned.bob.headers, staff_token(Role.STAFF)):
        assert client.post(f"{url}/approve", headers=headers, json={}).status_code == 403
        assert client.post(f"{url}/reject", headers=headers, json={"note": "no"}).status_code == 403
    assert client.get("/api/v1/admin/referral/withdrawals", headers=earned.bob.headers).status_code == 403
    assert client.post(f"{url}/approve", json={}).status_code == 401
    missing = client.post("/api/v1/admin/referral/withdrawals/999999/approve", headers=admin, json={})
    assert missing.status_code == 404 and missing.get_json()["code"] == "withdrawal_not_found"
    assert client.get("/api/v1/me/withdrawals", headers=earned.bob.headers).get_json()["items"][0]["status"] == \
        "requested"
