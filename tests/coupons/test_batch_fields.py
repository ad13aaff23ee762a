"""A batch's usage, scope, daily limit and budget note: given on create, changed while draft, checked."""

import pytest

from tests.conftest import bearer
from tests.coupons.conftest import batch_body
from tests.factories import make_category, make_product, make_store

URL = "/api/v1/admin/coupon-batches"


@pytest.fixture
def catalog(committed):
    """A store, a category and a product that scopes can name."""

    def make():
        category = make_category()
        return {"store": make_store().id, "category": category.id, "product": make_product(category.id).id}

    return committed(make)


def test_a_batch_keeps_its_usage_scope_daily_limit_and_note(client, marketing, catalog, login, active_batch):
    body = batch_body(usage="in_store", scope_product_ids=[catalog["product"], catalog["product"]],
                      scope_category_ids=[catalog["category"]], scope_store_ids=[catalog["store"]],
                      daily_limit=5, budget_note="Q3 store traffic\n20,000 yuan")
    created = client.post(URL, json=body, headers=marketing)
    assert created.status_code == 201, created.get_json()
    batch = created.get_json()
    assert batch["usage"] == "in_store" and batch["daily_limit"] == 5
    assert batch["scope_product_ids"] == [catalog["product"]]  # once each
    assert batch["scope_category_ids"] == [catalog["category"]] and batch["scope_store_ids"] == [catalog["store"]]
    assert batch["budget_note"] == "Q3 store traffic\n20,000 yuan"
    detail = client.get(f"{URL}/{batch['id']}", headers=marketing).get_json()
    assert detail.pop("stats")["issued"] == 0 and detail == batch
    plain = client.post(URL, json=batch_body(), headers=marketing).get_json()
    assert plain["usage"] == "both" and plain["scope_store_ids"] is None and plain["daily_limit"] is None
    shown = active_batch(usage="online", budget_note="internal")
    listed = client.get("/api/v1/coupon-batches", headers=bearer(login("alice:1")["token"])).get_json()
    [item] = [item for item in listed["items"] if item["batch"]["id"] == shown]
    assert item["batch"]["usage"] == "online" and "budget_note" not in item["batch"]  # marketing's note stays inside


def test_a_draft_changes_its_scope_and_limits(client, marketing, catalog):
    batch_id = client.post(URL, json=batch_body(), headers=marketing).get_json()["id"]
    changed = client.patch(f"{URL}/{batch_id}", headers=marketing, json={
        "scope_store_ids": [catalog["store"]], "daily_limit": 3, "usage": "online", "budget_note": "ok"})
    assert changed.status_code == 200, changed.get_json()
    batch = changed.get_json()
    assert (batch["scope_store_ids"], batch["daily_limit"], batch["usage"], batch["budget_note"]) == \
        ([catalog["store"]], 3, "online", "ok")
    cleared = client.patch(f"{URL}/{batch_id}", headers=marketing, json={"scope_store_ids": None, "daily_limit": None})
    assert (cleared.get_json()["scope_store_ids"], cleared.get_json()["daily_limit"]) == (None, None)
    missing = client.patch(f"{URL}/{batch_id}", headers=marketing, json={"scope_product_ids": [987654]})
    assert missing.status_code == 422 and set(missing.get_json()["errors"]) == {"scope_product_ids"}
    assert client.get(f"{URL}/{batch_id}", headers=marketing).get_json()["scope_product_ids"] is None
    client.post(f"{URL}/{batch_id}/activate", headers=marketing)
    frozen = client.patch(f"{URL}/{batch_id}", headers=marketing, json={"daily_limit": 1})
    assert frozen.status_code == 409 and frozen.get_json()["code"] == "coupon_batch_state_conflict"


@pytest.mark.parametrize(("changes", "fields"), [
    ({"usage": "anywhere"}, {"usage"}),
    ({"scope_product_ids": [987654]}, {"scope_product_ids"}),
    ({"scope_category_ids": [987654], "scope_store_ids": [987655]}, {"scope_category_ids", "scope_store_ids"}),
    ({"scope_store_ids": []}, {"scope_store_ids"}),
    ({"scope_store_ids": ["1"]}, {"scope_store_ids"}),
    ({"scope_store_ids": [0]}, {"scope_store_ids"}),
    ({"scope_product_ids": list(range(1, 1002))}, {"scope_product_ids"}),
    ({"scope_product_ids": 5}, {"scope_product_ids"}),
    ({"daily_limit": 0}, {"daily_limit"}),
    ({"budget_note": "x" * 2001}, {"budget_note"}),
    ({"budget_note": "bell\x07"}, {"budget_note"}),
])
def test_bad_fields_are_422_naming_them_and_create_nothing(client, marketing, changes, fields):
    response = client.post(URL, json=batch_body(**changes), headers=marketing)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["errors"]) == fields
    assert client.get(URL, headers=marketing).get_json()["total"] == 0


def test_the_kinds_say_which_terms_are_money_so_forms_can_take_yuan():
    from coupons import kinds

    assert set(kinds.fen_terms()) == {"amount_off", "max_off", "unit_price"}
