"""Sharers at /console/referral/sharers: under the policy of approved sharers, an admin sees who brought members
without an approval and who holds one, looks a member up by number with their history, and approves or withdraws
through the referral policy service; its refusals are shown in words. Marketing reads; clerks see nothing."""

from __future__ import annotations

import pytest

from referral.policy import service as policy
from referral.sharing import binding
from referral.tree.models import BindHistory, ReferralNode
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.members.models import Member
from tests.console.conftest import text_of
from tests.orders.conftest import shop  # noqa: F401

SHARERS = "/console/referral/sharers"


@pytest.fixture
def members(app) -> dict[str, int]:
    """Under the policy of approved sharers: Mei brought two friends, Bo one, Lan nobody; nobody is approved."""
    with app.app_context():
        made = {name: Member(openid=f"sharers-{name}", nickname=name) for name in
                ("Mei", "Bo", "Lan", "Mei's friend 1", "Mei's friend 2", "Bo's friend")}
        db.session.add_all(made.values())
        db.session.flush()
        for friend, sharer in (("Mei's friend 1", "Mei"), ("Mei's friend 2", "Mei"), ("Bo's friend", "Bo")):
            binding.admin_rebind(made[friend].id, made[sharer].id, reason="arrived by a share", staff_id=None,
                                 now=utcnow())
        policy.update_settings({"sharer_policy": "approved"}, staff_id=None, now=utcnow())
        db.session.commit()
        return {name: member.id for name, member in made.items()}


def approval_of(app, member_id: int):
    with app.app_context():
        node = db.session.get(ReferralNode, member_id)
        history = db.session.scalars(db.select(BindHistory.kind).where(
            BindHistory.member_id == member_id, BindHistory.kind.in_(("approved", "approval_revoked")))
            .order_by(BindHistory.id)).all()
        return (node.approved_at if node else None), history


def section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"')[1].split("</section>")[0]


def test_an_admin_approves_a_sharer_who_brought_friends_then_withdraws_it_each_kept_in_the_history(
        app, members, admin):
    page = text_of(admin.get(f"{SHARERS}?lang=en"))
    waiting = section(page, "waiting")
    assert "Only sharers an admin approved" in page and "Approvals count only" not in page
    assert waiting.index("Mei") < waiting.index("Bo") and "Lan" not in waiting  # most members below first
    assert "Mei" not in section(page, "approved")

    approved = admin.post(f"{SHARERS}/{members['Mei']}/approve?lang=en", {"reason": "runs the Xintiandi fan group"})
    assert approved.status_code == 302 and approved.headers["Location"].endswith(f"member_id={members['Mei']}")
    after = text_of(admin.get(approved.headers["Location"] + "&lang=en"))
    assert "Approved: this member earns" in after and "approved since" in after
    assert "runs the Xintiandi fan group" in after and "approved as a sharer who earns" in after
    assert "Mei" in section(after, "approved") and "Mei" not in section(after, "waiting")
    assert approval_of(app, members["Mei"])[0] is not None

    withdrawn = admin.post(f"{SHARERS}/{members['Mei']}/withdraw?lang=en")
    assert withdrawn.status_code == 302
    later = text_of(admin.get(f"{SHARERS}?member_id={members['Mei']}&lang=en"))
    assert "Approval withdrawn" in later and "approval withdrawn" in section(later, "member")
    assert approval_of(app, members["Mei"]) == (None, ["approved", "approval_revoked"])


def test_approving_twice_changes_nothing_and_says_so(app, members, admin):
    assert admin.post(f"{SHARERS}/{members['Bo']}/approve?lang=en").status_code == 302
    again = admin.post(f"{SHARERS}/{members['Bo']}/approve?lang=en", follow_redirects=True)
    assert "This member was approved already: nothing changed." in text_of(again)
    assert approval_of(app, members["Bo"])[1] == ["approved"]


def test_a_member_looked_up_shows_whether_they_earn_and_who_brought_them(app, members, admin):
    friend = members["Bo's friend"]
    page = text_of(admin.get(f"{SHARERS}?member_id={friend}&lang=en"))
    member = section(page, "member")
    assert "Bo's friend" in member and "not approved" in member and "moved by an admin" in member
    assert f"under #{members['Bo']}" in member and "arrived by a share" in member
    assert 'action="/console/referral/sharers/' in member  # an admin may approve from here


def test_a_number_that_is_no_member_is_refused_in_words_and_changes_nothing(app, members, admin):
    missing = admin.get(f"{SHARERS}?member_id=987654321&lang=en")
    assert missing.status_code == 404 and "No member has this number." in text_of(missing)
    assert admin.get(f"{SHARERS}?member_id=12a&lang=en").status_code == 422
    assert admin.get(f"{SHARERS}?member_id={'9' * 40}&lang=en").status_code == 404
    refused = admin.post(f"{SHARERS}/987654321/approve?lang=en", {"reason": "who?"})
    assert refused.status_code == 404 and "No member has this number." in text_of(refused)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(BindHistory)
                                 .where(BindHistory.kind == "approved")) == 0


def test_a_reason_the_api_would_refuse_is_shown_beside_the_field_and_changes_nothing(app, members, admin):
    refused = admin.post(f"{SHARERS}/{members['Mei']}/approve?lang=en", {"reason": "x" * 501})
    page = text_of(refused)
    assert refused.status_code == 422 and 'id="reason-error"' in page and 'aria-invalid="true"' in page
    assert approval_of(app, members["Mei"]) == (None, [])


def test_under_another_policy_the_page_says_approvals_wait_for_the_policy_of_approved_sharers(app, members, admin):
    with app.app_context():
        policy.update_settings({"sharer_policy": "everyone"}, staff_id=None, now=utcnow())
        db.session.commit()
    page = text_of(admin.get(f"{SHARERS}?lang=en"))
    assert "The policy today: Every member who shares." in page and "Approvals count only under the policy" in page


def test_an_approval_without_its_csrf_token_is_refused(app, members, admin):
    refused = admin.post(f"{SHARERS}/{members['Mei']}/approve?lang=en", {"reason": "forged"}, csrf=False)
    assert refused.status_code == 400 and "This form has expired" in text_of(refused)
    assert approval_of(app, members["Mei"]) == (None, [])


def test_marketing_reads_the_sharers_but_may_not_approve_and_a_clerk_sees_nothing(
        app, browser, account, shop, members):  # noqa: F811
    marketing = browser()
    marketing.login(account(Role.MARKETING))
    page = marketing.get(f"{SHARERS}?member_id={members['Mei']}&lang=en")
    assert page.status_code == 200 and "Only an admin approves sharers." in text_of(page)
    assert "Withdraw approval" not in text_of(page) and "/approve" not in text_of(page)
    assert marketing.post(f"{SHARERS}/{members['Mei']}/approve").status_code == 403
    assert marketing.post(f"{SHARERS}/{members['Mei']}/withdraw").status_code == 403
    clerk = browser()
    clerk.login(account(Role.STAFF, [shop.store_id]))
    clerk.get("/console/counter")  # a page of their own: its form's CSRF token
    assert clerk.get(SHARERS).status_code == 403
    assert clerk.post(f"{SHARERS}/{members['Mei']}/approve").status_code == 403
    assert approval_of(app, members["Mei"]) == (None, [])


def test_the_chinese_page_says_it_in_chinese(members, admin):
    page = text_of(admin.get(f"{SHARERS}?lang=zh_CN"))
    assert "分享者" in page and "Sharers who earn" not in page
