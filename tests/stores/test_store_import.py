"""Importing stores as marketing does it, over HTTP and from `flask stores import`: one set of rules for both.

The file's encoding, its size, its store codes and what a second import of the same file reports
are the same whichever way the file arrives, and the same as the admin API's JSON.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from shop.auth import Role
from shop.extensions import db
from shop.stores.importing import MAX_FILE_BYTES
from shop.stores.models import Store
from shop.stores.schemas import STORE_CODE_RULE
from shop.stores.versions import database_version
from tests.stores.test_store_admin import NEW_STORE, store_count

IMPORT = "/api/v1/admin/stores/import"
HEADER = "code,name,address,city,district,lat,lng,phone,timezone,services,status,hours\n"
TWO_STORES = (HEADER
              + "SH100,门店 外滩,1 中山东一路,上海,黄浦,31.2400,121.4900,021-6321 0000,,pickup|dine_in,open,"
                '"mon-fri 09:00-21:00; sat,sun 10:00-22:00"\n'
              + "SH101,门店 静安,2 南京西路,上海,静安,31.2290,121.4550,,,pickup,,daily 08:00-20:00\n")
GBK_FILE = TWO_STORES.encode("gbk")  # what Excel on Chinese Windows saves as "CSV"
NOT_UTF8 = 'The file is not UTF-8: line 2 is not UTF-8 text (it looks like GBK/GB18030). ' \
           'Save it as "CSV UTF-8" and import it again.'


@pytest.fixture
def marketing(staff_token):
    return staff_token(Role.MARKETING)


@pytest.fixture
def cli(app, tmp_path):
    """`flask stores import` on a file holding these bytes; returns click's result."""

    def run(content: bytes, *options: str):
        path = tmp_path / "stores.csv"
        path.write_bytes(content)
        return app.test_cli_runner().invoke(args=["stores", "import", *options, str(path)])

    return run


def version(app) -> int:
    with app.app_context():
        return database_version()


def updated_at(app) -> dict:
    with app.app_context():
        return dict(db.session.execute(select(Store.code, Store.updated_at)).all())


# --- the encoding ---------------------------------------------------------------------------------

def test_a_gbk_file_gets_the_same_clean_error_over_http_and_from_the_cli(app, client, marketing, cli):
    for request in ({"data": GBK_FILE, "content_type": "text/csv"},
                    {"data": {"file": (io.BytesIO(GBK_FILE), "stores.csv")}}):
        response = client.post(IMPORT, headers=marketing, **request)
        assert response.status_code == 422
        assert response.get_json() == {"code": "store_import_not_utf8", "message": NOT_UTF8,
                                       "details": {"line": 2, "looks_like": "GBK/GB18030"}}

    result = cli(GBK_FILE)
    assert result.exit_code == 1
    assert result.output == f"Error: {NOT_UTF8}\n"  # one line, no traceback
    assert isinstance(result.exception, SystemExit)
    assert store_count(app) == 0


def test_a_utf16_file_is_named_and_a_file_of_unknown_bytes_just_refused(client, marketing, cli):
    utf16 = client.post(IMPORT, data=TWO_STORES.encode("utf-16"), content_type="text/csv", headers=marketing)
    assert utf16.get_json()["details"] == {"line": 1, "looks_like": "UTF-16"}
    assert cli(HEADER.encode() + b"SH1,\x80\xff").output == \
        'Error: The file is not UTF-8: line 2 is not UTF-8 text. Save it as "CSV UTF-8" and import it again.\n'


def test_a_utf8_file_imports_with_or_without_excels_bom_both_ways(app, client, marketing, cli):
    response = client.post(IMPORT, data=b"\xef\xbb\xbf" + TWO_STORES.encode(), content_type="text/csv",
                           headers=marketing)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"created": 2, "updated": 0, "unchanged": 0}
    assert cli(TWO_STORES.encode()).output == "created 0, updated 0, unchanged 2\n"
    with app.app_context():
        assert db.session.scalar(select(Store.name).where(Store.code == "SH100")) == "门店 外滩"


# --- the help -------------------------------------------------------------------------------------

def test_the_import_help_describes_the_format(app):
    result = app.test_cli_runner().invoke(args=["stores", "import", "--help"])
    assert result.exit_code == 0
    text = result.output
    for column in ("code", "name", "address", "city", "lat, lng", "district", "phone", "timezone", "services",
                   "status", "hours", "coord"):
        assert f"\n    {column} " in text, column
    assert "Required columns" in text and "Optional columns" in text
    assert "GCJ-02" in text and "wgs84" in text
    assert "mon-fri 09:00-21:00; sat,sun 10:00-22:00,23:00-02:00" in text  # shown as written, not rewrapped
    assert "UTF-8" in text and "GBK" in text
    assert "at most 8 MiB and 20,000 stores" in text
    assert STORE_CODE_RULE in text
    assert "POST /api/v1/admin/stores" in text  # the JSON way


