"""GET /api/v1/me/points for shoppers; an admin's view and adjustments of a member's points."""

import pytest

from shop.auth import Role
from tests.conftest import bearer
from tests.points.conftest import months_ago


def test_my_points_shows_balance_tier_next_expiry_and_a_page_of_my_ledger(client, login, orders):
    alice = login("alice:1")
    paid_at = months_ago(1)
    for order_id in (1, 2, 3):
        orders.paid(order_id, alice["member"]["id"], 10_000, paid_at=paid_at)
    body = client.get("/api/v1/me/points?page=1&page_size=2", headers=bearer(alice["token"])).get_json()
    assert body["balance"] == 300 and body["owed"] == 0
    assert body["tier"] == {"name": "member", "multiplier": "1.0", "earned_12m": 300, "next_tier": "silver",
                            "points_to_next": 700}
    assert body["expiring"]["points"] == 300 and body["expiring"]["at"].startswith(str(paid_at.year + 1))
    ledger = body["ledger"]
    assert (ledger["total"], ledger["page"], ledger["page_size"]) == (3, 1, 2)
    assert [item["order_id"] for item in ledger["items"]] == [3, 2]  # newest first
    assert set(ledger["items"][0]) == {"id", "reason", "delta", "owed_delta", "balance_after", "order_id",
                                       "note", "created_at"}
    assert ledger["items"][0]["balance_after"] == 300
    second = client.get("/api/v1/me/points?page=2&page_size=2", headers=bearer(alice["token"])).get_json()
    assert [item["order_id"] for item in second["ledger"]["items"]] == [1]


def test_a_new_member_has_an_empty_account(client, login):
    body = client.get("/api/v1/me/points", headers=bearer(login("newbie:1")["token"])).get_json()
    assert body["balance"] == 0 and body["expiring"] is None and body["ledger"]["total"] == 0
    assert body["tier"]["name"] == "member"


def test_a_shopper_sees_only_their_own_points(client, login, orders):
    alice, bob = login("alice:1"), login("bob:1")
    orders.paid(1, alice["member"]["id"], 10_000)
    bobs = client.get("/api/v1/me/points", headers=bearer(bob["token"])).get_json()
    assert bobs["balance"] == 0 and bobs["ledger"]["items"] == []
    # no way to name another member: a member id in the query string is refused, never read
    other = client.get(f"/api/v1/me/points?member_id={alice['member']['id']}", headers=bearer(bob["token"]))
    assert other.status_code == 422 and list(other.get_json()["errors"]) == ["member_id"]


def test_staff_and_strangers_cannot_read_me_points(client, staff_token):
    assert client.get("/api/v1/me/points").status_code == 401
    for role in (Role.STAFF, Role.ADMIN):
        refused = client.get("/api/v1/me/points", headers=staff_token(role))
        assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"


@pytest.mark.parametrize(("page", "page_size"), [(0, 20), (1, 0), (1, 101), ("x", 20)])
def test_bad_pagination_is_a_422(client, login, page, page_size):
    response = client.get(f"/api/v1/me/points?page={page}&page_size={page_size}",
                          headers=bearer(login("alice:1")["token"]))
    assert response.status_code == 422


def test_an_admin_adjusts_with_a_reason_the_member_sees_and_never_below_zero(client, login, staff_token, book):
    alice = login("alice:1")
    member_id = alice["member"]["id"]
    admin = staff_token(Role.ADMIN)
    url = f"/api/v1/admin/members/{member_id}/points"
    added = client.post(url, headers=admin, json={"delta": 100, "reason": "  Sorry for the wait  "})
    assert added.status_code == 201
    assert {k: added.get_json()[k] for k in ("reason", "delta", "balance_after", "note")} == {
        "reason": "adjust", "delta": 100, "balance_after": 100, "note": "Sorry for the wait"}
    refused = client.post(url, headers=admin, json={"delta": -150, "reason": "correction"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "points_insufficient"
    assert client.post(url, headers=admin, json={"delta": -100, "reason": "correction"}).status_code == 201
    assert book.account(member_id) == (0, 0)
    mine = client.get("/api/v1/me/points", headers=bearer(alice["token"])).get_json()["ledger"]["items"]
    assert [(item["delta"], item["note"]) for item in mine] == [(-100, "correction"), (100, "Sorry for the wait")]


def test_an_adjustment_retried_with_its_idempotency_key_is_made_once(client, login, staff_token, book):
    member_id = login("alice:1")["member"]["id"]
    admin = {**staff_token(Role.ADMIN), "Idempotency-Key": "adj-42"}
    url = f"/api/v1/admin/members/{member_id}/points"
    first = client.post(url, headers=admin, json={"delta": 50, "reason": "promo"})
    again = client.post(url, headers=admin, json={"delta": 50, "reason": "promo"})
    assert first.get_json() == again.get_json()
    assert book.account(member_id) == (50, 0)
    reused = client.post(url, headers=admin, json={"delta": 80, "reason": "promo"})
    assert reused.status_code == 422 and reused.get_json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("body", [{"delta": 0, "reason": "x"}, {"delta": 10}, {"delta": "10", "reason": "x"},
                                  {"delta": 1.5, "reason": "x"}, {"delta": 10, "reason": ""},
                                  {"delta": 10**9, "reason": "x"}, {"delta": 10, "reason": "a\x00b"}])
def test_a_bad_adjustment_is_a_422_and_changes_nothing(client, login, staff_token, book, body):
    member_id = login("alice:1")["member"]["id"]
    response = client.post(f"/api/v1/admin/members/{member_id}/points", headers=staff_token(Role.ADMIN), json=body)
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"
    assert book.entries(member_id) == []


def test_only_admins_adjust_or_read_a_members_points(client, login, staff_token):
    alice = login("alice:1")
    url = f"/api/v1/admin/members/{alice['member']['id']}/points"
    for headers in (staff_token(Role.MARKETING), staff_token(Role.STAFF), bearer(alice["token"])):
        assert client.post(url, headers=headers, json={"delta": 10, "reason": "x"}).status_code == 403
        assert client.get(url, headers=headers).status_code == 403
    admin = staff_token(Role.ADMIN)
    missing = client.post("/api/v1/admin/members/999999/points", headers=admin, json={"delta": 10, "reason": "x"})
    assert missing.status_code == 404 and missing.get_json()["code"] == "member_not_found"
    assert client.get(f"/api/v1/admin/members/{2**70}/points", headers=admin).status_code == 404
    view = client.get(url, headers=admin).get_json()
    assert view["member_id"] == alice["member"]["id"] and view["balance"] == 0


def test_the_openapi_spec_states_the_rounding_and_the_roles(client):
    spec = client.get("/openapi.json").get_json()
    tag = next(t for t in spec["tags"] if t["name"] == "points")
    assert "floor(P x 100 / POINTS_PER_YUAN_DEDUCTED)" in tag["description"]
    assert "rounded down" in tag["description"] and "never negative" in tag["description"]
    assert spec["paths"]["/api/v1/me/points"]["get"]["x-roles"] == ["shopper"]
    assert spec["paths"]["/api/v1/admin/members/{member_id}/points"]["post"]["x-roles"] == ["admin"]
