"""Secrets never reach a log line: fields named for them and values that look like them are scrubbed,
in the JSON lines of production and in the readable ones of a developer's terminal."""

from __future__ import annotations

import json
import logging

import pytest

from shop.log_scrubbing import SCRUBBED, scrub, scrub_text
from shop.request_log import JsonLogFormatter, TextLogFormatter

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsInJvbGUiOiJzaG9wcGVyIn0.c2lnbmF0dXJlLWJ5dGVz"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


def _record(message: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("shop.test", logging.WARNING, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_a_token_a_mobile_number_and_a_bearer_credential_in_a_message_are_scrubbed():
    line = json.loads(JsonLogFormatter().format(_record(
        "login answered %s for +86 13812345678, then Authorization: Bearer abc.DEF-123", JWT)))
    assert line["message"] == f"login answered {SCRUBBED} for {SCRUBBED}, then Authorization: {SCRUBBED}"


def test_fields_named_for_secrets_are_scrubbed_whatever_their_value():
    line = json.loads(JsonLogFormatter().format(_record(
        "redeemed", pickup_code="48213377", member_code="4200012345", code="7781", password="hunter2",
        phone="021-5555", access_token="opaque", order_number="R20261207", amount_fen=990)))
    assert {line[name] for name in ("pickup_code", "member_code", "code", "password", "phone", "access_token")} \
        == {SCRUBBED}
    assert line["order_number"] == "R20261207" and line["amount_fen"] == 990


def test_a_traceback_holding_a_key_is_scrubbed():
    try:
        raise ValueError(f"could not load {PEM} for 13912345678")
    except ValueError as error:
        record = _record("loading keys failed", exc_info=(type(error), error, error.__traceback__))
    line = json.loads(JsonLogFormatter().format(record))
    assert "MIIEvQ" not in line["exc_info"] and "13912345678" not in line["exc_info"]
    assert "ValueError: could not load [scrubbed] for [scrubbed]" in line["exc_info"]


def test_the_readable_format_is_scrubbed_too():
    text = TextLogFormatter().format(_record("token %s phone 15000000000", JWT))
    assert JWT not in text and "15000000000" not in text and "[-]: token [scrubbed] phone [scrubbed]" in text


def test_numbers_that_are_not_mobile_numbers_stay():
    assert scrub("order 202612071234567890 of 12345678901 fen at 13:45, id 138123456") \
        == "order 202612071234567890 of 12345678901 fen at 13:45, id 138123456"
    assert scrub({"nested": [{"session_key": "k"}, {"ok": "13812345678"}], "has_phone": True}) \
        == {"nested": [{"session_key": SCRUBBED}, {"ok": SCRUBBED}], "has_phone": True}


def test_an_http_clients_error_quoting_wechats_url_keeps_no_secret_or_login_code():
    failed = ("WeChat unreachable during login: HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded "
              "with url: /sns/jscode2session?appid=wx1&secret=app-secret-1&js_code=alice%3A1&grant_type=x")
    message = json.loads(JsonLogFormatter().format(_record(failed)))["message"]
    assert "app-secret-1" not in message and "alice%3A1" not in message
    assert f"appid=wx1&secret={SCRUBBED}&js_code={SCRUBBED}&grant_type=x" in message


@pytest.mark.parametrize("secret", [JWT, "BeaRer abc.DEF-123", PEM, "13812345678", "/jscode2session?js_code=alice"],
                         ids=["jwt", "bearer", "pem", "mobile", "query"])
def test_each_kind_of_secret_alone_in_a_line_is_scrubbed(secret):
    # Each kind on its own: the cheap test that lets ordinary text through must let none of them through.
    assert secret not in scrub_text(f"seen {secret} once")
    assert SCRUBBED in scrub_text(f"seen {secret} once")


def test_ordinary_request_text_is_left_as_it_is():
    line = "POST /api/v1/coupons/batches/<id:batch_id>/claim 201 from 127.0.0.1 in 3.21 ms"
    assert scrub_text(line) is line
