"""An admin approves or rejects members' withdrawals at /console/withdrawals, through referral's services."""

from __future__ import annotations

import pytest

from shop.auth import Role
from tests.console.conftest import text_of
from tests.referral.rewards.conftest import buy, chain, configure, release_after, shop  # noqa: F401
from tests.referral.rewards.test_withdrawals import _ask, _commission, earned  # noqa: F401


def test_an_admin_approves_a_withdrawal_and_its_transfer_is_sent(client, stub, earned, admin):  # noqa: F811
    withdrawal = _ask(client, earned.bob, 300).get_json()
    listed = text_of(admin.get("/console/withdrawals?lang=en"))
    assert f"#{withdrawal['id']}" in listed and "¥3.00" in listed
    approved = admin.post(f"/console/withdrawals/{withdrawal['id']}/approve?lang=en", {"note": ""})
    assert approved.status_code == 200 and f"Withdrawal {withdrawal['id']} approved: now paying" in text_of(approved)
    again = admin.post(f"/console/withdrawals/{withdrawal['id']}/reject?lang=en", {"note": "too late"})
    assert again.status_code == 409 and "already decided" in text_of(again)


def test_an_admin_rejects_with_a_note_and_the_amount_comes_back(client, earned, admin):  # noqa: F811
    withdrawal = _ask(client, earned.bob, 300).get_json()
    no_note = admin.post(f"/console/withdrawals/{withdrawal['id']}/reject?lang=en", {"note": " "})
    assert no_note.status_code == 422 and "Write a note" in text_of(no_note)
    assert _commission(client, earned.bob)["balance"] == 140  # still held
    rejected = admin.post(f"/console/withdrawals/{withdrawal['id']}/reject?lang=en", {"note": "account under review"})
    assert rejected.status_code == 200 and "back on the member's balance" in text_of(rejected)
    assert _commission(client, earned.bob)["balance"] == 440
    assert "account under review" in text_of(admin.get("/console/withdrawals?status=rejected&lang=en"))


@pytest.mark.parametrize("role", [Role.STAFF, Role.MARKETING])
def test_clerks_and_marketing_may_not_review_withdrawals(client, browser, account, shop, earned, role):  # noqa: F811
    withdrawal = _ask(client, earned.bob, 300).get_json()
    user = browser()
    user.login(account(role, [shop.store_id] if role is Role.STAFF else None))
    user.get("/console/", follow_redirects=True)
    assert user.get("/console/withdrawals").status_code == 403
    assert user.post(f"/console/withdrawals/{withdrawal['id']}/approve", {"note": ""}).status_code == 403
    assert _commission(client, earned.bob)["balance"] == 140


def test_an_approval_without_its_csrf_token_is_refused_and_an_unknown_one_is_404(client, earned, admin):  # noqa: F811
    withdrawal = _ask(client, earned.bob, 300).get_json()
    assert admin.post(f"/console/withdrawals/{withdrawal['id']}/approve", {"note": ""}, csrf=False).status_code == 400
    assert "requested" in text_of(admin.get("/console/withdrawals?lang=en"))
    assert admin.post("/console/withdrawals/999999/approve?lang=en", {"note": ""}).status_code == 404
