"""Marketing's batches: create, validate, edit while draft, the state machine, list and detail, roles."""

from datetime import UTC, datetime, timedelta

import pytest

from shop.auth import Role
from tests.conftest import bearer
from tests.coupons.conftest import batch_body

URL = "/api/v1/admin/coupon-batches"


def test_create_a_draft_and_read_it_back_with_counts(client, marketing):
    starts = datetime(2026, 1, 1, tzinfo=UTC)
    body = batch_body(kind="percent_off", amount_off=None, percent=15, max_off=2000, min_spend=5000,
                      valid_days=None, starts_at=starts.isoformat(), ends_at=(starts + timedelta(days=30)).isoformat())
    created = client.post(URL, json=body, headers=marketing)
    assert created.status_code == 201, created.get_json()
    batch = created.get_json()
    assert batch["status"] == "draft" and batch["percent"] == 15 and batch["max_off"] == 2000
    assert batch["issued"] == 0 and batch["remaining"] == 10 and batch["channel"] == "public"
    assert batch["starts_at"].startswith("2026-01-01T00:00:00")
    detail = client.get(f"{URL}/{batch['id']}", headers=marketing).get_json()
    assert detail.pop("stats")["issued"] == 0 and detail == batch  # the detail adds the stats


@pytest.mark.parametrize(("changes", "fields"), [
    ({"kind": "amount_off", "amount_off": None}, {"amount_off"}),
    ({"kind": "amount_off", "percent": 10}, {"percent"}),
    ({"kind": "percent_off", "amount_off": None, "percent": 100, "max_off": 100}, {"percent"}),
    ({"kind": "percent_off", "amount_off": None, "percent": 10}, {"max_off"}),
    ({"kind": "threshold", "min_spend": 0}, {"min_spend"}),
    ({"kind": "threshold", "min_spend": 500, "amount_off": 1000}, {"amount_off"}),
    ({"kind": "free_lunch"}, {"kind"}),
    ({"amount_off": -5}, {"amount_off"}),
    ({"amount_off": "100"}, {"amount_off"}),
    ({"total": 0, "per_member_limit": 0}, {"total", "per_member_limit"}),
    ({"total": 10**12}, {"total"}),
    ({"valid_days": None}, {"starts_at", "ends_at"}),
    ({"starts_at": "2026-01-01T00:00:00"}, {"starts_at"}),  # naive
    ({"valid_days": None, "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}, {"ends_at"}),
    ({"starts_at": "2026-01-01T00:00:00Z"}, {"starts_at"}),  # both a window and valid_days
    ({"channel": "lottery"}, {"channel"}),
    ({"name": ""}, {"name"}),
])
def test_invalid_batches_are_422_naming_the_fields(client, marketing, changes, fields):
    response = client.post(URL, json=batch_body(**changes), headers=marketing)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == "validation_error"
    assert set(response.get_json()["errors"]) == fields
    assert client.get(URL, headers=marketing).get_json()["total"] == 0


def test_missing_fields_are_named(client, marketing):
    response = client.post(URL, json={}, headers=marketing)
    assert response.status_code == 422
    assert {"name", "kind", "total"} <= set(response.get_json()["errors"])


def test_a_draft_can_be_edited_and_is_checked_as_a_whole(client, marketing):
    batch_id = client.post(URL, json=batch_body(), headers=marketing).get_json()["id"]
    edited = client.patch(f"{URL}/{batch_id}", json={"name": "Spring", "total": 50}, headers=marketing)
    assert edited.status_code == 200 and edited.get_json()["name"] == "Spring" and edited.get_json()["total"] == 50
    wrong = client.patch(f"{URL}/{batch_id}", json={"kind": "percent_off"}, headers=marketing)
    assert wrong.status_code == 422 and {"percent", "max_off", "amount_off"} == set(wrong.get_json()["errors"])
    switched = client.patch(f"{URL}/{batch_id}", json={
        "valid_days": None, "starts_at": "2026-01-01T00:00:00+08:00", "ends_at": "2026-02-01T00:00:00+08:00"},
        headers=marketing)
    assert switched.status_code == 200, switched.get_json()
    assert switched.get_json()["starts_at"].startswith("2025-12-31T16:00:00")
    assert client.get(f"{URL}/{batch_id}", headers=marketing).get_json()["name"] == "Spring"


def test_states_change_only_from_the_expected_state(client, marketing):
    batch_id = client.post(URL, json=batch_body(), headers=marketing).get_json()["id"]

    def act(action):
        return client.post(f"{URL}/{batch_id}/{action}", headers=marketing)

    assert act("pause").status_code == 409 and act("pause").get_json()["code"] == "coupon_batch_state_conflict"
    assert act("end").status_code == 409
    assert act("activate").get_json()["status"] == "active"
    assert act("activate").status_code == 409
    edit = client.patch(f"{URL}/{batch_id}", json={"name": "late"}, headers=marketing)
    assert edit.status_code == 409 and edit.get_json()["code"] == "coupon_batch_state_conflict"
    assert act("pause").get_json()["status"] == "paused"
    assert act("activate").get_json()["status"] == "active"
    assert act("end").get_json()["status"] == "ended"
    for action in ("activate", "pause", "end"):
        assert act(action).status_code == 409
    assert client.get(f"{URL}/{batch_id}", headers=marketing).get_json()["status"] == "ended"


def test_unknown_batch_is_404(client, marketing):
    for response in (client.get(f"{URL}/999", headers=marketing),
                     client.post(f"{URL}/999/activate", headers=marketing),
                     client.patch(f"{URL}/999", json={"name": "x"}, headers=marketing)):
        assert response.status_code == 404 and response.get_json()["code"] == "coupon_batch_not_found"


def test_list_is_paginated_newest_first_and_filters_by_status(client, marketing):
    ids = [client.post(URL, json=batch_body(name=f"b{n}"), headers=marketing).get_json()["id"] for n in range(3)]
    client.post(f"{URL}/{ids[0]}/activate", headers=marketing)
    page = client.get(f"{URL}?page=1&page_size=2", headers=marketing).get_json()
    assert page["total"] == 3 and [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    assert page["items"][0]["issued"] == 0
    active = client.get(f"{URL}?status=active", headers=marketing).get_json()
    assert [item["id"] for item in active["items"]] == [ids[0]]
    assert client.get(f"{URL}?status=nope", headers=marketing).status_code == 422
    assert client.get(f"{URL}?page_size=1000", headers=marketing).status_code == 422


def test_only_marketing_and_admin_manage_batches(client, staff_token, login):
    assert client.post(URL, json=batch_body()).status_code == 401
    shopper = bearer(login("alice:1")["token"])
    clerk = staff_token(Role.STAFF)
    for headers in (shopper, clerk):
        assert client.post(URL, json=batch_body(), headers=headers).status_code == 403
        assert client.get(URL, headers=headers).status_code == 403
    admin = staff_token(Role.ADMIN)
    batch_id = client.post(URL, json=batch_body(), headers=admin).get_json()["id"]
    assert client.post(f"{URL}/{batch_id}/activate", headers=clerk).status_code == 403
    assert client.post(f"{URL}/{batch_id}/activate", headers=admin).status_code == 200
