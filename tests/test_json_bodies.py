"""JSON bodies the API cannot read as text are refused before any view sees them."""

import json

from sqlalchemy import func, select

from coupons.models import CouponBatch
from referral.sharing.models import Share
from shop.auth import Role
from shop.extensions import db
from shop.stores.models import Store
from tests.conftest import bearer
from tests.coupons.conftest import batch_body

BATCHES = "/api/v1/admin/coupon-batches"


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _post_raw(client, path: str, text: str, headers: dict, method: str = "POST"):
    return client.open(path, method=method, data=text, content_type="application/json", headers=headers)


def test_a_lone_surrogate_escape_in_a_body_is_a_400_and_changes_nothing(app, client, staff_token):
    marketing = staff_token(Role.MARKETING)
    lone = json.dumps(batch_body(name="\ud800 off"))  # the stdlib writes it as the escape \ud800
    refused = _post_raw(client, BATCHES, lone, marketing)
    assert (refused.status_code, refused.get_json()["code"]) == (400, "bad_request")
    draft = client.post(BATCHES, json=batch_body(), headers=marketing).get_json()
    changed = _post_raw(client, f"{BATCHES}/{draft['id']}", json.dumps({"budget_note": "a\udfffb"}), marketing,
                        method="PATCH")
    assert (changed.status_code, changed.get_json()["code"]) == (400, "bad_request")
    after = client.get(f"{BATCHES}/{draft['id']}", headers=marketing).get_json()
    assert after.pop("stats")["issued"] == 0 and after == draft
    assert _count(app, CouponBatch) == 1


def test_an_escaped_pair_of_surrogates_is_ordinary_text(client, staff_token):
    marketing = staff_token(Role.MARKETING)
    created = _post_raw(client, BATCHES, json.dumps(batch_body(name="😀 10 yuan off")), marketing)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["name"] == "😀 10 yuan off"


def test_a_body_sent_as_another_content_type_is_415_not_read_as_no_body(app, client, login, staff_token):
    shopper = bearer(login("alice:1")["token"])
    admin = staff_token(Role.ADMIN)
    before = client.get("/api/v1/admin/referral/settings", headers=admin).get_json()
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        settings = client.put("/api/v1/admin/referral/settings", data=json.dumps({"bind_mode": "protected",
                              "protection_days": 7}), content_type=content_type, headers=admin)
        assert (settings.status_code, settings.get_json()["code"]) == (415, "unsupported_media_type")
        share = client.post("/api/v1/shares", data=json.dumps({"campaign": "spring"}), content_type=content_type,
                            headers=shopper)
        assert (share.status_code, share.get_json()["code"]) == (415, "unsupported_media_type")
    assert client.get("/api/v1/admin/referral/settings", headers=admin).get_json() == before
    assert _count(app, Share) == 0
    # No body at all is still the home page's share: every field of it is optional.
    assert client.post("/api/v1/shares", headers=shopper).status_code == 201


def test_the_stores_blueprint_with_its_own_parser_refuses_unreadable_bodies_too(app, client, staff_token):
    # The stores blueprint parses with QuickQueryParser, not flask-smorest's shared parser.
    marketing = staff_token(Role.MARKETING)
    store = {"code": "SH901", "name": "Ripple Jing'an", "address": "1 Nanjing West Road", "city": "Shanghai",
             "lat": 31.2304, "lng": 121.4737, "services": ["pickup"], "weekly_hours": {"mon": [["09:00", "21:00"]]}}
    lone = _post_raw(client, "/api/v1/admin/stores", json.dumps({**store, "name": "\ud800 Jing'an"}), marketing)
    assert (lone.status_code, lone.get_json()["code"]) == (400, "bad_request")
    as_text = client.post("/api/v1/admin/stores", data=json.dumps(store), content_type="text/plain",
                          headers=marketing)
    assert (as_text.status_code, as_text.get_json()["code"]) == (415, "unsupported_media_type")
    assert _count(app, Store) == 0
    assert client.post("/api/v1/admin/stores", json=store, headers=marketing).status_code == 201
