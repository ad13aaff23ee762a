"""Journeys through the logs: one JSON line per request, the request id on every answer and every line
written while it was handled, and who was calling."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shop.auth import Role
from shop.config import ConfigError, load_config
from shop.request_log import SANE_REQUEST_ID, configure_logging
from tests.conftest import bearer
from tests.test_config_and_health import PRODUCTION_ENV

NGINX_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"


@pytest.fixture
def json_app(app, make_app):
    """An app on the suite's database that logs JSON; the suite's logging is put back afterwards."""
    yield make_app(LOG_FORMAT="json")
    configure_logging(app.config)


def _lines(capfd) -> list[dict]:
    return [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]


def _request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "ripple.request"]


def test_a_sane_request_id_comes_back_and_any_other_is_replaced_by_a_new_one(client):
    assert client.get("/healthz", headers={"X-Request-ID": "mini-program:7f3a.01"}).headers["X-Request-ID"] \
        == "mini-program:7f3a.01"
    for insane in ("short", "x" * 129, "has space in it", 'quote"injected"', "tab\tin-it-0000"):
        answered = client.get("/healthz", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert answered != insane and SANE_REQUEST_ID.fullmatch(answered)
    first, second = client.get("/healthz"), client.get("/healthz")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_errors_carry_the_request_id_too(client):
    assert client.get("/api/v1/nowhere", headers={"X-Request-ID": "lost-request-1"}).headers["X-Request-ID"] \
        == "lost-request-1"
    refused = client.get("/api/v1/me", headers={"X-Request-ID": "no-token-000001"})
    assert refused.status_code == 401 and refused.headers["X-Request-ID"] == "no-token-000001"
    unknown_arg = client.get("/api/v1/categories?bogus=1", headers={"X-Request-ID": "bad-query-00001"})
    assert unknown_arg.status_code == 422 and unknown_arg.headers["X-Request-ID"] == "bad-query-00001"


def test_the_app_keeps_the_request_ids_nginx_keeps():
    """One rule for a sane id, in nginx's map and in the app: an id nginx passes on is the app's too."""
    nginx_pattern = re.search(r'map \$http_x_request_id \$ripple_request_id \{\s*"~\^(.+?)\$"', NGINX_CONF.read_text())
    assert nginx_pattern and nginx_pattern.group(1) == SANE_REQUEST_ID.pattern


def test_a_shoppers_request_is_one_json_line_with_its_id_member_status_and_time(json_app, capfd):
    client = json_app.test_client()
    token = client.post("/api/v1/auth/wechat-login", json={"code": "alice:1"}).get_json()["token"]
    capfd.readouterr()
    answer = client.get("/api/v1/me", headers={**bearer(token), "X-Request-ID": "shopper-me-0001"})
    (line,) = _request_lines(_lines(capfd))
    assert line["request_id"] == answer.headers["X-Request-ID"] == "shopper-me-0001"
    assert line["member_id"] == answer.get_json()["id"] and "staff_id" not in line
    assert (line["method"], line["path"], line["rule"], line["status"]) == ("GET", "/api/v1/me", "/api/v1/me", 200)
    assert line["level"] == "INFO" and line["client_addr"] == "127.0.0.1" and line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00")


def test_a_staff_request_names_the_staff_account_and_its_route(json_app, committed, capfd):
    from shop.staff.service import create_staff
    from tests.conftest import STAFF_PASSWORD

    client = json_app.test_client()
    staff_id = committed(lambda: create_staff(username="logged-admin", password=STAFF_PASSWORD, role=Role.ADMIN).id)
    token = client.post("/api/v1/auth/staff-login",
                        json={"username": "logged-admin", "password": STAFF_PASSWORD}).get_json()["token"]
    capfd.readouterr()
    client.get("/api/v1/admin/stores/999999", headers=bearer(token))
    (line,) = _request_lines(_lines(capfd))
    assert line["staff_id"] == staff_id and "member_id" not in line
    assert line["status"] == 404 and line["rule"] == "/api/v1/admin/stores/<id:store_id>"


def test_an_unhandled_error_is_logged_with_the_request_id_the_500_answer_carries(json_app, capfd):
    def broken():
        raise RuntimeError("a bug")

    json_app.add_url_rule("/broken-for-the-test", "broken_for_the_test", broken)
    answer = json_app.test_client().get("/broken-for-the-test", headers={"X-Request-ID": "bug-report-0001"})
    assert answer.status_code == 500 and answer.headers["X-Request-ID"] == "bug-report-0001"
    lines = _lines(capfd)
    (error,) = [line for line in lines if line["message"] == "unhandled error"]
    assert error["level"] == "ERROR" and error["request_id"] == "bug-report-0001"
    assert "RuntimeError: a bug" in error["exc_info"]
    (request_line,) = _request_lines(lines)
    assert request_line["status"] == 500 and request_line["request_id"] == "bug-report-0001"


def test_existing_log_calls_keep_their_messages_and_extra_fields_as_json(json_app, capfd):
    import logging

    with json_app.test_request_context("/", headers={"X-Request-ID": "event-line-0001"}):
        logging.getLogger("shop.orders.payment").info("order %s paid (%s fen, %s)", "R123", 990, "notify",
                                                      extra={"order_number": "R123"})
    (line,) = _lines(capfd)
    assert line["message"] == "order R123 paid (990 fen, notify)" and line["logger"] == "shop.orders.payment"
    assert line["order_number"] == "R123" and line["request_id"] == "event-line-0001"


def test_json_in_production_readable_text_on_the_embedded_defaults():
    assert load_config(environ={})["LOG_FORMAT"] == "text"
    assert load_config(environ=PRODUCTION_ENV)["LOG_FORMAT"] == "json"
    assert load_config(environ={}, overrides={"LOG_FORMAT": "json"})["LOG_FORMAT"] == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_config(environ={"LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_config(environ={"LOG_LEVEL": "chatty"})
    assert load_config(environ={"LOG_LEVEL": "warning"})["LOG_LEVEL"] == "WARNING"
