"""Admins move members in the tree with a reason; every bind and move is in the member's history."""

from __future__ import annotations

import pytest

from shop.auth import Role
from tests.conftest import bearer
from tests.referral.share_steps import node, open_share, parent, share


@pytest.fixture
def chain(client, login):
    """Alice <- Bob <- Carol (bound by opening shares) and Dave, a root: name -> member id."""
    tokens = {name: bearer(login(f"{name}:1")["token"]) for name in ("alice", "bob", "carol", "dave")}
    open_share(client, tokens["bob"], share(client, tokens["alice"])["scene"])
    open_share(client, tokens["carol"], share(client, tokens["bob"])["scene"])
    return {name: client.get("/api/v1/me", headers=headers).get_json()["id"] for name, headers in tokens.items()}


def _rebind(client, headers, member_id, **body):
    return client.post(f"/api/v1/admin/referral/members/{member_id}/rebind", json=body, headers=headers)


def test_an_admin_moves_a_member_with_their_downline_and_the_history_tells_who_and_why(app, client, staff_token,
                                                                                         chain):
    admin = staff_token(Role.ADMIN)

    response = _rebind(client, admin, chain["bob"], parent_id=chain["dave"], reason="ticket 1182: Dave referred Bob")

    assert response.status_code == 200
    assert response.get_json()["changed"] is True and response.get_json()["node"]["parent_id"] == chain["dave"]
    assert node(app, chain["carol"]).depth == 2 and node(app, chain["dave"]).descendants == 2
    assert node(app, chain["alice"]).descendants == 0
    entries = client.get(f"/api/v1/admin/referral/members/{chain['bob']}/history",
                         headers=staff_token(Role.MARKETING)).get_json()
    assert entries["total"] == 2
    latest, first = entries["items"]
    assert (latest["kind"], latest["old_parent_id"], latest["new_parent_id"], latest["reason"]) == (
        "admin_rebind", chain["alice"], chain["dave"], "ticket 1182: Dave referred Bob")
    assert latest["staff_id"] is not None and latest["share_id"] is None
    assert (first["kind"], first["old_parent_id"], first["new_parent_id"], first["staff_id"]) == (
        "bind", None, chain["alice"], None)
    assert first["share_id"] is not None


def test_an_admin_unbinds_a_member_and_a_repeat_changes_nothing(app, client, staff_token, chain):
    admin = staff_token(Role.ADMIN)

    first = _rebind(client, admin, chain["bob"], parent_id=None, reason="asked to leave")
    repeat = _rebind(client, admin, chain["bob"], parent_id=None, reason="asked to leave")

    assert first.get_json()["changed"] is True and repeat.get_json()["changed"] is False
    assert parent(app, chain["bob"]) is None and node(app, chain["carol"]).depth == 1
    history = client.get(f"/api/v1/admin/referral/members/{chain['bob']}/history?page_size=1", headers=admin)
    assert history.get_json()["total"] == 2 and len(history.get_json()["items"]) == 1


def test_a_rebind_into_the_members_own_downline_or_onto_themselves_is_refused(app, client, staff_token, chain):
    admin = staff_token(Role.ADMIN)

    cycle = _rebind(client, admin, chain["alice"], parent_id=chain["carol"], reason="mistake")
    itself = _rebind(client, admin, chain["alice"], parent_id=chain["alice"], reason="mistake")
    unknown = _rebind(client, admin, chain["alice"], parent_id=987654, reason="mistake")

    assert (cycle.status_code, cycle.get_json()["code"]) == (409, "referral_cycle")
    assert (itself.status_code, itself.get_json()["code"]) == (422, "referral_self")
    assert (unknown.status_code, unknown.get_json()["code"]) == (422, "referral_parent_not_found")
    assert parent(app, chain["alice"]) is None and node(app, chain["alice"]).descendants == 2
    history = client.get(f"/api/v1/admin/referral/members/{chain['alice']}/history", headers=admin).get_json()
    assert history["total"] == 0


def test_a_rebind_needs_a_reason_and_an_existing_member(client, staff_token, chain):
    admin = staff_token(Role.ADMIN)

    no_reason = _rebind(client, admin, chain["bob"], parent_id=chain["dave"])
    blank = _rebind(client, admin, chain["bob"], parent_id=chain["dave"], reason="")
    no_parent_field = _rebind(client, admin, chain["bob"], reason="why")
    missing = _rebind(client, admin, 987654, parent_id=chain["dave"], reason="why")

    assert [r.status_code for r in (no_reason, blank, no_parent_field)] == [422, 422, 422]
    assert "reason" in no_reason.get_json()["errors"] and "parent_id" in no_parent_field.get_json()["errors"]
    assert (missing.status_code, missing.get_json()["code"]) == (404, "referral_member_not_found")
    history = client.get("/api/v1/admin/referral/members/987654/history", headers=admin)
    assert history.status_code == 404


def test_only_admins_rebind_and_shoppers_never_read_histories(client, staff_token, login, chain):
    body = {"parent_id": chain["dave"], "reason": "because"}
    marketing = _rebind(client, staff_token(Role.MARKETING), chain["bob"], **body)
    shopper = bearer(login("bob:2")["token"])

    assert marketing.status_code == 403
    assert _rebind(client, shopper, chain["bob"], **body).status_code == 403
    assert client.get(f"/api/v1/admin/referral/members/{chain['bob']}/history", headers=shopper).status_code == 403
