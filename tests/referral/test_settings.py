"""The referral policy: admins change it, it is checked as a whole, and three levels are always refused."""

from __future__ import annotations

import pytest

from referral.policy.service import load_settings
from shop.auth import Role
from shop.extensions import db
from tests.conftest import bearer
from tests.factories import make_category, make_product

URL = "/api/v1/admin/referral/settings"


def _stored(app) -> dict:
    with app.app_context():
        row = load_settings()
        return {"reward_levels": row.reward_levels, "percent_bp": row.percent_bp, "bind_mode": row.bind_mode,
                "fixed_per_sku": row.fixed_per_sku, "updated_by_staff_id": row.updated_by_staff_id}


def _sku(app) -> int:
    with app.app_context():
        product = make_product(make_category().id)
        db.session.commit()
        return product.skus[0].id


def test_marketing_reads_the_default_policy(client, staff_token):
    response = client.get(URL, headers=staff_token(Role.MARKETING))

    assert response.status_code == 200
    body = response.get_json()
    assert {key: body[key] for key in ("sharer_policy", "bind_mode", "protection_days", "reward_levels",
                                       "reward_kind", "reward_basis", "percent_bp", "refund_window_days")} == {
        "sharer_policy": "everyone", "bind_mode": "first_touch", "protection_days": None, "reward_levels": 1,
        "reward_kind": "points", "reward_basis": "percent", "percent_bp": [500, 0], "refund_window_days": 7}


def test_an_admin_changes_the_policy_and_who_did_it_is_kept(app, client, staff_token):
    admin = staff_token(Role.ADMIN)
    sku = _sku(app)
    change = {"sharer_policy": "first_paid_order", "bind_mode": "protected", "protection_days": 30,
              "reward_levels": 2, "reward_kind": "commission", "reward_basis": "fixed_per_sku",
              "fixed_per_sku": {str(sku): [300]}, "percent_bp": [800, 200], "refund_window_days": 14,
              "min_withdrawal": 500}

    response = client.put(URL, json=change, headers=admin)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["fixed_per_sku"] == {str(sku): [300, 0]} and body["protection_days"] == 30
    assert body["updated_by_staff_id"] is not None and body["updated_at"]
    assert client.get(URL, headers=admin).get_json() == body
    # A partial change keeps the rest; leaving the protected mode drops its period.
    later = client.put(URL, json={"bind_mode": "first_touch"}, headers=admin).get_json()
    assert (later["bind_mode"], later["protection_days"], later["reward_levels"]) == ("first_touch", None, 2)


@pytest.mark.parametrize("change, field", [
    ({"reward_levels": 3}, "reward_levels"),
    ({"reward_levels": 10}, "reward_levels"),
    ({"percent_bp": [500, 200, 100]}, "percent_bp"),
])
def test_three_levels_are_refused_naming_the_field_and_why(app, client, staff_token, change, field):
    response = client.put(URL, json=change, headers=staff_token(Role.ADMIN))

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "referral_settings_invalid"
    assert "pyramid selling" in body["errors"][field][0] and "WeChat" in body["errors"][field][0]
    assert _stored(app)["reward_levels"] == 1 and _stored(app)["percent_bp"] == [500, 0]


def test_a_fixed_amount_for_three_levels_or_an_unknown_sku_is_refused(app, client, staff_token):
    sku = _sku(app)
    admin = staff_token(Role.ADMIN)

    three = client.put(URL, json={"reward_basis": "fixed_per_sku", "fixed_per_sku": {str(sku): [1, 2, 3]}},
                       headers=admin)
    unknown = client.put(URL, json={"reward_basis": "fixed_per_sku", "fixed_per_sku": {"99999999": [100]}},
                         headers=admin)
    empty = client.put(URL, json={"reward_basis": "fixed_per_sku"}, headers=admin)

    assert "pyramid selling" in three.get_json()["errors"]["fixed_per_sku"][0]
    assert unknown.get_json()["errors"]["fixed_per_sku"] == ["SKU 99999999 does not exist."]
    assert "Required" in empty.get_json()["errors"]["fixed_per_sku"][0]
    assert _stored(app)["fixed_per_sku"] == {}


@pytest.mark.parametrize("change, field", [
    ({"bind_mode": "protected"}, "protection_days"),
    ({"reward_levels": 0}, "reward_levels"),
    ({"percent_bp": [9000, 2000], "reward_levels": 2}, "percent_bp"),
])
def test_a_policy_that_does_not_hold_together_is_refused(app, client, staff_token, change, field):
    response = client.put(URL, json=change, headers=staff_token(Role.ADMIN))

    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert _stored(app)["bind_mode"] == "first_touch"


@pytest.mark.parametrize("change, field", [
    ({"reward_levels": "2"}, "reward_levels"),
    ({"bind_mode": "last_touch"}, "bind_mode"),
    ({"reward_kind": "cash"}, "reward_kind"),
    ({"protection_days": -1}, "protection_days"),
    ({"refund_window_days": 10**9}, "refund_window_days"),
    ({"min_withdrawal": 1}, "min_withdrawal"),
    ({"fixed_per_sku": {"abc": [1]}}, "fixed_per_sku"),
    ({"percent_bp": [10_001]}, "percent_bp"),
])
def test_wrong_types_and_values_are_422_and_change_nothing(app, client, staff_token, change, field):
    response = client.put(URL, json=change, headers=staff_token(Role.ADMIN))

    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert _stored(app)["updated_by_staff_id"] is None


def test_only_admins_change_the_policy_and_shoppers_do_not_read_it(client, staff_token, login):
    marketing = client.put(URL, json={"reward_levels": 2}, headers=staff_token(Role.MARKETING))
    shopper = client.get(URL, headers=bearer(login("alice:1")["token"]))
    clerk = client.get(URL, headers=staff_token(Role.STAFF))

    assert [marketing.status_code, shopper.status_code, clerk.status_code] == [403, 403, 403]


def test_an_admin_approves_a_sharer_and_withdraws_it_both_kept_in_the_history(client, staff_token, login):
    admin = staff_token(Role.ADMIN)
    alice_id = login("alice:1")["member"]["id"]
    url = f"/api/v1/admin/referral/members/{alice_id}/approve"

    approved = client.post(url, json={"reason": "runs the Xintiandi fan group"}, headers=admin)
    again = client.post(url, json={}, headers=admin)
    withdrawn = client.delete(url, headers=admin)

    assert approved.status_code == 200 and approved.get_json()["approved_at"]
    assert again.get_json()["approved_at"] == approved.get_json()["approved_at"]
    assert withdrawn.get_json() == {"member_id": alice_id, "approved_at": None}
    entries = client.get(f"/api/v1/admin/referral/members/{alice_id}/history", headers=admin).get_json()
    assert [(e["kind"], e["reason"]) for e in entries["items"]] == [
        ("approval_revoked", None), ("approved", "runs the Xintiandi fan group")]
    assert client.post(url, json={}, headers=staff_token(Role.MARKETING)).status_code == 403
    missing = client.post("/api/v1/admin/referral/members/987654/approve", json={}, headers=admin)
    assert missing.status_code == 404 and missing.get_json()["code"] == "referral_member_not_found"
