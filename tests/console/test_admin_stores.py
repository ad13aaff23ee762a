"""Stores at /console/stores: the list, the form with the API's field errors in place, and the CSV import followed
on its own page (progress, then the counts or every error by line), for marketing and admins only."""

from __future__ import annotations

import io
import re

import pytest

from shop.auth import Role
from shop.extensions import db
from shop.stores.coordinates import wgs84_to_gcj02
from shop.stores.importing import parse_stores_csv
from shop.stores.models import Store, StoreImport
from tests.console.conftest import text_of
from tests.orders.conftest import shop  # noqa: F401
from tests.stores.test_importing import GOOD, HEADER

STORE = {"code": "SH900", "name": "Jing'an Temple", "address": "1 Nanjing W Rd", "city": "Shanghai",
         "district": "Jing'an", "phone": "021-1234 5678", "timezone": "Asia/Shanghai", "lat": "31.2235",
         "lng": "121.4453", "coord": "gcj02", "status": "open", "hours": "mon-fri 09:00-21:00; sat,sun 10:00-22:00",
         "services": ["pickup", "dine_in"]}
WRONG_LINE_3 = (HEADER + "\n"
                "SH101,Store one,1 Road,Shanghai,,31.23,121.47,,,pickup,,daily 09:00-21:00\n"
                "SH102,Store two,2 Road,Shanghai,,91.5,121.47,,,pickup,,daily 09:00-21:00\n")


def upload(user, text: str | bytes, *, name: str = "stores.csv", csrf: bool = True):
    raw = text.encode() if isinstance(text, str) else text
    return user.post("/console/stores/import?lang=en", {"file": (io.BytesIO(raw), name)}, csrf=csrf,
                     content_type="multipart/form-data")


def codes(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(db.select(Store.code)))


def test_an_admin_imports_a_csv_and_the_page_shows_the_counts_at_the_end(app, admin):
    started = upload(admin, GOOD)
    assert started.status_code == 302 and "/console/stores/import/" in started.location
    page = text_of(admin.get(started.location + "?lang=en"))
    assert "Stores imported: 3 created, 0 updated, 0 unchanged." in page
    assert re.search(r'<progress id="import-bar" max="4" value="4"', page)
    assert "hx-trigger" not in page  # finished: nothing polls any more
    assert {"SH001", "BJ001", "GZ001"} <= codes(app)
    again = text_of(admin.get(upload(admin, GOOD).location + "?lang=en"))
    assert "0 created, 0 updated, 3 unchanged" in again
    with app.app_context():
        assert {job.text for job in db.session.scalars(db.select(StoreImport))} == {""}  # the file is not kept


def test_a_csv_with_a_wrong_line_imports_nothing_and_the_table_names_the_line(app, admin):
    page = text_of(admin.get(upload(admin, WRONG_LINE_3).location + "?lang=en"))
    assert "1 problem in the file: nothing was imported." in page
    row = re.search(r'<table class="listing errors" id="import-errors">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert re.fullmatch(r'\s*<tr><td class="num">3</td><td>lat</td><td>91.5 is outside [^<]+</td></tr>\s*', row), row
    assert not {"SH101", "SH102"} & codes(app)


def test_a_file_that_is_not_utf8_is_refused_at_once_saying_what_it_looks_like(app, admin):
    refused = upload(admin, WRONG_LINE_3.replace("Store one", "门店一").encode("gbk"))
    assert refused.status_code == 422 and "not UTF-8 (it looks like GBK/GB18030)" in text_of(refused)
    assert upload(admin, b"").status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(StoreImport)) == 0


