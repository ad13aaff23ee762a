"""The console's report pages while the reports' replica (DATABASE_REPLICA_URL) is down: a console page in its
layout saying the figures are unavailable for a moment, 503 with Retry-After, not the API's JSON; the API keeps its
JSON, and the console's other pages go on."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url

from shop.auth import Role
from shop.config import REPLICA_BIND
from shop.dependencies import DATABASE, REPLICA, outages
from shop.extensions import db
from tests.console.conftest import ConsoleUser, text_of
from tests.faults.servers import free_port

UNAVAILABLE = "The figures are unavailable for a moment: try again in a minute."
DAYS = "from=2026-12-01&to=2026-12-07"


@pytest.fixture
def replica_down(app, make_app, tmp_path):
    """An app whose reports' replica is out of reach: PostgreSQL on a port nothing listens on; SQLite in a folder
    that does not exist."""
    primary = make_url(app.config["DATABASE_URL"])
    if primary.get_backend_name() == "postgresql":
        url = primary.set(host="127.0.0.1", port=free_port())
    else:
        url = primary.set(database=str(tmp_path / "no-such-folder" / "ripple.db"))
    down = make_app(DATABASE_REPLICA_URL=url.render_as_string(hide_password=False))
    yield down
    with down.app_context():
        outages().end(REPLICA)  # stops its watcher probing
        db.engines[REPLICA_BIND].dispose()


@pytest.fixture
def marketer(replica_down, account):
    """Marketing logged in to the console of the app whose replica is down (English pages)."""
    user = ConsoleUser(replica_down.test_client())
    assert user.login(account(Role.MARKETING)).status_code == 302
    return user


def report_pages(shop, batch_id: int) -> list[str]:
    return [f"/console/funnel?{DAYS}", f"/console/campaigns?{DAYS}", f"/console/o2o?{DAYS}",
            f"/console/o2o/stores/{shop.store_id}?{DAYS}", f"/console/referral?{DAYS}", f"/console/batches/{batch_id}"]


def test_with_the_replica_down_each_report_page_says_the_figures_are_unavailable_in_the_consoles_layout(
        marketer, shop, active_batch):
    for path in report_pages(shop, active_batch()):
        page = marketer.get(f"{path}&lang=en" if "?" in path else f"{path}?lang=en")
        body = text_of(page)
        assert page.status_code == 503, (path, body[:300])
        assert page.mimetype == "text/html" and int(page.headers["Retry-After"]) > 0, path
        assert UNAVAILABLE in body and "<html" in body and "Back to the console" in body, path
        assert "service_unavailable" not in body, path


def test_the_segment_preview_says_so_in_place_for_htmx_to_swap_in(marketer):
    rule = {"match": "all", "field_0": "spend_fen", "op_0": ">=", "value_0": "20", "lang": "en"}
    preview = marketer.get("/console/segments/preview", query_string=rule, headers={"HX-Request": "true"})
    fragment = text_of(preview)
    assert preview.status_code == 503 and int(preview.headers["Retry-After"]) > 0
    assert UNAVAILABLE in fragment and "<html" not in fragment


def test_the_page_reads_in_chinese(marketer):
    page = marketer.get(f"/console/funnel?{DAYS}&lang=zh_CN")
    assert page.status_code == 503 and "数据暂时无法查看" in text_of(page)


def test_the_api_keeps_its_json_and_the_consoles_other_pages_go_on(replica_down, marketer, staff_token):
    answer = replica_down.test_client().get(f"/api/v1/admin/funnel?{DAYS}", headers=staff_token(Role.MARKETING))
    assert answer.status_code == 503 and answer.get_json()["code"] == "service_unavailable"
    assert int(answer.headers["Retry-After"]) > 0
    assert marketer.get("/console/segments?lang=en").status_code == 200  # not a report: the primary's


def test_with_the_database_down_a_page_is_a_console_page_not_the_apis_json(app, make_app, account, tmp_path):
    """Any part down, not only the replica: the console says so in its layout (htmx swaps 503s in)."""
    user = ConsoleUser(app.test_client())
    assert user.login(account(Role.MARKETING)).status_code == 302
    primary = make_url(app.config["DATABASE_URL"])
    unreachable = (primary.set(host="127.0.0.1", port=free_port()) if primary.get_backend_name() == "postgresql"
                   else primary.set(database=str(tmp_path / "no-such-folder" / "ripple.db")))
    down = make_app(DATABASE_URL=unreachable.render_as_string(hide_password=False))
    same_browser = down.test_client()
    cookie = app.config["SESSION_COOKIE_NAME"]
    same_browser.set_cookie(cookie, user.client.get_cookie(cookie).value)
    page = same_browser.get("/console/segments?lang=en")
    body = text_of(page)
    assert page.status_code == 503 and page.mimetype == "text/html" and int(page.headers["Retry-After"]) > 0, body[:300]
    assert "A service the console depends on is unavailable for a moment" in body and "<html" in body
    with down.app_context():
        outages().end(DATABASE)
