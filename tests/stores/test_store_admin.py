"""Marketing keeps the store network; the nearby index follows every change; staff belong to stores."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shop.auth import Role
from shop.extensions import db, redis_client
from shop.stores.geo import GEO_KEY, index_marker
from shop.stores.models import Store
from shop.stores.versions import database_version
from tests.conftest import bearer
from tests.factories import EVERY_DAY_9_TO_21
from tests.orders.conftest import alice, pickup_basket, place, shop  # noqa: F401

NEARBY = "/api/v1/stores/nearby?lat=31.2304&lng=121.4737&radius_m=2000"
NEW_STORE = {"code": "SH900", "name": "Ripple Xintiandi", "address": "181 Taicang Road", "city": "Shanghai",
             "district": "Huangpu", "lat": 31.2200, "lng": 121.4750, "phone": "021-63311234",
             "services": ["pickup", "dine_in"], "weekly_hours": {"mon": [["09:00", "21:00"]], "sat": [["22:00", "02:00"]]}}


def nearby_names(client, query=NEARBY) -> list[str]:
    return [s["name"] for s in client.get(query).get_json()["items"]]


def store_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Store))


@pytest.fixture
def marketing(staff_token):
    return staff_token(Role.MARKETING)


def test_a_new_store_appears_in_the_nearby_search_at_once(client, marketing):
    response = client.post("/api/v1/admin/stores", json=NEW_STORE, headers=marketing)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["code"] == "SH900" and body["timezone"] == "Asia/Shanghai"
    assert body["weekly_hours"]["sat"] == [["22:00", "02:00"]]
    assert nearby_names(client) == ["Ripple Xintiandi"]
    assert client.get(f"/api/v1/stores/{body['id']}").get_json()["name"] == "Ripple Xintiandi"


def test_moving_closing_suspending_reopening_and_deleting_keep_the_index_in_step(client, marketing, staff_token):
    store_id = client.post("/api/v1/admin/stores", json=NEW_STORE, headers=marketing).get_json()["id"]
    url = f"/api/v1/admin/stores/{store_id}"

    client.patch(url, json={"lat": 39.9087, "lng": 116.3975, "city": "Beijing"}, headers=marketing)
    assert nearby_names(client) == []
    assert nearby_names(client, "/api/v1/stores/nearby?lat=39.9087&lng=116.3975") == ["Ripple Xintiandi"]

    client.patch(url, json={"lat": 31.22, "lng": 121.475, "status": "suspended"}, headers=marketing)
    assert nearby_names(client) == []
    client.patch(url, json={"status": "open", "name": "Renamed"}, headers=marketing)
    assert nearby_names(client) == ["Renamed"]

    assert client.post(f"{url}/close", headers=marketing).get_json()["status"] == "closed"
    assert nearby_names(client) == []
    assert client.get(f"/api/v1/stores/{store_id}").get_json()["status"] == "closed"

    client.patch(url, json={"status": "open"}, headers=marketing)
    assert client.delete(url, headers=marketing).status_code == 403  # deleting is for admins
    assert client.delete(url, headers=staff_token(Role.ADMIN)).status_code == 204
    assert nearby_names(client) == []
    assert client.get(f"/api/v1/stores/{store_id}").status_code == 404


def test_a_store_with_orders_is_not_deleted_and_the_refusal_says_to_close_it(client, staff_token, shop, alice):  # noqa: F811
    assert place(client, alice, pickup_basket(shop)).status_code == 201
    url = f"/api/v1/admin/stores/{shop.store_id}"
    refused = client.delete(url, headers=staff_token(Role.ADMIN))
    assert refused.status_code == 409 and refused.get_json()["code"] == "store_has_history"
    assert "orders" in refused.get_json()["details"]["kept_by"] and "close it instead" in refused.get_json()["message"]
    assert client.get(f"/api/v1/stores/{shop.store_id}").status_code == 200
    assert client.delete(f"/api/v1/admin/stores/{shop.other_store_id}", headers=staff_token(Role.ADMIN)).status_code == 204


def test_a_change_that_rolls_back_leaves_the_index_alone(app, client, marketing):
    from shop.stores.service import update_store  # noqa: PLC0415

    store_id = client.post("/api/v1/admin/stores", json=NEW_STORE, headers=marketing).get_json()["id"]
    with app.app_context():
        update_store(store_id, {"status": "closed"})
        db.session.rollback()
    assert nearby_names(client) == ["Ripple Xintiandi"]


def test_flask_stores_reindex_rebuilds_the_index_and_marks_the_version_it_reflects(app, client, marketing):
    client.post("/api/v1/admin/stores", json=NEW_STORE, headers=marketing)
    with app.app_context():
        redis_client().flushdb()  # lost, and no search has noticed yet
    result = app.test_cli_runner().invoke(args=["stores", "reindex"])
    assert result.exit_code == 0 and "indexed 1 open stores (store-set version 1)" in result.output
    with app.app_context():
        assert index_marker(redis_client()) == database_version() == 1
        assert redis_client().zcard(GEO_KEY) == 1
    assert nearby_names(client) == ["Ripple Xintiandi"]


def test_a_holiday_closing_shows_in_the_store_and_is_removable(client, marketing):
    store_id = client.post("/api/v1/admin/stores", json={**NEW_STORE, "weekly_hours": EVERY_DAY_9_TO_21},
                           headers=marketing).get_json()["id"]
    url = f"/api/v1/admin/stores/{store_id}/exceptions/2099-10-01"
    response = client.put(url, json={"hours": [], "note": "National Day"}, headers=marketing)
    assert response.status_code == 200 and response.get_json()["hours"] == []
    store = client.get(f"/api/v1/stores/{store_id}").get_json()
    assert store["exceptions"] == [{"day": "2099-10-01", "hours": [], "note": "National Day"}]
    assert client.delete(url, headers=marketing).status_code == 204
    assert client.get(f"/api/v1/stores/{store_id}").get_json()["exceptions"] == []
    bad = client.put(f"/api/v1/admin/stores/{store_id}/exceptions/not-a-day", json={"hours": []}, headers=marketing)
    assert bad.status_code == 422 and "day" in bad.get_json()["errors"]


@pytest.mark.parametrize("change, field", [
    ({"lat": 95}, "lat"), ({"lng": "east"}, "lng"), ({"code": "has space"}, "code"), ({"name": ""}, "name"),
    ({"timezone": "Mars/Olympus"}, "timezone"), ({"services": ["spa"]}, "services"),
    ({"status": "gone"}, "status"), ({"weekly_hours": {"funday": [["09:00", "21:00"]]}}, "weekly_hours"),
    ({"weekly_hours": {"mon": [["25:00", "21:00"]]}}, "weekly_hours"), ({"owner": "me"}, "owner"),
])
def test_bad_store_input_is_422_and_creates_nothing(app, client, marketing, change, field):
    response = client.post("/api/v1/admin/stores", json={**NEW_STORE, **change}, headers=marketing)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert store_count(app) == 0


def test_a_store_code_is_unique(client, marketing):
    client.post("/api/v1/admin/stores", json=NEW_STORE, headers=marketing)
    response = client.post("/api/v1/admin/stores", json={**NEW_STORE, "name": "Copy"}, headers=marketing)
    assert response.status_code == 409 and response.get_json()["code"] == "store_code_taken"


def test_only_marketing_and_admins_manage_stores(client, login, staff_token):
    shopper = bearer(login("alice:1")["token"])
    for headers, status in ((shopper, 403), (staff_token(Role.STAFF), 403), ({}, 401)):
        assert client.post("/api/v1/admin/stores", json=NEW_STORE, headers=headers).status_code == status
        assert client.get("/api/v1/admin/stores", headers=headers).status_code == status
    assert client.get("/api/v1/admin/stores", headers=staff_token(Role.ADMIN)).status_code == 200


CSV_HEADER = "code,name,address,city,district,lat,lng,phone,timezone,services,status,hours\n"


def test_a_csv_import_creates_then_updates_by_code(app, client, marketing):
    csv = (CSV_HEADER
           + "SH100,Ripple Bund,1 Zhongshan Rd,Shanghai,Huangpu,31.2400,121.4900,,Asia/Shanghai,pickup|dine_in,open,mon-sun 09:00-21:00\n"
           + "SH101,Ripple Jing'an,2 Nanjing Rd,Shanghai,Jing'an,31.2290,121.4550,,,pickup,open,mon-fri 08:00-20:00\n")
    response = client.post("/api/v1/admin/stores/import", data=csv, content_type="text/csv", headers=marketing)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"created": 2, "updated": 0, "unchanged": 0}
    again = client.post("/api/v1/admin/stores/import", data=csv.replace("Ripple Bund", "Ripple The Bund"),
                        content_type="text/csv", headers=marketing)
    assert again.get_json() == {"created": 0, "updated": 1, "unchanged": 1}
    assert store_count(app) == 2
    assert "Ripple The Bund" in nearby_names(client, "/api/v1/stores/nearby?lat=31.24&lng=121.49&radius_m=3000")


def test_a_csv_with_bad_rows_imports_nothing_and_names_each_line(app, client, marketing):
    csv = (CSV_HEADER
           + "SH100,Ripple Bund,1 Zhongshan Rd,Shanghai,Huangpu,31.24,121.49,,,pickup,open,mon-sun 09:00-21:00\n"
           + "SH101,Ripple Bad,2 Rd,Shanghai,,91,121.45,,,pickup,open,mon-sun 09:00-21:00\n"
           + "SH102,Ripple Worse,3 Rd,Shanghai,,31.2,121.45,,,teleport,open,mon-sun 09:00-21:00\n")
    response = client.post("/api/v1/admin/stores/import", data={"file": (__import__("io").BytesIO(csv.encode()), "s.csv")},
                           headers=marketing)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "store_import_invalid"
    assert set(body["errors"]) == {"line 3", "line 4"}
    assert store_count(app) == 0


def test_flask_stores_import_reads_a_file(app, tmp_path, client):
    path = tmp_path / "stores.csv"
    path.write_text(CSV_HEADER + "SH100,Ripple Bund,1 Rd,Shanghai,,31.24,121.49,,,pickup,open,mon-sun 09:00-21:00\n")
    result = app.test_cli_runner().invoke(args=["stores", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 1, updated 0, unchanged 0" in result.output
    assert store_count(app) == 1


def test_an_admin_creates_a_clerk_for_a_store_who_can_log_in(client, marketing, staff_token):
    store_id = client.post("/api/v1/admin/stores", json=NEW_STORE, headers=marketing).get_json()["id"]
    admin = staff_token(Role.ADMIN)
    response = client.post(f"/api/v1/admin/stores/{store_id}/staff", headers=admin,
                           json={"username": "xtd-clerk", "password": "counter-pass-9", "display_name": "Li"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["store_ids"] == [store_id] and response.get_json()["role"] == "staff"
    login = client.post("/api/v1/auth/staff-login", json={"username": "xtd-clerk", "password": "counter-pass-9"})
    assert login.get_json()["store_ids"] == [store_id]
    listed = client.get(f"/api/v1/admin/stores/{store_id}/staff", headers=admin).get_json()
    assert [s["username"] for s in listed] == ["xtd-clerk"]
    assert client.post(f"/api/v1/admin/stores/{store_id}/staff", headers=marketing,
                       json={"username": "x-clerk", "password": "counter-pass-9"}).status_code == 403
    assert client.post("/api/v1/admin/stores/999/staff", headers=admin,
                       json={"username": "y-clerk", "password": "counter-pass-9"}).status_code == 404