def test_a_running_import_page_polls_and_its_bar_stands_where_the_check_got(app, admin):
    with app.app_context():
        db.session.add(StoreImport(id="a" * 32, status="checking", text="", total_lines=2001, checked_lines=500,
                                   errors=[]))
        db.session.commit()
    part = admin.get(f"/console/stores/import/{'a' * 32}?lang=en", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in text_of(part)
    assert 'hx-trigger="every 1s"' in text_of(part) and 'max="2001" value="500"' in text_of(part)
    assert "Checking the lines: 500 of 2001 lines checked" in text_of(part)
    assert admin.get(f"/console/stores/import/{'b' * 32}").status_code == 404
    assert admin.get("/console/stores/import/not-a-job").status_code == 404


def test_the_check_reports_its_progress_every_so_many_store_lines():
    seen: list[int] = []
    text = HEADER + "\n" + "".join(f"S{n},Store,1 Road,Shanghai,,31.2,121.4,,,,,daily 09:00-21:00\n" for n in range(7))
    assert parse_stores_csv(text, progress=seen.append, every=3).ok
    assert seen == [4, 7]  # after the 3rd and the 6th store (lines 4 and 7; the header is line 1)


def test_an_admin_creates_a_store_from_gps_numbers_and_it_is_kept_in_gcj02(app, admin):
    created = admin.post("/console/stores/new?lang=en", {**STORE, "coord": "wgs84"})
    assert created.status_code == 302
    with app.app_context():
        store = db.session.scalar(db.select(Store).where(Store.code == "SH900"))
        assert (store.lat, store.lng) == pytest.approx(wgs84_to_gcj02(31.2235, 121.4453))
        assert store.weekly_hours["sat"] == [["10:00", "22:00"]] and store.services == ["dine_in", "pickup"]
    page = text_of(admin.get(created.location + "?lang=en"))
    assert "Store SH900 created." in page and 'value="sat 10:00-22:00' not in page
    assert "mon 09:00-21:00; tue 09:00-21:00" in page  # the hours as the form writes them back


def test_the_store_forms_field_errors_are_the_apis_and_show_beside_their_field(app, admin, shop):  # noqa: F811
    wrong = admin.post("/console/stores/new?lang=en", {**STORE, "lat": "north", "hours": "mon 9-5", "code": "a b"})
    page = text_of(wrong)
    assert wrong.status_code == 422 and "Some fields need a change" in page
    for field in ("lat", "hours", "code"):
        assert f'id="{field}-error"' in page, field
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="lat"|<input[^>]*id="lat"[^>]*aria-invalid="true"', page)
    with app.app_context():
        taken = db.session.get(Store, shop.store_id).code
    duplicate = admin.post("/console/stores/new?lang=en", {**STORE, "code": taken})
    assert duplicate.status_code == 409 and "Another store has this code." in text_of(duplicate)
    assert "SH900" not in codes(app)


def test_an_admin_changes_a_stores_hours_and_closes_it(app, admin, shop):  # noqa: F811
    page = admin.get(f"/console/stores/{shop.store_id}?lang=en")
    assert page.status_code == 200
    with app.app_context():
        store = db.session.get(Store, shop.store_id)
        body = {"code": store.code, "name": store.name, "address": store.address, "city": store.city,
                "lat": repr(store.lat), "lng": repr(store.lng), "coord": "gcj02", "timezone": store.timezone,
                "status": "closed", "hours": "daily 08:00-20:00"}
    saved = admin.post(f"/console/stores/{shop.store_id}?lang=en", body)
    assert saved.status_code == 302
    with app.app_context():
        store = db.session.get(Store, shop.store_id)
        assert store.status == "closed" and store.weekly_hours["sun"] == [["08:00", "20:00"]]
    listed = text_of(admin.get("/console/stores?status=closed&lang=en"))
    assert store.name in listed
    assert admin.post("/console/stores/999999?lang=en", body).status_code == 404


def test_marketing_keeps_stores_as_the_api_allows(app, browser, account):
    user = browser()
    user.login(account(Role.MARKETING))
    assert user.get("/console/stores").status_code == 200
    assert upload(user, GOOD).status_code == 302 and "SH001" in codes(app)


def test_a_clerk_may_not_open_the_stores_pages_nor_import(app, browser, account, shop):  # noqa: F811
    user = browser()
    user.login(account(Role.STAFF, [shop.store_id]))
    user.get("/console/counter")
    for path in ("/console/stores", "/console/stores/new", "/console/stores/import", f"/console/stores/{shop.store_id}"):
        assert user.get(path).status_code == 403, path
    assert upload(user, GOOD).status_code == 403
    assert user.post("/console/stores/new", STORE).status_code == 403
    assert not {"SH001", "SH900"} & codes(app)
    anonymous = browser()
    assert anonymous.get("/console/stores").status_code == 302


def test_store_forms_and_imports_without_their_csrf_token_are_refused(app, admin):
    assert admin.post("/console/stores/new", STORE, csrf=False).status_code == 400
    assert upload(admin, GOOD, csrf=False).status_code == 400
    assert not {"SH001", "SH900"} & codes(app)