def test_the_import_endpoint_documents_the_same_format(client):
    operation = client.get("/openapi.json").get_json()["paths"]["/api/v1/admin/stores/import"]["post"]
    assert "mon-fri 09:00-21:00; sat,sun 10:00-22:00,23:00-02:00" in operation["description"]
    assert "store_import_not_utf8" in operation["description"]


# --- importing the same file again ----------------------------------------------------------------

def test_importing_an_unchanged_file_again_reports_unchanged_and_writes_nothing(app, client, marketing, cli):
    first = client.post(IMPORT, data=TWO_STORES, content_type="text/csv", headers=marketing)
    assert first.get_json() == {"created": 2, "updated": 0, "unchanged": 0}
    after_first, written = version(app), updated_at(app)

    again = client.post(IMPORT, data=TWO_STORES, content_type="text/csv", headers=marketing)
    assert again.status_code == 200
    assert again.get_json() == {"created": 0, "updated": 0, "unchanged": 2}
    result = cli(TWO_STORES.encode())
    assert result.exit_code == 0 and result.output == "created 0, updated 0, unchanged 2\n"
    assert version(app) == after_first  # no process is made to re-check the nearby index
    assert updated_at(app) == written

    renamed = client.post(IMPORT, data=TWO_STORES.replace("门店 外滩", "门店 外滩店"), content_type="text/csv",
                          headers=marketing)
    assert renamed.get_json() == {"created": 0, "updated": 1, "unchanged": 1}
    assert version(app) == after_first + 1
    changed = updated_at(app)
    assert changed["SH101"] == written["SH101"] and changed["SH100"] > written["SH100"]


def test_a_store_entered_as_json_then_found_unchanged_in_a_file(client, marketing):
    created = client.post("/api/v1/admin/stores", json={**NEW_STORE, "code": "SH900"}, headers=marketing)
    assert created.status_code == 201, created.get_json()
    same = (HEADER + "SH900,Ripple Xintiandi,181 Taicang Road,Shanghai,Huangpu,31.2200,121.4750,021-63311234,,"
            "dine_in|pickup,open,mon 09:00-21:00; sat 22:00-02:00\n")
    response = client.post(IMPORT, data=same, content_type="text/csv", headers=marketing)
    assert response.get_json() == {"created": 0, "updated": 0, "unchanged": 1}


# --- store codes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["SH 001", "门店1", "SH/001", "SH001;DROP"])
def test_a_code_the_admin_api_refuses_is_refused_on_its_line_in_a_file(app, client, marketing, code):
    json_answer = client.post("/api/v1/admin/stores", json={**NEW_STORE, "code": code}, headers=marketing)
    assert json_answer.status_code == 422
    rule = json_answer.get_json()["errors"]["code"]
    assert rule == [f"Not a store code: {STORE_CODE_RULE}."]

    csv = HEADER + f'"{code}",Store,1 Road,Shanghai,,31.23,121.47,,,,,daily 09:00-21:00\n'
    csv_answer = client.post(IMPORT, data=csv.encode(), content_type="text/csv", headers=marketing)
    assert csv_answer.status_code == 422
    assert csv_answer.get_json()["errors"] == {"line 2": [f"code: {rule[0]}"]}
    assert store_count(app) == 0


def test_a_code_with_spaces_around_it_is_the_same_store_in_json_and_in_a_file(app, client, marketing):
    created = client.post("/api/v1/admin/stores", json={**NEW_STORE, "code": "  SH900 "}, headers=marketing)
    assert created.status_code == 201 and created.get_json()["code"] == "SH900"
    csv = HEADER + " SH900 ,Ripple Xintiandi II,181 Taicang Road,Shanghai,,31.22,121.475,,,,,daily 09:00-21:00\n"
    response = client.post(IMPORT, data=csv, content_type="text/csv", headers=marketing)
    assert response.get_json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert store_count(app) == 1


def test_a_phone_the_admin_api_refuses_is_refused_in_a_file(client, marketing):
    json_answer = client.post("/api/v1/admin/stores", json={**NEW_STORE, "phone": "call us"}, headers=marketing)
    assert json_answer.status_code == 422
    csv = HEADER + "SH1,Store,1 Road,Shanghai,,31.23,121.47,call us,,,,daily 09:00-21:00\n"
    csv_answer = client.post(IMPORT, data=csv, content_type="text/csv", headers=marketing)
    assert csv_answer.get_json()["errors"] == {"line 2": [f"phone: {json_answer.get_json()['errors']['phone'][0]}"]}


# --- the size limit -------------------------------------------------------------------------------

def test_a_file_over_the_limit_is_refused_naming_the_limit_both_ways(app, client, marketing, cli):
    too_big = (TWO_STORES + "#" * MAX_FILE_BYTES).encode()
    response = client.post(IMPORT, data=too_big, content_type="text/csv", headers=marketing)
    assert response.status_code == 413
    assert response.get_json() == {"code": "payload_too_large", "message": "The body is larger than the 8 MiB limit.",
                                   "details": {"limit_bytes": MAX_FILE_BYTES}}
    result = cli(too_big)
    assert result.exit_code == 1
    assert result.output == "Error: The file is larger than the 8 MiB limit.\n"
    assert store_count(app) == 0
